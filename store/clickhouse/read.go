package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// eventSelect reads events, span ids as text (ids.go).
var eventSelect = `SELECT start_ns, trace_id, ` + idTextSQL("span_id") + `, event_id, event_type, schema_version, correlation_id,
	causation_id, ` + idTextSQL("parent_span_id") + `, links_trace_id, links_span_id, service, handler, system, cluster,
	destination, partition, offset, consumer_group, op, outcome, error, attempt, duration_ns,
	payload_size, replay_of, attr_keys, attr_values, message_key FROM events`

// idRange narrows the events read to those with one of ids in column
// col, in the same query: a scalar subquery on the index table sorted by
// the id gives the first and last start time among them (a WITH clause
// named name), and the events table, sorted by start time, is read only
// between the two. One round trip instead of two. (ClickHouse computes a
// scalar subquery before it reads, so the primary key takes the range;
// 18.16 does not use an IN (subquery) set under GLOBAL for the key. A
// cluster asks for the range first: clusterRange.)
func idRange(name, table, col string, ids []string) (with, where string, withArgs, whereArgs []any) {
	in, args := inList(col, ids)
	with = "(SELECT (min(start_ns), max(start_ns)) FROM " + table + " WHERE " + in + ") AS " + name
	where = "start_ns >= tupleElement(" + name + ", 1) AND start_ns <= tupleElement(" + name + ", 2) AND " + in
	return with, where, args, args
}

// clusterRange is idRange's range as a query of its own, for clusters.
func (s *Store) clusterRange(ctx context.Context, table, col string, ids []string) (lo, hi uint64, found bool, err error) {
	in, args := inList(col, ids)
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count(), min(start_ns), max(start_ns) FROM "+table+" WHERE "+in, args...).Scan(&n, &lo, &hi); err != nil {
		return 0, 0, false, fmt.Errorf("%s: %w", table, err)
	}
	return lo, hi, n > 0, nil
}

// Events implements store.Reader.
func (s *Store) Events(ctx context.Context, q store.EventQuery) (_ store.EventPage, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	limit, err := store.Limit(q.Limit)
	if err != nil {
		return store.EventPage{}, err
	}
	cur, err := store.ParseCursor(q.Cursor)
	if err != nil {
		return store.EventPage{}, err
	}
	var with, where []string
	var withArgs, args []any
	// Id filters: through each one's index table (idRange).
	for _, f := range []struct {
		table, col string
		ids        []string
	}{
		{"events_by_trace", "trace_id", q.TraceIDs},
		{"events_by_correlation", "correlation_id", nonEmpty(q.CorrelationID)},
		{"events_by_event_id", "event_id", q.EventIDs},
		messageKeyIndex(q.MessageKey),
	} {
		if len(f.ids) == 0 {
			continue
		}
		if len(f.ids) > maxIn {
			return store.EventPage{}, fmt.Errorf("clickhouse store: events: %w", store.Invalid("at most %d %s values per query", maxIn, f.col))
		}
		if s.cluster != "" {
			// A cluster evaluates a WITH scalar subquery on the initiator
			// and again on each shard: under concurrent writes the two
			// differ and the query fails ("different expressions with the
			// same alias"). Ask for the range first instead.
			lo, hi, found, err := s.clusterRange(ctx, f.table, f.col, f.ids)
			if err != nil {
				return store.EventPage{}, fmt.Errorf("clickhouse store: events: %w", err)
			}
			if !found {
				return store.EventPage{Events: []event.Event{}}, nil
			}
			in, a := inList(f.col, f.ids)
			where = append(where, "start_ns >= ? AND start_ns <= ? AND "+in)
			args = append(append(args, lo, hi), a...)
			continue
		}
		w, cond, wa, a := idRange(fmt.Sprintf("range%d", len(with)), f.table, f.col, f.ids)
		with, where = append(with, w), append(where, cond)
		withArgs, args = append(withArgs, wa...), append(args, a...)
	}
	for _, f := range []struct{ col, v string }{
		{"service", q.Service}, {"destination", q.Destination}, {"event_type", q.EventType}, {"outcome", string(q.Outcome)},
	} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "start_ns >= ?")
		args = append(args, uint64(q.Since.UnixNano()))
	}
	if !q.Until.IsZero() {
		where = append(where, "start_ns < ?")
		args = append(args, uint64(q.Until.UnixNano()))
	}
	if q.Cursor != "" {
		// Ties on the start time go by span id as text: a row written
		// before ids.go's binary form sorts where its id says.
		where = append(where, "(start_ns < ? OR (start_ns = ? AND "+idTextSQL("span_id")+" < ?))")
		args = append(args, cur.StartNS, cur.StartNS, cur.SpanID)
	}
	query := eventSelect
	if len(with) > 0 {
		query = "WITH " + strings.Join(with, ", ") + " " + query
		args = append(withArgs, args...)
	}
	// Without an id filter the read is a scan in start-time order, which
	// ClickHouse 18.16 does not stop early: it reads every matching row
	// before the LIMIT. Such a read wants the newest rows, so it looks in
	// the hour before its anchor (now, the cursor or Until) first, then
	// the day, then everywhere: a window holds every row newer than its
	// start, so when it has more than a page, the page is the same.
	windows := []time.Duration{0}
	if len(with) == 0 {
		windows = []time.Duration{time.Hour, 24 * time.Hour, 0}
	}
	anchor := time.Now()
	if q.Cursor != "" {
		anchor = time.Unix(0, int64(cur.StartNS))
	}
	if !q.Until.IsZero() && q.Until.Before(anchor) {
		anchor = q.Until
	}
	for _, w := range windows {
		cond, wargs := where, args
		if w > 0 {
			from := anchor.Add(-w)
			if !q.Since.IsZero() && !from.After(q.Since) {
				w = 0 // the query's own Since is narrower: this is the last read
			} else {
				cond, wargs = append(cond[:len(cond):len(cond)], "start_ns >= ?"), append(args[:len(args):len(args)], uint64(from.UnixNano()))
			}
		}
		sql := query
		if len(cond) > 0 {
			sql += " WHERE " + strings.Join(cond, " AND ")
		}
		sql += " ORDER BY start_ns DESC, " + idTextSQL("span_id") + " DESC LIMIT 1 BY trace_id, span_id LIMIT ?"
		events, err := s.scanEvents(ctx, sql, append(wargs[:len(wargs):len(wargs)], limit+1))
		if err != nil {
			return store.EventPage{}, fmt.Errorf("clickhouse store: events: %w", err)
		}
		if w > 0 && len(events) <= limit {
			continue // the window may lack older rows of the page: widen it
		}
		page := store.EventPage{Events: events}
		if len(page.Events) > limit {
			page.Events = page.Events[:limit]
			page.Next = store.CursorAfter(page.Events[limit-1])
		}
		return page, nil
	}
	panic("unreachable: the last window is unbounded")
}

// scanEvents runs an eventSelect query.
func (s *Store) scanEvents(ctx context.Context, query string, args []any) ([]event.Event, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []event.Event{}
	for rows.Next() {
		var e event.Event
		var lt, ls, ak, av []string
		var op, outcome string
		if err := rows.Scan(&e.StartNS, &e.TraceID, &e.SpanID, &e.EventID, &e.EventType, &e.SchemaVersion,
			&e.CorrelationID, &e.CausationID, &e.ParentSpanID, &lt, &ls, &e.Service, &e.Handler, &e.System,
			&e.Cluster, &e.Destination, &e.Partition, &e.Offset, &e.ConsumerGroup, &op, &outcome, &e.Error,
			&e.Attempt, &e.DurationNS, &e.PayloadSize, &e.ReplayOf, &ak, &av, &e.MessageKey); err != nil {
			return nil, err
		}
		e.Op, e.Outcome, e.Links, e.Attributes = event.Op(op), event.Outcome(outcome), toLinks(lt, ls), toMap(ak, av)
		out = append(out, e)
	}
	return out, rows.Err()
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func toLinks(traces, spans []string) []event.Link {
	if len(traces) == 0 {
		return nil
	}
	out := make([]event.Link, len(traces))
	for i := range traces {
		out[i] = event.Link{TraceID: traces[i], SpanID: spans[i]}
	}
	return out
}

func toMap(keys, values []string) map[string]string {
	if len(keys) == 0 {
		return nil
	}
	m := make(map[string]string, len(keys))
	for i, k := range keys {
		m[k] = values[i]
	}
	return m
}

// Edges implements store.Reader: each lookup reads the copy of the edges
// sorted by its key.
func (s *Store) Edges(ctx context.Context, q store.EdgeQuery) (_ []event.Edge, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	lookup := func(table, col string, ids []string) ([]event.Edge, error) {
		var found []event.Edge
		err := chunks(ids, func(ids []string) error {
			in, args := inList(col, ids)
			rows, err := s.conn.Query(ctx, "SELECT from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id, correlation_id, kind, start_ns FROM "+table+" WHERE "+in, args...)
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			defer rows.Close()
			for rows.Next() {
				var e event.Edge
				var kind string
				if err := rows.Scan(&e.FromTraceID, &e.FromSpanID, &e.FromEventID, &e.ToTraceID, &e.ToSpanID, &e.CorrelationID, &kind, &e.StartNS); err != nil {
					return err
				}
				e.Kind = event.EdgeKind(kind)
				found = append(found, e)
			}
			return rows.Err()
		})
		return found, err
	}
	// The three copies are independent lookups: ask them at once.
	lookups := []struct {
		table, col string
		ids        []string
	}{{"edges", "to_trace_id", q.TraceIDs}, {"edges_by_from_trace", "from_trace_id", q.TraceIDs}, {"edges_by_from_event", "from_event_id", q.FromEventIDs}}
	results := make([][]event.Edge, len(lookups))
	errs := make([]error, len(lookups))
	var wg sync.WaitGroup
	for i, l := range lookups {
		if len(l.ids) == 0 {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = lookup(l.table, l.col, l.ids) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("clickhouse store: edges: %w", err)
	}
	out := []event.Edge{}
	seen := map[event.Edge]bool{}
	for _, found := range results {
		for _, e := range found {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// Flows implements store.Reader from the per-minute aggregates: the
// window is widened to whole minutes.
func (s *Store) Flows(ctx context.Context, q store.FlowQuery) (_ store.FlowMap, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	since := q.Since.UTC().Truncate(time.Minute)
	until := q.Until.UTC()
	if t := until.Truncate(time.Minute); !t.Equal(until) {
		until = t.Add(time.Minute)
	}
	rows, err := s.conn.Query(ctx, `SELECT service, system, destination, consumer_group, op,
		countMerge(count), countIfMerge(errors), quantilesMerge(0.5, 0.99)(durations)
		FROM flows_1m WHERE minute >= ? AND minute < ?
		GROUP BY service, system, destination, consumer_group, op`, since, until)
	if err != nil {
		return store.FlowMap{}, fmt.Errorf("clickhouse store: flows: %w", err)
	}
	defer rows.Close()
	var out []store.FlowRow
	for rows.Next() {
		var r store.FlowRow
		var op string
		var qs []uint64
		if err := rows.Scan(&r.Service, &r.System, &r.Destination, &r.ConsumerGroup, &op, &r.Count, &r.Errors, &qs); err != nil {
			return store.FlowMap{}, fmt.Errorf("clickhouse store: flows: %w", err)
		}
		r.Op = event.Op(op)
		if len(qs) == 2 {
			r.P50NS, r.P99NS = qs[0], qs[1]
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return store.FlowMap{}, fmt.Errorf("clickhouse store: flows: %w", err)
	}
	return store.BuildFlowMap(out), nil
}
