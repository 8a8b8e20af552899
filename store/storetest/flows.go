package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// quantileTolerance is how far a backend's p50/p99 may be from the exact
// nearest-rank value: backends may sample or use a digest.
const quantileTolerance = 0.10

func near(got, want uint64) bool {
	return float64(got) >= (1-quantileTolerance)*float64(want) && float64(got) <= (1+quantileTolerance)*float64(want)
}

// checkFlowMap compares a flow map with the one BuildFlowMap makes of the
// exact rows: the same nodes, the same edges with the same counts, and
// quantiles within quantileTolerance.
func checkFlowMap(t testing.TB, what string, got store.FlowMap, rows []store.FlowRow) {
	t.Helper()
	want := store.BuildFlowMap(rows)
	var gotNodes, wantNodes []string
	for _, n := range got.Nodes {
		gotNodes = append(gotNodes, fmt.Sprintf("%+v", n))
	}
	for _, n := range want.Nodes {
		wantNodes = append(wantNodes, fmt.Sprintf("%+v", n))
	}
	sameSet(t, what+" nodes", gotNodes, wantNodes)
	type key struct {
		src, dst string
		op       event.Op
		group    string
	}
	wantEdges := map[key]store.FlowEdge{}
	for _, e := range want.Edges {
		wantEdges[key{e.Source, e.Target, e.Op, e.ConsumerGroup}] = e
	}
	if len(got.Edges) != len(want.Edges) {
		t.Errorf("%s: %d edges, want %d:\n got %+v\nwant %+v", what, len(got.Edges), len(want.Edges), got.Edges, want.Edges)
	}
	for _, g := range got.Edges {
		k := key{g.Source, g.Target, g.Op, g.ConsumerGroup}
		w, ok := wantEdges[k]
		if !ok {
			t.Errorf("%s: unexpected edge %+v", what, g)
			continue
		}
		if g.Count != w.Count || g.Errors != w.Errors {
			t.Errorf("%s: edge %s -%s-> %s (group %q): count %d errors %d, want %d and %d",
				what, g.Source, g.Op, g.Target, g.ConsumerGroup, g.Count, g.Errors, w.Count, w.Errors)
		}
		if !near(g.P50NS, w.P50NS) || !near(g.P99NS, w.P99NS) {
			t.Errorf("%s: edge %s -%s-> %s: p50 %d p99 %d, want %d and %d ±%.0f%%",
				what, g.Source, g.Op, g.Target, g.P50NS, g.P99NS, w.P50NS, w.P99NS, 100*quantileTolerance)
		}
	}
}

// flowWindow is a ten-minute window on whole minutes, an hour and a half
// ago: backends that aggregate per minute (ClickHouse) answer it exactly.
func flowWindow() (since, until time.Time) {
	since = time.Now().Add(-90 * time.Minute).Truncate(time.Minute)
	return since, since.Add(10 * time.Minute)
}

func testFlows(t *testing.T, h Harness) {
	s := h.New(t)
	since, until := flowWindow()
	at := func(d time.Duration) uint64 { return uint64(since.Add(d).UnixNano()) }
	b := &store.Batch{}
	n := 0
	// add writes count operations like e, the i-th at offset(i) in the
	// window with duration dur(i) and outcome out(i).
	add := func(e event.Event, count int, offset func(i int) uint64, dur func(i int) uint64, out func(i int) event.Outcome) {
		for i := 0; i < count; i++ {
			n++
			e.TraceID, e.SpanID, e.EventID = TraceID(n), SpanID(n), fmt.Sprintf("flow-%d", n)
			e.StartNS, e.DurationNS, e.Outcome = offset(i), dur(i), out(i)
			b.Events = append(b.Events, e)
		}
	}
	spread := func(i int) uint64 { return at(time.Duration(i) * 2 * time.Second) }
	ms := func(v int) func(int) uint64 { return func(int) uint64 { return uint64(v) * 1e6 } }
	ok := func(int) event.Outcome { return event.OutcomeOK }

	pub := Event(0, 0)
	add(pub, 100, spread, func(i int) uint64 { return uint64(i+1) * 1e6 }, ok)
	proc := pub
	proc.Op, proc.Service, proc.ConsumerGroup = event.OpProcess, "billing", "billing-group"
	failures := []event.Outcome{event.OutcomeError, event.OutcomeRetry, event.OutcomeDeadLettered}
	add(proc, 200, spread, func(i int) uint64 { return uint64(i%100+1) * 1e6 }, func(i int) event.Outcome {
		if i%10 == 0 {
			return failures[(i/10)%3]
		}
		return event.OutcomeOK
	})
	audit := proc
	audit.Service, audit.ConsumerGroup = "audit", "audit-group"
	add(audit, 40, spread, ms(5), ok)
	ungrouped := proc // a consumer with no group
	ungrouped.Service, ungrouped.ConsumerGroup = "audit", ""
	add(ungrouped, 3, spread, ms(7), ok)
	natsPub := pub // the same destination name on NATS is another node
	natsPub.System = event.SystemNATS
	add(natsPub, 30, spread, ms(2), ok)
	dlq := proc
	dlq.Op, dlq.Destination, dlq.ConsumerGroup = event.OpDeadLetter, "orders.placed.dlq", ""
	add(dlq, 5, spread, ms(3), ok)
	settle := proc
	settle.Op = event.OpSettle
	add(settle, 10, spread, ms(1), func(i int) event.Outcome {
		if i < 4 {
			return event.OutcomeDuplicateSkipped // not ok, so counted as errors
		}
		return event.OutcomeOK
	})
	noDest := proc // no destination: not on the map
	noDest.Destination = ""
	add(noDest, 7, spread, ms(1), ok)
	// The window's edges, to the nanosecond: [since, until).
	edge := pub
	edge.Service, edge.Destination = "edge-svc", "edges.topic"
	offsets := []uint64{at(0), at(10*time.Minute - 1), at(-1), at(10 * time.Minute), at(-2 * time.Hour), at(3 * time.Hour)}
	add(edge, len(offsets), func(i int) uint64 { return offsets[i] }, ms(10), ok)
	// Half of them in one batch, half in another.
	write(t, s, &store.Batch{Events: b.Events[:len(b.Events)/2]})
	write(t, s, &store.Batch{Events: b.Events[len(b.Events)/2:]})

	rows := []store.FlowRow{
		{Service: "orders", System: "kafka", Destination: "orders.placed", Op: event.OpPublish, Count: 100, P50NS: 50e6, P99NS: 99e6},
		{Service: "billing", System: "kafka", Destination: "orders.placed", ConsumerGroup: "billing-group", Op: event.OpProcess, Count: 200, Errors: 20, P50NS: 50e6, P99NS: 99e6},
		{Service: "audit", System: "kafka", Destination: "orders.placed", ConsumerGroup: "audit-group", Op: event.OpProcess, Count: 40, P50NS: 5e6, P99NS: 5e6},
		{Service: "audit", System: "kafka", Destination: "orders.placed", Op: event.OpProcess, Count: 3, P50NS: 7e6, P99NS: 7e6},
		{Service: "orders", System: "nats", Destination: "orders.placed", Op: event.OpPublish, Count: 30, P50NS: 2e6, P99NS: 2e6},
		{Service: "billing", System: "kafka", Destination: "orders.placed.dlq", Op: event.OpDeadLetter, Count: 5, P50NS: 3e6, P99NS: 3e6},
		{Service: "billing", System: "kafka", Destination: "orders.placed", ConsumerGroup: "billing-group", Op: event.OpSettle, Count: 10, Errors: 4, P50NS: 1e6, P99NS: 1e6},
		{Service: "edge-svc", System: "kafka", Destination: "edges.topic", Op: event.OpPublish, Count: 2, P50NS: 10e6, P99NS: 10e6},
	}
	fm, err := s.Flows(context.Background(), store.FlowQuery{Since: since, Until: until})
	if err != nil {
		t.Fatalf("Flows: %v", err)
	}
	checkFlowMap(t, "Flows", fm, rows)

	// A narrower window: the first minute only.
	fm, err = s.Flows(context.Background(), store.FlowQuery{Since: since, Until: since.Add(time.Minute)})
	if err != nil {
		t.Fatalf("Flows: %v", err)
	}
	var total uint64
	for _, e := range fm.Edges {
		total += e.Count
	}
	// spread puts operation i at 2i seconds: i < 30 falls in the first
	// minute, for each group (capped by its size), plus the edge event at since.
	want := uint64(30 + 30 + 30 + 3 + 30 + 5 + 10 + 1)
	if total != want {
		t.Errorf("first minute: %d operations on the map, want %d", total, want)
	}
}

func testFlowsEmpty(t *testing.T, h Harness) {
	s := h.New(t)
	since, until := flowWindow()
	fm, err := s.Flows(context.Background(), store.FlowQuery{Since: since, Until: until})
	if err != nil || len(fm.Nodes) != 0 || len(fm.Edges) != 0 {
		t.Fatalf("empty store: %+v, %v", fm, err)
	}
	write(t, s, batchOf(1, 0, 10))
	fm, err = s.Flows(context.Background(), store.FlowQuery{Since: since.Add(-48 * time.Hour), Until: until.Add(-47 * time.Hour)})
	if err != nil || len(fm.Nodes) != 0 || len(fm.Edges) != 0 {
		t.Fatalf("a window with no events: %+v, %v", fm, err)
	}
}
