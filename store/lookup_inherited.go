package store

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/causeway-dev/causeway/event"
)

// Inherited correlation at query time (issue #14). An event that carries
// no correlation id belongs to its cause's correlation: the event its
// parent span, a span link or its causation id points at. The collector
// fills the id in at ingest when it already knows the cause; when the
// cause arrived later (or an instrumentation never copies the header into
// a span attribute), the stored row has none, and the reads below find it
// by following the stored causation edges downstream from the events that
// carry the id.

// Inherited returns the events that inherit correlation id corr: those
// with no correlation id of their own that a chain of causation edges
// reaches from an event carrying corr, passing only through events without
// a correlation id of their own (an event with another correlation id
// starts another flow and stops the chain). They come newest first.
//
// The edges are those of the causation graph of corr (Walk), under the
// same bounds: maxNodes and maxDepth (zero: the graph's defaults).
// truncated is set when a bound stopped the walk, so that events further
// downstream may be missing.
func Inherited(ctx context.Context, r Reader, corr string, maxNodes, maxDepth int) (_ []event.Event, truncated bool, _ error) {
	if corr == "" {
		return nil, false, Invalid("inherited correlation: no correlation id")
	}
	g, err := Walk(ctx, r, GraphQuery{CorrelationID: corr, MaxNodes: maxNodes, MaxDepth: maxDepth})
	if err != nil {
		return nil, false, fmt.Errorf("inherited correlation: %w", err)
	}
	byID := make(map[string]event.Event, len(g.Nodes))
	var queue []string
	for _, n := range g.Nodes {
		id := NodeID(n.TraceID, n.SpanID)
		byID[id] = n
		if n.CorrelationID == corr {
			queue = append(queue, id)
		}
	}
	effects := map[string][]string{}
	for _, e := range g.Edges {
		effects[e.From] = append(effects[e.From], e.To)
	}
	seen := map[string]bool{}
	var out []event.Event
	for len(queue) > 0 {
		from := queue[0]
		queue = queue[1:]
		for _, to := range effects[from] {
			n := byID[to]
			if seen[to] || n.CorrelationID != "" {
				continue
			}
			seen[to] = true
			out = append(out, n)
			queue = append(queue, to)
		}
	}
	sortNewestFirst(out)
	return out, g.Truncated, nil
}

// CorrelatedEvents answers q, whose CorrelationID is set, like
// Reader.Events (the other fields narrow, newest first, Limit and Cursor
// page the same way) with the events that inherit the correlation id
// (Inherited) added to those that carry it. Each page walks the graph
// again, so it stays right while events arrive; maxNodes and maxDepth
// bound the walk, and inheritedTruncated says that a bound stopped it.
func CorrelatedEvents(ctx context.Context, r Reader, q EventQuery, maxNodes, maxDepth int) (_ EventPage, inheritedTruncated bool, _ error) {
	if q.CorrelationID == "" {
		return EventPage{}, false, Invalid("correlated events: no correlation id")
	}
	limit, err := Limit(q.Limit)
	if err != nil {
		return EventPage{}, false, err
	}
	cur, err := ParseCursor(q.Cursor)
	if err != nil {
		return EventPage{}, false, err
	}
	direct, err := r.Events(ctx, q)
	if err != nil {
		return EventPage{}, false, err
	}
	inherited, truncated, err := Inherited(ctx, r, q.CorrelationID, maxNodes, maxDepth)
	if err != nil {
		return EventPage{}, false, err
	}
	merged := slices.Clone(direct.Events)
	for _, e := range inherited {
		if q.matches(e) && (q.Cursor == "" || afterCursor(cur, e)) {
			merged = append(merged, e)
		}
	}
	sortNewestFirst(merged)
	page := EventPage{Events: merged}
	if len(merged) > limit || direct.Next != "" {
		page.Events = merged[:limit]
		page.Next = CursorAfter(page.Events[limit-1])
	}
	return page, truncated, nil
}

// matches reports whether e passes q's filters other than CorrelationID,
// Limit and Cursor, as a backend's Events would.
func (q EventQuery) matches(e event.Event) bool {
	switch {
	case len(q.TraceIDs) > 0 && !slices.Contains(q.TraceIDs, e.TraceID),
		len(q.EventIDs) > 0 && !slices.Contains(q.EventIDs, e.EventID),
		q.MessageKey != "" && e.MessageKey != q.MessageKey,
		q.Service != "" && e.Service != q.Service,
		q.Destination != "" && e.Destination != q.Destination,
		q.EventType != "" && e.EventType != q.EventType,
		q.Outcome != "" && e.Outcome != q.Outcome,
		!q.Since.IsZero() && int64(e.StartNS) < q.Since.UnixNano(),
		!q.Until.IsZero() && int64(e.StartNS) >= q.Until.UnixNano():
		return false
	}
	return true
}

// afterCursor reports whether e comes strictly after cursor c in the
// newest-first order (StartNS descending, then SpanID descending).
func afterCursor(c Cursor, e event.Event) bool {
	return e.StartNS < c.StartNS || e.StartNS == c.StartNS && e.SpanID < c.SpanID
}

// sortNewestFirst sorts es in the Reader.Events order.
func sortNewestFirst(es []event.Event) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].StartNS != es[j].StartNS {
			return es[i].StartNS > es[j].StartNS
		}
		return es[i].SpanID > es[j].SpanID
	})
}
