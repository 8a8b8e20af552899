// Package storetest is the conformance suite every Causeway store passes.
// A backend's test fills a Harness and calls RunAll; the zero value of an
// optional field skips only what needs it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Harness gives the suite fresh stores.
type Harness struct {
	// New returns a fresh, empty store; it registers its own cleanup.
	New func(t *testing.T) store.Store
	// Reopen closes s and opens the same data again; nil when the backend
	// cannot (the restart test is then skipped).
	Reopen func(t *testing.T, s store.Store) store.Store
}

// RunAll runs every conformance test.
func RunAll(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"IdempotentRewrites", testIdempotent},
		{"Lookups", testLookups},
		{"Pagination", testPagination},
		{"BadQueries", testBadQueries},
		{"Spans", testSpans},
		{"Edges", testEdges},
		{"GraphChain", testGraphChain},
		{"GraphBounds", testGraphBounds},
		{"GraphParentClimbAndCausation", testGraphParentAndCausation},
		{"Flows", testFlows},
		{"ConcurrentExact", testConcurrentExact},
		{"Restart", testRestart},
		{"LagSeries", testLagSeries},
		{"DLQ", testDLQ},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

var base = uint64(time.Now().Add(-time.Hour).Truncate(time.Second).UnixNano())

// TraceID and SpanID make deterministic ids: 32 and 16 hex digits.
func TraceID(n int) string { return fmt.Sprintf("c0ffee%026x", n) }

// SpanID makes a deterministic 16-hex-digit span id.
func SpanID(n int) string { return fmt.Sprintf("5a%014x", n) }

// Event makes a publish event of span n in trace tr, starting at base + n ms.
func Event(tr, n int) event.Event {
	return event.Event{
		EventID: fmt.Sprintf("evt-%d", n), EventType: "order.placed", SchemaVersion: "1",
		CorrelationID: "corr-1", TraceID: TraceID(tr), SpanID: SpanID(n),
		Service: "orders", System: event.SystemKafka, Destination: "orders.placed",
		Partition: -1, Offset: -1, Op: event.OpPublish, Outcome: event.OutcomeOK,
		StartNS: base + uint64(n)*1e6, DurationNS: 1e6, PayloadSize: -1,
	}
}

// Span makes the plain span behind an event.
func Span(e event.Event) event.Span {
	return event.Span{TraceID: e.TraceID, SpanID: e.SpanID, ParentSpanID: e.ParentSpanID, Service: e.Service,
		Name: string(e.Op), Kind: "producer", StartNS: e.StartNS, DurationNS: e.DurationNS, StatusCode: "unset"}
}

func write(t *testing.T, s store.Store, b *store.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// all reads every page of q.
func all(t *testing.T, s store.Reader, q store.EventQuery) []event.Event {
	t.Helper()
	var out []event.Event
	if q.Limit == 0 {
		q.Limit = 1000
	}
	for i := 0; ; i++ {
		p, err := s.Events(context.Background(), q)
		if err != nil {
			t.Fatalf("Events(%+v): %v", q, err)
		}
		out = append(out, p.Events...)
		if p.Next == "" {
			return out
		}
		if i > 100000 {
			t.Fatal("pagination does not end")
		}
		q.Cursor = p.Next
	}
}

func spanIDs(es []event.Event) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.SpanID
	}
	sort.Strings(ids)
	return ids
}

func testRoundTrip(t *testing.T, h Harness) {
	s := h.New(t)
	e := Event(1, 1)
	e.ParentSpanID = SpanID(99)
	e.CausationID = "evt-0"
	e.Links = []event.Link{{TraceID: TraceID(7), SpanID: SpanID(7)}, {TraceID: TraceID(8), SpanID: SpanID(8)}}
	e.Handler, e.Cluster, e.ConsumerGroup = "OnOrder", "eu-1", "billing"
	e.Partition, e.Offset, e.Attempt, e.PayloadSize = 0, 1<<40, 3, 512
	e.Op, e.Outcome, e.Error = event.OpProcess, event.OutcomeDeadLettered, "bad card: «declined» ✗"
	e.ReplayOf = "evt-old"
	e.Attributes = map[string]string{"k": "v", "ünïcode": "値"}
	plain := Event(1, 2)
	sp := Span(e)
	sp.Links = e.Links
	sp.Attributes = map[string]string{"a": "b"}
	sp.StatusMessage, sp.StatusCode = "boom", "error"
	edge := event.Edge{FromTraceID: TraceID(7), FromSpanID: SpanID(7), ToTraceID: e.TraceID, ToSpanID: e.SpanID,
		CorrelationID: "corr-1", Kind: event.EdgeLink, StartNS: e.StartNS}
	write(t, s, &store.Batch{Events: []event.Event{e, plain}, Spans: []event.Span{sp, Span(plain)}, Edges: []event.Edge{edge}})

	got := all(t, s, store.EventQuery{TraceIDs: []string{TraceID(1)}})
	if len(got) != 2 {
		t.Fatalf("events = %d, want 2", len(got))
	}
	if !reflect.DeepEqual(got[1], e) {
		t.Errorf("event round trip:\n got %+v\nwant %+v", got[1], e)
	}
	if !reflect.DeepEqual(got[0], plain) {
		t.Errorf("plain event round trip:\n got %+v\nwant %+v", got[0], plain)
	}
	spans, err := s.Spans(context.Background(), TraceID(1))
	if err != nil || len(spans) != 2 || !reflect.DeepEqual(spans[0], sp) {
		t.Errorf("spans = %+v, err %v; want first %+v", spans, err, sp)
	}
	edges, err := s.Edges(context.Background(), store.EdgeQuery{TraceIDs: []string{TraceID(1)}})
	if err != nil || len(edges) != 1 || !reflect.DeepEqual(edges[0], edge) {
		t.Errorf("edges = %+v, err %v; want %+v", edges, err, edge)
	}
}

func batchOf(tr, from, to int) *store.Batch {
	b := &store.Batch{}
	for n := from; n < to; n++ {
		e := Event(tr, n)
		b.Events = append(b.Events, e)
		b.Spans = append(b.Spans, Span(e))
		if n > from {
			b.Edges = append(b.Edges, event.Edge{FromTraceID: e.TraceID, FromSpanID: SpanID(n - 1), ToTraceID: e.TraceID,
				ToSpanID: e.SpanID, Kind: event.EdgeParent, StartNS: e.StartNS})
		}
	}
	return b
}

func counts(t *testing.T, s store.Store, tr int) (events, spans, edges int) {
	t.Helper()
	ev := all(t, s, store.EventQuery{TraceIDs: []string{TraceID(tr)}})
	seen := map[string]bool{}
	for _, e := range ev {
		if seen[e.SpanID] {
			t.Fatalf("event %s returned twice", e.SpanID)
		}
		seen[e.SpanID] = true
	}
	sp, err := s.Spans(context.Background(), TraceID(tr))
	if err != nil {
		t.Fatal(err)
	}
	ed, err := s.Edges(context.Background(), store.EdgeQuery{TraceIDs: []string{TraceID(tr)}})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev), len(sp), len(ed)
}

func testIdempotent(t *testing.T, h Harness) {
	s := h.New(t)
	write(t, s, batchOf(1, 0, 50))
	r := batchOf(1, 25, 80) // a retried batch overlapping what is stored
	r.Retry = true
	write(t, s, r)
	r = batchOf(1, 0, 80)
	r.Retry = true
	write(t, s, r)
	if ev, sp, ed := counts(t, s, 1); ev != 80 || sp != 80 || ed != 79 {
		t.Fatalf("after retries: events %d spans %d edges %d, want 80 80 79", ev, sp, ed)
	}
	now := time.Unix(0, int64(base))
	fm, err := s.Flows(context.Background(), store.FlowQuery{Since: now.Add(-time.Minute), Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(fm.Edges) != 1 || fm.Edges[0].Count != 80 {
		t.Fatalf("flows after retries = %+v, want one edge counting 80", fm.Edges)
	}
	// A client re-sending the same spans without Retry: reads still show
	// every row once (aggregates may count the re-sent rows; see Writer).
	write(t, s, batchOf(1, 0, 50))
	if ev, sp, ed := counts(t, s, 1); ev != 80 || sp != 80 || ed != 79 {
		t.Fatalf("after a plain re-write: events %d spans %d edges %d, want 80 80 79", ev, sp, ed)
	}
}

func testLookups(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	for n := 0; n < 30; n++ {
		e := Event(n%3, n)
		e.CorrelationID = fmt.Sprintf("corr-%d", n%5)
		if n%2 == 0 {
			e.Service, e.Destination, e.EventType = "payments", "payments.authorized", "payment.authorized"
		}
		if n%7 == 0 {
			e.Outcome, e.Error = event.OutcomeError, "x"
		}
		b.Events = append(b.Events, e)
	}
	write(t, s, b)
	cases := []struct {
		q    store.EventQuery
		want func(n int) bool
	}{
		{store.EventQuery{CorrelationID: "corr-2"}, func(n int) bool { return n%5 == 2 }},
		{store.EventQuery{TraceIDs: []string{TraceID(0), TraceID(2)}}, func(n int) bool { return n%3 != 1 }},
		{store.EventQuery{EventIDs: []string{"evt-4", "evt-9", "evt-nope"}}, func(n int) bool { return n == 4 || n == 9 }},
		{store.EventQuery{Service: "payments"}, func(n int) bool { return n%2 == 0 }},
		{store.EventQuery{Destination: "orders.placed"}, func(n int) bool { return n%2 == 1 }},
		{store.EventQuery{EventType: "payment.authorized", Outcome: event.OutcomeError}, func(n int) bool { return n%2 == 0 && n%7 == 0 }},
		{store.EventQuery{Since: time.Unix(0, int64(base+10e6)), Until: time.Unix(0, int64(base+20e6))}, func(n int) bool { return n >= 10 && n < 20 }},
		{store.EventQuery{CorrelationID: "corr-1", Service: "orders", TraceIDs: []string{TraceID(0)}}, func(n int) bool {
			return n%5 == 1 && n%2 == 1 && n%3 == 0
		}},
	}
	for _, c := range cases {
		var want []string
		for n := 0; n < 30; n++ {
			if c.want(n) {
				want = append(want, SpanID(n))
			}
		}
		got := spanIDs(all(t, s, c.q))
		if len(want) == 0 {
			want = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Events(%+v) = %v, want %v", c.q, got, want)
		}
	}
}

func testPagination(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	for n := 0; n < 250; n++ {
		e := Event(n%4, n)
		e.StartNS = base + uint64(n/10)*1e6 // ten events share each start time
		b.Events = append(b.Events, e)
	}
	write(t, s, b)
	var got []event.Event
	q := store.EventQuery{Limit: 7}
	pages := 0
	for {
		p, err := s.Events(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) > 7 {
			t.Fatalf("page of %d events, limit 7", len(p.Events))
		}
		got = append(got, p.Events...)
		pages++
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(got) != 250 || pages != 36 {
		t.Fatalf("paged %d events in %d pages, want 250 in 36", len(got), pages)
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.StartNS < b.StartNS || a.StartNS == b.StartNS && a.SpanID <= b.SpanID {
			t.Fatalf("order broken at %d: %d/%s then %d/%s", i, a.StartNS, a.SpanID, b.StartNS, b.SpanID)
		}
	}
	if p, err := s.Events(context.Background(), store.EventQuery{Limit: store.MaxLimit}); err != nil || len(p.Events) != 250 || p.Next != "" {
		t.Fatalf("Limit MaxLimit: %d events, next %q, err %v", len(p.Events), p.Next, err)
	}
}

func testBadQueries(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	for _, q := range []store.EventQuery{{Limit: -1}, {Limit: store.MaxLimit + 1}, {Cursor: "!!not-base64"}, {Cursor: "bm9wZQ"}} {
		if _, err := s.Events(ctx, q); err == nil {
			t.Errorf("Events(%+v) = nil error, want one", q)
		}
	}
	if sp, err := s.Spans(ctx, TraceID(404)); err != nil || len(sp) != 0 {
		t.Errorf("Spans(unknown) = %v, %v; want empty", sp, err)
	}
	if ed, err := s.Edges(ctx, store.EdgeQuery{}); err != nil || len(ed) != 0 {
		t.Errorf("Edges(empty query) = %v, %v; want empty", ed, err)
	}
}

func testSpans(t *testing.T, h Harness) {
	s := h.New(t)
	var spans []event.Span
	for n := 9; n >= 0; n-- { // written out of order
		sp := Span(Event(1, n))
		if n > 0 {
			sp.ParentSpanID = SpanID(0)
		}
		spans = append(spans, sp)
	}
	spans = append(spans, Span(Event(2, 100)))
	write(t, s, &store.Batch{Spans: spans})
	got, err := s.Spans(context.Background(), TraceID(1))
	if err != nil || len(got) != 10 {
		t.Fatalf("Spans = %d, %v; want 10", len(got), err)
	}
	for i, sp := range got {
		if sp.SpanID != SpanID(i) {
			t.Fatalf("span %d = %s, want %s (ordered by start)", i, sp.SpanID, SpanID(i))
		}
	}
}

func testEdges(t *testing.T, h Harness) {
	s := h.New(t)
	e1 := event.Edge{FromTraceID: TraceID(1), FromSpanID: SpanID(1), ToTraceID: TraceID(2), ToSpanID: SpanID(2), Kind: event.EdgeLink, StartNS: base}
	e2 := event.Edge{FromTraceID: TraceID(2), FromSpanID: SpanID(2), ToTraceID: TraceID(3), ToSpanID: SpanID(3), Kind: event.EdgeLink, StartNS: base + 1}
	e3 := event.Edge{FromEventID: "evt-x", ToTraceID: TraceID(4), ToSpanID: SpanID(4), Kind: event.EdgeCausation, StartNS: base + 2}
	write(t, s, &store.Batch{Edges: []event.Edge{e1, e2, e3}})
	check := func(q store.EdgeQuery, want ...event.Edge) {
		t.Helper()
		got, err := s.Edges(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].StartNS < got[j].StartNS })
		if len(want) == 0 {
			want = []event.Edge{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Edges(%+v) = %+v, want %+v", q, got, want)
		}
	}
	check(store.EdgeQuery{TraceIDs: []string{TraceID(1)}}, e1)
	check(store.EdgeQuery{TraceIDs: []string{TraceID(2)}}, e1, e2)
	check(store.EdgeQuery{TraceIDs: []string{TraceID(3)}, FromEventIDs: []string{"evt-x"}}, e2, e3)
	check(store.EdgeQuery{TraceIDs: []string{TraceID(9)}})
}

// chain writes a flow of hops: publish in trace i → process in trace i+1
// (linked) → publish in trace i+1 (child of the process) → …
func chain(t *testing.T, s store.Store, hops int) []event.Event {
	b := &store.Batch{}
	var events []event.Event
	for i := 0; i < hops; i++ {
		pub := Event(i, 2*i)
		pub.EventID = fmt.Sprintf("msg-%d", i)
		proc := Event(i+1, 2*i+1)
		proc.EventID, proc.Op, proc.Service = pub.EventID, event.OpProcess, fmt.Sprintf("svc-%d", i+1)
		proc.Links = []event.Link{{TraceID: pub.TraceID, SpanID: pub.SpanID}}
		b.Edges = append(b.Edges, event.Edge{FromTraceID: pub.TraceID, FromSpanID: pub.SpanID, ToTraceID: proc.TraceID,
			ToSpanID: proc.SpanID, CorrelationID: "corr-1", Kind: event.EdgeLink, StartNS: proc.StartNS})
		if i > 0 {
			prev := events[len(events)-1]
			pub.ParentSpanID = prev.SpanID
			b.Edges = append(b.Edges, event.Edge{FromTraceID: prev.TraceID, FromSpanID: prev.SpanID, ToTraceID: pub.TraceID,
				ToSpanID: pub.SpanID, CorrelationID: "corr-1", Kind: event.EdgeParent, StartNS: pub.StartNS})
		}
		events = append(events, pub, proc)
	}
	b.Events = events
	for _, e := range events {
		b.Spans = append(b.Spans, Span(e))
	}
	write(t, s, b)
	return events
}

func nodeIDs(g *store.Graph) []string {
	ids := make([]string, len(g.Nodes))
	for i, n := range g.Nodes {
		ids[i] = store.NodeID(n.TraceID, n.SpanID)
	}
	sort.Strings(ids)
	return ids
}

func testGraphChain(t *testing.T, h Harness) {
	s := h.New(t)
	events := chain(t, s, 5) // 10 events, 9 edges, across 6 traces
	ctx := context.Background()
	want := make([]string, len(events))
	for i, e := range events {
		want[i] = store.NodeID(e.TraceID, e.SpanID)
	}
	sort.Strings(want)
	for _, q := range []store.GraphQuery{
		{CorrelationID: "corr-1"},
		{EventID: "msg-2"},           // from the middle: walks both ways
		{TraceID: events[9].TraceID}, // from the last trace: walks back
		{TraceID: events[0].TraceID}, // from the first: walks forward
	} {
		g, err := store.Walk(ctx, s, q)
		if err != nil {
			t.Fatalf("Walk(%+v): %v", q, err)
		}
		if got := nodeIDs(g); !reflect.DeepEqual(got, want) || len(g.Edges) != 9 || g.Truncated {
			t.Errorf("Walk(%+v): nodes %v edges %d truncated %v; want %d nodes, 9 edges", q, got, len(g.Edges), g.Truncated, len(want))
		}
		for _, e := range g.Edges {
			if e.Kind != event.EdgeLink && e.Kind != event.EdgeParent {
				t.Errorf("edge kind %q", e.Kind)
			}
		}
	}
}

func testGraphBounds(t *testing.T, h Harness) {
	s := h.New(t)
	events := chain(t, s, 6)
	ctx := context.Background()
	g, err := store.Walk(ctx, s, store.GraphQuery{TraceID: events[0].TraceID, MaxNodes: 4})
	if err != nil || len(g.Nodes) != 4 || !g.Truncated {
		t.Fatalf("MaxNodes 4: %d nodes, truncated %v, err %v", len(g.Nodes), g != nil && g.Truncated, err)
	}
	g, err = store.Walk(ctx, s, store.GraphQuery{TraceID: events[0].TraceID, MaxDepth: 1})
	if err != nil || len(g.Nodes) >= len(events) || len(g.Nodes) < 2 {
		t.Fatalf("MaxDepth 1: %d nodes, err %v; want fewer than %d", len(g.Nodes), err, len(events))
	}
	if _, err := store.Walk(ctx, s, store.GraphQuery{TraceID: "a", EventID: "b"}); err == nil {
		t.Fatal("two ids: want an error")
	}
	g, err = store.Walk(ctx, s, store.GraphQuery{EventID: "nope"})
	if err != nil || len(g.Nodes) != 0 {
		t.Fatalf("unknown id: %+v, %v", g, err)
	}
}

func testGraphParentAndCausation(t *testing.T, h Harness) {
	s := h.New(t)
	// process (span 1) → inner handler span 2 (not an event) → publish span 3
	proc := Event(1, 1)
	proc.Op, proc.EventID = event.OpProcess, "cause"
	inner := event.Span{TraceID: TraceID(1), SpanID: SpanID(2), ParentSpanID: SpanID(1), Service: "orders", Name: "db", StartNS: base + 1.5e6}
	pub := Event(1, 3)
	pub.ParentSpanID = SpanID(2)
	// an event in another trace that names its cause only by id
	orphan := Event(2, 4)
	orphan.CausationID = "cause"
	// an event explained by a link whose causation id would point elsewhere
	linked := Event(3, 5)
	linked.CausationID = "cause"
	b := &store.Batch{
		Events: []event.Event{proc, pub, orphan, linked},
		Spans:  []event.Span{Span(proc), inner, Span(pub), Span(orphan), Span(linked)},
		Edges: []event.Edge{
			{FromTraceID: TraceID(1), FromSpanID: SpanID(2), ToTraceID: TraceID(1), ToSpanID: SpanID(3), Kind: event.EdgeParent, StartNS: pub.StartNS},
			{FromEventID: "cause", ToTraceID: TraceID(2), ToSpanID: SpanID(4), Kind: event.EdgeCausation, StartNS: orphan.StartNS},
			{FromTraceID: TraceID(1), FromSpanID: SpanID(3), ToTraceID: TraceID(3), ToSpanID: SpanID(5), Kind: event.EdgeLink, StartNS: linked.StartNS},
			{FromEventID: "cause", ToTraceID: TraceID(3), ToSpanID: SpanID(5), Kind: event.EdgeCausation, StartNS: linked.StartNS},
		},
	}
	write(t, s, b)
	g, err := store.Walk(context.Background(), s, store.GraphQuery{TraceID: TraceID(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := func(e event.Event) string { return store.NodeID(e.TraceID, e.SpanID) }
	want := []store.GraphEdge{
		{From: id(proc), To: id(pub), Kind: event.EdgeParent},
		{From: id(proc), To: id(orphan), Kind: event.EdgeCausation},
		{From: id(pub), To: id(linked), Kind: event.EdgeLink},
	}
	got := append([]store.GraphEdge{}, g.Edges...)
	sort.Slice(got, func(i, j int) bool { return got[i].To < got[j].To })
	sort.Slice(want, func(i, j int) bool { return want[i].To < want[j].To })
	if len(g.Nodes) != 4 || !reflect.DeepEqual(got, want) {
		t.Fatalf("graph: %d nodes, edges %+v; want 4 nodes, edges %+v", len(g.Nodes), got, want)
	}
}

func testFlows(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	n := 0
	add := func(e event.Event, count int, dur func(i int) uint64, fail func(i int) bool) {
		for i := 0; i < count; i++ {
			n++
			e.TraceID, e.SpanID, e.StartNS, e.DurationNS = TraceID(n), SpanID(n), base+uint64(i)*1e6, dur(i)
			e.Outcome = event.OutcomeOK
			if fail(i) {
				e.Outcome = event.OutcomeRetry
			}
			b.Events = append(b.Events, e)
		}
	}
	pub := Event(0, 0)
	add(pub, 100, func(i int) uint64 { return uint64(i+1) * 1e6 }, func(int) bool { return false })
	proc := pub
	proc.Op, proc.Service, proc.ConsumerGroup = event.OpProcess, "billing", "billing-group"
	add(proc, 200, func(i int) uint64 { return uint64(i%100+1) * 1e6 }, func(i int) bool { return i%10 == 0 })
	old := pub
	old.StartNS = base - uint64(2*time.Hour)
	n++
	old.TraceID, old.SpanID = TraceID(n), SpanID(n)
	b.Events = append(b.Events, old) // outside the window
	write(t, s, b)

	since := time.Unix(0, int64(base)).Add(-time.Minute)
	fm, err := s.Flows(context.Background(), store.FlowQuery{Since: since, Until: since.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	topic := store.FlowNode{ID: store.DestinationNodeID("kafka", "orders.placed"), Kind: store.NodeDestination, Name: "orders.placed", System: "kafka"}
	billing := store.FlowNode{ID: store.ServiceNodeID("billing"), Kind: store.NodeService, Name: "billing"}
	orders := store.FlowNode{ID: store.ServiceNodeID("orders"), Kind: store.NodeService, Name: "orders"}
	wantNodes := []store.FlowNode{topic, billing, orders} // sorted by id
	if !reflect.DeepEqual(fm.Nodes, wantNodes) {
		t.Errorf("nodes = %+v, want %+v", fm.Nodes, wantNodes)
	}
	if len(fm.Edges) != 2 {
		t.Fatalf("edges = %+v, want 2", fm.Edges)
	}
	in, out := fm.Edges[0], fm.Edges[1] // sorted by source: destination:… before service:…
	if in.Source != topic.ID || in.Target != billing.ID || in.Op != event.OpProcess ||
		in.ConsumerGroup != "billing-group" || in.Count != 200 || in.Errors != 20 {
		t.Errorf("process edge = %+v", in)
	}
	if out.Source != orders.ID || out.Target != topic.ID || out.Op != event.OpPublish || out.Count != 100 || out.Errors != 0 {
		t.Errorf("publish edge = %+v", out)
	}
	near := func(got, want uint64) bool {
		return float64(got) >= 0.9*float64(want) && float64(got) <= 1.1*float64(want)
	}
	for _, e := range fm.Edges {
		if !near(e.P50NS, 50e6) || !near(e.P99NS, 99e6) {
			t.Errorf("%s edge: p50 %d p99 %d, want ≈50ms and ≈99ms", e.Op, e.P50NS, e.P99NS)
		}
	}
	empty, err := s.Flows(context.Background(), store.FlowQuery{Since: since.Add(-48 * time.Hour), Until: since.Add(-47 * time.Hour)})
	if err != nil || len(empty.Nodes) != 0 || len(empty.Edges) != 0 {
		t.Errorf("empty window = %+v, %v", empty, err)
	}
}

func testConcurrentExact(t *testing.T, h Harness) {
	s := h.New(t)
	const writers, batches, per = 4, 5, 1000
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				from := (w*batches + i) * per
				errs <- s.Write(context.Background(), batchOf(100+w, from, from+per))
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for w := 0; w < writers; w++ {
		ev, sp, _ := counts(t, s, 100+w)
		if ev != batches*per || sp != batches*per {
			t.Errorf("writer %d: %d events, %d spans; want %d", w, ev, sp, batches*per)
		}
		total += ev
	}
	if total != writers*batches*per {
		t.Fatalf("total %d, want %d", total, writers*batches*per)
	}
}

func testRestart(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("backend cannot reopen")
	}
	s := h.New(t)
	write(t, s, batchOf(1, 0, 20))
	s = h.Reopen(t, s)
	if ev, sp, ed := counts(t, s, 1); ev != 20 || sp != 20 || ed != 19 {
		t.Fatalf("after reopen: %d %d %d, want 20 20 19", ev, sp, ed)
	}
	write(t, s, batchOf(1, 10, 30))
	if ev, _, _ := counts(t, s, 1); ev != 30 {
		t.Fatalf("write after reopen: %d events, want 30", ev)
	}
}

func lagSample(i int, group string, partition int32) store.LagSample {
	return store.LagSample{TimeNS: base + uint64(i)*1e9, System: event.SystemKafka, Group: group, Topic: "orders.placed",
		Partition: partition, Committed: int64(10 * i), End: int64(12 * i), Lag: int64(2 * i), LagSeconds: float64(i) / 2,
		Status: "OK", GroupStatus: "WARN"}
}

func testLagSeries(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	for i := 0; i < 20; i++ {
		b.Lag = append(b.Lag, lagSample(i, "billing", 0), lagSample(i, "billing", 1), lagSample(i, "audit", 0))
	}
	write(t, s, b)
	b.Retry = true
	write(t, s, b) // a retried batch: stored once
	ctx := context.Background()
	got, err := s.Lag(ctx, store.LagQuery{Group: "billing"})
	if err != nil || len(got) != 40 {
		t.Fatalf("Lag(billing) = %d samples, %v; want 40", len(got), err)
	}
	if !reflect.DeepEqual(got[0], lagSample(0, "billing", 0)) || !reflect.DeepEqual(got[39], lagSample(19, "billing", 1)) {
		t.Errorf("first/last sample %+v / %+v", got[0], got[39])
	}
	for i := 1; i < len(got); i++ {
		if got[i].TimeNS < got[i-1].TimeNS {
			t.Fatal("samples not oldest first")
		}
	}
	got, err = s.Lag(ctx, store.LagQuery{Group: "billing", Since: time.Unix(0, int64(base+5e9)), Until: time.Unix(0, int64(base+10e9)), Limit: 4})
	if err != nil || len(got) != 4 || got[3].TimeNS != base+9e9 {
		t.Fatalf("windowed, limited: %+v, %v; want the newest 4 of [5s, 10s)", got, err)
	}
}

func dlqEntry(i int) store.DLQEntry {
	return store.DLQEntry{
		ID: store.DLQID(event.SystemKafka, "orders.placed.dlq", 0, int64(i)), TimeNS: base + uint64(i)*1e6,
		System: event.SystemKafka, Source: "orders.placed.dlq", SourcePartition: 0, SourceOffset: int64(i),
		Original: "orders.placed", OriginalPartition: 2, OriginalOffset: int64(100 + i),
		Reason: []string{"poison", "timeout"}[i%2], Deliveries: 3, EventID: fmt.Sprintf("evt-%d", i), CorrelationID: "corr-1",
		Headers: map[string]string{"ce_id": fmt.Sprintf("evt-%d", i)}, Payload: []byte{0, 1, 2, 0xff, byte(i)}, PayloadSize: 5,
	}
}

func testDLQ(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	for i := 0; i < 25; i++ {
		b.DLQ = append(b.DLQ, dlqEntry(i))
	}
	write(t, s, b)
	b.Retry = true
	write(t, s, b)
	ctx := context.Background()
	var all []store.DLQEntry
	q := store.DLQQuery{Limit: 10}
	for {
		p, err := s.DLQ(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Entries...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(all) != 25 || all[0].ID != dlqEntry(24).ID || all[24].ID != dlqEntry(0).ID {
		t.Fatalf("paged %d entries, want 25 newest first", len(all))
	}
	p, err := s.DLQ(ctx, store.DLQQuery{Reason: "poison"})
	if err != nil || len(p.Entries) != 13 {
		t.Fatalf("reason poison: %d, %v; want 13", len(p.Entries), err)
	}
	want := dlqEntry(7)
	got, err := s.DLQEntry(ctx, want.ID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("DLQEntry:\n got %+v, %v\nwant %+v", got, err, want)
	}
	if _, err := s.DLQEntry(ctx, "0123"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}
}
