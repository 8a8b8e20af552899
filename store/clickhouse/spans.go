package clickhouse

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// A messaging span is stored once (schema 009): in its event's row, which
// then also holds what the span has beyond the event — its name, kind,
// status and the attributes the event's mapping took out (span = 1,
// span_name, span_kind, status_code, status_message, span_attr_keys and
// span_attr_values). Spans() rebuilds it from that row. Only spans of
// other operations (HTTP handlers, database calls, …) are rows of the
// spans table. Stores written before 009 have messaging spans in both;
// Spans() shows each once.

// spanKey is a span's identity within the store.
type spanKey struct{ trace, span string }

// foldedSpan is what an event row keeps of its span.
type foldedSpan struct {
	name, kind, statusCode, statusMessage string
	// extraKeys and extraValues are the span's attributes the event lacks.
	extraKeys, extraValues []string
}

// foldSpans returns, for each span of the batch whose event the batch
// also holds, what the event's row keeps of it, and the other spans,
// which are stored as span rows. A span folds only when its event can
// give it back unchanged: same parent, service, times and links, and
// the event's attributes all the span's too.
func foldSpans(events []event.Event, spans []event.Span) (map[spanKey]foldedSpan, []event.Span) {
	if len(events) == 0 || len(spans) == 0 {
		return nil, spans
	}
	byKey := make(map[spanKey]*event.Event, len(events))
	for i := range events {
		e := &events[i]
		byKey[spanKey{e.TraceID, e.SpanID}] = e
	}
	folded := make(map[spanKey]foldedSpan, len(spans))
	rest := spans[:0:0]
	for i := range spans {
		sp := &spans[i]
		k := spanKey{sp.TraceID, sp.SpanID}
		e, ok := byKey[k]
		if _, twice := folded[k]; twice {
			continue // a batch may repeat a span: the first one is kept
		}
		if !ok || !foldable(e, sp) {
			rest = append(rest, *sp)
			continue
		}
		f := foldedSpan{name: sp.Name, kind: sp.Kind, statusCode: sp.StatusCode, statusMessage: sp.StatusMessage}
		extra := make(map[string]string)
		for k, v := range sp.Attributes {
			if ev, ok := e.Attributes[k]; !ok || ev != v {
				extra[k] = v
			}
		}
		f.extraKeys, f.extraValues = attrs(extra)
		folded[k] = f
	}
	return folded, rest
}

// foldable says whether span sp can be rebuilt from event e's row.
func foldable(e *event.Event, sp *event.Span) bool {
	if e.ParentSpanID != sp.ParentSpanID || e.Service != sp.Service || e.StartNS != sp.StartNS ||
		e.DurationNS != sp.DurationNS || len(e.Links) != len(sp.Links) {
		return false
	}
	for i := range e.Links {
		if e.Links[i] != sp.Links[i] {
			return false
		}
	}
	for k, v := range e.Attributes {
		if sv, ok := sp.Attributes[k]; !ok || sv != v {
			return false
		}
	}
	return true
}

// foldedCols are the event columns holding its span (insertEvents
// fills them).
const foldedCols = `span, span_name, span_kind, status_code, status_message, span_attr_keys, span_attr_values`

// spanSelect reads a trace's spans: the spans table's rows and the event
// rows holding a span, the events found by their start times in the
// trace's index table in the same query, so the whole read is one round
// trip (GLOBAL IN: in cluster mode the index table is Distributed, and
// the initiator sends every shard the start times). Rows the store holds twice (span rows written before schema 009
// beside their event, or a batch retried across it) come back once.
var spanSelect = `SELECT trace_id, sid, psid, service, name, kind, start_ns, duration_ns,
	status_code, status_message, links_trace_id, links_span_id, attr_keys, attr_values, extra_keys, extra_values
FROM (
	SELECT trace_id, span_id AS sid, parent_span_id AS psid, service, name, kind, start_ns, duration_ns, status_code,
		status_message, links_trace_id, links_span_id, attr_keys, attr_values,
		emptyArrayString() AS extra_keys, emptyArrayString() AS extra_values
	FROM spans WHERE trace_id = ?
	UNION ALL
	SELECT trace_id, ` + idTextSQL("span_id") + ` AS sid, ` + idTextSQL("parent_span_id") + ` AS psid, service,
		span_name AS name, span_kind AS kind, start_ns, duration_ns, status_code, status_message, links_trace_id,
		links_span_id, attr_keys, attr_values, span_attr_keys AS extra_keys, span_attr_values AS extra_values
	FROM events
	WHERE start_ns GLOBAL IN (SELECT start_ns FROM events_by_trace WHERE trace_id = ?) AND trace_id = ? AND span = 1
)
ORDER BY start_ns, sid LIMIT 1 BY trace_id, sid`

// Spans implements store.Reader.
func (s *Store) Spans(ctx context.Context, traceID string, limit int) (_ []event.Span, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	if limit < 0 {
		return nil, fmt.Errorf("clickhouse store: spans: %w", store.Invalid("limit %d is negative", limit))
	}
	query := spanSelect
	args := []any{traceID, traceID, traceID}
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: spans: %w", err)
	}
	defer rows.Close()
	out := []event.Span{}
	for rows.Next() {
		var sp event.Span
		var lt, ls, ak, av, xk, xv []string
		if err := rows.Scan(&sp.TraceID, &sp.SpanID, &sp.ParentSpanID, &sp.Service, &sp.Name, &sp.Kind, &sp.StartNS,
			&sp.DurationNS, &sp.StatusCode, &sp.StatusMessage, &lt, &ls, &ak, &av, &xk, &xv); err != nil {
			return nil, fmt.Errorf("clickhouse store: spans: %w", err)
		}
		sp.Links, sp.Attributes = toLinks(lt, ls), toMap(append(ak, xk...), append(av, xv...))
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse store: spans: %w", err)
	}
	return out, nil
}
