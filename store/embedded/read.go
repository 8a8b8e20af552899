package embedded

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// maxIn bounds the values of one id list in a query, so that a query's
// parameters stay under maxVariables (Edges binds three lists).
const maxIn = 10000

// where collects a query's conditions and their bound values. Values are
// always bound; only column names and placeholders enter the SQL.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col+" = ?", v)
	}
}

func (w *where) in(col string, vs []string) {
	if len(vs) == 0 {
		return
	}
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	w.add(col+" IN ("+placeholders(len(vs))+")", args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func checkIn(what string, vs []string) error {
	if len(vs) > maxIn {
		return store.Invalid("%d %s in one query, at most %d", len(vs), what, maxIn)
	}
	return nil
}

// eventsSQL builds the query for q; it returns the validated page size.
func eventsSQL(q store.EventQuery) (query string, args []any, limit int, err error) {
	if limit, err = store.Limit(q.Limit); err != nil {
		return "", nil, 0, err
	}
	cur, err := store.ParseCursor(q.Cursor)
	if err != nil {
		return "", nil, 0, err
	}
	if err := errors.Join(checkIn("trace ids", q.TraceIDs), checkIn("event ids", q.EventIDs)); err != nil {
		return "", nil, 0, err
	}
	var w where
	if q.CorrelationID != "" {
		// The second term lets SQLite use the partial index.
		w.add("correlation_id = ? AND correlation_id != ''", q.CorrelationID)
	}
	w.in("trace_id", q.TraceIDs)
	w.in("event_id", q.EventIDs)
	w.messageKey(q.MessageKey)
	w.eq("service", q.Service)
	w.eq("destination", q.Destination)
	w.eq("event_type", q.EventType)
	w.eq("outcome", string(q.Outcome))
	if !q.Since.IsZero() {
		w.add("start_ns >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		w.add("start_ns < ?", q.Until.UnixNano())
	}
	if q.Cursor != "" {
		// Strictly after the cursor in (start_ns DESC, span_id DESC)
		// order, written so that start_ns bounds an index range.
		w.add("start_ns <= ? AND (start_ns < ? OR span_id < ?)", int64(cur.StartNS), int64(cur.StartNS), cur.SpanID)
	}
	query = "SELECT " + eventCols + " FROM events" + w.String() + " ORDER BY start_ns DESC, span_id DESC LIMIT ?"
	return query, append(w.args, limit+1), limit, nil
}

// Events implements store.Reader.
func (s *Store) Events(ctx context.Context, q store.EventQuery) (_ store.EventPage, err error) {
	defer store.MarkTimeout(ctx, &err)
	query, args, limit, err := eventsSQL(q)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("embedded store: events: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("embedded store %q: events: %w", s.dir, err)
	}
	defer rows.Close()
	page := store.EventPage{Events: []event.Event{}}
	for rows.Next() {
		var e event.Event
		var links, attrs, op, outcome string
		var start, dur int64
		if err := rows.Scan(&e.TraceID, &e.SpanID, &e.EventID, &e.EventType, &e.SchemaVersion, &e.CorrelationID,
			&e.CausationID, &e.ParentSpanID, &links, &e.Service, &e.Handler, &e.System, &e.Cluster, &e.Destination,
			&e.Partition, &e.Offset, &e.ConsumerGroup, &op, &outcome, &e.Error, &e.Attempt, &start, &dur,
			&e.PayloadSize, &e.ReplayOf, &attrs, &e.MessageKey); err != nil {
			return store.EventPage{}, fmt.Errorf("embedded store %q: events: %w", s.dir, err)
		}
		e.Op, e.Outcome, e.StartNS, e.DurationNS = event.Op(op), event.Outcome(outcome), uint64(start), uint64(dur)
		if err := errors.Join(decodeJSON(links, &e.Links), decodeJSON(attrs, &e.Attributes)); err != nil {
			return store.EventPage{}, fmt.Errorf("embedded store %q: event %s/%s: %w", s.dir, e.TraceID, e.SpanID, err)
		}
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return store.EventPage{}, fmt.Errorf("embedded store %q: events: %w", s.dir, err)
	}
	if len(page.Events) > limit {
		page.Events = page.Events[:limit]
		page.Next = store.CursorAfter(page.Events[limit-1])
	}
	return page, nil
}

// edgesSQL builds the query for q: one SELECT per kind of match, each
// served by an index, united (UNION drops an edge matched twice).
func edgesSQL(q store.EdgeQuery) (query string, args []any, err error) {
	if err := errors.Join(checkIn("trace ids", q.TraceIDs), checkIn("event ids", q.FromEventIDs)); err != nil {
		return "", nil, err
	}
	var parts []string
	sel := func(col string, vs []string) {
		if len(vs) == 0 {
			return
		}
		var w where
		w.in(col, vs)
		if col != "to_trace_id" {
			w.add(col + " != ''") // lets SQLite use the partial index
		}
		parts = append(parts, "SELECT "+edgeCols+" FROM edges"+w.String())
		args = append(args, w.args...)
	}
	sel("to_trace_id", q.TraceIDs)
	sel("from_trace_id", q.TraceIDs)
	sel("from_event_id", q.FromEventIDs)
	if len(parts) == 0 {
		return "", nil, nil
	}
	return strings.Join(parts, " UNION ") + " ORDER BY start_ns", args, nil
}

// Edges implements store.Reader.
func (s *Store) Edges(ctx context.Context, q store.EdgeQuery) (_ []event.Edge, err error) {
	defer store.MarkTimeout(ctx, &err)
	query, args, err := edgesSQL(q)
	if err != nil {
		return nil, fmt.Errorf("embedded store: edges: %w", err)
	}
	out := []event.Edge{}
	if query == "" {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: edges: %w", s.dir, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e event.Edge
		var kind string
		var start int64
		if err := rows.Scan(&e.FromTraceID, &e.FromSpanID, &e.FromEventID, &e.ToTraceID, &e.ToSpanID,
			&e.CorrelationID, &kind, &start); err != nil {
			return nil, fmt.Errorf("embedded store %q: edges: %w", s.dir, err)
		}
		e.Kind, e.StartNS = event.EdgeKind(kind), uint64(start)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded store %q: edges: %w", s.dir, err)
	}
	return out, nil
}

// spansSQL reads a trace's spans by its primary-key prefix; LIMIT -1 is
// SQLite's "no limit".
const spansSQL = "SELECT " + spanCols + " FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id LIMIT ?"

// Spans implements store.Reader.
func (s *Store) Spans(ctx context.Context, traceID string, limit int) (_ []event.Span, err error) {
	defer store.MarkTimeout(ctx, &err)
	if limit < 0 {
		return nil, fmt.Errorf("embedded store: spans: %w", store.Invalid("limit %d is negative", limit))
	}
	if limit == 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, spansSQL, traceID, limit)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: spans: %w", s.dir, err)
	}
	defer rows.Close()
	out := []event.Span{}
	for rows.Next() {
		var sp event.Span
		var links, attrs string
		var start, dur int64
		if err := rows.Scan(&sp.TraceID, &sp.SpanID, &sp.ParentSpanID, &sp.Service, &sp.Name, &sp.Kind, &start, &dur,
			&sp.StatusCode, &sp.StatusMessage, &links, &attrs); err != nil {
			return nil, fmt.Errorf("embedded store %q: spans: %w", s.dir, err)
		}
		sp.StartNS, sp.DurationNS = uint64(start), uint64(dur)
		if err := errors.Join(decodeJSON(links, &sp.Links), decodeJSON(attrs, &sp.Attributes)); err != nil {
			return nil, fmt.Errorf("embedded store %q: span %s/%s: %w", s.dir, sp.TraceID, sp.SpanID, err)
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded store %q: spans: %w", s.dir, err)
	}
	return out, nil
}
