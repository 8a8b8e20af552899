package clickhouse

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// bench10M is a database holding 10M events (CAUSEWAY_BENCH_EVENTS
// overrides the count), made once per process: orders of five events
// each, spread over the last 24 h, with their causation edges, generated
// by the server (INSERT … SELECT FROM numbers) so the materialized views
// build the index tables and flow aggregates as they would on ingest;
// plus one flow of 1,000 events (100 traces of 10) written by the store.
var bench10M struct {
	once  sync.Once
	store *Store
	n     int
	err   error
}

const benchCorrelation = "bench-graph-1000"

func tenMillion(b *testing.B) (*Store, int) {
	srv := chtest.Shared(b)
	bench10M.once.Do(func() {
		n := 10_000_000
		if v, err := strconv.Atoi(os.Getenv("CAUSEWAY_BENCH_EVENTS")); err == nil && v > 0 {
			n = v
		}
		ctx := context.Background()
		s, err := Open(ctx, srv.DSN(chtest.UniqueDB("bench10m")))
		if err != nil {
			bench10M.err = err
			return
		}
		now := uint64(time.Now().UnixNano())
		step := uint64(24*time.Hour) / uint64(n)
		start := now - uint64(24*time.Hour)
		// Per order k = number div 5: trace md5(k), correlation and
		// message key order-k; event i of the order is published by one
		// of 5 services to one of 5 topics; every 50th handler run fails.
		// Each event row holds its span (schema 009): name, kind, status
		// and the messaging attributes lineage maps out of the event; span
		// ids in binary as the store writes them (ids.go).
		insertEvents := `INSERT INTO events (date, start_ns, trace_id, span_id, event_id, event_type, correlation_id,
			causation_id, parent_span_id, service, system, destination, partition, offset, consumer_group, op, outcome, attempt,
			duration_ns, payload_size, attr_keys, attr_values, message_key,
			span, span_name, span_kind, status_code, status_message, span_attr_keys, span_attr_values)
		SELECT toDate(intDiv(%[1]d + number * %[2]d, 1000000000)), %[1]d + number * %[2]d,
			lower(hex(MD5(toString(intDiv(number, 5))))), concat('\x01', substring(MD5(toString(number)), 1, 8)),
			concat('evt-', toString(number)), concat('step', toString(number %% 5)), concat('order-', toString(intDiv(number, 5))),
			if(number %% 5 = 0, '', concat('evt-', toString(number - 1))),
			if(number %% 5 = 0, '', concat('\x01', substring(MD5(toString(number - 1)), 1, 8))),
			concat('service-', toString(number %% 5)), 'kafka', concat('topic-', toString(number %% 5)), toInt32(number %% 12), toInt64(number),
			if(number %% 2 = 1, concat('group-', toString(number %% 5)), ''), if(number %% 2 = 1, 'process', 'publish'),
			if(number %% 50 = 49, 'error', 'ok'), 1, 1000000 + (number %% 1000) * 1000, 200 + number %% 300,
			['messaging.system', 'region'], ['kafka', if(number %% 3 = 0, 'eu', 'us')], concat('order-', toString(intDiv(number, 5))),
			1, concat('topic-', toString(number %% 5), if(number %% 2 = 1, ' process', ' publish')), if(number %% 2 = 1, 'consumer', 'producer'),
			if(number %% 50 = 49, 'error', 'unset'), if(number %% 50 = 49, 'handler failed', ''),
			['messaging.destination.name', 'messaging.kafka.message.key', 'messaging.kafka.message.offset', 'messaging.operation'],
			[concat('topic-', toString(number %% 5)), concat('order-', toString(intDiv(number, 5))), toString(number), if(number %% 2 = 1, 'process', 'publish')]
		FROM (SELECT number + %[3]d AS number FROM numbers(%[4]d))`
		insertEdges := `INSERT INTO edges (date, from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id,
			correlation_id, kind, start_ns)
		SELECT toDate(intDiv(%[1]d + number * %[2]d, 1000000000)), lower(hex(MD5(toString(intDiv(number, 5))))),
			substring(lower(hex(MD5(toString(number - 1)))), 1, 16), concat('evt-', toString(number - 1)),
			lower(hex(MD5(toString(intDiv(number, 5))))), substring(lower(hex(MD5(toString(number)))), 1, 16),
			concat('order-', toString(intDiv(number, 5))), 'parent', %[1]d + number * %[2]d
		FROM (SELECT number + %[3]d AS number FROM numbers(%[4]d)) WHERE number %% 5 != 0`
		// In chunks of a million rows: each insert stays well within the read timeout.
		const chunk = 1_000_000
		for from := 0; from < n; from += chunk {
			for _, q := range []string{insertEvents, insertEdges} {
				if err := s.conn.Exec(ctx, fmt.Sprintf(q, start, step, from, min(chunk, n-from))); err != nil {
					bench10M.err = err
					return
				}
			}
		}
		// One flow of 1,000 events: 100 traces of 10, chained by links.
		batch := &store.Batch{}
		var prev event.Event
		for i := 0; i < 1000; i++ {
			e := event.Event{EventID: fmt.Sprintf("g-%d", i), EventType: "graph.step", CorrelationID: benchCorrelation,
				TraceID: fmt.Sprintf("9a%030x", i/10), SpanID: fmt.Sprintf("9b%014x", i), Service: fmt.Sprintf("svc-%d", i%7),
				System: "kafka", Destination: "graph.topic", Partition: 0, Offset: int64(i), Op: event.OpProcess, Outcome: event.OutcomeOK,
				StartNS: now - uint64(30*time.Minute) + uint64(i)*uint64(time.Millisecond), DurationNS: 1000, PayloadSize: 10}
			if i > 0 {
				kind := event.EdgeParent
				if i%10 == 0 {
					kind = event.EdgeLink
				}
				batch.Edges = append(batch.Edges, event.Edge{FromTraceID: prev.TraceID, FromSpanID: prev.SpanID, FromEventID: prev.EventID,
					ToTraceID: e.TraceID, ToSpanID: e.SpanID, CorrelationID: benchCorrelation, Kind: kind, StartNS: e.StartNS})
			}
			batch.Events = append(batch.Events, e)
			prev = e
		}
		if err := s.Write(ctx, batch); err != nil {
			bench10M.err = err
			return
		}
		s.conn.Exec(ctx, "OPTIMIZE TABLE events FINAL") // settle the parts, as hours-old data would be
		bench10M.store, bench10M.n = s, n
	})
	if bench10M.err != nil {
		b.Fatal(bench10M.err)
	}
	return bench10M.store, bench10M.n
}

// BenchmarkQueries10M measures the studio's queries over 10M stored
// events: a causation graph of 1,000 events, the flow map of the last
// hour, an event search by type and service within an hour, a lookup by
// correlation id; and the bytes each stored event takes on disk.
func BenchmarkQueries10M(b *testing.B) {
	s, n := tenMillion(b)
	ctx := context.Background()
	b.Run("graph-1000", func(b *testing.B) {
		timed(b, func() error {
			g, err := store.Walk(ctx, s, store.GraphQuery{CorrelationID: benchCorrelation})
			if err == nil && (len(g.Nodes) != 1000 || len(g.Edges) != 999) {
				err = fmt.Errorf("graph has %d nodes and %d edges, want 1000 and 999", len(g.Nodes), len(g.Edges))
			}
			return err
		})
	})
	b.Run("flowmap-1h", func(b *testing.B) {
		timed(b, func() error {
			fm, err := s.Flows(ctx, store.FlowQuery{Since: time.Now().Add(-time.Hour), Until: time.Now()})
			if err == nil && len(fm.Edges) == 0 {
				err = fmt.Errorf("empty flow map")
			}
			return err
		})
	})
	b.Run("search-type-service-1h", func(b *testing.B) {
		timed(b, func() error {
			p, err := s.Events(ctx, store.EventQuery{EventType: "step3", Service: "service-3", Since: time.Now().Add(-time.Hour), Limit: 100})
			if err == nil && len(p.Events) != 100 {
				err = fmt.Errorf("%d events found", len(p.Events))
			}
			return err
		})
	})
	b.Run("correlation-lookup", func(b *testing.B) {
		i := 0
		timed(b, func() error {
			i++
			p, err := s.Events(ctx, store.EventQuery{CorrelationID: fmt.Sprintf("order-%d", (i*7919)%(n/5))})
			if err == nil && len(p.Events) != 5 {
				err = fmt.Errorf("%d events for one order", len(p.Events))
			}
			return err
		})
	})
	b.Run("bytes-per-event", func(b *testing.B) {
		var events, all uint64
		if err := s.conn.QueryRow(ctx, `SELECT sumIf(bytes_on_disk, table = 'events'), sum(bytes_on_disk) FROM system.parts
			WHERE database = ? AND active AND table IN ('events', 'events_by_trace', 'events_by_correlation', 'events_by_event_id')`, s.db).Scan(&events, &all); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
		}
		b.ReportMetric(float64(events)/float64(n+1000), "event-bytes/event")
		b.ReportMetric(float64(all)/float64(n+1000), "with-index-bytes/event")
	})
}
