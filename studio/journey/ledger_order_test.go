package journey

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// agentDeadLetter is what the agent records when payments gives up on
// order.placed: the process event fails with the error, then the publish
// to the DLQ (same event, op dead_letter) succeeds and carries no error.
func (s *shop) agentDeadLetter(corr string, at time.Duration, reason string) {
	s.ev(corr, "order.placed", "payments", "orders", event.OpProcess, event.OutcomeDeadLettered, at+10*ms, 5*ms)
	s.evts[len(s.evts)-1].Error = reason
	s.ev(corr, "order.placed", "payments", "orders.dlq", event.OpDeadLetter, event.OutcomeOK, at+12*ms, ms)
}

// analytics: the slow analytics consumer processes order.placed at `at`
// (its group's lag: seconds after everything else happened).
func (s *shop) analytics(corr string, at time.Duration) {
	s.ev(corr, "order.placed", "analytics", "orders", event.OpProcess, event.OutcomeOK, at, ms)
}

// TestLedgerOrdering: on both stores, with the events as the agent
// records them, written one event per batch in the order they happened
// and all in one batch in reverse: a dead-lettered order stays
// dead-lettered, with the failing handler's error as its reason, when the
// slow analytics consumer processes its order.placed later; replayed and
// dead-lettered again it shows the second reason; replayed and paid it
// moves on to the payment step and the replay's own late analytics event
// does not move it back; and the stuck list gives the reasons.
func TestLedgerOrdering(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w, reg, err := Open(ctx, st, []Journey{orderJourney()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		svc := NewService(reg, w.Ledger(), st)
		for _, mode := range []string{"one", "all"} {
			// 90 s ago: only the dead-lettered orders are stuck (stuck_after 2 m).
			s := &shop{t0: time.Now().Add(-90 * time.Second).Truncate(time.Second)}
			c := func(id string) string { return mode + "-" + id }
			// dlq: dead-lettered; analytics processes it 20 s later.
			s.placed(c("dlq"), 0)
			s.agentDeadLetter(c("dlq"), 0, "cannot parse order")
			s.analytics(c("dlq"), 20*time.Second)
			// again: dead-lettered, replayed at 1 m, dead-lettered again.
			s.placed(c("again"), time.Second)
			s.agentDeadLetter(c("again"), time.Second, "fraud-check unavailable")
			s.analytics(c("again"), 21*time.Second)
			s.ev(c("again"), "order.placed", "causeway-replay", "orders", event.OpReplay, event.OutcomeOK, time.Minute, ms)
			s.agentDeadLetter(c("again"), time.Minute, "fraud-check still unavailable")
			s.analytics(c("again"), time.Minute+20*time.Second)
			// paid: dead-lettered, replayed at 1 m and paid; the replay's
			// order.placed reaches analytics 20 s later.
			s.placed(c("paid"), 2*time.Second)
			s.agentDeadLetter(c("paid"), 2*time.Second, "fraud-check unavailable")
			s.ev(c("paid"), "order.placed", "causeway-replay", "orders", event.OpReplay, event.OutcomeOK, time.Minute, ms)
			s.paid(c("paid"), time.Minute)
			s.analytics(c("paid"), time.Minute+20*time.Second)
			// shipped: the same, and shipped.
			s.placed(c("shipped"), 3*time.Second)
			s.agentDeadLetter(c("shipped"), 3*time.Second, "fraud-check unavailable")
			s.ev(c("shipped"), "order.placed", "causeway-replay", "orders", event.OpReplay, event.OutcomeOK, time.Minute, ms)
			s.paid(c("shipped"), time.Minute)
			s.shipped(c("shipped"), time.Minute)
			s.analytics(c("shipped"), time.Minute+20*time.Second)
			if mode == "one" {
				for i := range s.evts {
					if err := w.Write(ctx, &store.Batch{Events: s.evts[i : i+1]}); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				all := slices.Clone(s.evts)
				slices.Reverse(all)
				if err := w.Write(ctx, &store.Batch{Events: all}); err != nil {
					t.Fatal(err)
				}
			}
			at := func(d time.Duration) uint64 { return uint64(s.t0.Add(d).UnixNano()) }
			want := map[string]string{
				c("dlq"):     fmt.Sprintf("dead_lettered order.placed(0) payments process %q %d", "cannot parse order", at(10*ms)),
				c("again"):   fmt.Sprintf("dead_lettered order.placed(0) payments process %q %d", "fraud-check still unavailable", at(time.Minute+10*ms)),
				c("paid"):    fmt.Sprintf("in_flight payment(1) payments publish %q %d", "", at(time.Minute+12*ms)),
				c("shipped"): fmt.Sprintf("completed order.shipped(2) shipping publish %q %d", "", at(time.Minute+22*ms)),
			}
			es, err := svc.Entities(ctx, "order", EntityQuery{Window: Window{Since: s.t0.Add(-time.Minute), Until: time.Now()}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range es {
				got[e.CorrelationID] = fmt.Sprintf("%s %s(%d) %s %s %q %d", e.State, e.Step, e.StepIndex, e.Service, e.Op, e.Reason, e.LastNS)
			}
			for id, wa := range want {
				if got[id] != wa {
					t.Errorf("%s: %s\n got %s\nwant %s", mode, id, got[id], wa)
				}
			}
		}
		stuck, err := svc.Stuck(ctx, "order", "")
		if err != nil {
			t.Fatal(err)
		}
		if stuck.Total != 4 || len(stuck.Steps) != 1 || stuck.Steps[0].Step != "order.placed" || stuck.Steps[0].DeadLettered != 4 ||
			!slices.Equal(stuck.Steps[0].Reasons, []ReasonCount{{"cannot parse order", 2}, {"fraud-check still unavailable", 2}}) {
			t.Fatalf("stuck: %+v", stuck)
		}
	})
}
