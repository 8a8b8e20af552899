package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// The order in which a ledger entry takes its updates (store.LedgerRank):
// an entity moves only forward through its journey's steps; a later event
// of an earlier step (a replay published again, a slow side consumer of
// the start event) never moves it back; at one step a dead-lettering
// stays until a later step or a terminal update arrives, and one that says
// why ranks above one that does not; then the later event wins.

// orderUpd is an update of entity id of journey j at step index i.
func orderUpd(j, id string, d time.Duration, i int, step, service string, op event.Op, st store.JourneyState, reason string) store.LedgerUpdate {
	u := ledgerUpd(id, d, i == 0 && op == event.OpPublish, step, service, "orders", op, st, reason)
	u.Journey, u.StepIndex = j, i
	return u
}

// orderWorkload returns the updates of journey j, as the ledger writer
// derives them from the events (the agent's: the failed process event
// carries the error, its publish to the DLQ does not), and each entity's
// entry as it must end: state, step, service, op, reason and last time.
func orderWorkload(j string) ([]store.LedgerUpdate, map[string]string) {
	const (
		placed, paid, shipped = "placed", "paid", "shipped"
		inflight, dlq         = store.JourneyInFlight, store.JourneyDeadLettered
	)
	pub, proc, dl, rep := event.OpPublish, event.OpProcess, event.OpDeadLetter, event.OpReplay
	// deadLettered: placed at d, payment fails it for good (10 ms), moves it
	// to the DLQ (16 ms); the slow analytics consumer processes it at 20 s.
	deadLettered := func(id string, d time.Duration, reason string, replay bool) []store.LedgerUpdate {
		first := orderUpd(j, id, d, 0, placed, "shop", pub, inflight, "")
		if replay {
			first = orderUpd(j, id, d, 0, placed, "causeway-replay", rep, inflight, "")
		}
		return []store.LedgerUpdate{first,
			orderUpd(j, id, d+10*time.Millisecond, 0, placed, "payment", proc, dlq, reason),
			orderUpd(j, id, d+16*time.Millisecond, 0, placed, "payment", dl, dlq, ""),
			orderUpd(j, id, d+20*time.Second, 0, placed, "analytics", proc, inflight, "")}
	}
	// paidAt: a replay at d goes through payment (step 1); analytics
	// processes the replayed order.placed at 20 s.
	paidAt := func(id string, d time.Duration) []store.LedgerUpdate {
		return []store.LedgerUpdate{orderUpd(j, id, d, 0, placed, "causeway-replay", rep, inflight, ""),
			orderUpd(j, id, d+10*time.Millisecond, 0, placed, "payment", proc, inflight, ""),
			orderUpd(j, id, d+12*time.Millisecond, 1, paid, "payment", pub, inflight, ""),
			orderUpd(j, id, d+20*time.Second, 0, placed, "analytics", proc, inflight, "")}
	}
	var w []store.LedgerUpdate
	// dlq: dead-lettered once; the side consumer's later event keeps it so.
	w = append(w, deadLettered("dlq", 0, "cannot parse order", false)...)
	// again: replayed a minute later and dead-lettered again: the second reason.
	w = append(w, deadLettered("again", time.Second, "fraud-check down", false)...)
	w = append(w, deadLettered("again", time.Minute, "fraud-check still down", true)...)
	// moved: the replay goes through payment; it is at step 1 from then on.
	w = append(w, deadLettered("moved", 2*time.Second, "fraud-check down", false)...)
	w = append(w, paidAt("moved", time.Minute)...)
	// done: the replay goes through and ships.
	w = append(w, deadLettered("done", 3*time.Second, "fraud-check down", false)...)
	w = append(w, paidAt("done", time.Minute)...)
	w = append(w, orderUpd(j, "done", time.Minute+30*time.Millisecond, 3, shipped, "shipping", pub, store.JourneyCompleted, ""))
	// ahead: events of steps 1 and 2, then a late one of step 1 (an audit
	// consumer of the payment): it stays at step 2.
	w = append(w, orderUpd(j, "ahead", 4*time.Second, 0, placed, "shop", pub, inflight, ""),
		orderUpd(j, "ahead", 5*time.Second, 1, paid, "payment", pub, inflight, ""),
		orderUpd(j, "ahead", 6*time.Second, 2, "reserved", "inventory", pub, inflight, ""),
		orderUpd(j, "ahead", 7*time.Second, 1, paid, "audit", proc, inflight, ""))
	want := map[string]string{
		"dlq":   fmt.Sprintf("dead_lettered placed payment process %q %v", "cannot parse order", at(10*time.Millisecond)),
		"again": fmt.Sprintf("dead_lettered placed payment process %q %v", "fraud-check still down", at(time.Minute+10*time.Millisecond)),
		"moved": fmt.Sprintf("in_flight paid payment publish %q %v", "", at(time.Minute+12*time.Millisecond)),
		"done":  fmt.Sprintf("completed shipped shipping publish %q %v", "", at(time.Minute+30*time.Millisecond)),
		"ahead": fmt.Sprintf("in_flight reserved inventory publish %q %v", "", at(6*time.Second)),
	}
	return w, want
}

// testLedgerOrder: the entries of orderWorkload, written in the order the
// events happened, in reverse, shuffled one update per call, and all of
// them again (idempotent, order-free); the dead-lettered entities stuck at
// the start step say why.
func testLedgerOrder(t *testing.T, h Harness) {
	s, ctx := h.New(t), context.Background()
	l := ledgerOf(t, s)
	for i, order := range []string{"in order", "reversed", "shuffled, one per call"} {
		j := fmt.Sprintf("order-%d", i)
		w, want := orderWorkload(j)
		switch i {
		case 0:
			must(t, l.UpdateLedger(ctx, w))
		case 1:
			rev := make([]store.LedgerUpdate, len(w))
			for k, u := range w {
				rev[len(w)-1-k] = u
			}
			must(t, l.UpdateLedger(ctx, rev))
		case 2:
			rand.New(rand.NewPCG(3, 4)).Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
			for _, u := range w {
				must(t, l.UpdateLedger(ctx, []store.LedgerUpdate{u}))
			}
		}
		w, _ = orderWorkload(j)
		must(t, l.UpdateLedger(ctx, w)) // again: nothing changes
		entries, err := l.LedgerEntries(ctx, store.LedgerQuery{Journey: j})
		must(t, err)
		got := map[string]string{}
		for _, e := range entries {
			got[e.CorrelationID] = fmt.Sprintf("%s %s %s %s %q %v", e.State, e.Step, e.Service, e.Op, e.Reason, e.LastNS)
		}
		for id, wa := range want {
			if got[id] != wa {
				t.Errorf("%s: %s is %q, want %q", order, id, got[id], wa)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d entries, want %d", order, len(got), len(want))
		}
		groups, err := l.StuckGroups(ctx, store.StuckQuery{Journey: j, Now: ledgerNow(), StuckAfter: time.Hour, Step: "placed"})
		must(t, err)
		reasons := map[string]uint64{}
		for _, g := range groups {
			if g.State == store.JourneyDeadLettered {
				reasons[g.Reason] += g.Count
			}
		}
		if len(groups) != 2 || reasons["cannot parse order"] != 1 || reasons["fraud-check still down"] != 1 {
			t.Errorf("%s: stuck at placed %+v", order, groups)
		}
	}
}
