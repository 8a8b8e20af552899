package journey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
)

func TestValidate(t *testing.T) {
	ok := orderJourney()
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Journey){
		"bad name":          func(j *Journey) { j.Name = "no spaces" },
		"reserved name":     func(j *Journey) { j.Name = "suggestions" },
		"start matches all": func(j *Journey) { j.Start = Step{Op: event.OpPublish} },
		"no success":        func(j *Journey) { j.Success = nil },
		"unknown op":        func(j *Journey) { j.Steps[0].Op = "poke" },
		"two steps a name":  func(j *Journey) { j.Steps = append(j.Steps, Step{Name: "payment", Destination: "x"}) },
		"target above 1":    func(j *Journey) { j.SLO.Target = 1.5 },
		"stuck before slo":  func(j *Journey) { j.SLO.StuckAfter = Duration(time.Second) },
	} {
		j := orderJourney()
		mut(&j)
		if err := j.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	d := Journey{Name: "x", Start: Step{EventType: "a"}, Success: []Step{{EventType: "b"}}}.WithDefaults()
	if d.SLO != (SLO{Target: DefaultTarget, Within: Duration(DefaultWithin), StuckAfter: Duration(DefaultStuckAfter)}) {
		t.Fatalf("defaults %+v", d.SLO)
	}
}

// TestClassify: an outcome beats the start and steps; start and outcomes
// without an op match publishes (their other ops are the step); events
// without a correlation id or of no step make no update; per correlation
// a batch yields one update: the top one, folding in the earliest time
// and whether a start was seen.
func TestClassify(t *testing.T) {
	saga := Journey{Name: "refund", Start: Step{EventType: "refund.requested"},
		Compensation: []Step{{EventType: "refund.reversed"}},
		Success:      []Step{{EventType: "refund.paid"}}, Failure: []Step{{EventType: "refund.failed"}},
		Compensated: []Step{{Name: "undone", EventType: "refund.reversed", Op: event.OpProcess}}}
	set := NewSet([]Journey{orderJourney(), saga})
	s := &shop{t0: time.Unix(1_700_000_000, 0)}
	s.ev("r1", "refund.requested", "shop", "refunds", event.OpPublish, event.OutcomeOK, 0, ms)
	s.ev("r1", "refund.failed", "payments", "refunds", event.OpPublish, event.OutcomeOK, 5*ms, ms)
	s.ev("r1", "refund.reversed", "payments", "reversals", event.OpPublish, event.OutcomeOK, 6*ms, ms)
	s.ev("r1", "refund.reversed", "ledger", "reversals", event.OpProcess, event.OutcomeOK, 9*ms, ms)
	s.ev("r1", "refund.requested", "payments", "refunds", event.OpProcess, event.OutcomeOK, 1*ms, ms)
	s.ev("", "order.placed", "shop", "orders", event.OpPublish, event.OutcomeOK, 0, ms)
	s.ev("o1", "order.noted", "shop", "orders", event.OpPublish, event.OutcomeOK, 0, ms)
	s.ev("o1", "order.placed", "payments", "orders", event.OpProcess, event.OutcomeError, 3*ms, ms)
	got := set.Updates(s.evts)
	t0 := uint64(time.Unix(1_700_000_000, 0).UnixNano())
	want := []string{
		"refund r1 undone compensated start=true at=9ms first=0s",      // the later terminal, folding in the start
		"order o1 order.placed in_flight start=false at=3ms first=3ms", // a process of the start type is its step
	}
	if len(got) != len(want) {
		t.Fatalf("%d updates: %+v", len(got), got)
	}
	for i, u := range got {
		if s := fmt.Sprintf("%s %s %s %s start=%v at=%v first=%v", u.Journey, u.CorrelationID, u.Step, u.State, u.Start,
			time.Duration(u.AtNS-t0), time.Duration(u.First()-t0)); s != want[i] {
			t.Errorf("update %d: %s, want %s", i, s, want[i])
		}
	}
	if got[1].Reason != "" || got[1].Service != "payments" {
		t.Errorf("o1: %+v", got[1])
	}
}

// TestRegistry: journeys defined through the API persist and come back
// in a new registry; config journeys cannot be changed or deleted.
func TestRegistry(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := NewRegistry([]Journey{orderJourney()}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRegistry([]Journey{orderJourney(), orderJourney()}, st, log); !errors.Is(err, ErrInvalid) {
		t.Fatalf("two journeys of one name: %v", err)
	}
	refund := Journey{Name: "refund", Start: Step{EventType: "refund.requested"}, Success: []Step{{EventType: "refund.paid"}}}
	if err := reg.Put(ctx, refund); err != nil {
		t.Fatal(err)
	}
	if err := reg.Put(ctx, orderJourney()); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("changing a config journey: %v", err)
	}
	if ok, err := reg.Delete(ctx, "order"); !ok || !errors.Is(err, ErrReadOnly) {
		t.Fatalf("deleting a config journey: %v %v", ok, err)
	}
	again, err := NewRegistry([]Journey{orderJourney()}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if n := again.Set().Len(); n != 2 {
		t.Fatalf("%d journeys after a reload", n)
	}
	if src, _ := again.Source("refund"); src != SourceAPI {
		t.Fatalf("refund from %q", src)
	}
	if ok, err := again.Delete(ctx, "refund"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _ := again.Delete(ctx, "refund"); ok {
		t.Fatal("deleted twice")
	}
	if err := reg.Load(ctx); err != nil || reg.Set().Len() != 1 {
		t.Fatalf("the first registry reloads: %v, %d journeys", err, reg.Set().Len())
	}
}

// TestSuggest: the most common first → last published pair comes first,
// with its middle step and observed quantiles; an adopted suggestion is
// marked defined.
func TestSuggest(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &shop{t0: time.Now().Add(-5 * time.Minute)}
	for i := range 10 {
		c, at := fmt.Sprintf("o%d", i), time.Duration(i)*time.Second
		s.placed(c, at)
		s.paid(c, at)
		s.shipped(c, at)
	}
	for i := range 3 {
		c := fmt.Sprintf("r%d", i)
		s.ev(c, "refund.requested", "shop", "refunds", event.OpPublish, event.OutcomeOK, 0, ms)
		s.ev(c, "refund.paid", "payments", "refunds", event.OpPublish, event.OutcomeOK, 100*ms, ms)
	}
	if err := st.Write(ctx, &store.Batch{Events: s.evts}); err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(nil, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := NewService(reg, st, st)
	win := Window{Since: time.Now().Add(-time.Hour), Until: time.Now()}
	sug, err := svc.Suggest(ctx, win)
	if err != nil {
		t.Fatal(err)
	}
	if len(sug) != 2 {
		t.Fatalf("%d suggestions: %+v", len(sug), sug)
	}
	o := sug[0]
	if o.Journey.Name != "order" || o.Correlations != 10 || o.P50NS != uint64(22*ms) || o.Journey.Start.EventType != "order.placed" ||
		len(o.Journey.Steps) != 1 || o.Journey.Steps[0].EventType != "payment.authorized" || o.Journey.Success[0].EventType != "order.shipped" ||
		o.Journey.SLO.Within != Duration(time.Second) || o.Defined != "" {
		t.Fatalf("order suggestion %+v", o)
	}
	if sug[1].Journey.Name != "refund" || sug[1].Correlations != 3 {
		t.Fatalf("refund suggestion %+v", sug[1])
	}
	if err := reg.Put(ctx, o.Journey); err != nil {
		t.Fatalf("adopting the suggestion: %v", err)
	}
	sug, err = svc.Suggest(ctx, win)
	if err != nil {
		t.Fatal(err)
	}
	if sug[0].Defined != "order" || sug[0].Journey.Name != "order-2" {
		t.Fatalf("after adopting: %+v", sug[0])
	}
}
