package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

const (
	eventCols = `date, start_ns, trace_id, span_id, event_id, event_type, schema_version, correlation_id,
		causation_id, parent_span_id, links_trace_id, links_span_id, service, handler, system, cluster,
		destination, partition, offset, consumer_group, op, outcome, error, attempt, duration_ns,
		payload_size, replay_of, attr_keys, attr_values, message_key, ` + foldedCols
	spanCols = `date, trace_id, span_id, parent_span_id, service, name, kind, start_ns, duration_ns,
		status_code, status_message, links_trace_id, links_span_id, attr_keys, attr_values`
	edgeCols = `date, from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id, correlation_id, kind, start_ns`
)

// Write implements store.Writer. Spans, events and edges are three
// concurrent inserts; the span of an event in the batch goes into the
// event's row (spans.go), not the spans table. When Retry is set, rows
// already stored are left out.
func (s *Store) Write(ctx context.Context, b *store.Batch) error {
	folded, spans := foldSpans(b.Events, b.Spans)
	events, edges := b.Events, b.Edges
	if b.Retry {
		var err error
		rest := *b
		rest.Spans = spans
		if events, spans, edges, err = s.missing(ctx, &rest); err != nil {
			return fmt.Errorf("clickhouse store: checking a retried batch: %w", err)
		}
	}
	// The tables are independent: insert them at once, each on its own
	// connection, so the server works on all of them (and their
	// materialized views) in parallel. If one fails the batch is retried
	// as a whole, and the retry leaves out what the others stored.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	run := func(i int, fn func() error) {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn() }()
	}
	if len(spans) > 0 {
		run(0, func() error {
			return s.insert(ctx, "spans", spanCols, len(spans), func(i int) []any {
				sp := &spans[i]
				lt, ls := links(sp.Links)
				k, v := attrs(sp.Attributes)
				return []any{day(sp.StartNS), sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.Service, sp.Name, sp.Kind,
					sp.StartNS, sp.DurationNS, sp.StatusCode, sp.StatusMessage, lt, ls, k, v}
			})
		})
	}
	if len(events) > 0 {
		run(1, func() error { return s.insertEvents(ctx, events, folded) })
	}
	run(2, func() error {
		if err := s.writeBroker(ctx, b); err != nil {
			return err
		}
		if len(edges) == 0 {
			return nil
		}
		return s.insert(ctx, "edges", edgeCols, len(edges), func(i int) []any {
			e := &edges[i]
			return []any{day(e.StartNS), e.FromTraceID, e.FromSpanID, e.FromEventID, e.ToTraceID, e.ToSpanID,
				e.CorrelationID, string(e.Kind), e.StartNS}
		})
	})
	wg.Wait()
	return errors.Join(errs...)
}

// insert sends one block. The explicit column list is required on 18.16.
func (s *Store) insert(ctx context.Context, table, cols string, n int, row func(int) []any) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+cols+")")
	if err != nil {
		return fmt.Errorf("clickhouse store: insert %s: %w", table, err)
	}
	defer batch.Abort()
	for i := 0; i < n; i++ {
		if err := batch.Append(row(i)...); err != nil {
			return fmt.Errorf("clickhouse store: insert %s row %d: %w", table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse store: insert %s: %w", table, err)
	}
	return nil
}

func links(ls []event.Link) (traces, spans []string) {
	traces, spans = make([]string, len(ls)), make([]string, len(ls))
	for i, l := range ls {
		traces[i], spans[i] = l.TraceID, l.SpanID
	}
	return traces, spans
}

func attrs(m map[string]string) (keys, values []string) {
	keys = make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values = make([]string, len(keys))
	for i, k := range keys {
		values[i] = m[k]
	}
	return keys, values
}

// missing returns the rows of b that are not stored yet.
func (s *Store) missing(ctx context.Context, b *store.Batch) ([]event.Event, []event.Span, []event.Edge, error) {
	key := func(trace, span string) string { return trace + "/" + span }
	traceSet := map[string]bool{}
	var lo, hi uint64 = ^uint64(0), 0
	for _, e := range b.Events {
		traceSet[e.TraceID] = true
		lo, hi = min(lo, e.StartNS), max(hi, e.StartNS)
	}
	for _, sp := range b.Spans {
		traceSet[sp.TraceID] = true
	}
	for _, e := range b.Edges {
		traceSet[e.ToTraceID] = true
	}
	traces := make([]string, 0, len(traceSet))
	for t := range traceSet {
		traces = append(traces, t)
	}
	sort.Strings(traces)
	haveEvent, haveSpan, haveEdge := map[string]bool{}, map[string]bool{}, map[string]bool{}
	err := chunks(traces, func(ids []string) error {
		in, args := inList("trace_id", ids)
		if len(b.Events) > 0 {
			rows, err := s.conn.Query(ctx, "SELECT trace_id, "+idTextSQL("span_id")+" FROM events WHERE start_ns >= ? AND start_ns <= ? AND "+in,
				append([]any{lo, hi}, args...)...)
			if err != nil {
				return err
			}
			if err := scanKeys(rows, haveEvent, key); err != nil {
				return err
			}
		}
		if len(b.Spans) > 0 {
			rows, err := s.conn.Query(ctx, "SELECT trace_id, span_id FROM spans WHERE "+in, args...)
			if err != nil {
				return err
			}
			if err := scanKeys(rows, haveSpan, key); err != nil {
				return err
			}
		}
		if len(b.Edges) > 0 {
			in, args := inList("to_trace_id", ids)
			rows, err := s.conn.Query(ctx, "SELECT concat(from_trace_id, from_span_id, '|', from_event_id, '|', kind), concat(to_trace_id, '/', to_span_id) FROM edges WHERE "+in, args...)
			if err != nil {
				return err
			}
			if err := scanKeys(rows, haveEdge, func(a, b string) string { return a + "|" + b }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var events []event.Event
	for _, e := range b.Events {
		if !haveEvent[key(e.TraceID, e.SpanID)] {
			events = append(events, e)
		}
	}
	var spans []event.Span
	for _, sp := range b.Spans {
		if !haveSpan[key(sp.TraceID, sp.SpanID)] {
			spans = append(spans, sp)
		}
	}
	var edges []event.Edge
	for _, e := range b.Edges {
		k := e.FromTraceID + e.FromSpanID + "|" + e.FromEventID + "|" + string(e.Kind) + "|" + key(e.ToTraceID, e.ToSpanID)
		if !haveEdge[k] {
			haveEdge[k] = true // a batch may itself repeat a row
			edges = append(edges, e)
		}
	}
	return dedupeRows(events, func(e *event.Event) string { return e.TraceID + e.SpanID }),
		dedupeRows(spans, func(sp *event.Span) string { return sp.TraceID + sp.SpanID }), edges, nil
}

type rowScanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

func scanKeys(rows rowScanner, into map[string]bool, key func(a, b string) string) error {
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return err
		}
		into[key(a, b)] = true
	}
	return rows.Err()
}

// dedupeRows keeps the first row of each (trace id, span id) key.
func dedupeRows[T any](rows []T, key func(*T) string) []T {
	seen := make(map[string]bool, len(rows))
	out := rows[:0:0]
	for i := range rows {
		if k := key(&rows[i]); !seen[k] {
			seen[k] = true
			out = append(out, rows[i])
		}
	}
	return out
}
