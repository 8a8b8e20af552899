package lineage

import (
	"errors"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// chainEvent is an event of trace "t" at span id with the given parent.
func chainEvent(id, parent, corr string) event.Event {
	return event.Event{EventID: id, TraceID: "t", SpanID: id, ParentSpanID: parent, CorrelationID: corr}
}

func TestInheritAcrossBatches(t *testing.T) {
	in := NewInheritor(DefaultInheritConfig())
	first := &store.Batch{Events: []event.Event{chainEvent("p1", "", "order-1")}}
	in.Apply(first)

	// The consumer arrives in a later batch, its handler's publish in the
	// same one, under a plain span (the handler's own span).
	second := &store.Batch{
		Events: []event.Event{chainEvent("c1", "p1", ""), chainEvent("p2", "h1", "")},
		Spans:  []event.Span{{TraceID: "t", SpanID: "c1", ParentSpanID: "p1"}, {TraceID: "t", SpanID: "h1", ParentSpanID: "c1"}, {TraceID: "t", SpanID: "p2", ParentSpanID: "h1"}},
		Edges: []event.Edge{{FromTraceID: "t", FromSpanID: "p1", ToTraceID: "t", ToSpanID: "c1", Kind: event.EdgeParent},
			{FromTraceID: "t", FromSpanID: "h1", ToTraceID: "t", ToSpanID: "p2", Kind: event.EdgeParent}},
	}
	in.Apply(second)
	if got := correlations(second); got != "order-1 order-1" {
		t.Fatalf("correlations = %q, want the publish's inherited by both", got)
	}
	for _, e := range second.Edges {
		if e.CorrelationID != "order-1" {
			t.Errorf("edge %+v: correlation not inherited", e)
		}
	}

	// A third hop, linked (kotel's LinkSpans mode) to p2 and named by
	// causation id only in a fourth.
	third := &store.Batch{Events: []event.Event{{EventID: "e3", TraceID: "u", SpanID: "r3", Links: []event.Link{{TraceID: "t", SpanID: "p2"}}}}}
	in.Apply(third)
	fourth := &store.Batch{Events: []event.Event{{EventID: "e4", TraceID: "v", SpanID: "r4", CausationID: "e3"}}}
	in.Apply(fourth)
	if third.Events[0].CorrelationID != "order-1" || fourth.Events[0].CorrelationID != "order-1" {
		t.Errorf("link and causation hops = %q, %q", third.Events[0].CorrelationID, fourth.Events[0].CorrelationID)
	}
	st := in.Stats()
	if st.Inherited != 4 || st.CacheHits != 3 || st.CacheEntries == 0 || st.CacheCapacity != DefaultInheritCacheEntries {
		t.Errorf("stats = %+v", st)
	}
}

func TestInheritInBatchOutOfOrder(t *testing.T) {
	// Effects before causes in the batch (SDKs export a span when it ends,
	// and a handler's publish ends before the handler).
	b := &store.Batch{Events: []event.Event{chainEvent("c3", "c2", ""), chainEvent("c2", "c1", ""), chainEvent("c1", "", "order-9")}}
	NewInheritor(InheritConfig{}).Apply(b)
	if got := correlations(b); got != "order-9 order-9 order-9" {
		t.Errorf("correlations = %q", got)
	}
}

func TestInheritAmbiguousAndCycles(t *testing.T) {
	in := NewInheritor(InheritConfig{})
	b := &store.Batch{Events: []event.Event{
		chainEvent("a", "", "order-1"), chainEvent("b", "", "order-2"),
		{EventID: "batch", TraceID: "t", SpanID: "batch", Links: []event.Link{{TraceID: "t", SpanID: "a"}, {TraceID: "t", SpanID: "b"}}},
		{EventID: "x", TraceID: "t", SpanID: "x", ParentSpanID: "y"}, {EventID: "y", TraceID: "t", SpanID: "y", ParentSpanID: "x"},
	}}
	in.Apply(b)
	if got := correlations(b); got != "order-1 order-2 - - -" {
		t.Errorf("correlations = %q: a batch of two orders and a cycle inherit nothing", got)
	}
	if st := in.Stats(); st.Ambiguous != 1 || st.Inherited != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCorrelationFromKeyPerDestination(t *testing.T) {
	in := NewInheritor(InheritConfig{CorrelationFromKeyDestinations: []string{"orders"}})
	b := &store.Batch{Events: []event.Event{
		{EventID: "p", TraceID: "t", SpanID: "p", Destination: "orders", MessageKey: "order-42"},
		{EventID: "c", TraceID: "t", SpanID: "c", ParentSpanID: "p", Destination: "orders", MessageKey: "order-42"},
		{EventID: "s", TraceID: "t", SpanID: "s", ParentSpanID: "c", Destination: "shipments", MessageKey: "ship-7"},
		{EventID: "q", TraceID: "w", SpanID: "q", Destination: "payments", MessageKey: "pay-1"},
	}}
	in.Apply(b)
	if got := correlations(b); got != "order-42 order-42 order-42 -" {
		t.Errorf("correlations = %q: the root's key on orders, inherited downstream; payments not enabled", got)
	}
	if st := in.Stats(); st.FromKey != 1 || st.Inherited != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestInheritCacheBound(t *testing.T) {
	in := NewInheritor(InheritConfig{CacheEntries: 100})
	for i := range 1000 {
		in.Apply(&store.Batch{Events: []event.Event{chainEvent(fmt.Sprint("p", i), "", "c")}})
		if n := in.Stats().CacheEntries; n > 100 {
			t.Fatalf("cache holds %d entries, bound 100", n)
		}
	}
	st := in.Stats()
	if st.CacheEvicted < 800 {
		t.Errorf("evicted = %d", st.CacheEvicted)
	}
	// The most recent entries are kept.
	b := &store.Batch{Events: []event.Event{chainEvent("c", "p999", "")}}
	in.Apply(b)
	if b.Events[0].CorrelationID != "c" {
		t.Error("the newest cause was evicted")
	}
	// Without a cache, only the batch's own causes count.
	none := NewInheritor(InheritConfig{CacheEntries: -1})
	none.Apply(&store.Batch{Events: []event.Event{chainEvent("p", "", "c")}})
	b = &store.Batch{Events: []event.Event{chainEvent("c", "p", "")}}
	none.Apply(b)
	if b.Events[0].CorrelationID != "" || none.Stats().CacheEntries != 0 {
		t.Error("a zero-capacity cache kept an entry")
	}
}

func TestInheritConfigValidate(t *testing.T) {
	for _, c := range []InheritConfig{{CacheEntries: -2}, {CacheEntries: MaxInheritCacheEntries + 1}, {CorrelationFromKeyDestinations: []string{""}}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err = %v", c, err)
		}
	}
	if err := DefaultInheritConfig().Validate(); err != nil {
		t.Error(err)
	}
}
