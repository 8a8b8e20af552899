package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// testLookupPrecedence: store.Resolve says what an id is, trying
// correlation id, event id, trace id and message key in that order, and
// the kind's query selects exactly the events carrying the id that way.
func testLookupPrecedence(t *testing.T, h Harness) {
	s := h.New(t)
	ev := func(tr, n int, corr, id, key string) event.Event {
		e := Event(tr, n)
		e.CorrelationID, e.EventID, e.MessageKey = corr, id, key
		return e
	}
	// Every id below is stored under several kinds; the first kind in
	// precedence must win.
	a := ev(301, 1, "shared-1", "a-1", "order-1")
	b := ev(302, 2, "", "shared-1", "shared-2")               // event id, also a correlation id (a)
	c := ev(303, 3, "", "shared-2", TraceID(304))             // event id, also a message key (b)
	d := ev(304, 4, "", "d-4", strings.ToUpper(TraceID(303))) // trace 304; its key names trace 303
	f := ev(305, 5, "", "f-5", "order-1")                     // a key two messages share
	g := ev(306, 6, "", "g-6", "")                            // no key: never a key match
	write(t, s, &store.Batch{Events: []event.Event{a, b, c, d, f, g}})

	for _, r := range []struct {
		name string
		r    store.Reader
	}{{"backend", s}, {"over Events", readerOnly{s}}} {
		t.Run(r.name, func(t *testing.T) { checkResolve(t, r.r, a, c, d, f) })
	}
	if _, err := store.Resolve(context.Background(), s, ""); !errors.Is(err, store.ErrInvalidQuery) {
		t.Errorf("Resolve(\"\") = %v, want an invalid query", err)
	}
}

// readerOnly hides a backend's optional capabilities (store.IDResolver)
// so that store.Resolve takes its path over Reader.Events.
type readerOnly struct{ store.Reader }

// checkResolve checks store.Resolve over r on testLookupPrecedence's events.
func checkResolve(t *testing.T, s store.Reader, a, c, d, f event.Event) {
	for _, tc := range []struct {
		id   string
		kind store.IDKind
		want []event.Event
	}{
		{"shared-1", store.IDCorrelation, []event.Event{a}},
		{"shared-2", store.IDEvent, []event.Event{c}},
		{TraceID(304), store.IDTrace, []event.Event{d}},                  // also c's key
		{strings.ToUpper(TraceID(303)), store.IDTrace, []event.Event{c}}, // also d's key, as typed
		{"order-1", store.IDMessageKey, []event.Event{a, f}},
		{"a-1", store.IDEvent, []event.Event{a}},
		{"ORDER-1", store.NoMatch, nil}, // ids match exactly
		{"nothing", store.NoMatch, nil},
	} {
		kind, err := store.Resolve(context.Background(), s, tc.id)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", tc.id, err)
		}
		if kind != tc.kind {
			t.Errorf("Resolve(%q) = %q, want %q", tc.id, kind, tc.kind)
			continue
		}
		if kind == store.NoMatch {
			continue
		}
		got := all(t, s, kind.EventQuery(tc.id))
		sameSet(t, fmt.Sprintf("events of %s %q", kind, tc.id), keys(got), keys(tc.want))
	}
}

// testMessageKeyQuery: EventQuery.MessageKey selects exactly the events
// with that key, pages newest first like every lookup, narrows with the
// other filters, and the key survives the round trip.
func testMessageKeyQuery(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	var want, wantShipper []event.Event
	for n := 0; n < 12; n++ {
		e := Event(310+n%3, n)
		e.CorrelationID, e.MessageKey = "", fmt.Sprintf("order-%d", n%2)
		if n%4 == 0 {
			e.Service = "shipper"
		}
		if n%2 == 1 {
			want = append(want, e)
			if e.Service == "shipper" {
				wantShipper = append(wantShipper, e)
			}
		}
		b.Events = append(b.Events, e)
	}
	write(t, s, b)
	got := all(t, s, store.EventQuery{MessageKey: "order-1", Limit: 2})
	sameSet(t, "events with key order-1", keys(got), keys(want))
	for _, e := range got {
		if e.MessageKey != "order-1" {
			t.Errorf("event %s/%s: message key %q, want order-1", e.TraceID, e.SpanID, e.MessageKey)
		}
	}
	got = all(t, s, store.EventQuery{MessageKey: "order-0", Service: "shipper"})
	if len(got) != 3 {
		t.Errorf("key order-0 at shipper: %d events, want 3", len(got))
	}
	got = all(t, s, store.EventQuery{MessageKey: "order-1", Service: "shipper"})
	sameSet(t, "key order-1 at shipper", keys(got), keys(wantShipper))
	if got := all(t, s, store.EventQuery{MessageKey: "order-2"}); len(got) != 0 {
		t.Errorf("key order-2: %d events, want none", len(got))
	}
	// A key equal to the event's correlation id (a store may keep it
	// once) is found by either, and read back as both; an event whose
	// correlation id alone is that value is not found by key.
	both := Event(320, 50)
	both.CorrelationID, both.MessageKey = "order-9", "order-9"
	corrOnly := Event(320, 51)
	corrOnly.CorrelationID = "order-9"
	keyOnly := Event(321, 52)
	keyOnly.CorrelationID, keyOnly.MessageKey = "other", "order-9"
	write(t, s, &store.Batch{Events: []event.Event{both, corrOnly, keyOnly}})
	got = all(t, s, store.EventQuery{MessageKey: "order-9"})
	sameSet(t, "key order-9", keys(got), keys([]event.Event{both, keyOnly}))
	for _, e := range got {
		if e.SpanID == both.SpanID {
			checkSame(t, "event keyed by its correlation id", e, both)
		}
	}
	got = all(t, s, store.EventQuery{CorrelationID: "order-9"})
	sameSet(t, "correlation order-9", keys(got), keys([]event.Event{both, corrOnly}))
	for _, e := range got {
		if e.SpanID == corrOnly.SpanID && e.MessageKey != "" {
			t.Errorf("event with correlation id order-9 and no key read back with key %q", e.MessageKey)
		}
	}
}

// inheritChain writes a flow in which only the first producer sets a
// correlation id, its downstream events stored before it arrives:
//
//	publish m-0 (trace 401, correlation flow-1, key order-42)
//	  → link → process m-0 (402) → parent → publish m-1 (402)
//	  → link → process m-1 (403)
//	  → causation id → publish m-2 (404: a service that lost the trace context)
//	  → link → process m-2 (405) → parent → publish m-3 (405, correlation flow-2)
//	  → link → process m-3 (406)
//
// It returns the events of flow-1 (m-0 to process m-2, causal order) and
// those of flow-2 (publish and process m-3). Unrelated uncorrelated
// traffic is written too.
func inheritChain(t *testing.T, s store.Store) (flow1, flow2 []event.Event) {
	t.Helper()
	n := 0
	mk := func(tr int, op event.Op, id, svc string) event.Event {
		n++
		e := Event(tr, 400+n)
		e.EventID, e.Op, e.Service, e.CorrelationID = id, op, svc, ""
		if op == event.OpProcess {
			e.ConsumerGroup = svc
		}
		return e
	}
	pub0 := mk(401, event.OpPublish, "m-0", "checkout")
	pub0.CorrelationID, pub0.MessageKey = "flow-1", "order-42"
	proc0 := mk(402, event.OpProcess, "m-0", "shipper")
	proc0.MessageKey = "order-42"
	pub1 := mk(402, event.OpPublish, "m-1", "shipper")
	pub1.ParentSpanID = proc0.SpanID
	proc1 := mk(403, event.OpProcess, "m-1", "audit")
	pub2 := mk(404, event.OpPublish, "m-2", "audit")
	pub2.CausationID = "m-1"
	proc2 := mk(405, event.OpProcess, "m-2", "billing")
	pub3 := mk(405, event.OpPublish, "m-3", "billing")
	pub3.ParentSpanID, pub3.CorrelationID = proc2.SpanID, "flow-2"
	proc3 := mk(406, event.OpProcess, "m-3", "ledger")
	link := func(from, to *event.Event) event.Edge {
		to.Links = []event.Link{{TraceID: from.TraceID, SpanID: from.SpanID}}
		return event.Edge{FromTraceID: from.TraceID, FromSpanID: from.SpanID, ToTraceID: to.TraceID, ToSpanID: to.SpanID,
			Kind: event.EdgeLink, StartNS: to.StartNS}
	}
	parent := func(from, to event.Event) event.Edge {
		return event.Edge{FromTraceID: from.TraceID, FromSpanID: from.SpanID, ToTraceID: to.TraceID, ToSpanID: to.SpanID,
			Kind: event.EdgeParent, StartNS: to.StartNS}
	}
	edges := []event.Edge{
		link(&pub0, &proc0), parent(proc0, pub1), link(&pub1, &proc1),
		{FromEventID: "m-1", ToTraceID: pub2.TraceID, ToSpanID: pub2.SpanID, Kind: event.EdgeCausation, StartNS: pub2.StartNS},
		link(&pub2, &proc2), parent(proc2, pub3), link(&pub3, &proc3),
	}
	downstream := []event.Event{proc0, pub1, proc1, pub2, proc2, pub3, proc3}
	noise := batchOf(490, 0, 5) // uncorrelated, unconnected
	for i := range noise.Events {
		noise.Events[i].CorrelationID = ""
	}
	b := &store.Batch{Events: append(downstream, noise.Events...), Edges: append(edges, noise.Edges...), Spans: noise.Spans}
	for _, e := range downstream {
		b.Spans = append(b.Spans, Span(e))
	}
	write(t, s, b)
	// The cause arrives last.
	write(t, s, &store.Batch{Events: []event.Event{pub0}, Spans: []event.Span{Span(pub0)}})
	return []event.Event{pub0, proc0, pub1, proc1, pub2, proc2}, []event.Event{pub3, proc3}
}

// correlated reads every page of store.CorrelatedEvents for q and checks
// that pages are newest first without repeats.
func correlated(t *testing.T, s store.Reader, q store.EventQuery) []event.Event {
	t.Helper()
	var out []event.Event
	seen := map[string]bool{}
	for i := 0; ; i++ {
		p, truncated, err := store.CorrelatedEvents(context.Background(), s, q, 0, 0)
		if err != nil {
			t.Fatalf("CorrelatedEvents(%+v): %v", q, err)
		}
		if truncated {
			t.Errorf("CorrelatedEvents(%+v): walk truncated", q)
		}
		if q.Limit > 0 && len(p.Events) > q.Limit {
			t.Fatalf("CorrelatedEvents(%+v): %d events, more than the limit", q, len(p.Events))
		}
		for _, e := range p.Events {
			k := store.NodeID(e.TraceID, e.SpanID)
			if seen[k] {
				t.Fatalf("CorrelatedEvents(%+v): %s returned twice", q, k)
			}
			seen[k] = true
		}
		out = append(out, p.Events...)
		if p.Next == "" {
			checkNewestFirst(t, out)
			return out
		}
		if i > 1000 {
			t.Fatalf("CorrelatedEvents(%+v): pagination does not end", q)
		}
		q.Cursor = p.Next
	}
}

// testInheritedCorrelation: a chain where only the first producer sets a
// correlation id (and whose downstream events were stored before it):
// every downstream event is found by that correlation id, in the graph
// and in event pages, up to the next event with a correlation id of its
// own, which starts another flow.
func testInheritedCorrelation(t *testing.T, h Harness) {
	s := h.New(t)
	flow1, flow2 := inheritChain(t, s)
	ctx := context.Background()

	for _, limit := range []int{0, 1, 2, 5} {
		got := correlated(t, s, store.EventQuery{CorrelationID: "flow-1", Limit: limit})
		sameSet(t, fmt.Sprintf("flow-1 events (limit %d)", limit), keys(got), keys(flow1))
	}
	for _, e := range correlated(t, s, store.EventQuery{CorrelationID: "flow-1"}) {
		for _, w := range flow1 {
			if e.TraceID == w.TraceID && e.SpanID == w.SpanID {
				checkSame(t, "flow-1 event "+e.SpanID, e, w) // stored as it was: inherited at read time only
			}
		}
	}
	sameSet(t, "flow-2 events", keys(correlated(t, s, store.EventQuery{CorrelationID: "flow-2"})), keys(flow2))
	// Filters narrow the inherited events as they do the carrying ones.
	sameSet(t, "flow-1 events at shipper", keys(correlated(t, s, store.EventQuery{CorrelationID: "flow-1", Service: "shipper"})),
		keys(flow1[1:3]))
	sameSet(t, "flow-1 events since process m-1",
		keys(correlated(t, s, store.EventQuery{CorrelationID: "flow-1", Since: nsTime(flow1[3].StartNS)})), keys(flow1[3:]))
	if got := correlated(t, s, store.EventQuery{CorrelationID: "flow-none"}); len(got) != 0 {
		t.Errorf("unknown correlation: %d events, want none", len(got))
	}

	inherited, truncated, err := store.Inherited(ctx, s, "flow-1", 0, 0)
	if err != nil || truncated {
		t.Fatalf("Inherited(flow-1) = truncated %v, %v", truncated, err)
	}
	sameSet(t, "inherited by flow-1", keys(inherited), keys(flow1[1:]))
	checkNewestFirst(t, inherited)

	// The graph of the correlation and of the first message's key hold
	// the whole chain (and the flow it leads into).
	whole := append(append([]event.Event{}, flow1...), flow2...)
	for _, q := range []store.GraphQuery{{CorrelationID: "flow-1"}, {MessageKey: "order-42"}} {
		g := walk(t, s, q)
		sameSet(t, fmt.Sprintf("Walk(%+v) nodes", q), nodeKeys(g), keys(whole))
	}
	if kind, err := store.Resolve(ctx, s, "order-42"); err != nil || kind != store.IDMessageKey {
		t.Errorf("Resolve(order-42) = %q, %v; want message_key", kind, err)
	}

	// A bound that stops the walk says so.
	if _, truncated, err := store.Inherited(ctx, s, "flow-1", 0, 1); err != nil || !truncated {
		t.Errorf("Inherited(flow-1, depth 1): truncated %v, %v; want truncated", truncated, err)
	}
}
