package embedded

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// eventsSQL builds the query for q; it returns the validated page size.
// Service, destination and type are dict ids: a name never stored
// matches no row (id -1).
func (s *Store) eventsSQL(ctx context.Context, q store.EventQuery) (query string, args []any, limit int, err error) {
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
	if q.MessageKey != "" {
		// A key equal to the correlation id is stored once, in
		// correlation_id, with flagKeyIsCorrelation: both indexes serve
		// (SQLite's OR over two index searches).
		w.add("(message_key = ? AND message_key != '' OR correlation_id = ? AND correlation_id != '' AND substr(body, 1, 1) IN ("+flagsKeySQL+"))",
			q.MessageKey, q.MessageKey)
	}
	w.inIDs("trace_id", q.TraceIDs)
	w.inIDs("event_id", q.EventIDs)
	for _, f := range []struct{ col, v string }{{"service", q.Service}, {"destination", q.Destination}, {"event_type", q.EventType}} {
		if f.v == "" {
			continue
		}
		id, err := s.dict.lookup(ctx, s.r, f.v)
		if err != nil {
			return "", nil, 0, err
		}
		w.add(f.col+" = ?", id)
	}
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
		w.add("start_ns <= ? AND (start_ns < ? OR span_id < ?)", int64(cur.StartNS), int64(cur.StartNS), encID(cur.SpanID))
	}
	query = "SELECT " + eventCols + " FROM events" + w.String() + " ORDER BY start_ns DESC, span_id DESC LIMIT ?"
	return query, append(w.args, limit+1), limit, nil
}

// inIDs matches any of ids, stored as encID stores them.
func (w *where) inIDs(col string, ids []string) {
	if len(ids) == 0 {
		return
	}
	args := make([]any, len(ids))
	for i, v := range ids {
		args[i] = encID(v)
	}
	w.add(col+" IN ("+placeholders(len(ids))+")", args...)
}

// eventRow is an event row as read, with what its body adds.
type eventRow struct {
	e       event.Event
	span    *spanPart
	implied uint64
}

// rawEvent is an event row as scanned, before its dict numbers and body
// are resolved.
type rawEvent struct {
	trace, span, eventID, causation       any
	start                                 int64
	service, dest, typ, op, system, group int64
	outcome, correlation, messageKey      string
	body                                  []byte
}

// scanEvents reads rows of eventCols, closes them, then resolves the
// rows' dict numbers: a dict lookup that reads the table takes a reader
// connection of its own, which it must not wait for while this query
// holds one (a pool of busy queries would wait on each other).
func (s *Store) scanEvents(ctx context.Context, rows *sql.Rows) ([]eventRow, error) {
	var raws []rawEvent
	for rows.Next() {
		var r rawEvent
		if err := rows.Scan(&r.trace, &r.span, &r.start, &r.service, &r.dest, &r.typ, &r.op, &r.system, &r.group,
			&r.outcome, &r.correlation, &r.eventID, &r.causation, &r.messageKey, &r.body); err != nil {
			return nil, err
		}
		raws = append(raws, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	dr := dictReader{d: s.dict, ctx: ctx, db: s.r}
	out := make([]eventRow, len(raws))
	for i := range raws {
		r, o := &raws[i], &out[i]
		e := &o.e
		e.TraceID, e.SpanID, e.EventID, e.CausationID = decID(r.trace), decID(r.span), decID(r.eventID), decID(r.causation)
		e.StartNS, e.Outcome, e.CorrelationID, e.MessageKey = uint64(r.start), event.Outcome(r.outcome), r.correlation, r.messageKey
		e.Service, e.Destination, e.EventType = dr.str(r.service), dr.str(r.dest), dr.str(r.typ)
		e.Op, e.System, e.ConsumerGroup = event.Op(dr.str(r.op)), dr.str(r.system), dr.str(r.group)
		sp, implied, err := unpackEvent(&dr, r.body, e)
		if err != nil {
			return nil, fmt.Errorf("event %s/%s: %w", e.TraceID, e.SpanID, err)
		}
		o.span, o.implied = sp, implied
	}
	return out, nil
}

func (s *Store) queryEvents(ctx context.Context, query string, args ...any) ([]eventRow, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return s.scanEvents(ctx, rows)
}

// Events implements store.Reader.
func (s *Store) Events(ctx context.Context, q store.EventQuery) (_ store.EventPage, err error) {
	defer store.MarkTimeout(ctx, &err)
	query, args, limit, err := s.eventsSQL(ctx, q)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("embedded store: events: %w", err)
	}
	rs, err := s.queryEvents(ctx, query, args...)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("embedded store %q: events: %w", s.dir, err)
	}
	page := store.EventPage{Events: make([]event.Event, 0, len(rs))}
	for i := range rs {
		page.Events = append(page.Events, rs[i].e)
	}
	if len(page.Events) > limit {
		page.Events = page.Events[:limit]
		page.Next = store.CursorAfter(page.Events[limit-1])
	}
	return page, nil
}

// edgesSQL builds the query of the edges table for q: one SELECT per kind
// of match, each served by an index, united (UNION drops an edge matched
// twice).
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
		w.inIDs(col, vs)
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
	return joinUnion(parts), args, nil
}

func joinUnion(parts []string) string {
	out := parts[0]
	for _, p := range parts[1:] {
		out += " UNION " + p
	}
	return out
}

// Edges implements store.Reader: the edges table's rows and the edges
// implied by event rows (parent, causation and same-trace links), each
// edge once, ordered by StartNS.
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
	seen := map[event.Edge]bool{}
	keep := func(e event.Edge) {
		k := e
		k.CorrelationID, k.StartNS = "", 0 // not part of an edge's key
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	if err := s.storedEdges(ctx, query, args, keep); err != nil {
		return nil, fmt.Errorf("embedded store %q: edges: %w", s.dir, err)
	}
	// Implied edges: into the traces (and out of them within the trace),
	// and causation edges from the event ids.
	var implied []eventRow
	if len(q.TraceIDs) > 0 {
		var w where
		w.inIDs("trace_id", q.TraceIDs)
		rs, err := s.queryEvents(ctx, "SELECT "+eventCols+" FROM events"+w.String(), w.args...)
		if err != nil {
			return nil, fmt.Errorf("embedded store %q: edges: %w", s.dir, err)
		}
		implied = append(implied, rs...)
	}
	if len(q.FromEventIDs) > 0 {
		var w where
		w.inIDs("causation_id", q.FromEventIDs)
		w.add("causation_id != ''")
		rs, err := s.queryEvents(ctx, "SELECT "+eventCols+" FROM events"+w.String(), w.args...)
		if err != nil {
			return nil, fmt.Errorf("embedded store %q: edges: %w", s.dir, err)
		}
		for i := range rs {
			rs[i].implied &= impliedCausation
		}
		implied = append(implied, rs...)
	}
	for i := range implied {
		for _, e := range impliedEdges(&implied[i].e, implied[i].implied) {
			keep(e)
		}
	}
	slices.SortStableFunc(out, func(a, b event.Edge) int { return cmp.Compare(a.StartNS, b.StartNS) })
	return out, nil
}

func (s *Store) storedEdges(ctx context.Context, query string, args []any, keep func(event.Edge)) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e event.Edge
		var ft, fs, fe, tt, ts any
		var kind string
		var start int64
		if err := rows.Scan(&ft, &fs, &fe, &tt, &ts, &e.CorrelationID, &kind, &start); err != nil {
			return err
		}
		e.FromTraceID, e.FromSpanID, e.FromEventID, e.ToTraceID, e.ToSpanID = decID(ft), decID(fs), decID(fe), decID(tt), decID(ts)
		e.Kind, e.StartNS = event.EdgeKind(kind), uint64(start)
		keep(e)
	}
	return rows.Err()
}

// spansSQL reads a trace's plain spans by the primary-key prefix.
const spansSQL = "SELECT " + spanCols + " FROM spans WHERE trace_id = ?"

// Spans implements store.Reader: the trace's plain spans and the spans
// kept in its event rows, each span once.
func (s *Store) Spans(ctx context.Context, traceID string, limit int) (_ []event.Span, err error) {
	defer store.MarkTimeout(ctx, &err)
	if limit < 0 {
		return nil, fmt.Errorf("embedded store: spans: %w", store.Invalid("limit %d is negative", limit))
	}
	out := []event.Span{}
	seen := map[string]bool{}
	type rawSpan struct {
		trace, span any
		start       int64
		body        []byte
	}
	var raws []rawSpan
	rows, err := s.r.QueryContext(ctx, spansSQL, encID(traceID))
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: spans: %w", s.dir, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r rawSpan
		if err := rows.Scan(&r.trace, &r.span, &r.start, &r.body); err != nil {
			return nil, fmt.Errorf("embedded store %q: spans: %w", s.dir, err)
		}
		raws = append(raws, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded store %q: spans: %w", s.dir, err)
	}
	rows.Close() // before dict lookups take a connection (see scanEvents)
	dr := dictReader{d: s.dict, ctx: ctx, db: s.r}
	for _, r := range raws {
		sp := event.Span{TraceID: decID(r.trace), SpanID: decID(r.span), StartNS: uint64(r.start)}
		if err := unpackSpan(&dr, r.body, &sp); err != nil {
			return nil, fmt.Errorf("embedded store %q: span %s/%s: %w", s.dir, sp.TraceID, sp.SpanID, err)
		}
		seen[sp.SpanID] = true
		out = append(out, sp)
	}
	rs, err := s.queryEvents(ctx, "SELECT "+eventCols+" FROM events WHERE trace_id = ?", encID(traceID))
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: spans: %w", s.dir, err)
	}
	for i := range rs {
		if r := &rs[i]; r.span != nil && !seen[r.e.SpanID] {
			seen[r.e.SpanID] = true
			out = append(out, r.span.span(&r.e))
		}
	}
	slices.SortFunc(out, func(a, b event.Span) int {
		return cmp.Or(cmp.Compare(a.StartNS, b.StartNS), cmp.Compare(a.SpanID, b.SpanID))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
