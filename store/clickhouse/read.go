package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// eventSelect reads events, span ids as text (ids.go).
var eventSelect = `SELECT start_ns, trace_id, ` + idTextSQL("span_id") + `, event_id, event_type, schema_version, correlation_id,
	causation_id, ` + idTextSQL("parent_span_id") + `, links_trace_id, links_span_id, service, handler, system, cluster,
	destination, partition, offset, consumer_group, op, outcome, error, attempt, duration_ns,
	payload_size, replay_of, attr_keys, attr_values, message_key FROM events`

// idFilter narrows the events read to those with one of the ids of set
// (idSets) in column col, in the same query: the index table sorted by
// the id gives the start times of those events, and the events table,
// sorted by start time, is read only in the granules holding them
// (ClickHouse builds an IN (subquery) set before it reads, and uses it
// for the primary key). Unlike a range from the first to the last of
// them, events far apart in time cost no more than events close
// together (10M events, two event ids 24 h apart: 19,523 rows read
// instead of 9,006,147). One server only: on a cluster the subquery would
// read a Distributed table within a distributed query, which takes
// GLOBAL IN, whose set 18.16 does not use for the key; a cluster asks for
// the range first (clusterRange).
// The id test itself goes in PREWHERE, where 18.16 does not move a
// condition on a set by itself: the other columns are then read only
// where it holds. It returns the PREWHERE and the WHERE condition, each
// with its args.
func idFilter(table, col string, set idSet) (prewhere, where string, prewhereArgs, whereArgs []any) {
	return col + " IN " + set.expr, "start_ns IN (SELECT start_ns FROM " + table + " WHERE " + col + " IN " + set.expr + ")", set.args, set.args
}

// clusterRange asks for the first and last start time of the events
// with one of ids in column col, from the index table sorted by it: on a
// cluster, Events reads between the two.
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
	var prewhere, where []string
	var prewhereArgs, args []any
	// Id filters: through each one's index table (idFilter).
	filters := []struct {
		table, col string
		ids        []string
	}{
		{"events_by_trace", "trace_id", q.TraceIDs},
		{"events_by_correlation", "correlation_id", nonEmpty(q.CorrelationID)},
		{"events_by_event_id", "event_id", q.EventIDs},
		messageKeyIndex(q.MessageKey),
	}
	byID := false
	for _, f := range filters {
		if len(f.ids) == 0 {
			continue
		}
		byID = true
		if len(f.ids) > maxIn {
			return store.EventPage{}, fmt.Errorf("clickhouse store: events: %w", store.Invalid("at most %d %s values per query", maxIn, f.col))
		}
		if s.cluster != "" {
			// A cluster evaluates a subquery on each shard against its
			// own rows: ask for the range first instead.
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
		c, sets, err := s.idSets(ctx, []string{"ids_" + f.col}, f.ids)
		if err != nil {
			return store.EventPage{}, fmt.Errorf("clickhouse store: events: %w", err)
		}
		ctx = c
		pw, w, pa, a := idFilter(f.table, f.col, sets[0])
		prewhere, where = append(prewhere, pw), append(where, w)
		prewhereArgs, args = append(prewhereArgs, pa...), append(args, a...)
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
	if len(prewhere) > 0 {
		query += " PREWHERE " + strings.Join(prewhere, " AND ")
		args = append(prewhereArgs, args...)
	}
	// Without an id filter the read is a scan in start-time order, which
	// ClickHouse 18.16 does not stop early: it reads every matching row
	// before the LIMIT. Such a read wants the newest rows, so it looks in
	// the hour before its anchor (now, the cursor or Until) first, then
	// the day, then everywhere: a window holds every row newer than its
	// start, so when it has more than a page, the page is the same.
	windows := []time.Duration{0}
	if !byID {
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
