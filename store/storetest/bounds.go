package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// testSpansLimit: Spans returns the earliest limit spans of a trace, in
// order; 0 means all; a negative limit is the caller's mistake.
func testSpansLimit(t *testing.T, h Harness) {
	s := h.New(t)
	write(t, s, batchOf(1, 0, 50))
	ctx := context.Background()
	got, err := s.Spans(ctx, TraceID(1), 7)
	if err != nil || len(got) != 7 {
		t.Fatalf("Spans(limit 7) = %d spans, %v; want 7", len(got), err)
	}
	for i, sp := range got {
		if sp.SpanID != SpanID(i) {
			t.Fatalf("span %d is %s, want the earliest spans in order (%s)", i, sp.SpanID, SpanID(i))
		}
	}
	if got, err := s.Spans(ctx, TraceID(1), 0); err != nil || len(got) != 50 {
		t.Fatalf("Spans(limit 0) = %d spans, %v; want all 50", len(got), err)
	}
	if got, err := s.Spans(ctx, TraceID(1), 500); err != nil || len(got) != 50 {
		t.Fatalf("Spans(limit 500) = %d spans, %v; want all 50", len(got), err)
	}
	if _, err := s.Spans(ctx, TraceID(1), -1); !errors.Is(err, store.ErrInvalidQuery) {
		t.Fatalf("Spans(limit -1): %v, want ErrInvalidQuery", err)
	}
}

// testQueryErrors: queries the caller must fix wrap ErrInvalidQuery, and
// a query whose deadline has passed wraps ErrQueryTimeout, whatever the
// driver said, on every Reader method.
func testQueryErrors(t *testing.T, h Harness) {
	s := h.New(t)
	b := batchOf(1, 0, 20)
	b.Lag = []store.LagSample{lagSample(1, "billing", 0)}
	b.DLQ = []store.DLQEntry{dlqEntry(1)}
	write(t, s, b)
	ctx := context.Background()
	for name, err := range map[string]error{
		"Events(limit over max)": second(s.Events(ctx, store.EventQuery{Limit: store.MaxLimit + 1})),
		"Events(negative limit)": second(s.Events(ctx, store.EventQuery{Limit: -1})),
		"Events(bad cursor)":     second(s.Events(ctx, store.EventQuery{Cursor: "!!"})),
		"DLQ(bad cursor)":        second(s.DLQ(ctx, store.DLQQuery{Cursor: "!!"})),
		"DLQ(too many ids)":      second(s.DLQ(ctx, store.DLQQuery{IDs: make([]string, store.MaxLimit+1)})),
		"Walk(two ids)":          second(store.Walk(ctx, s, store.GraphQuery{TraceID: TraceID(1), EventID: "evt-1"})),
	} {
		if !errors.Is(err, store.ErrInvalidQuery) {
			t.Errorf("%s: %v, want ErrInvalidQuery", name, err)
		}
	}
	// A deadline already passed: every read stops with ErrQueryTimeout.
	past, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	since, until := flowWindow()
	for name, err := range map[string]error{
		"Events":   second(s.Events(past, store.EventQuery{})),
		"Edges":    second(s.Edges(past, store.EdgeQuery{TraceIDs: []string{TraceID(1)}})),
		"Spans":    second(s.Spans(past, TraceID(1), 0)),
		"Flows":    second(s.Flows(past, store.FlowQuery{Since: since, Until: until})),
		"Lag":      second(s.Lag(past, store.LagQuery{})),
		"DLQ":      second(s.DLQ(past, store.DLQQuery{})),
		"DLQEntry": second(s.DLQEntry(past, dlqEntry(1).ID)),
		"Walk":     second(store.Walk(past, s, store.GraphQuery{TraceID: TraceID(1)})),
	} {
		if !errors.Is(err, store.ErrQueryTimeout) {
			t.Errorf("%s after the deadline: %v, want ErrQueryTimeout", name, err)
		}
	}
	// The same store answers once the deadline is not in the past.
	if p, err := s.Events(ctx, store.EventQuery{}); err != nil || len(p.Events) != 20 {
		t.Fatalf("Events after the timeouts: %d, %v", len(p.Events), err)
	}
}

func second[T any](_ T, err error) error { return err }
