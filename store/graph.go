package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/causeway-dev/causeway/event"
)

// Graph walk bounds used when a GraphQuery leaves them zero.
const (
	DefaultGraphNodes = 2000
	DefaultGraphDepth = 16
	// maxParentClimb bounds how many non-messaging spans a parent edge may
	// cross to reach the messaging span that caused it.
	maxParentClimb = 32
	// MaxClimbSpans bounds the spans of one trace the walk reads to climb
	// parent edges; a trace with more marks the graph Truncated.
	MaxClimbSpans = 50000
)

// GraphQuery asks for the causation graph around exactly one of a
// correlation id, a trace id, an event id or a message key.
type GraphQuery struct {
	CorrelationID string
	TraceID       string
	EventID       string
	// MessageKey starts the walk from the events of messages with this key.
	MessageKey string
	// MaxNodes bounds the result (default DefaultGraphNodes); MaxDepth
	// bounds how many hops across traces the walk takes (default DefaultGraphDepth).
	MaxNodes, MaxDepth int
}

// NodeID is a graph node's id: "<trace_id>/<span_id>" of its event.
func NodeID(traceID, spanID string) string { return traceID + "/" + spanID }

// GraphEdge is a causation edge between two nodes of a Graph.
type GraphEdge struct {
	From string         `json:"from"`
	To   string         `json:"to"`
	Kind event.EdgeKind `json:"kind"`
}

// Graph is a causation graph: events as nodes, cause → effect edges.
type Graph struct {
	Nodes []event.Event `json:"nodes"`
	Edges []GraphEdge   `json:"edges"`
	// Truncated is set when a bound stopped the walk before it was complete.
	Truncated bool `json:"truncated"`
}

// Walk builds the causation graph for q from a Reader's primitives. It
// starts from the events matching q's id, then follows causation edges in
// both directions, hop by hop across traces, loading the events of every
// trace it reaches, until nothing new is found or a bound is hit.
//
// Parent edges whose parent span is not itself an event (a handler's inner
// span, say) are resolved by climbing the trace's span parents to the
// nearest event. Causation-header edges (known only by the causing event's
// id) are followed both ways (backwards by looking the id up), are used
// only for events that no link or parent edge explains, and attach to the
// causing event's process operations, or to its publish when it was never
// seen processed.
//
// When MaxDepth or MaxNodes stops the walk, the graph keeps the edges
// among the events loaded so far and is marked Truncated if they lead
// further.
func Walk(ctx context.Context, r Reader, q GraphQuery) (*Graph, error) {
	var seed EventQuery
	ids := 0
	for _, id := range []string{q.CorrelationID, q.TraceID, q.EventID, q.MessageKey} {
		if id != "" {
			ids++
		}
	}
	switch {
	case ids != 1:
		return nil, Invalid("graph: give exactly one of correlation_id, trace_id, event_id, message_key")
	case q.CorrelationID != "":
		seed.CorrelationID = q.CorrelationID
	case q.TraceID != "":
		seed.TraceIDs = []string{q.TraceID}
	case q.EventID != "":
		seed.EventIDs = []string{q.EventID}
	default:
		seed.MessageKey = q.MessageKey
	}
	maxNodes, maxDepth := q.MaxNodes, q.MaxDepth
	if maxNodes <= 0 {
		maxNodes = DefaultGraphNodes
	}
	if maxDepth <= 0 {
		maxDepth = DefaultGraphDepth
	}
	w := &walker{r: r, max: maxNodes, nodes: map[string]event.Event{}, traces: map[string]bool{},
		eventIDs: map[string]bool{}, causes: map[string]bool{}}
	seedTraces, err := w.load(ctx, seed)
	if err != nil {
		return nil, err
	}
	// Two round trips at once: the seed's traces load (those the walk may
	// lack events of: incomplete) while the edges of the seed events and
	// traces are asked for. Event ids that only the traces bring are asked
	// for in the next round.
	todo := w.claim(seedTraces)
	traces0, ids0 := w.frontier()
	var es0 []event.Edge
	var edgesErr error
	asked := make(chan struct{})
	go func() {
		defer close(asked)
		if len(traces0) > 0 || len(ids0) > 0 {
			es0, edgesErr = r.Edges(ctx, EdgeQuery{TraceIDs: traces0, FromEventIDs: ids0})
		}
	}()
	if len(todo) > 0 {
		if todo, err = w.incomplete(ctx, todo); err == nil && len(todo) > 0 {
			_, err = w.load(ctx, EventQuery{TraceIDs: todo})
		}
	}
	<-asked
	if err != nil {
		return nil, err
	}
	if edgesErr != nil {
		return nil, fmt.Errorf("graph: edges: %w", edgesErr)
	}
	edges := map[string]event.Edge{}
	for depth := 0; ; depth++ {
		es := es0
		if depth > 0 {
			traces, ids := w.frontier()
			if len(traces) == 0 && len(ids) == 0 {
				break
			}
			if es, err = r.Edges(ctx, EdgeQuery{TraceIDs: traces, FromEventIDs: ids}); err != nil {
				return nil, fmt.Errorf("graph: edges: %w", err)
			}
		}
		var more, causes []string
		for _, e := range es {
			edges[e.FromTraceID+e.FromSpanID+e.FromEventID+"|"+e.ToTraceID+e.ToSpanID+"|"+string(e.Kind)] = e
			for _, t := range []string{e.FromTraceID, e.ToTraceID} {
				if t != "" && !w.traces[t] {
					more = append(more, t)
				}
			}
			// A causation-header edge knows its cause only by event id:
			// walking it backwards means looking that id up.
			if e.FromSpanID == "" && e.FromEventID != "" && !w.causes[e.FromEventID] {
				causes = append(causes, e.FromEventID)
			}
		}
		if depth == maxDepth || w.truncated {
			// A bound stops the walk: the edges among the loaded events
			// are kept, and the graph is truncated if they lead further.
			if !w.truncated {
				if w.truncated, err = w.beyond(ctx, more, causes); err != nil {
					return nil, err
				}
			}
			break
		}
		if err := w.loadTraces(ctx, more); err != nil {
			return nil, err
		}
		if err := w.loadCauses(ctx, causes); err != nil {
			return nil, err
		}
	}
	g := &Graph{Truncated: w.truncated}
	if err := w.resolve(ctx, edges, g); err != nil {
		return nil, err
	}
	for _, n := range w.nodes {
		g.Nodes = append(g.Nodes, n)
	}
	sort.Slice(g.Nodes, func(i, j int) bool {
		if g.Nodes[i].StartNS != g.Nodes[j].StartNS {
			return g.Nodes[i].StartNS < g.Nodes[j].StartNS
		}
		return g.Nodes[i].SpanID < g.Nodes[j].SpanID
	})
	if g.Edges == nil {
		g.Edges = []GraphEdge{}
	}
	if g.Nodes == nil {
		g.Nodes = []event.Event{}
	}
	return g, nil
}

type walker struct {
	r         Reader
	max       int
	nodes     map[string]event.Event
	traces    map[string]bool // traces whose events are all loaded
	pending   []string        // loaded traces whose edges were not asked for yet
	eventIDs  map[string]bool // event ids whose causation edges were asked for
	causes    map[string]bool // event ids of causation-header causes looked up
	truncated bool
}

// load adds every event matching q (all pages) until the node bound, and
// returns the traces of the added events that are not loaded yet.
func (w *walker) load(ctx context.Context, q EventQuery) ([]string, error) {
	q.Limit = MaxLimit
	var fresh []string
	for {
		p, err := w.r.Events(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("graph: events: %w", err)
		}
		for _, e := range p.Events {
			id := NodeID(e.TraceID, e.SpanID)
			if _, ok := w.nodes[id]; ok {
				continue
			}
			if len(w.nodes) >= w.max {
				w.truncated = true
				return fresh, nil
			}
			w.nodes[id] = e
			if !w.traces[e.TraceID] {
				fresh = append(fresh, e.TraceID)
			}
		}
		if p.Next == "" {
			return dedupe(fresh), nil
		}
		q.Cursor = p.Next
	}
}

// loadTraces loads every event of the given traces and queues the traces
// for their edges. A trace is loaded whole, so that the walk sees every
// hop through it.
func (w *walker) loadTraces(ctx context.Context, traces []string) error {
	todo := w.claim(traces)
	if len(todo) == 0 {
		return nil
	}
	_, err := w.load(ctx, EventQuery{TraceIDs: todo})
	return err
}

// incomplete returns the traces among traces whose events the walk may
// not hold all of: every one, unless the Reader is a TraceCounter, whose
// counts say which of them have stored events the walk lacks.
func (w *walker) incomplete(ctx context.Context, traces []string) ([]string, error) {
	tc, ok := w.r.(TraceCounter)
	if !ok {
		return traces, nil
	}
	stored, err := tc.TraceEventCounts(ctx, traces)
	if err != nil {
		return nil, fmt.Errorf("graph: trace counts: %w", err)
	}
	held := make(map[string]uint64, len(traces))
	for _, n := range w.nodes {
		held[n.TraceID]++
	}
	var out []string
	for _, t := range traces {
		if stored[t] > held[t] {
			out = append(out, t)
		}
	}
	return out, nil
}

// claim marks traces as loaded and pending their edges, and returns those
// not claimed before.
func (w *walker) claim(traces []string) []string {
	var todo []string
	for _, t := range dedupe(traces) {
		if !w.traces[t] {
			w.traces[t] = true
			todo = append(todo, t)
		}
	}
	w.pending = append(w.pending, todo...)
	return todo
}

// loadCauses loads the events with the given event ids (the causes named
// by causation headers) and their traces.
func (w *walker) loadCauses(ctx context.Context, ids []string) error {
	var todo []string
	for _, id := range dedupe(ids) {
		if !w.causes[id] {
			w.causes[id] = true
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	fresh, err := w.load(ctx, EventQuery{EventIDs: todo})
	if err != nil {
		return err
	}
	return w.loadTraces(ctx, fresh)
}

// beyond reports whether the walk, stopped by its depth bound, left out
// events: traces it did not load, or causes named by id that it lacks.
func (w *walker) beyond(ctx context.Context, traces, causes []string) (bool, error) {
	if len(traces) > 0 {
		return true, nil
	}
	if len(causes) == 0 {
		return false, nil
	}
	p, err := w.r.Events(ctx, EventQuery{EventIDs: dedupe(causes), Limit: MaxLimit})
	if err != nil {
		return false, fmt.Errorf("graph: events: %w", err)
	}
	if p.Next != "" {
		return true, nil
	}
	for _, e := range p.Events {
		if _, ok := w.nodes[NodeID(e.TraceID, e.SpanID)]; !ok {
			return true, nil
		}
	}
	return false, nil
}

// frontier returns the traces and event ids not yet expanded.
func (w *walker) frontier() (traces, ids []string) {
	traces, w.pending = w.pending, nil
	for _, n := range w.nodes {
		if n.EventID != "" && !w.eventIDs[n.EventID] {
			w.eventIDs[n.EventID] = true
			ids = append(ids, n.EventID)
		}
	}
	sort.Strings(ids)
	return traces, ids
}

// resolve maps stored edges onto loaded nodes.
func (w *walker) resolve(ctx context.Context, edges map[string]event.Edge, g *Graph) error {
	spans := map[string]map[string]string{} // trace → span → parent
	parentOf := func(trace, span string) (string, error) {
		m, ok := spans[trace]
		if !ok {
			ss, err := w.r.Spans(ctx, trace, MaxClimbSpans)
			if err != nil {
				return "", fmt.Errorf("graph: spans: %w", err)
			}
			if len(ss) == MaxClimbSpans {
				g.Truncated = true
			}
			m = make(map[string]string, len(ss))
			for _, s := range ss {
				m[s.SpanID] = s.ParentSpanID
			}
			spans[trace] = m
		}
		return m[span], nil
	}
	byEventID := map[string][]string{}
	for id, n := range w.nodes {
		byEventID[n.EventID] = append(byEventID[n.EventID], id)
	}
	seen := map[[2]string]bool{}
	explained := map[string]bool{}
	add := func(from, to string, kind event.EdgeKind) {
		if from == to || seen[[2]string{from, to}] {
			return
		}
		seen[[2]string{from, to}] = true
		explained[to] = true
		g.Edges = append(g.Edges, GraphEdge{From: from, To: to, Kind: kind})
	}
	var causation []event.Edge
	keys := make([]string, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := edges[k]
		to := NodeID(e.ToTraceID, e.ToSpanID)
		if _, ok := w.nodes[to]; !ok {
			continue
		}
		if e.FromSpanID == "" {
			causation = append(causation, e)
			continue
		}
		span := e.FromSpanID
		for i := 0; i < maxParentClimb && span != ""; i++ {
			from := NodeID(e.FromTraceID, span)
			if _, ok := w.nodes[from]; ok {
				add(from, to, e.Kind)
				break
			}
			if e.Kind != event.EdgeParent || !w.traces[e.FromTraceID] {
				break
			}
			p, err := parentOf(e.FromTraceID, span)
			if err != nil {
				return err
			}
			span = p
		}
	}
	for _, e := range causation {
		to := NodeID(e.ToTraceID, e.ToSpanID)
		if explained[to] {
			continue
		}
		var process, publish []string
		for _, id := range byEventID[e.FromEventID] {
			switch w.nodes[id].Op {
			case event.OpProcess:
				process = append(process, id)
			case event.OpPublish:
				publish = append(publish, id)
			}
		}
		from := process
		if len(from) == 0 {
			from = publish
		}
		sort.Strings(from)
		for _, f := range from {
			add(f, to, e.Kind)
		}
	}
	return nil
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
