package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// testConcurrentExact: 20,000 events with their spans and edges, written
// in batches of 1,000 by four goroutines while readers query, are all
// there afterwards, exactly once, and pages of MaxLimit reach all of them.
func testConcurrentExact(t *testing.T, h Harness) {
	s := h.New(t)
	const writers, batches, per = 4, 5, 1000
	const total = writers * batches * per
	ctx := context.Background()
	batch := func(w, i int) *store.Batch {
		from := (w*batches + i) * per
		b := batchOf(100+w, from, from+per)
		for j := range b.Events {
			n := from + j
			b.Events[j].DurationNS = uint64(n%100+1) * 1e6
			b.Events[j].StartNS = base + uint64(n)*1e5 // 2 s in all, inside one flow window
		}
		return b
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < batches; i++ {
				errs <- s.Write(ctx, batch(w, i))
			}
		}(w)
	}
	// Readers run while the writers write: each page they see is in order.
	var stop atomic.Bool
	var readers sync.WaitGroup
	readErrs := make(chan error, 2)
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func(r int) {
			defer readers.Done()
			for !stop.Load() {
				p, err := s.Events(ctx, store.EventQuery{TraceIDs: []string{TraceID(100 + r)}, Limit: 500})
				if err == nil {
					for i := 1; i < len(p.Events); i++ {
						if p.Events[i].StartNS > p.Events[i-1].StartNS {
							err = errOrder
						}
					}
				}
				if err == nil {
					_, err = s.Flows(ctx, store.FlowQuery{Since: nsTime(base), Until: nsTime(base).Add(50 * time.Millisecond)})
				}
				if err != nil {
					readErrs <- err
					return
				}
				time.Sleep(5 * time.Millisecond) // leave the writers most of the CPU
			}
		}(r)
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	close(errs)
	close(readErrs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Write: %v", err)
		}
	}
	for err := range readErrs {
		t.Fatalf("read during writes: %v", err)
	}
	for w := 0; w < writers; w++ {
		ev, sp, ed := counts(t, s, TraceID(100+w))
		if ev != batches*per || sp != batches*per || ed != batches*(per-1) {
			t.Errorf("writer %d: %d events, %d spans, %d edges; want %d, %d, %d", w, ev, sp, ed, batches*per, batches*per, batches*(per-1))
		}
	}
	// Pages of MaxLimit over everything.
	seen := map[string]bool{}
	q := store.EventQuery{Limit: store.MaxLimit}
	for pages := 0; ; pages++ {
		p, err := s.Events(ctx, q)
		if err != nil {
			t.Fatalf("Events(MaxLimit): %v", err)
		}
		if pages < total/store.MaxLimit && len(p.Events) != store.MaxLimit {
			t.Fatalf("page %d of MaxLimit holds %d events", pages, len(p.Events))
		}
		for _, e := range p.Events {
			k := store.NodeID(e.TraceID, e.SpanID)
			if seen[k] {
				t.Fatalf("%s on two pages", k)
			}
			seen[k] = true
		}
		if p.Next == "" {
			break
		}
		if pages > total/store.MaxLimit+1 {
			t.Fatal("pagination does not end")
		}
		q.Cursor = p.Next
	}
	if len(seen) != total {
		t.Fatalf("%d distinct events in pages of MaxLimit, want %d", len(seen), total)
	}
	fm, err := s.Flows(ctx, store.FlowQuery{Since: nsTime(base).Add(-time.Minute), Until: nsTime(base).Add(time.Minute)})
	if err != nil {
		t.Fatalf("Flows: %v", err)
	}
	checkFlowMap(t, "flows of the concurrent writes", fm, []store.FlowRow{
		{Service: "orders", System: "kafka", Destination: "orders.placed", Op: event.OpPublish, Count: total, P50NS: 50e6, P99NS: 99e6},
	})
}

var errOrder = errors.New("a page is not newest first")

// testRestart: everything written survives closing and reopening the
// store, and writing continues exactly once after it.
func testRestart(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("backend cannot reopen")
	}
	s := h.New(t)
	ctx := context.Background()
	events := roundTripEvents()
	spans := roundTripSpans()
	edges := roundTripEdges()
	write(t, s, &store.Batch{Events: events, Spans: spans, Edges: edges})
	write(t, s, batchOf(10, 0, 20))
	chainEvents, chainEdges := chain(t, s, 3)
	var lag []store.LagSample
	var dlq []store.DLQEntry
	for i := 0; i < 5; i++ {
		lag = append(lag, lagSample(i, "billing", 0))
		dlq = append(dlq, dlqEntry(i))
	}
	write(t, s, &store.Batch{Lag: lag, DLQ: dlq})
	since, until := nsTime(base).Add(-time.Minute), nsTime(base).Add(time.Hour)
	before, err := s.Flows(ctx, store.FlowQuery{Since: since, Until: until})
	if err != nil {
		t.Fatalf("Flows: %v", err)
	}

	for round := 1; round <= 2; round++ {
		s = h.Reopen(t, s)
		checkRoundTrip(t, s, events)
		got, err := s.Spans(ctx, TraceID(1), 0)
		if err != nil || len(got) != len(spans) {
			t.Fatalf("round %d: Spans = %d, %v; want %d", round, len(got), err, len(spans))
		}
		for i := range spans {
			checkSame(t, "span after reopen", got[i], spans[i])
		}
		if ev, sp, ed := counts(t, s, TraceID(10)); ev != 20 || sp != 20 || ed != 19 {
			t.Fatalf("round %d: events %d spans %d edges %d, want 20 20 19", round, ev, sp, ed)
		}
		g := walk(t, s, store.GraphQuery{TraceID: chainEvents[0].TraceID})
		sameSet(t, "graph after reopen", graphEdgeKeys(g.Edges), graphEdgeKeys(chainEdges))
		after, err := s.Flows(ctx, store.FlowQuery{Since: since, Until: until})
		if err != nil {
			t.Fatalf("Flows after reopen: %v", err)
		}
		var rows []store.FlowRow
		for _, e := range before.Edges {
			rows = append(rows, flowRowOf(before, e))
		}
		checkFlowMap(t, "flows after reopen", after, rows)
		gotLag, err := s.Lag(ctx, store.LagQuery{Group: "billing"})
		if err != nil || len(gotLag) != len(lag) {
			t.Fatalf("round %d: %d lag samples, %v; want %d", round, len(gotLag), err, len(lag))
		}
		e, err := s.DLQEntry(ctx, dlq[3].ID)
		if err != nil {
			t.Fatalf("round %d: DLQEntry: %v", round, err)
		}
		checkSame(t, "DLQ entry after reopen", e, dlq[3])
	}
	// The collector's spool replays after a restart: a retry overlapping
	// what is stored.
	r := batchOf(10, 10, 30)
	r.Retry = true
	write(t, s, r)
	if ev, sp, ed := counts(t, s, TraceID(10)); ev != 30 || sp != 30 || ed != 29 {
		t.Fatalf("retry after reopen: events %d spans %d edges %d, want 30 30 29", ev, sp, ed)
	}
	s = h.Reopen(t, s)
	if ev, _, _ := counts(t, s, TraceID(10)); ev != 30 {
		t.Fatalf("after the last reopen: %d events, want 30", ev)
	}
}

// flowRowOf turns a flow-map edge back into the row it came from.
func flowRowOf(fm store.FlowMap, e store.FlowEdge) store.FlowRow {
	nodes := map[string]store.FlowNode{}
	for _, n := range fm.Nodes {
		nodes[n.ID] = n
	}
	svc, dst := nodes[e.Source], nodes[e.Target]
	if svc.Kind != store.NodeService {
		svc, dst = dst, svc
	}
	return store.FlowRow{Service: svc.Name, System: dst.System, Destination: dst.Name, ConsumerGroup: e.ConsumerGroup,
		Op: e.Op, Count: e.Count, Errors: e.Errors, P50NS: e.P50NS, P99NS: e.P99NS}
}
