package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/causeway-dev/causeway/store"
)

// Retention: tables are partitioned by day (schema 008: PARTITION BY
// date, or toDate(minute) for the flow aggregates), so a pass drops the
// whole days before the horizon's UTC day (ALTER TABLE … DROP PARTITION:
// instant, and the disk is freed at once) and nothing else: no mutation
// rewrites a part. A row goes within a day after it passed the horizon.
// Tables without a partition key (alert history, replays) are small and
// get a mutation (ALTER TABLE … DELETE WHERE), which the pass waits for,
// so its counts are of rows gone. On servers with TTL (current releases;
// not 18.16, see ttl.go) each partitioned table also gets a TTL of the
// same horizon, so the server drops expired days by itself between
// passes. In cluster mode a pass runs on every node's local tables
// (Distributed tables take no ALTER). The audit log is never touched.

// chRetentionTable is one table retention deletes from: its partition
// expression's column (date, or minute for toDate(minute)) or, for
// unpartitioned tables, a nanosecond time column.
type chRetentionTable struct {
	name      string
	broker    bool
	dateCol   string // partitioned by day of dateCol
	timeNSCol string // unpartitioned: rows with timeNSCol < the day's start go
}

var chRetentionTables = []chRetentionTable{
	{name: "events", dateCol: "date"},
	{name: "events_by_trace", dateCol: "date"},
	{name: "events_by_correlation", dateCol: "date"},
	{name: "events_by_event_id", dateCol: "date"},
	{name: "events_by_message_key", dateCol: "date"},
	{name: "spans", dateCol: "date"},
	{name: "edges", dateCol: "date"},
	{name: "edges_by_from_trace", dateCol: "date"},
	{name: "edges_by_from_event", dateCol: "date"},
	{name: "flows_1m", dateCol: "minute"},
	{name: "journey_ledger", dateCol: "date"},
	{name: "journey_open", dateCol: "date"},
	{name: "journey_places", dateCol: "date"},
	{name: "dlq", broker: true, dateCol: "date"},
	{name: "dlq_by_correlation", broker: true, dateCol: "date"},
	{name: "dlq_by_event_id", broker: true, dateCol: "date"},
	{name: "lag", broker: true, dateCol: "date"},
	{name: "alert_events", broker: true, timeNSCol: "time_ns"},
	{name: "replay_items", broker: true, timeNSCol: "time_ns"},
	{name: "replays", broker: true, timeNSCol: "updated_ns"},
}

// RetentionTables lists the tables retention deletes from.
func (s *Store) RetentionTables() []string {
	out := make([]string, len(chRetentionTables))
	for i, t := range chRetentionTables {
		out[i] = t.name
	}
	return out
}

// chOldest holds the EventsBefore of the last completed pass, in ns.
type chOldest struct{ ns atomic.Int64 }

var _ store.Retainer = (*Store)(nil)

// OldestRetained returns the events horizon of the last completed
// retention pass of this process (zero before the first).
func (s *Store) OldestRetained(context.Context) (time.Time, error) {
	ns := s.oldest.ns.Load()
	if ns == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, ns).UTC(), nil
}

// retentionNode is a connection to one server's tables: the store's own
// database, or a cluster node's local database.
type retentionNode struct {
	conn driver.Conn
	db   string
	addr string
	ttl  bool // the server has TTL and can change it without rewriting parts
}

// retentionNodes returns the servers whose tables a pass alters and a
// function that closes the connections it opened.
func (s *Store) retentionNodes(ctx context.Context) ([]retentionNode, func(), error) {
	if s.cluster == "" {
		n := retentionNode{conn: s.conn, db: s.db, addr: "local"}
		var err error
		n.ttl, err = serverHasTTL(ctx, n.conn)
		return []retentionNode{n}, func() {}, err
	}
	opts := *s.opts
	opts.Auth.Database = "default"
	boot, err := ch.Open(&opts)
	if err != nil {
		return nil, nil, err
	}
	nodes, err := clusterNodes(ctx, boot, s.cluster)
	boot.Close()
	if err != nil {
		return nil, nil, err
	}
	var out []retentionNode
	closeAll := func() {
		for _, n := range out {
			n.conn.Close()
		}
	}
	for _, n := range nodes {
		o := opts
		o.Addr = []string{n.addr}
		o.Auth.Database = s.db + "_local"
		conn, err := ch.Open(&o)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("cluster %s shard %d (%s): %w", s.cluster, n.shard, n.addr, err)
		}
		out = append(out, retentionNode{conn: conn, db: o.Auth.Database, addr: n.addr})
		if out[len(out)-1].ttl, err = serverHasTTL(ctx, conn); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("cluster %s shard %d (%s): %w", s.cluster, n.shard, n.addr, err)
		}
	}
	return out, closeAll, nil
}

// ApplyRetention drops and deletes, on every node, the days before each
// horizon's day (UTC), and returns the rows that went.
func (s *Store) ApplyRetention(ctx context.Context, p store.RetentionPolicy) (store.RetentionResult, error) {
	res := store.RetentionResult{Deleted: map[string]int64{}}
	nodes, closeNodes, err := s.retentionNodes(ctx)
	if err != nil {
		return res, fmt.Errorf("clickhouse store: retention: %w", err)
	}
	defer closeNodes()
	now := time.Now()
	for _, t := range chRetentionTables {
		before := p.EventsBefore
		if t.broker {
			before = p.BrokerBefore
		}
		if before.IsZero() {
			continue
		}
		day := before.UTC().Truncate(24 * time.Hour)
		for _, n := range nodes {
			deleted, err := retainTable(ctx, n, t, day)
			for table, d := range deleted {
				res.Deleted[table] += d
			}
			if err == nil && n.ttl && t.dateCol != "" {
				err = s.ttl.set(ctx, n, t, ttlDays(now, day))
			}
			if err != nil {
				return res, fmt.Errorf("clickhouse store: retention of %s.%s: %w", n.db, t.name, err)
			}
		}
	}
	if !p.EventsBefore.IsZero() {
		s.oldest.ns.Store(p.EventsBefore.UnixNano())
		// Days of journey_places went: their places are written again.
		s.places.reset()
	}
	return res, nil
}

// retainTable removes t's rows of days before day on one node and
// returns the rows removed per table name. Dropping days of events also
// counts, as "spans", the spans kept in those event rows.
func retainTable(ctx context.Context, n retentionNode, t chRetentionTable, day time.Time) (map[string]int64, error) {
	table := n.db + "." + t.name
	if t.dateCol == "" {
		cond := fmt.Sprintf("%s < %d", t.timeNSCol, day.UnixNano())
		var count uint64
		if err := n.conn.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE "+cond).Scan(&count); err != nil {
			return nil, err
		}
		if count == 0 {
			return nil, nil
		}
		if err := n.conn.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+cond); err != nil {
			return nil, fmt.Errorf("delete mutation: %w", err)
		}
		return map[string]int64{t.name: int64(count)}, waitMutations(ctx, n, t.name)
	}
	parts, err := oldPartitions(ctx, n, t.name, day)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, part := range parts {
		if t.name == "events" {
			// The spans kept in these event rows (spans.go) go with them.
			var spans uint64
			if err := n.conn.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE date = toDate(?) AND span = 1", part.day).Scan(&spans); err != nil {
				return out, fmt.Errorf("count the spans of %s: %w", part.literal, err)
			}
			if spans > 0 {
				out["spans"] += int64(spans)
			}
		}
		if err := n.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %s", table, part.literal)); err != nil {
			return out, fmt.Errorf("drop partition %s: %w", part.literal, err)
		}
		out[t.name] += part.rows
	}
	return out, nil
}

// partition is one day's partition of a table.
type partition struct {
	literal string // as DROP PARTITION takes it: '2026-12-01'
	day     string // 2026-12-01
	rows    int64
}

// oldPartitions lists the active daily partitions of a table before day,
// with their rows. A monthly partition (YYYYMM, from before schema 008)
// is an error: the table was not migrated.
func oldPartitions(ctx context.Context, n retentionNode, table string, day time.Time) ([]partition, error) {
	rows, err := n.conn.Query(ctx, "SELECT partition_id, toInt64(sum(rows)) FROM system.parts WHERE database = ? AND table = ? AND active GROUP BY partition_id ORDER BY partition_id", n.db, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []partition
	for rows.Next() {
		var id string
		var count int64
		if err := rows.Scan(&id, &count); err != nil {
			return nil, err
		}
		d, err := time.Parse("20060102", id)
		if err != nil {
			return nil, fmt.Errorf("partition %q of %s is not a day (YYYYMMDD): %w", id, table, ErrNotDailyPartitions)
		}
		if d.Before(day) {
			out = append(out, partition{literal: "'" + d.Format(time.DateOnly) + "'", day: d.Format(time.DateOnly), rows: count})
		}
	}
	return out, rows.Err()
}

// ErrNotDailyPartitions means a table retention drops days from is not
// partitioned by day: its schema predates migration 008.
var ErrNotDailyPartitions = errors.New("clickhouse store: table not partitioned by day")

// waitMutations waits until the table has no mutation in progress.
func waitMutations(ctx context.Context, n retentionNode, table string) error {
	for {
		var pending uint64
		if err := n.conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0", n.db, table).Scan(&pending); err != nil {
			return fmt.Errorf("mutation status: %w", err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the delete mutation: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
