package storetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// trickyAttrs are attribute keys and values that a store must keep byte
// for byte: JSON and SQL metacharacters, escapes, several scripts, and
// two spellings of é (precomposed and combining) that a normalising
// store would merge.
func trickyAttrs() map[string]string {
	m := map[string]string{
		"k":                        "v",
		"empty":                    "",
		"messaging.kafka.key":      `{"id": 8123, "q": "a\"b"}`,
		"quote\"key":               "it's",
		`back\slash`:               `C:\path\to`,
		"newline":                  "line 1\nline 2\r\n\ttabbed",
		"sql":                      "'; DROP TABLE events; --",
		"ünïcode":                  "値 · مرحبا · 🚀",
		"caf\u00e9":                "precomposed",
		"cafe\u0301":               "combining",
		"percent%_like":            "100%_",
		strings.Repeat("long", 64): strings.Repeat("x", 4096),
	}
	for i := 0; i < 40; i++ {
		m[fmt.Sprintf("attr.%02d", i)] = fmt.Sprint(i)
	}
	return m
}

// roundTripEvents returns events that together exercise every field with
// ordinary, zero, negative, extreme and non-ASCII values.
func roundTripEvents() []event.Event {
	full := Event(1, 1)
	full.EventID, full.EventType, full.SchemaVersion = "evt-ü-1", "order.placé", "2.1"
	full.CorrelationID, full.CausationID = "corr-🚀-1", "evt-0"
	full.MessageKey = "order-«8123»"
	full.ParentSpanID = SpanID(99)
	full.Links = []event.Link{{TraceID: TraceID(8), SpanID: SpanID(8)}, {TraceID: TraceID(7), SpanID: SpanID(7)}}
	full.Service, full.Handler, full.Cluster = "zahlungs-dienst", "OnOrder(ctx, «msg»)", "eu-1"
	full.Destination, full.ConsumerGroup = "orders.日本", "billing"
	full.Partition, full.Offset, full.Attempt, full.PayloadSize = 7, 1<<40, 3, 512
	full.Op, full.Outcome = event.OpProcess, event.OutcomeDeadLettered
	full.Error = "bad card: «declined» ✗\nat line 2\t\"quoted\" \\ back"
	full.DurationNS, full.ReplayOf = 1234567, "evt-old"
	full.Attributes = trickyAttrs()

	minimal := Event(1, 2) // Partition, Offset and PayloadSize -1; no links, attributes or parent
	minimal.EventType, minimal.SchemaVersion, minimal.CorrelationID = "", "", ""
	minimal.System, minimal.Destination, minimal.DurationNS = "", "", 0

	zeros := Event(1, 3)
	zeros.Partition, zeros.Offset, zeros.PayloadSize, zeros.Attempt = 0, 0, 0, 0
	zeros.Op, zeros.Outcome = event.OpSettle, event.OutcomeDuplicateSkipped
	zeros.Attributes = map[string]string{"": "empty key"}

	maxima := Event(1, 4)
	maxima.Partition, maxima.Offset, maxima.Attempt = math.MaxInt32, math.MaxInt64, math.MaxInt32
	maxima.PayloadSize, maxima.DurationNS = math.MaxInt64, 1<<62
	maxima.System, maxima.Op, maxima.Outcome = event.SystemNATS, event.OpReplay, event.OutcomeRetry
	maxima.Links = []event.Link{{TraceID: TraceID(1), SpanID: SpanID(1)}}

	negative := Event(1, 5)
	negative.Partition, negative.Offset, negative.PayloadSize = -1, -1, -1
	negative.Op, negative.Outcome, negative.Error = event.OpDeadLetter, event.OutcomeError, "x"

	// The same span id in another trace is another row.
	sameSpan := Event(2, 1)
	sameSpan.Service = "other"
	return []event.Event{full, minimal, zeros, maxima, negative, sameSpan}
}

func testRoundTripEvents(t *testing.T, h Harness) {
	s := h.New(t)
	want := roundTripEvents()
	write(t, s, &store.Batch{Events: want})
	sameSet(t, "events read back", keys(all(t, s, store.EventQuery{})), keys(want))
	checkRoundTrip(t, s, want)
}

// checkRoundTrip reads each event of want back by its trace, its
// correlation id and its event id, and compares every field.
func checkRoundTrip(t testing.TB, s store.Reader, want []event.Event) {
	t.Helper()
	traces := map[string]bool{}
	var traceIDs []string
	for _, e := range want {
		if !traces[e.TraceID] {
			traces[e.TraceID] = true
			traceIDs = append(traceIDs, e.TraceID)
		}
	}
	got := byKey(t, all(t, s, store.EventQuery{TraceIDs: traceIDs}))
	for _, w := range want {
		k := store.NodeID(w.TraceID, w.SpanID)
		g, ok := got[k]
		if !ok {
			t.Errorf("event %s not read back", k)
			continue
		}
		checkSame(t, "event "+k, g, w)
		// The other lookup paths return the same row.
		var qs []store.EventQuery
		if w.EventID != "" {
			qs = append(qs, store.EventQuery{EventIDs: []string{w.EventID}})
		}
		if w.CorrelationID != "" {
			qs = append(qs, store.EventQuery{CorrelationID: w.CorrelationID})
		}
		for _, q := range qs {
			found := false
			for _, e := range all(t, s, q) {
				if e.TraceID == w.TraceID && e.SpanID == w.SpanID {
					found = true
					checkSame(t, fmt.Sprintf("event %s looked up by %+v", k, q), e, w)
				}
			}
			if !found {
				t.Errorf("event %s not found by %+v", k, q)
			}
		}
	}
}

func roundTripSpans() []event.Span {
	full := event.Span{TraceID: TraceID(1), SpanID: SpanID(1), ParentSpanID: SpanID(0), Service: "zahlungs-dienst",
		Name: "orders.日本 process", Kind: "consumer", StartNS: base + 1e6, DurationNS: 987654321,
		StatusCode: "error", StatusMessage: "boom: «declined» ✗\n\"quoted\"",
		Links:      []event.Link{{TraceID: TraceID(9), SpanID: SpanID(9)}, {TraceID: TraceID(8), SpanID: SpanID(8)}},
		Attributes: trickyAttrs()}
	root := event.Span{TraceID: TraceID(1), SpanID: SpanID(0), Service: "orders", Name: "POST /orders",
		Kind: "server", StartNS: base, DurationNS: 0, StatusCode: "unset"}
	inner := event.Span{TraceID: TraceID(1), SpanID: SpanID(2), ParentSpanID: SpanID(1), Service: "zahlungs-dienst",
		Name: "db.query", Kind: "internal", StartNS: base + 2e6, DurationNS: 1, StatusCode: "ok",
		Attributes: map[string]string{"db.system": "postgresql"}}
	return []event.Span{root, full, inner}
}

func testRoundTripSpans(t *testing.T, h Harness) {
	s := h.New(t)
	want := roundTripSpans()
	other := want[1]
	other.TraceID, other.Service = TraceID(2), "other" // same span id, other trace
	write(t, s, &store.Batch{Spans: []event.Span{want[2], other, want[0], want[1]}})
	got, err := s.Spans(context.Background(), TraceID(1), 0)
	if err != nil {
		t.Fatalf("Spans: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Spans = %d spans, want %d", len(got), len(want))
	}
	for i := range want {
		checkSame(t, "span "+want[i].SpanID, got[i], want[i])
	}
	got, err = s.Spans(context.Background(), TraceID(2), 0)
	if err != nil || len(got) != 1 {
		t.Fatalf("Spans(other trace) = %d spans, %v; want 1", len(got), err)
	}
	checkSame(t, "span in the other trace", got[0], other)
}

func roundTripEdges() []event.Edge {
	return []event.Edge{
		{FromTraceID: TraceID(7), FromSpanID: SpanID(7), ToTraceID: TraceID(1), ToSpanID: SpanID(1),
			FromEventID: "evt-ü-0", CorrelationID: "corr-🚀-1", Kind: event.EdgeLink, StartNS: base + 1e6},
		{FromTraceID: TraceID(1), FromSpanID: SpanID(1), ToTraceID: TraceID(1), ToSpanID: SpanID(2),
			Kind: event.EdgeParent, StartNS: base + 2e6},
		{FromEventID: "evt-x", ToTraceID: TraceID(1), ToSpanID: SpanID(3), CorrelationID: "corr-1",
			Kind: event.EdgeCausation, StartNS: base + 3e6},
	}
}

func testRoundTripEdges(t *testing.T, h Harness) {
	s := h.New(t)
	want := roundTripEdges()
	write(t, s, &store.Batch{Edges: want})
	got, err := s.Edges(context.Background(), store.EdgeQuery{TraceIDs: []string{TraceID(1)}})
	if err != nil {
		t.Fatalf("Edges: %v", err)
	}
	sameSet(t, "edges of the trace", edgeKeys(got), edgeKeys(want))
}

// testWriteDoesNotKeepBatch: Write does not keep the batch, and readers
// return values the caller owns.
func testWriteDoesNotKeepBatch(t *testing.T, h Harness) {
	s := h.New(t)
	want := roundTripEvents()[0]
	e := want
	e.Links = append([]event.Link(nil), want.Links...)
	e.Attributes = map[string]string{}
	for k, v := range want.Attributes {
		e.Attributes[k] = v
	}
	sp := roundTripSpans()[1]
	spWant := sp
	spWant.Attributes = trickyAttrs()
	b := &store.Batch{Events: []event.Event{e}, Spans: []event.Span{sp}}
	write(t, s, b)
	// The caller reuses everything it passed.
	b.Events[0].Service = "changed"
	e.Links[0].SpanID = SpanID(1234)
	e.Attributes["k"] = "changed"
	e.Attributes["new"] = "x"
	sp.Attributes["k"] = "changed"
	b.Spans[0].Name = "changed"
	b.Events, b.Spans = b.Events[:0], b.Spans[:0]

	got := all(t, s, store.EventQuery{TraceIDs: []string{want.TraceID}})
	if len(got) != 1 {
		t.Fatalf("read %d events, want 1", len(got))
	}
	checkSame(t, "event after the caller changed its batch", got[0], want)
	spans, err := s.Spans(context.Background(), sp.TraceID, 0)
	if err != nil || len(spans) != 1 {
		t.Fatalf("Spans = %d, %v", len(spans), err)
	}
	checkSame(t, "span after the caller changed its batch", spans[0], spWant)

	// Changing what a reader returned changes nothing stored.
	got[0].Attributes["k"] = "mine"
	got[0].Links[0].SpanID = SpanID(4321)
	spans[0].Attributes["k"] = "mine"
	again := all(t, s, store.EventQuery{TraceIDs: []string{want.TraceID}})
	checkSame(t, "event after the caller changed a result", again[0], want)
	spans, _ = s.Spans(context.Background(), sp.TraceID, 0)
	checkSame(t, "span after the caller changed a result", spans[0], spWant)
}

func testEmptyAndPartialBatches(t *testing.T, h Harness) {
	s := h.New(t)
	write(t, s, &store.Batch{})
	write(t, s, &store.Batch{Retry: true})
	// Parts of one flow may arrive in different batches, in any order.
	b := batchOf(1, 0, 10)
	write(t, s, &store.Batch{Edges: b.Edges})
	write(t, s, &store.Batch{Spans: b.Spans})
	write(t, s, &store.Batch{Events: b.Events})
	if ev, sp, ed := counts(t, s, TraceID(1)); ev != 10 || sp != 10 || ed != 9 {
		t.Fatalf("events %d spans %d edges %d, want 10 10 9", ev, sp, ed)
	}
}

// testIdempotent: retried, overlapping and repeated batches leave every
// row stored exactly once.
func testIdempotent(t *testing.T, h Harness) {
	// A batch with events sharing an event id (a publish and its process),
	// a causation edge with no causing span, and a link across traces.
	mixed := func(from, to int) *store.Batch {
		b := batchOf(1, from, to)
		for n := from; n < to; n++ {
			proc := Event(2, 1000+n)
			proc.EventID, proc.Op, proc.Service = fmt.Sprintf("evt-%d", n), event.OpProcess, "billing"
			b.Events = append(b.Events, proc)
			b.Spans = append(b.Spans, Span(proc))
			b.Edges = append(b.Edges,
				event.Edge{FromTraceID: TraceID(1), FromSpanID: SpanID(n), ToTraceID: proc.TraceID, ToSpanID: proc.SpanID,
					Kind: event.EdgeLink, StartNS: proc.StartNS},
				event.Edge{FromEventID: fmt.Sprintf("evt-%d", n), ToTraceID: proc.TraceID, ToSpanID: proc.SpanID,
					Kind: event.EdgeCausation, StartNS: proc.StartNS})
		}
		return b
	}
	check := func(t *testing.T, s store.Store, n int, step string) {
		t.Helper()
		ev1, sp1, ed1 := counts(t, s, TraceID(1))
		ev2, sp2, ed2 := counts(t, s, TraceID(2))
		// Trace 1: n events and spans, n-1 parent edges plus n link edges
		// out of it; trace 2: n events and spans, n link and n causation edges into it.
		if ev1 != n || sp1 != n || ed1 != 2*n-1 || ev2 != n || sp2 != n || ed2 != 2*n {
			t.Fatalf("%s: trace 1 has %d events %d spans %d edges, trace 2 %d %d %d; want %d %d %d and %d %d %d",
				step, ev1, sp1, ed1, ev2, sp2, ed2, n, n, 2*n-1, n, n, 2*n)
		}
		if got := len(all(t, s, store.EventQuery{Limit: store.MaxLimit})); got != 2*n {
			t.Fatalf("%s: %d events in the store, want %d", step, got, 2*n)
		}
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("evt-%d", i)
		}
		if got := len(all(t, s, store.EventQuery{EventIDs: ids})); got != 2*n {
			t.Fatalf("%s: %d events by event id, want %d (the publish and the process of each)", step, got, 2*n)
		}
		ed, err := s.Edges(context.Background(), store.EdgeQuery{FromEventIDs: ids})
		if err != nil || len(ed) != n {
			t.Fatalf("%s: %d causation edges, %v; want %d", step, len(ed), err, n)
		}
	}
	flowCount := func(t *testing.T, s store.Store) uint64 {
		t.Helper()
		fm, err := s.Flows(context.Background(), store.FlowQuery{Since: nsTime(base).Add(-time.Minute), Until: nsTime(base).Add(time.Hour)})
		if err != nil {
			t.Fatalf("Flows: %v", err)
		}
		var n uint64
		for _, e := range fm.Edges {
			n += e.Count
		}
		return n
	}

	t.Run("RetryOverlapping", func(t *testing.T) {
		s := h.New(t)
		write(t, s, mixed(0, 50))
		r := mixed(25, 80) // a retried batch overlapping what is stored
		r.Retry = true
		write(t, s, r)
		check(t, s, 80, "after an overlapping retry")
		r = mixed(0, 80)
		r.Retry = true
		write(t, s, r)
		check(t, s, 80, "after a full retry")
		if n := flowCount(t, s); n != 160 {
			t.Fatalf("flows count %d operations after retries, want 160", n)
		}
	})
	t.Run("SameBatchTwiceRetry", func(t *testing.T) {
		s := h.New(t)
		b := mixed(0, 40)
		write(t, s, b)
		b.Retry = true
		write(t, s, b)
		write(t, s, b)
		check(t, s, 40, "after the same batch three times, retried")
		if n := flowCount(t, s); n != 80 {
			t.Fatalf("flows count %d operations after retries, want 80", n)
		}
	})
	t.Run("SameBatchTwicePlain", func(t *testing.T) {
		// A client re-sending the same spans without Retry: reads still show
		// every row once (aggregates may count the re-sent rows; see Writer).
		s := h.New(t)
		b := mixed(0, 40)
		write(t, s, b)
		write(t, s, mixed(0, 40))
		check(t, s, 40, "after the same batch twice without Retry")
	})
	t.Run("RetryOfUnwritten", func(t *testing.T) {
		// A retry of a batch that never got stored stores it whole.
		s := h.New(t)
		b := mixed(0, 30)
		b.Retry = true
		write(t, s, b)
		check(t, s, 30, "after a first write with Retry")
		if n := flowCount(t, s); n != 60 {
			t.Fatalf("flows count %d operations, want 60", n)
		}
	})
	t.Run("DuplicatesWithinBatch", func(t *testing.T) {
		// One batch carrying the same rows twice (two OTLP requests with
		// the same spans batched together) stores them once.
		s := h.New(t)
		b := mixed(0, 20)
		b.Events = append(b.Events, b.Events...)
		b.Spans = append(b.Spans, b.Spans...)
		b.Edges = append(b.Edges, b.Edges...)
		b.Retry = true
		write(t, s, b)
		check(t, s, 20, "after a batch with every row twice")
	})
}

// testRowKeys: rows are keyed by (trace id, span id), not by event id or
// span id alone, and an edge by its two ends and kind.
func testRowKeys(t *testing.T, h Harness) {
	s := h.New(t)
	a := Event(1, 1)
	b := Event(2, 1) // same span id (and event id), other trace
	c := Event(1, 2)
	c.EventID = a.EventID // same event id, other span
	link := event.Edge{FromTraceID: TraceID(1), FromSpanID: SpanID(1), ToTraceID: TraceID(2), ToSpanID: SpanID(1), Kind: event.EdgeLink, StartNS: b.StartNS}
	parent := link
	parent.Kind = event.EdgeParent // same ends, other kind
	write(t, s, &store.Batch{Events: []event.Event{a, b, c}, Spans: []event.Span{Span(a), Span(b), Span(c)}, Edges: []event.Edge{link, parent}})
	if got := all(t, s, store.EventQuery{}); len(got) != 3 {
		t.Errorf("%d events stored, want 3", len(got))
	}
	if got := all(t, s, store.EventQuery{EventIDs: []string{a.EventID}}); len(got) != 3 {
		t.Errorf("%d events with event id %s, want 3", len(got), a.EventID)
	}
	ed, err := s.Edges(context.Background(), store.EdgeQuery{TraceIDs: []string{TraceID(2)}})
	if err != nil || len(ed) != 2 {
		t.Errorf("%d edges, %v; want 2 (a link and a parent edge between the same spans)", len(ed), err)
	}
}

func testLookups(t *testing.T, h Harness) {
	s := h.New(t)
	const total = 40
	b := &store.Batch{}
	for n := 0; n < total; n++ {
		e := Event(n%4, n)
		e.EventID = fmt.Sprintf("evt-%d", n%30) // events 30…39 share ids with 0…9
		e.CorrelationID = fmt.Sprintf("corr-%d", n%5)
		if n%2 == 0 {
			e.Service, e.Destination, e.EventType = "payments", "payments.authorized", "payment.authorized"
		}
		switch {
		case n%7 == 0:
			e.Outcome, e.Error = event.OutcomeError, "x"
		case n%11 == 0:
			e.Outcome, e.Error = event.OutcomeRetry, "y"
		}
		b.Events = append(b.Events, e)
	}
	write(t, s, b)
	at := func(n int) time.Time { return nsTime(base + uint64(n)*1e6) }
	cases := []struct {
		q    store.EventQuery
		want func(n int) bool
	}{
		{store.EventQuery{}, func(n int) bool { return true }},
		{store.EventQuery{CorrelationID: "corr-2"}, func(n int) bool { return n%5 == 2 }},
		{store.EventQuery{CorrelationID: "corr-404"}, func(n int) bool { return false }},
		{store.EventQuery{TraceIDs: []string{TraceID(0), TraceID(2)}}, func(n int) bool { return n%4 == 0 || n%4 == 2 }},
		{store.EventQuery{TraceIDs: []string{TraceID(3), TraceID(404)}}, func(n int) bool { return n%4 == 3 }},
		{store.EventQuery{EventIDs: []string{"evt-4", "evt-29", "evt-nope"}}, func(n int) bool { return n == 4 || n == 34 || n == 29 }},
		{store.EventQuery{Service: "payments"}, func(n int) bool { return n%2 == 0 }},
		{store.EventQuery{Destination: "orders.placed"}, func(n int) bool { return n%2 == 1 }},
		{store.EventQuery{EventType: "order.placed"}, func(n int) bool { return n%2 == 1 }},
		{store.EventQuery{Outcome: event.OutcomeError}, func(n int) bool { return n%7 == 0 }},
		{store.EventQuery{Outcome: event.OutcomeRetry}, func(n int) bool { return n%7 != 0 && n%11 == 0 }},
		{store.EventQuery{Outcome: event.OutcomeOK}, func(n int) bool { return n%7 != 0 && n%11 != 0 }},
		{store.EventQuery{EventType: "payment.authorized", Outcome: event.OutcomeError}, func(n int) bool { return n%2 == 0 && n%7 == 0 }},
		// Since is inclusive, Until exclusive, to the nanosecond.
		{store.EventQuery{Since: at(10), Until: at(20)}, func(n int) bool { return n >= 10 && n < 20 }},
		{store.EventQuery{Since: at(10).Add(1), Until: at(20).Add(1)}, func(n int) bool { return n > 10 && n <= 20 }},
		{store.EventQuery{Since: at(33)}, func(n int) bool { return n >= 33 }},
		{store.EventQuery{Until: at(3)}, func(n int) bool { return n < 3 }},
		{store.EventQuery{Since: at(5), Until: at(5)}, func(n int) bool { return false }},
		{store.EventQuery{CorrelationID: "corr-1", Service: "orders", TraceIDs: []string{TraceID(1), TraceID(3)}}, func(n int) bool {
			return n%5 == 1 && n%2 == 1
		}},
		{store.EventQuery{CorrelationID: "corr-0", EventIDs: []string{"evt-0", "evt-5"}, Since: at(1)}, func(n int) bool { return n == 5 || n == 30 || n == 35 }},
	}
	for _, c := range cases {
		var want []string
		for n := 0; n < total; n++ {
			if c.want(n) {
				want = append(want, store.NodeID(TraceID(n%4), SpanID(n)))
			}
		}
		what := fmt.Sprintf("Events(%+v)", c.q)
		sameSet(t, what, keys(all(t, s, c.q)), want)
		// The same through pages of 3.
		q := c.q
		q.Limit = 3
		sameSet(t, what+" in pages of 3", keys(all(t, s, q)), want)
	}
}

func testPagination(t *testing.T, h Harness) {
	s := h.New(t)
	const total = 250
	b := &store.Batch{}
	var want []string
	for n := 0; n < total; n++ {
		e := Event(n%4, n)
		e.StartNS = base + uint64(n/10)*1e6 // ten events share each start time
		b.Events = append(b.Events, e)
		want = append(want, store.NodeID(e.TraceID, e.SpanID))
	}
	write(t, s, b)
	for _, limit := range []int{1, 7, 10, 249, 250, 251, store.MaxLimit} {
		var got []event.Event
		q := store.EventQuery{Limit: limit}
		pages := 0
		for {
			p, err := s.Events(context.Background(), q)
			if err != nil {
				t.Fatalf("limit %d page %d: %v", limit, pages, err)
			}
			pages++
			if len(p.Events) > limit {
				t.Fatalf("limit %d: a page of %d events", limit, len(p.Events))
			}
			got = append(got, p.Events...)
			if p.Next == "" {
				break
			}
			if pages > total+1 {
				t.Fatalf("limit %d: pagination does not end", limit)
			}
			q.Cursor = p.Next
		}
		checkNewestFirst(t, got)
		sameSet(t, fmt.Sprintf("limit %d", limit), keys(got), want)
		// A full last page may still carry a cursor (to an empty page).
		full := (total + limit - 1) / limit
		if pages != full && !(total%limit == 0 && pages == full+1) {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, full)
		}
	}
}

func testPaginationWithFilter(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	var want []string
	for n := 0; n < 300; n++ {
		e := Event(n%3, n)
		e.StartNS = base + uint64(n/25)*1e6 // ties across the filter
		e.CorrelationID = fmt.Sprintf("corr-%d", n%2)
		b.Events = append(b.Events, e)
		if n%2 == 1 && n%3 != 0 {
			want = append(want, store.NodeID(e.TraceID, e.SpanID))
		}
	}
	write(t, s, b)
	q := store.EventQuery{CorrelationID: "corr-1", TraceIDs: []string{TraceID(1), TraceID(2)}, Limit: 9}
	sameSet(t, "filtered pages of 9", keys(all(t, s, q)), want)
}

// testCursorStable: a cursor is a position, not a snapshot: events written
// after the first page that sort after the cursor appear on later pages,
// and newer ones do not, and nothing already seen comes again.
func testCursorStable(t *testing.T, h Harness) {
	s := h.New(t)
	write(t, s, batchOf(1, 100, 200))
	p, err := s.Events(context.Background(), store.EventQuery{Limit: 30})
	if err != nil || len(p.Events) != 30 || p.Next == "" {
		t.Fatalf("first page: %d events, next %q, %v", len(p.Events), p.Next, err)
	}
	seen := keys(p.Events)
	write(t, s, batchOf(1, 200, 210)) // newer than everything
	write(t, s, batchOf(1, 0, 5))     // older than everything
	rest := all(t, s, store.EventQuery{Limit: 30, Cursor: p.Next})
	var want []string
	for n := 0; n < 200; n++ {
		if n < 5 || n >= 100 {
			want = append(want, store.NodeID(TraceID(1), SpanID(n)))
		}
	}
	sameSet(t, "pages after the first", append(seen, keys(rest)...), want)
}

func testLimits(t *testing.T, h Harness) {
	s := h.New(t)
	total := store.DefaultLimit + 50
	write(t, s, batchOf(1, 0, total))
	ctx := context.Background()
	def, err := store.Limit(0)
	if err != nil || def != store.DefaultLimit {
		t.Fatalf("store.Limit(0) = %d, %v", def, err)
	}
	p, err := s.Events(ctx, store.EventQuery{})
	if err != nil || len(p.Events) != store.DefaultLimit || p.Next == "" {
		t.Fatalf("Limit 0: %d events, next %q, %v; want DefaultLimit (%d) and a cursor", len(p.Events), p.Next, err, store.DefaultLimit)
	}
	p, err = s.Events(ctx, store.EventQuery{Limit: store.MaxLimit})
	if err != nil || len(p.Events) != total || p.Next != "" {
		t.Fatalf("Limit MaxLimit: %d events, next %q, %v; want all %d, no cursor", len(p.Events), p.Next, err, total)
	}
	for _, n := range []int{-1, -1000, store.MaxLimit + 1, math.MaxInt32} {
		if _, err := store.Limit(n); err == nil {
			t.Fatalf("store.Limit(%d): want an error", n)
		}
		if p, err := s.Events(ctx, store.EventQuery{Limit: n}); err == nil {
			t.Errorf("Events(Limit %d) = %d events, no error; want an error", n, len(p.Events))
		}
	}
}

func testBadQueries(t *testing.T, h Harness) {
	s := h.New(t)
	write(t, s, batchOf(1, 0, 5))
	ctx := context.Background()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []string{
		"!!not-base64",
		enc("nope"),             // no separator
		enc("abc.00ff"),         // start not a number
		enc("-5.00ff"),          // negative start
		enc("123.ZZ"),           // span id not hex
		enc("123.00ff' OR 1=1"), // not hex either
		enc("99999999999999999999999.00ff"),
	} {
		if p, err := s.Events(ctx, store.EventQuery{Cursor: c}); err == nil {
			t.Errorf("Events(Cursor %q) = %d events, no error; want an error", c, len(p.Events))
		}
	}
	if sp, err := s.Spans(ctx, TraceID(404), 0); err != nil || len(sp) != 0 {
		t.Errorf("Spans(unknown) = %v, %v; want empty", sp, err)
	}
	if ed, err := s.Edges(ctx, store.EdgeQuery{}); err != nil || len(ed) != 0 {
		t.Errorf("Edges(empty query) = %v, %v; want empty", ed, err)
	}
	for _, q := range []store.GraphQuery{{}, {TraceID: TraceID(1), EventID: "evt-1"}, {CorrelationID: "c", TraceID: TraceID(1)}} {
		if _, err := store.Walk(ctx, s, q); err == nil {
			t.Errorf("Walk(%+v): want an error", q)
		}
	}
	// Ids with SQL or quoting metacharacters match nothing and break nothing.
	for _, q := range []store.EventQuery{
		{CorrelationID: "' OR '1'='1"},
		{TraceIDs: []string{"x') OR ('1'='1"}},
		{EventIDs: []string{`"; DROP TABLE events; --`}},
		{Service: "%"}, {Destination: "_"}, {EventType: "*"},
	} {
		if got := all(t, s, q); len(got) != 0 {
			t.Errorf("Events(%+v) = %d events, want none", q, len(got))
		}
	}
	if got := all(t, s, store.EventQuery{}); len(got) != 5 {
		t.Errorf("%d events after the odd queries, want 5", len(got))
	}
}

func testSpans(t *testing.T, h Harness) {
	s := h.New(t)
	var spans []event.Span
	for n := 9; n >= 0; n-- { // written out of order, start times not in span id order
		sp := Span(Event(1, n))
		sp.StartNS = base + uint64((n*7)%10)*1e6
		if n > 0 {
			sp.ParentSpanID = SpanID(0)
		}
		spans = append(spans, sp)
	}
	spans = append(spans, Span(Event(2, 100)), Span(Event(2, 5)))
	write(t, s, &store.Batch{Spans: spans[:4]})
	write(t, s, &store.Batch{Spans: spans[4:]})
	got, err := s.Spans(context.Background(), TraceID(1), 0)
	if err != nil || len(got) != 10 {
		t.Fatalf("Spans = %d, %v; want 10", len(got), err)
	}
	for i, sp := range got {
		if sp.TraceID != TraceID(1) {
			t.Fatalf("span %d from trace %s", i, sp.TraceID)
		}
		if i > 0 && sp.StartNS < got[i-1].StartNS {
			t.Fatalf("spans not ordered by start: %d then %d", got[i-1].StartNS, sp.StartNS)
		}
	}
	got, err = s.Spans(context.Background(), TraceID(2), 0)
	if err != nil || len(got) != 2 || got[0].SpanID != SpanID(5) {
		t.Fatalf("Spans(trace 2) = %+v, %v", got, err)
	}
}

func testEdges(t *testing.T, h Harness) {
	s := h.New(t)
	e1 := event.Edge{FromTraceID: TraceID(1), FromSpanID: SpanID(1), ToTraceID: TraceID(2), ToSpanID: SpanID(2), Kind: event.EdgeLink, StartNS: base}
	e2 := event.Edge{FromTraceID: TraceID(2), FromSpanID: SpanID(2), ToTraceID: TraceID(3), ToSpanID: SpanID(3), Kind: event.EdgeLink, StartNS: base + 1}
	e3 := event.Edge{FromEventID: "evt-x", ToTraceID: TraceID(4), ToSpanID: SpanID(4), Kind: event.EdgeCausation, StartNS: base + 2}
	e4 := event.Edge{FromTraceID: TraceID(5), FromSpanID: SpanID(5), ToTraceID: TraceID(5), ToSpanID: SpanID(6), Kind: event.EdgeParent, StartNS: base + 3}
	e5 := event.Edge{FromEventID: "evt-x", ToTraceID: TraceID(2), ToSpanID: SpanID(9), Kind: event.EdgeCausation, StartNS: base + 4}
	e6 := event.Edge{FromTraceID: TraceID(6), FromSpanID: SpanID(6), FromEventID: "evt-y", ToTraceID: TraceID(7), ToSpanID: SpanID(7), Kind: event.EdgeLink, StartNS: base + 5}
	write(t, s, &store.Batch{Edges: []event.Edge{e1, e2, e3, e4, e5, e6}})
	check := func(q store.EdgeQuery, want ...event.Edge) {
		t.Helper()
		got, err := s.Edges(context.Background(), q)
		if err != nil {
			t.Fatalf("Edges(%+v): %v", q, err)
		}
		sameSet(t, fmt.Sprintf("Edges(%+v)", q), edgeKeys(got), edgeKeys(want))
	}
	check(store.EdgeQuery{TraceIDs: []string{TraceID(1)}}, e1)                                              // from end
	check(store.EdgeQuery{TraceIDs: []string{TraceID(3)}}, e2)                                              // to end
	check(store.EdgeQuery{TraceIDs: []string{TraceID(2)}}, e1, e2, e5)                                      // both
	check(store.EdgeQuery{TraceIDs: []string{TraceID(1), TraceID(2)}}, e1, e2, e5)                          // e1 once
	check(store.EdgeQuery{TraceIDs: []string{TraceID(5)}}, e4)                                              // both ends in one trace: once
	check(store.EdgeQuery{FromEventIDs: []string{"evt-x"}}, e3, e5)                                         // causation edges
	check(store.EdgeQuery{FromEventIDs: []string{"evt-y", "evt-nope"}}, e6)                                 // a link edge that names its event
	check(store.EdgeQuery{TraceIDs: []string{TraceID(2)}, FromEventIDs: []string{"evt-x"}}, e1, e2, e3, e5) // e5 once
	check(store.EdgeQuery{TraceIDs: []string{TraceID(9)}})
	check(store.EdgeQuery{FromEventIDs: []string{"nope"}})
}
