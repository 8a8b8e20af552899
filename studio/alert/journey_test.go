package alert

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/journey"
)

// TestJourneyRules: journey_stuck fires when more than its threshold of
// orders are stuck at a step (here dead-lettered by payments), with links
// on the public URL to the journey's stuck list at that step, the oldest
// stuck order's graph at its last event and the DLQ filtered to the
// reason, and the stuck ids as samples; journey_slo fires below its
// target with the slowest order's graph. Once the orders are replayed and
// shipped, both resolve, the stuck rule still linking what it fired for.
func TestJourneyRules(t *testing.T) {
	ctx := context.Background()
	rcv := newReceiver(t)
	e, st := newEngine(t, SenderOptions{AllowLoopback: true})
	if err := e.SetPublicURL("https://causeway.example.com/studio/"); err != nil {
		t.Fatal(err)
	}
	order := journey.Journey{Name: "order", Start: journey.Step{EventType: "order.placed"},
		Success: []journey.Step{{EventType: "order.shipped"}},
		SLO:     journey.SLO{Target: 0.9, Within: journey.Duration(time.Minute), StuckAfter: journey.Duration(2 * time.Minute)}}
	w, reg, err := journey.Open(ctx, st, []journey.Journey{order}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e.SetJourneys(journey.NewService(reg, w.Ledger(), st))
	n := 0
	ev := func(corr, typ, service, dest string, op event.Op, outcome event.Outcome, at time.Time) event.Event {
		n++
		e := event.Event{EventID: corr + "/" + typ, EventType: typ, CorrelationID: corr, TraceID: fmt.Sprintf("%032x", n),
			SpanID: fmt.Sprintf("%016x", n), Service: service, Destination: dest, Op: op, Outcome: outcome, StartNS: uint64(at.UnixNano()),
			DurationNS: 1000, Partition: -1, Offset: -1, PayloadSize: -1}
		if outcome == event.OutcomeDeadLettered {
			e.Error = "card declined"
		}
		return e
	}
	t0 := time.Now().Add(-10 * time.Minute)
	var evs []event.Event
	for i := range 4 { // shipped in 2 s
		c := fmt.Sprintf("ok-%d", i)
		evs = append(evs, ev(c, "order.placed", "shop", "orders", event.OpPublish, event.OutcomeOK, t0),
			ev(c, "order.shipped", "shipping", "shipments", event.OpPublish, event.OutcomeOK, t0.Add(2*time.Second)))
	}
	for i := range 3 { // dead-lettered
		c := fmt.Sprintf("dlq-%d", i)
		at := t0.Add(time.Duration(i+1) * time.Second)
		evs = append(evs, ev(c, "order.placed", "shop", "orders", event.OpPublish, event.OutcomeOK, at),
			ev(c, "order.placed", "payments", "orders", event.OpProcess, event.OutcomeDeadLettered, at.Add(time.Millisecond)))
	}
	if err := w.Write(ctx, &store.Batch{Events: evs}); err != nil {
		t.Fatal(err)
	}
	hook := []Webhook{{URL: rcv.srv.URL}}
	for _, r := range []Rule{
		{ID: "stuck", Name: "orders stuck", Kind: KindJourneyStuck, Journey: "order", Threshold: 2, Webhooks: hook},
		{ID: "slo", Name: "order SLO", Kind: KindJourneySLO, Journey: "order", Window: Duration(time.Hour), Webhooks: hook},
	} {
		if err := e.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Put(Rule{ID: "bad", Name: "no journey", Kind: KindJourneyStuck, Threshold: 1}); err == nil {
		t.Fatal("a journey rule without a journey was accepted")
	}
	e.Evaluate(ctx)
	got := rcv.events(t)
	if len(got) != 2 {
		t.Fatalf("%d notifications: %+v", len(got), got)
	}
	byRule := map[string]Event{}
	for _, g := range got {
		byRule[g.RuleID] = g
	}
	base := "https://causeway.example.com/studio"
	stuck := byRule["stuck"]
	wantLinks := []Link{
		{Kind: "journey", Label: "Stuck in order at order.placed", URL: base + "/journeys?journey=order&step=order.placed"},
		{Kind: "graph", Label: "Causation graph of dlq-0", URL: base + "/graph?event=dlq-0%2Forder.placed&id=dlq-0&kind=correlation_id"},
		{Kind: "dlq", Label: "DLQ entries: card declined", URL: base + "/dlq?reason=card+declined"},
	}
	if stuck.Status != "firing" || stuck.Value != 3 || fmt.Sprint(stuck.Links) != fmt.Sprint(wantLinks) ||
		fmt.Sprint(stuck.Samples) != "[dlq-0 dlq-1 dlq-2]" {
		t.Fatalf("journey_stuck notification %+v\nwant links %+v", stuck, wantLinks)
	}
	slo := byRule["slo"]
	if slo.Status != "firing" || slo.Value != 4.0/7 || len(slo.Links) != 2 || slo.Links[0].URL != base+"/journeys?journey=order" ||
		slo.Links[1].Kind != "graph" || len(slo.Samples) != 1 {
		t.Fatalf("journey_slo notification %+v", slo)
	}

	// Replayed and shipped: nothing stuck, every order in time.
	var fix []event.Event
	for i := range 3 {
		c := fmt.Sprintf("dlq-%d", i)
		fix = append(fix, ev(c, "order.placed", "causeway-replay", "orders", event.OpReplay, event.OutcomeOK, time.Now().Add(-time.Second)),
			ev(c, "order.shipped", "shipping", "shipments", event.OpPublish, event.OutcomeOK, t0.Add(30*time.Second)))
	}
	if err := w.Write(ctx, &store.Batch{Events: fix}); err != nil {
		t.Fatal(err)
	}
	e.Evaluate(ctx)
	got = rcv.events(t)
	if len(got) != 4 {
		t.Fatalf("%d notifications after the fix: %+v", len(got), got)
	}
	for _, g := range got[2:] {
		if g.Status != "resolved" {
			t.Fatalf("after the fix: %+v", g)
		}
		if g.RuleID == "stuck" && fmt.Sprint(g.Links) != fmt.Sprint(wantLinks) {
			t.Fatalf("the resolution links what fired: %+v", g.Links)
		}
	}
}
