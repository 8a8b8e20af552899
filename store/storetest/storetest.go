// Package storetest is the conformance suite every Causeway store passes.
// A backend's test fills a Harness and calls RunAll; the zero value of an
// optional field skips only what needs it.
//
// The suite checks the contracts written on store.Writer and store.Reader:
// every field survives a round trip, retried and repeated batches store
// each row once, lookups and filters select exactly the matching rows,
// pages are newest first with cursors that neither skip nor repeat, the
// causation-graph walk (store.Walk) sees the same graph over every
// backend's primitives, flow maps count exactly, and (when the backend can
// reopen) data survives a restart. Ids are deterministic (TraceID, SpanID)
// and times are recent Unix nanoseconds, so backends that partition by
// date store them like real data.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Harness gives the suite fresh stores.
type Harness struct {
	// New returns a fresh, empty store; it registers its own cleanup
	// (t.Cleanup) so the suite never closes what New returned.
	New func(t *testing.T) store.Store
	// Reopen closes s and opens the same data again; nil when the backend
	// cannot (the restart test is then skipped). The returned store is
	// cleaned up by Reopen too.
	Reopen func(t *testing.T, s store.Store) store.Store
}

// RunAll runs every conformance test, each as a subtest with a fresh store.
func RunAll(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoundTripEvents", testRoundTripEvents},
		{"RoundTripSpans", testRoundTripSpans},
		{"RoundTripEdges", testRoundTripEdges},
		{"WriteDoesNotKeepBatch", testWriteDoesNotKeepBatch},
		{"EmptyAndPartialBatches", testEmptyAndPartialBatches},
		{"IdempotentRewrites", testIdempotent},
		{"RowKeys", testRowKeys},
		{"Lookups", testLookups},
		{"Pagination", testPagination},
		{"PaginationWithFilter", testPaginationWithFilter},
		{"CursorStableUnderWrites", testCursorStable},
		{"DefaultAndMaxLimit", testLimits},
		{"BadQueries", testBadQueries},
		{"Spans", testSpans},
		{"Edges", testEdges},
		{"GraphChain", testGraphChain},
		{"GraphMaxNodes", testGraphMaxNodes},
		{"GraphMaxDepth", testGraphMaxDepth},
		{"GraphParentClimb", testGraphParentClimb},
		{"GraphCausationHeader", testGraphCausation},
		{"Flows", testFlows},
		{"FlowsEmptyWindow", testFlowsEmpty},
		{"ConcurrentExact", testConcurrentExact},
		{"Restart", testRestart},
		{"LagSeries", testLagSeries},
		{"DLQ", testDLQ},
		{"DLQLookup", testDLQLookup},
		{"ReplayLog", testReplayLog},
		{"ReplayPages", testReplayPages},
		{"AlertLog", testAlertLog},
		{"AuditLog", testAuditLog},
		{"AuditHash", testAuditHash},
		{"SpansLimit", testSpansLimit},
		{"QueryErrors", testQueryErrors},
		{"Retention", testRetention},
		{"Ledger", testLedger},
		{"LedgerRestart", testLedgerRestart},
		{"LedgerOrder", testLedgerOrder},
		{"LookupPrecedence", testLookupPrecedence},
		{"MessageKeyQuery", testMessageKeyQuery},
		{"InheritedCorrelation", testInheritedCorrelation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// base is the start time of generated events: an hour ago, on a whole
// second, so that every backend keeps them as recent data.
var base = uint64(time.Now().Add(-time.Hour).Truncate(time.Second).UnixNano())

// TraceID makes a deterministic 32-hex-digit trace id.
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

func write(t testing.TB, s store.Writer, b *store.Batch) {
	t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatalf("Write (%d rows, retry %v): %v", b.Len(), b.Retry, err)
	}
}

// all reads every page of q (pages of 1000 unless q sets a limit) and
// checks that the pages are newest first without repeats.
func all(t testing.TB, s store.Reader, q store.EventQuery) []event.Event {
	t.Helper()
	var out []event.Event
	if q.Limit == 0 {
		q.Limit = 1000
	}
	seen := map[string]bool{}
	for i := 0; ; i++ {
		p, err := s.Events(context.Background(), q)
		if err != nil {
			t.Fatalf("Events(%+v): %v", q, err)
		}
		if len(p.Events) > q.Limit {
			t.Fatalf("Events(%+v): %d events, more than the limit", q, len(p.Events))
		}
		for _, e := range p.Events {
			k := store.NodeID(e.TraceID, e.SpanID)
			if seen[k] {
				t.Fatalf("Events(%+v): %s returned twice", q, k)
			}
			seen[k] = true
		}
		out = append(out, p.Events...)
		if p.Next == "" {
			checkNewestFirst(t, out)
			return out
		}
		if i > 100000 {
			t.Fatalf("Events(%+v): pagination does not end", q)
		}
		q.Cursor = p.Next
	}
}

// checkNewestFirst fails unless es is in the Reader.Events order: StartNS
// descending, then SpanID descending.
func checkNewestFirst(t testing.TB, es []event.Event) {
	t.Helper()
	for i := 1; i < len(es); i++ {
		a, b := es[i-1], es[i]
		if a.StartNS < b.StartNS || a.StartNS == b.StartNS && a.SpanID < b.SpanID {
			t.Fatalf("not newest first at %d: %d/%s then %d/%s", i, a.StartNS, a.SpanID, b.StartNS, b.SpanID)
		}
	}
}

// batchOf makes events n in [from, to) of trace tr with their spans, and
// a parent edge from each event to the next.
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

// counts returns how many events, spans and edges a trace has, failing
// on any row returned twice.
func counts(t testing.TB, s store.Reader, traceID string) (events, spans, edges int) {
	t.Helper()
	ctx := context.Background()
	ev := all(t, s, store.EventQuery{TraceIDs: []string{traceID}, Limit: store.MaxLimit})
	sp, err := s.Spans(ctx, traceID, 0)
	if err != nil {
		t.Fatalf("Spans(%s): %v", traceID, err)
	}
	seen := map[string]bool{}
	for _, x := range sp {
		if seen[x.SpanID] {
			t.Fatalf("Spans(%s): span %s returned twice", traceID, x.SpanID)
		}
		seen[x.SpanID] = true
	}
	ed, err := s.Edges(ctx, store.EdgeQuery{TraceIDs: []string{traceID}})
	if err != nil {
		t.Fatalf("Edges(%s): %v", traceID, err)
	}
	seenEdge := map[event.Edge]bool{}
	for _, x := range ed {
		k := x
		k.CorrelationID, k.StartNS = "", 0 // not part of an edge's key
		if seenEdge[k] {
			t.Fatalf("Edges(%s): edge %+v returned twice", traceID, x)
		}
		seenEdge[k] = true
	}
	return len(ev), len(sp), len(ed)
}

func nsTime(ns uint64) time.Time { return time.Unix(0, int64(ns)) }
