package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// chain writes a flow of hops across traces, the way a message travels
// through services: publish i in trace i → (span link) process i in trace
// i+1 → (parent/child) publish i+1 in trace i+1 → … It returns the events
// in causal order (publish 0, process 0, publish 1, …) and the graph
// edges a complete walk must find.
func chain(t *testing.T, s store.Store, hops int) ([]event.Event, []store.GraphEdge) {
	t.Helper()
	b := &store.Batch{}
	var events []event.Event
	var want []store.GraphEdge
	id := func(e event.Event) string { return store.NodeID(e.TraceID, e.SpanID) }
	// Traces from chainTrace on: no other fixture uses them, so a test may
	// write a chain next to the round-trip fixtures (trace 1).
	const chainTrace = 20
	for i := 0; i < hops; i++ {
		pub := Event(chainTrace+i, 2*i)
		pub.EventID = fmt.Sprintf("msg-%d", i)
		proc := Event(chainTrace+i+1, 2*i+1)
		proc.EventID, proc.Op, proc.Service = pub.EventID, event.OpProcess, fmt.Sprintf("svc-%d", i+1)
		proc.ConsumerGroup = proc.Service
		proc.Links = []event.Link{{TraceID: pub.TraceID, SpanID: pub.SpanID}}
		b.Edges = append(b.Edges, event.Edge{FromTraceID: pub.TraceID, FromSpanID: pub.SpanID, ToTraceID: proc.TraceID,
			ToSpanID: proc.SpanID, CorrelationID: "corr-1", Kind: event.EdgeLink, StartNS: proc.StartNS})
		want = append(want, store.GraphEdge{From: id(pub), To: id(proc), Kind: event.EdgeLink})
		if i > 0 {
			prev := events[len(events)-1]
			pub.ParentSpanID = prev.SpanID
			pub.Service = prev.Service
			b.Edges = append(b.Edges, event.Edge{FromTraceID: prev.TraceID, FromSpanID: prev.SpanID, ToTraceID: pub.TraceID,
				ToSpanID: pub.SpanID, CorrelationID: "corr-1", Kind: event.EdgeParent, StartNS: pub.StartNS})
			want = append(want, store.GraphEdge{From: id(prev), To: id(pub), Kind: event.EdgeParent})
		}
		events = append(events, pub, proc)
	}
	b.Events = events
	for _, e := range events {
		b.Spans = append(b.Spans, Span(e))
	}
	// Unrelated traffic that a walk must not pick up.
	noise := batchOf(900, 0, 20)
	for i := range noise.Events {
		noise.Events[i].CorrelationID = "corr-noise"
	}
	b.Events = append(b.Events, noise.Events...)
	b.Spans = append(b.Spans, noise.Spans...)
	b.Edges = append(b.Edges, noise.Edges...)
	write(t, s, b)
	return events, want
}

// walk runs store.Walk and the checks every graph must pass.
func walk(t *testing.T, s store.Reader, q store.GraphQuery) *store.Graph {
	t.Helper()
	g, err := store.Walk(context.Background(), s, q)
	if err != nil {
		t.Fatalf("Walk(%+v): %v", q, err)
	}
	checkGraph(t, fmt.Sprintf("Walk(%+v)", q), g)
	return g
}

func nodeKeys(g *store.Graph) []string { return keys(g.Nodes) }

func testGraphChain(t *testing.T, h Harness) {
	s := h.New(t)
	events, wantEdges := chain(t, s, 5) // 10 events, 9 edges, across 6 traces
	want := keys(events)
	for _, q := range []store.GraphQuery{
		{CorrelationID: "corr-1"},
		{EventID: "msg-2"},           // from the middle: walks both ways
		{TraceID: events[4].TraceID}, // a middle trace
		{TraceID: events[9].TraceID}, // from the last trace: walks back
		{TraceID: events[0].TraceID}, // from the first: walks forward
	} {
		g := walk(t, s, q)
		what := fmt.Sprintf("Walk(%+v)", q)
		sameSet(t, what+" nodes", nodeKeys(g), want)
		sameSet(t, what+" edges", graphEdgeKeys(g.Edges), graphEdgeKeys(wantEdges))
		if g.Truncated {
			t.Errorf("%s: truncated, want complete", what)
		}
		for _, n := range g.Nodes {
			for _, e := range events {
				if n.TraceID == e.TraceID && n.SpanID == e.SpanID {
					checkSame(t, what+" node "+n.SpanID, n, e)
				}
			}
		}
	}
	if g := walk(t, s, store.GraphQuery{EventID: "nope"}); len(g.Nodes) != 0 || len(g.Edges) != 0 || g.Truncated {
		t.Errorf("Walk(unknown event) = %+v, want empty", g)
	}
}

func testGraphMaxNodes(t *testing.T, h Harness) {
	s := h.New(t)
	events, _ := chain(t, s, 6) // 12 events
	for _, c := range []struct {
		max       int
		nodes     int
		truncated bool
	}{{1, 1, true}, {4, 4, true}, {11, 11, true}, {12, 12, false}, {13, 12, false}} {
		g := walk(t, s, store.GraphQuery{TraceID: events[0].TraceID, MaxNodes: c.max})
		if len(g.Nodes) != c.nodes || g.Truncated != c.truncated {
			t.Errorf("MaxNodes %d: %d nodes, truncated %v; want %d, %v", c.max, len(g.Nodes), g.Truncated, c.nodes, c.truncated)
		}
	}
}

// testGraphMaxDepth: MaxDepth bounds the hops across traces; a walk the
// bound stopped says so, and shows the edges among what it loaded.
func testGraphMaxDepth(t *testing.T, h Harness) {
	s := h.New(t)
	events, wantEdges := chain(t, s, 6) // traces 20…26; trace 20+k holds process k-1 and publish k
	inGraph := func(nodes []event.Event) []string {
		have := map[string]bool{}
		for _, k := range keys(nodes) {
			have[k] = true
		}
		var out []store.GraphEdge
		for _, e := range wantEdges {
			if have[e.From] && have[e.To] {
				out = append(out, e)
			}
		}
		return graphEdgeKeys(out)
	}
	for _, c := range []struct {
		depth     int
		nodes     int // the first nodes of events
		truncated bool
	}{
		{1, 3, true},   // trace 0 and one hop: publish 0, process 0, publish 1
		{2, 5, true},   // two hops
		{5, 11, true},  // all but the last process
		{6, 12, false}, // exactly enough
		{7, 12, false},
	} {
		g := walk(t, s, store.GraphQuery{TraceID: events[0].TraceID, MaxDepth: c.depth})
		what := fmt.Sprintf("MaxDepth %d from the first trace", c.depth)
		sameSet(t, what+" nodes", nodeKeys(g), keys(events[:c.nodes]))
		sameSet(t, what+" edges", graphEdgeKeys(g.Edges), inGraph(events[:c.nodes]))
		if g.Truncated != c.truncated {
			t.Errorf("%s: truncated %v, want %v", what, g.Truncated, c.truncated)
		}
	}
	// From the middle, one hop each way.
	g := walk(t, s, store.GraphQuery{TraceID: events[6].TraceID, MaxDepth: 1}) // trace 3: process 2, publish 3
	sameSet(t, "MaxDepth 1 from the middle nodes", nodeKeys(g), keys(events[3:9]))
	if !g.Truncated {
		t.Error("MaxDepth 1 from the middle: not truncated")
	}
}

// testGraphParentClimb: a publish made inside a handler's inner spans
// (not messaging operations, so not events) hangs off the process that
// ran the handler: Walk climbs the trace's span parents.
func testGraphParentClimb(t *testing.T, h Harness) {
	s := h.New(t)
	proc := Event(1, 1)
	proc.Op, proc.EventID = event.OpProcess, "cause"
	inner := event.Span{TraceID: TraceID(1), SpanID: SpanID(2), ParentSpanID: SpanID(1), Service: "orders", Name: "handle", Kind: "internal", StartNS: base + 1.2e6}
	db := event.Span{TraceID: TraceID(1), SpanID: SpanID(3), ParentSpanID: SpanID(2), Service: "orders", Name: "tx", Kind: "internal", StartNS: base + 1.5e6}
	pub := Event(1, 4)
	pub.ParentSpanID = SpanID(3)
	sib := Event(1, 5) // a second publish directly under the process
	sib.ParentSpanID = SpanID(1)
	write(t, s, &store.Batch{
		Events: []event.Event{proc, pub, sib},
		Spans:  []event.Span{Span(proc), inner, db, Span(pub), Span(sib)},
		Edges: []event.Edge{
			{FromTraceID: TraceID(1), FromSpanID: SpanID(3), ToTraceID: TraceID(1), ToSpanID: SpanID(4), Kind: event.EdgeParent, StartNS: pub.StartNS},
			{FromTraceID: TraceID(1), FromSpanID: SpanID(1), ToTraceID: TraceID(1), ToSpanID: SpanID(5), Kind: event.EdgeParent, StartNS: sib.StartNS},
		},
	})
	id := func(e event.Event) string { return store.NodeID(e.TraceID, e.SpanID) }
	g := walk(t, s, store.GraphQuery{EventID: pub.EventID})
	sameSet(t, "nodes", nodeKeys(g), keys([]event.Event{proc, pub, sib}))
	sameSet(t, "edges", graphEdgeKeys(g.Edges), graphEdgeKeys([]store.GraphEdge{
		{From: id(proc), To: id(pub), Kind: event.EdgeParent},
		{From: id(proc), To: id(sib), Kind: event.EdgeParent},
	}))
}

// testGraphCausation: an edge learned only from a causation header (the
// causing event's id, no span) explains an event only when no link or
// parent edge does; it attaches to the cause's process operations, or to
// its publish when it was never seen processed; and the walk follows it
// both ways.
func testGraphCausation(t *testing.T, h Harness) {
	s := h.New(t)
	ev := func(tr, n int, op event.Op, eventID, corr string) event.Event {
		e := Event(tr, n)
		e.Op, e.EventID, e.CorrelationID = op, eventID, corr
		return e
	}
	pubA := ev(0, 10, event.OpPublish, "cause", "corr-1")
	procA := ev(1, 11, event.OpProcess, "cause", "corr-1")
	inner := event.Span{TraceID: TraceID(1), SpanID: SpanID(12), ParentSpanID: SpanID(11), Service: "orders", Name: "handle", StartNS: base + 11.5e6}
	pubB := ev(1, 13, event.OpPublish, "b", "corr-1")
	pubB.ParentSpanID = SpanID(12)
	orphan := ev(2, 14, event.OpProcess, "o", "corr-1") // its producer did not propagate trace context
	orphan.CausationID = "cause"
	linked := ev(3, 15, event.OpProcess, "b", "corr-1") // has a link and a causation header
	linked.CausationID = "cause"
	lonely := ev(4, 16, event.OpPublish, "lonely", "corr-2") // published, never seen processed
	effect := ev(5, 17, event.OpProcess, "e", "corr-2")
	effect.CausationID = "lonely"
	events := []event.Event{pubA, procA, pubB, orphan, linked, lonely, effect}
	b := &store.Batch{Events: events, Spans: []event.Span{inner}, Edges: []event.Edge{
		{FromTraceID: TraceID(0), FromSpanID: SpanID(10), ToTraceID: TraceID(1), ToSpanID: SpanID(11), Kind: event.EdgeLink, StartNS: procA.StartNS},
		{FromTraceID: TraceID(1), FromSpanID: SpanID(12), ToTraceID: TraceID(1), ToSpanID: SpanID(13), Kind: event.EdgeParent, StartNS: pubB.StartNS},
		{FromEventID: "cause", ToTraceID: TraceID(2), ToSpanID: SpanID(14), Kind: event.EdgeCausation, StartNS: orphan.StartNS},
		{FromTraceID: TraceID(1), FromSpanID: SpanID(13), FromEventID: "b", ToTraceID: TraceID(3), ToSpanID: SpanID(15), Kind: event.EdgeLink, StartNS: linked.StartNS},
		{FromEventID: "cause", ToTraceID: TraceID(3), ToSpanID: SpanID(15), Kind: event.EdgeCausation, StartNS: linked.StartNS},
		{FromEventID: "lonely", ToTraceID: TraceID(5), ToSpanID: SpanID(17), Kind: event.EdgeCausation, StartNS: effect.StartNS},
	}}
	for _, e := range events {
		b.Spans = append(b.Spans, Span(e))
	}
	write(t, s, b)
	id := func(e event.Event) string { return store.NodeID(e.TraceID, e.SpanID) }
	wantA := []store.GraphEdge{
		{From: id(pubA), To: id(procA), Kind: event.EdgeLink},
		{From: id(procA), To: id(pubB), Kind: event.EdgeParent},
		{From: id(procA), To: id(orphan), Kind: event.EdgeCausation}, // to the process, not the publish
		{From: id(pubB), To: id(linked), Kind: event.EdgeLink},       // the link wins over the header
	}
	for _, q := range []store.GraphQuery{
		{CorrelationID: "corr-1"},
		{TraceID: TraceID(0)},     // forward through the header edge
		{TraceID: TraceID(2)},     // backward through the header edge
		{EventID: "o"},            // the same, by event id
		{EventID: linked.EventID}, // from the far end
	} {
		g := walk(t, s, q)
		what := fmt.Sprintf("Walk(%+v)", q)
		sameSet(t, what+" nodes", nodeKeys(g), keys(events[:5]))
		sameSet(t, what+" edges", graphEdgeKeys(g.Edges), graphEdgeKeys(wantA))
	}
	for _, q := range []store.GraphQuery{{TraceID: TraceID(5)}, {TraceID: TraceID(4)}, {CorrelationID: "corr-2"}} {
		g := walk(t, s, q)
		what := fmt.Sprintf("Walk(%+v)", q)
		sameSet(t, what+" nodes", nodeKeys(g), keys([]event.Event{lonely, effect}))
		sameSet(t, what+" edges", graphEdgeKeys(g.Edges), graphEdgeKeys([]store.GraphEdge{{From: id(lonely), To: id(effect), Kind: event.EdgeCausation}}))
	}
}
