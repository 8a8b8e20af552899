package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/storetest"
)

// openAt creates database db on srv with the migrations up to version
// last only: a store as an older Causeway left it.
func openAt(t *testing.T, srv *chtest.Server, db string, last uint32) *Store {
	t.Helper()
	ctx := context.Background()
	opts, err := ch.ParseDSN(srv.DSN("default"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ch.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	opts.Auth.Database = db
	if conn, err = ch.Open(opts); err != nil {
		t.Fatal(err)
	}
	s := &Store{conn: conn, db: db}
	if err := s.migrateTo(ctx, last); err != nil {
		t.Fatal(err)
	}
	return s
}

// insertSchema7 writes, with SQL of the schema before migration 008, n
// events of trace tr one second apart from at (correlation corr-<tr>),
// their spans, the n-1 edges chaining them, a lag sample and a DLQ entry.
func insertSchema7(t *testing.T, s *Store, tr int, at time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	ns := at.UnixNano()
	trace := storetest.TraceID(tr)
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO events (date, start_ns, trace_id, span_id, event_id, correlation_id, service, system,
			destination, op, outcome, duration_ns)
		SELECT toDate(intDiv(%[1]d + number * 1000000000, 1000000000)), %[1]d + number * 1000000000, '%[2]s',
			concat('5a', toString(number)), concat('evt-%[3]d-', toString(number)), 'corr-%[3]d', 'orders', 'kafka',
			'orders.placed', 'publish', 'ok', 1000
		FROM numbers(%[4]d)`, ns, trace, tr, n),
		fmt.Sprintf(`INSERT INTO spans (date, trace_id, span_id, service, name, kind, start_ns, duration_ns, status_code)
		SELECT toDate(intDiv(%[1]d + number * 1000000000, 1000000000)), '%[2]s', concat('5a', toString(number)),
			'orders', 'publish', 'producer', %[1]d + number * 1000000000, 1000, 'unset'
		FROM numbers(%[3]d)`, ns, trace, n),
		fmt.Sprintf(`INSERT INTO edges (date, from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id,
			correlation_id, kind, start_ns)
		SELECT toDate(intDiv(%[1]d + number * 1000000000, 1000000000)), '%[2]s', concat('5a', toString(number - 1)),
			concat('evt-%[3]d-', toString(number - 1)), '%[2]s', concat('5a', toString(number)), 'corr-%[3]d', 'parent',
			%[1]d + number * 1000000000
		FROM numbers(1, %[4]d)`, ns, trace, tr, n-1),
		fmt.Sprintf(`INSERT INTO lag (date, time_ns, system, group_name, topic, partition, lag, status)
		SELECT toDate(intDiv(%[1]d, 1000000000)), %[1]d, 'kafka', 'billing', 'orders.placed', %[2]d, 5, 'ok' FROM numbers(1)`, ns, tr),
		fmt.Sprintf(`INSERT INTO dlq (date, id, time_ns, system, source, reason)
		SELECT toDate(intDiv(%[1]d, 1000000000)), 'dlq-%[2]d', %[1]d, 'kafka', 'orders.placed.dlq', 'boom' FROM numbers(1)`, ns, tr),
	} {
		if err := s.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// partitionIDs returns the active partitions of a table.
func partitionIDs(t *testing.T, s *Store, table string) []string {
	t.Helper()
	rows, err := s.conn.Query(context.Background(), "SELECT DISTINCT partition_id FROM system.parts WHERE database = ? AND table = ? AND active ORDER BY partition_id", s.db, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func rowCount(t *testing.T, s *Store, table string) uint64 {
	t.Helper()
	var n uint64
	if err := s.conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDailyPartitionsMigration: a store written with monthly partitions
// (schema 7) over three days in two months is migrated by 008 with every
// row kept, each table partitioned by day, the lookups through the index
// tables and the flow aggregates answering as before, new writes feeding
// the materialized views exactly once, and retention then dropping whole
// days.
func TestDailyPartitionsMigration(t *testing.T) {
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	ctx := context.Background()
	old := openAt(t, srv, db, 7)
	days := []time.Time{
		time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC),
	}
	const n = 10
	for i, d := range days {
		insertSchema7(t, old, i+1, d, n)
	}
	if got := partitionIDs(t, old, "events"); fmt.Sprint(got) != "[202610 202611]" {
		t.Fatalf("schema 7 events partitions %v, want the two months", got)
	}
	// The tables retention knows that schema 7 had (later migrations add more).
	var tables []chRetentionTable
	before := map[string]uint64{}
	for _, table := range chRetentionTables {
		var exists uint8
		if err := old.conn.QueryRow(context.Background(), "EXISTS TABLE "+table.name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists == 1 {
			tables = append(tables, table)
			before[table.name] = rowCount(t, old, table.name)
		}
	}
	old.Close()

	s := open(t, srv.DSN(db))
	defer s.Close()
	for _, table := range tables {
		if got := rowCount(t, s, table.name); got != before[table.name] {
			t.Errorf("%s: %d rows after the migration, %d before", table.name, got, before[table.name])
		}
		if table.dateCol == "" || before[table.name] == 0 {
			continue
		}
		for _, p := range partitionIDs(t, s, table.name) {
			if _, err := time.Parse("20060102", p); err != nil {
				t.Errorf("%s has partition %q after the migration, want days", table.name, p)
			}
		}
	}
	if before["events"] != 3*n || before["events_by_correlation"] != 3*n || before["flows_1m"] == 0 {
		t.Fatalf("schema 7 data incomplete: %v", before)
	}
	for i := range days {
		p, err := s.Events(ctx, store.EventQuery{CorrelationID: fmt.Sprintf("corr-%d", i+1)})
		if err != nil || len(p.Events) != n {
			t.Errorf("events of corr-%d after the migration: %d, %v; want %d", i+1, len(p.Events), err, n)
		}
	}
	fm, err := s.Flows(ctx, store.FlowQuery{Since: days[0].Add(-time.Hour), Until: days[2].Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var flowed uint64
	for _, e := range fm.Edges {
		flowed += e.Count
	}
	if flowed != 3*n {
		t.Errorf("flow map over the three days counts %d events, want %d", flowed, 3*n)
	}

	// A write after the migration feeds every view once.
	b := &store.Batch{}
	for i := range n {
		e := storetest.Event(4, i)
		e.StartNS = uint64(days[2].Add(time.Hour).UnixNano()) + uint64(i)
		b.Events = append(b.Events, e)
		b.Spans = append(b.Spans, storetest.Span(e))
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "events_by_trace", "events_by_event_id"} {
		if got := rowCount(t, s, table); got != 4*n {
			t.Errorf("%s: %d rows after a write of %d events, want %d", table, got, n, 4*n)
		}
	}

	// Retention drops whole days: the horizon's own day stays.
	horizon := days[1].Add(6 * time.Hour)
	res, err := s.ApplyRetention(ctx, store.RetentionPolicy{EventsBefore: horizon, BrokerBefore: horizon})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"events": n, "events_by_trace": n, "events_by_correlation": n, "events_by_event_id": n,
		"edges": n - 1, "edges_by_from_trace": n - 1, "edges_by_from_event": n - 1, "lag": 1, "dlq": 1}
	for table, w := range want {
		if res.Deleted[table] != w {
			t.Errorf("retention deleted %d rows of %s, want %d (all: %v)", res.Deleted[table], table, w, res.Deleted)
		}
	}
	if got := partitionIDs(t, s, "events"); fmt.Sprint(got) != "[20261102 20261120]" {
		t.Errorf("events partitions after retention: %v, want the horizon's day and the one after", got)
	}
	if got := rowCount(t, s, "events"); got != 3*n {
		t.Errorf("%d events left, want %d", got, 3*n)
	}
}

// TestRetentionWithinADay: with simulated time, a pass keeps every event
// of the horizon's day, even those before the horizon, and none of the
// day before, in every events table; a second pass deletes nothing.
func TestRetentionWithinADay(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv.DSN(chtest.UniqueDB(t.Name())))
	defer s.Close()
	ctx := context.Background()
	horizon := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	dayStart := horizon.Truncate(24 * time.Hour)
	at := map[int]time.Time{
		1: dayStart.Add(-time.Nanosecond), // last instant of the day before: goes
		2: dayStart,                       // first instant of the horizon's day: stays
		3: horizon.Add(-time.Nanosecond),  // before the horizon, same day: stays
		4: horizon.Add(48 * time.Hour),    // newer: stays
		5: dayStart.Add(-72 * time.Hour),  // days older: goes
	}
	b := &store.Batch{}
	for tr, ts := range at {
		e := storetest.Event(tr, tr)
		e.TraceID, e.CorrelationID, e.EventID = storetest.TraceID(tr), fmt.Sprintf("corr-%d", tr), fmt.Sprintf("evt-%d", tr)
		e.StartNS = uint64(ts.UnixNano())
		b.Events = append(b.Events, e)
		b.Spans = append(b.Spans, storetest.Span(e))
		b.Edges = append(b.Edges, event.Edge{FromTraceID: e.TraceID, FromSpanID: "f0", FromEventID: "cause",
			ToTraceID: e.TraceID, ToSpanID: e.SpanID, Kind: event.EdgeParent, StartNS: e.StartNS})
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	p := store.RetentionPolicy{EventsBefore: horizon}
	res, err := s.ApplyRetention(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "events_by_trace", "events_by_correlation", "events_by_event_id", "edges"} {
		if res.Deleted[table] != 2 {
			t.Errorf("deleted %d rows of %s, want 2 (all: %v)", res.Deleted[table], table, res.Deleted)
		}
	}
	for tr := range at {
		page, err := s.Events(ctx, store.EventQuery{TraceIDs: []string{storetest.TraceID(tr)}})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 0, false: 1}[tr == 1 || tr == 5]; len(page.Events) != want {
			t.Errorf("trace %d (at %v): %d events after the pass, want %d", tr, at[tr], len(page.Events), want)
		}
	}
	again, err := s.ApplyRetention(ctx, p)
	if err != nil || again.Total() != 0 {
		t.Errorf("second pass deleted %v, %v; want nothing", again.Deleted, err)
	}
}

func TestTTLFromHorizon(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	// A row of 2026-11-25 expires on 2026-12-03 (25 + 8), one of the 26th on the 4th.
	if got := ttlDays(now, day); got != 8 {
		t.Errorf("ttlDays = %d, want 8", got)
	}
	if got := ttlDays(now, now.Add(24*time.Hour)); got != 1 {
		t.Errorf("ttlDays of a future horizon = %d, want 1", got)
	}
	flows := chRetentionTables[0]
	for _, tb := range chRetentionTables {
		if tb.name == "flows_1m" {
			flows = tb
		}
	}
	if got, want := ttlStatement("db", flows, 8), "ALTER TABLE db.flows_1m MODIFY TTL toDate(minute) + toIntervalDay(8)"; got != want {
		t.Errorf("ttlStatement = %q, want %q", got, want)
	}
	for v, want := range map[string]bool{"18.16.1": false, "19.6.2.11": false, "20.8.3.18": true, "24.3.1.2672": true, "x": false} {
		// 19.6 has TTL but changes it by rewriting every part: only servers
		// with materialize_ttl_after_modify get one.
		if got := hasTTL(v, v[0] == '2'); got != want {
			t.Errorf("hasTTL(%s) = %v, want %v", v, got, want)
		}
	}
	if hasTTL("24.3", false) {
		t.Error("hasTTL without materialize_ttl_after_modify = true, want false")
	}
}
