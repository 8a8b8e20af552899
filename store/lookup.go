package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// IDKind is what an id a user typed turned out to be: Resolve tries it as
// each kind in the order of IDKinds.
type IDKind string

// The kinds of id Resolve knows, and NoMatch when it found none.
const (
	IDCorrelation IDKind = "correlation_id"
	IDEvent       IDKind = "event_id"
	IDTrace       IDKind = "trace_id"
	IDMessageKey  IDKind = "message_key"
	NoMatch       IDKind = "none"
)

// IDKinds is the order of precedence of Resolve: an id stored as a
// correlation id is one, whatever else it names; then event ids, trace
// ids, and message keys last (a record key is the least specific: many
// messages may share it).
var IDKinds = []IDKind{IDCorrelation, IDEvent, IDTrace, IDMessageKey}

// EventQuery returns the query selecting the events id names as kind k.
// A trace id is matched in lower case, as stored.
func (k IDKind) EventQuery(id string) EventQuery {
	switch k {
	case IDCorrelation:
		return EventQuery{CorrelationID: id}
	case IDEvent:
		return EventQuery{EventIDs: []string{id}}
	case IDTrace:
		return EventQuery{TraceIDs: []string{strings.ToLower(id)}}
	case IDMessageKey:
		return EventQuery{MessageKey: id}
	}
	return EventQuery{}
}

// GraphQuery returns the graph query that starts from the events id
// names as kind k, with the given bounds.
func (k IDKind) GraphQuery(id string, maxNodes, maxDepth int) GraphQuery {
	q := GraphQuery{MaxNodes: maxNodes, MaxDepth: maxDepth}
	switch k {
	case IDCorrelation:
		q.CorrelationID = id
	case IDEvent:
		q.EventID = id
	case IDTrace:
		q.TraceID = strings.ToLower(id)
	case IDMessageKey:
		q.MessageKey = id
	}
	return q
}

// isTraceID reports whether id can be a W3C trace id (32 hex digits, of
// either case): only then is it looked up as one.
func isTraceID(id string) bool {
	return len(id) == 32 && strings.Trim(strings.ToLower(id), "0123456789abcdef") == ""
}

// IDResolver is an optional Reader capability: a backend that can tell
// what an id is in one query (ClickHouse, whose every lookup by id is a
// network round trip to an index table and another to the events)
// implements it, and Resolve uses it.
type IDResolver interface {
	// ResolveID returns the first kind in IDKinds under which some stored
	// event carries id, or NoMatch. traceID is id in lower case when it
	// has a trace id's shape, else empty: then id is not tried as one.
	// Resolve has checked id (not empty, at most MaxIDLen bytes).
	ResolveID(ctx context.Context, id, traceID string) (IDKind, error)
}

// Resolve finds what id is: the first kind in IDKinds under which some
// stored event carries it, or NoMatch. A trace id is only looked up when
// id has its shape (32 hex digits, either case). A backend that is an
// IDResolver answers in one query; over any other Reader the lookups (one
// per kind, each a one-row index search) run at once, so Resolve costs
// one round trip of the slowest.
func Resolve(ctx context.Context, r Reader, id string) (IDKind, error) {
	if id == "" {
		return "", Invalid("id lookup: the id is empty")
	}
	if len(id) > MaxIDLen {
		return "", Invalid("id lookup: the id is %d bytes, at most %d", len(id), MaxIDLen)
	}
	if ir, ok := r.(IDResolver); ok {
		traceID := ""
		if isTraceID(id) {
			traceID = strings.ToLower(id)
		}
		k, err := ir.ResolveID(ctx, id, traceID)
		if err != nil {
			return "", fmt.Errorf("id lookup: %w", err)
		}
		return k, nil
	}
	found := make([]bool, len(IDKinds))
	errs := make([]error, len(IDKinds))
	var wg sync.WaitGroup
	for i, k := range IDKinds {
		if k == IDTrace && !isTraceID(id) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := k.EventQuery(id)
			q.Limit = 1
			p, err := r.Events(ctx, q)
			found[i], errs[i] = len(p.Events) > 0, err
		}()
	}
	wg.Wait()
	// The first kind in precedence decides: an error in a later lookup
	// does not matter once an earlier one matched.
	for i, k := range IDKinds {
		if errs[i] != nil {
			return "", fmt.Errorf("id lookup: %s: %w", k, errs[i])
		}
		if found[i] {
			return k, nil
		}
	}
	return NoMatch, nil
}

// MaxIDLen bounds the id Resolve takes: longer is no id anyone stores.
const MaxIDLen = 1024
