package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// The journey ledger's contract (store.Ledger), on a workload whose every
// entity's fate is known: completed in and out of the SLO, failed,
// compensated after a failure, dead-lettered at the payment step, never
// consumed (published, no consumer), stopped behind a handler that is
// down (its input published, nothing after), in flight but young, seen
// without its start, and completed with a late straggler after it.

// ledgerNow is the time the ledger tests measure ages at: ten minutes after base.
func ledgerNow() time.Time { return time.Unix(0, int64(base)).Add(10 * time.Minute) }

const (
	ledgerJourney = "order"
	ledgerWithin  = 30 * time.Second
	ledgerStuck   = 2 * time.Minute
)

// at is base plus d.
func at(d time.Duration) uint64 { return base + uint64(d) }

// ledgerUpd is one update of entity id of the test journey.
func ledgerUpd(id string, d time.Duration, start bool, step, service, dest string, op event.Op, st store.JourneyState, reason string) store.LedgerUpdate {
	return store.LedgerUpdate{Journey: ledgerJourney, CorrelationID: id, AtNS: at(d), Start: start, Step: step,
		Service: service, Destination: dest, Op: op, State: st, EventID: fmt.Sprintf("%s@%v", id, d), Reason: reason}
}

// ledgerWorkload returns the updates of the known workload (in the order
// the events happened) and of one entity of another journey.
func ledgerWorkload() []store.LedgerUpdate {
	const (
		inflight = store.JourneyInFlight
		placed   = "placed"
		payment  = "payment"
		shipped  = "shipped"
	)
	pub, proc := event.OpPublish, event.OpProcess
	start := func(id string, d time.Duration) store.LedgerUpdate {
		return ledgerUpd(id, d, true, placed, "shop", "orders", pub, inflight, "")
	}
	now := ledgerNow().Sub(time.Unix(0, int64(base)))
	return []store.LedgerUpdate{
		// ok-fast: 3 s end to end.
		start("ok-fast", 0),
		ledgerUpd("ok-fast", 1*time.Second, false, placed, "payment", "orders", proc, inflight, ""),
		ledgerUpd("ok-fast", 2*time.Second, false, payment, "payment", "payments", pub, inflight, ""),
		ledgerUpd("ok-fast", 3*time.Second, false, shipped, "shipping", "shipments", pub, store.JourneyCompleted, ""),
		// ok-slow: 40 s, outside the 30 s SLO.
		start("ok-slow", 1*time.Second),
		ledgerUpd("ok-slow", 41*time.Second, false, shipped, "shipping", "shipments", pub, store.JourneyCompleted, ""),
		// dlq: dead-lettered by the payment service, 3 s after it started.
		start("dlq-1", 2*time.Second),
		ledgerUpd("dlq-1", 3*time.Second, false, placed, "payment", "orders", event.OpDeadLetter, store.JourneyDeadLettered, "card declined"),
		start("dlq-2", 4*time.Second),
		ledgerUpd("dlq-2", 5*time.Second, false, placed, "payment", "orders", event.OpDeadLetter, store.JourneyDeadLettered, "card declined"),
		// never consumed: published, no consumer ever processed it.
		start("lost-1", 6*time.Second),
		start("lost-2", 7*time.Second),
		start("lost-3", 8*time.Second),
		// handler down: the payment went out, shipping never processed it.
		start("down-1", 9*time.Second),
		ledgerUpd("down-1", 10*time.Second, false, payment, "payment", "payments", pub, inflight, ""),
		// failed, 5 s.
		start("failed", 11*time.Second),
		ledgerUpd("failed", 16*time.Second, false, "declined", "payment", "payments.declined", pub, store.JourneyFailed, "insufficient funds"),
		// compensated after a failure: the later terminal wins, 20 s.
		start("saga", 12*time.Second),
		ledgerUpd("saga", 22*time.Second, false, "declined", "payment", "payments.declined", pub, store.JourneyFailed, "insufficient funds"),
		ledgerUpd("saga", 32*time.Second, false, "refunded", "payment", "refunds", pub, store.JourneyCompensated, ""),
		// completed then a straggler: stays completed, 4 s.
		start("straggler", 13*time.Second),
		ledgerUpd("straggler", 17*time.Second, false, shipped, "shipping", "shipments", pub, store.JourneyCompleted, ""),
		ledgerUpd("straggler", 60*time.Second, false, shipped, "audit", "shipments", proc, inflight, ""),
		// young: started 10 s before now, in flight, not stuck.
		start("young", now-10*time.Second),
		// no start seen: a step event only; never counted.
		ledgerUpd("headless", 14*time.Second, false, payment, "payment", "payments", pub, inflight, ""),
		// another journey's entity.
		{Journey: "refund", CorrelationID: "r-1", AtNS: at(15 * time.Second), Start: true, Step: "requested",
			Service: "shop", Destination: "refunds", Op: pub, State: inflight, EventID: "r-1@15"},
	}
}

// ledgerOf returns s as a store.Ledger, failing when it is not one.
func ledgerOf(t *testing.T, s store.Store) store.Ledger {
	t.Helper()
	l, ok := s.(store.Ledger)
	if !ok {
		t.Fatalf("%T does not implement store.Ledger", s)
	}
	return l
}

// wantLedgerStats are the workload's figures over a window holding every start.
func wantLedgerStats() store.JourneyStats {
	// Terminal durations, sorted: 3, 4, 5, 20, 40 s (ok-fast, straggler,
	// failed, saga, ok-slow); floor(0.5×5) = 2 → 5 s, floor(0.99×5) = 4 → 40 s.
	return store.JourneyStats{Started: 12, InFlight: 5, Completed: 3, Failed: 1, Compensated: 1, DeadLettered: 2,
		// Eligible: the 5 terminal + 6 open older than 30 s (young is not);
		// good: terminal within 30 s (all but ok-slow).
		Eligible: 11, Good: 4, P50NS: uint64(5 * time.Second), P99NS: uint64(40 * time.Second), Slowest: "ok-slow",
		// Stuck: 2 dead-lettered, 3 never consumed, 1 behind a handler down.
		Stuck: 6}
}

func statsQuery() store.JourneyStatsQuery {
	return store.JourneyStatsQuery{Journey: ledgerJourney, Since: time.Unix(0, int64(base)).Add(-time.Minute),
		Until: ledgerNow(), Now: ledgerNow(), Within: ledgerWithin, StuckAfter: ledgerStuck}
}

func stuckQuery() store.StuckQuery {
	return store.StuckQuery{Journey: ledgerJourney, Now: ledgerNow(), StuckAfter: ledgerStuck}
}

// wantStuck are the workload's stuck groups, largest first.
func wantStuck() []store.StuckGroup {
	return []store.StuckGroup{
		{Step: "placed", Service: "shop", Destination: "orders", Op: event.OpPublish, State: store.JourneyInFlight,
			Count: 3, OldestNS: at(6 * time.Second), Samples: []string{"lost-1", "lost-2", "lost-3"}},
		{Step: "placed", Service: "payment", Destination: "orders", Op: event.OpDeadLetter, State: store.JourneyDeadLettered,
			Reason: "card declined", Count: 2, OldestNS: at(2 * time.Second), Samples: []string{"dlq-1", "dlq-2"}},
		{Step: "payment", Service: "payment", Destination: "payments", Op: event.OpPublish, State: store.JourneyInFlight,
			Count: 1, OldestNS: at(9 * time.Second), Samples: []string{"down-1"}},
	}
}

func checkLedger(t *testing.T, l store.Ledger, what string) {
	t.Helper()
	ctx := context.Background()
	st, err := l.JourneyStats(ctx, statsQuery())
	must(t, err)
	if want := wantLedgerStats(); !reflect.DeepEqual(st, want) {
		t.Fatalf("%s: stats\n got %+v\nwant %+v", what, st, want)
	}
	groups, err := l.StuckGroups(ctx, stuckQuery())
	must(t, err)
	if want := wantStuck(); !reflect.DeepEqual(groups, want) {
		t.Fatalf("%s: stuck groups\n got %+v\nwant %+v", what, groups, want)
	}
}

// testLedger: exact figures and stuck groups per step from the known
// workload, written in order, then again shuffled in small calls (the
// merge is idempotent and order-free); a replay that completes the
// dead-lettered entities moves them to completed.
func testLedger(t *testing.T, h Harness) {
	s, ctx := h.New(t), context.Background()
	l := ledgerOf(t, s)
	w := ledgerWorkload()
	must(t, l.UpdateLedger(ctx, w))
	checkLedger(t, l, "written once")
	shuffled := append([]store.LedgerUpdate(nil), w...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for i := 0; i < len(shuffled); i += 4 {
		must(t, l.UpdateLedger(ctx, shuffled[i:min(i+4, len(shuffled))]))
	}
	checkLedger(t, l, "written again, shuffled")

	// The other journey is apart; an empty window counts nothing.
	refund, err := l.JourneyStats(ctx, store.JourneyStatsQuery{Journey: "refund", Now: ledgerNow(), Within: time.Minute, StuckAfter: time.Hour})
	must(t, err)
	if !reflect.DeepEqual(refund, store.JourneyStats{Started: 1, InFlight: 1, Eligible: 1}) {
		t.Fatalf("refund stats %+v", refund)
	}
	q := statsQuery()
	q.Until = q.Since
	if st, err := l.JourneyStats(ctx, q); err != nil || !reflect.DeepEqual(st, store.JourneyStats{Stuck: 6}) {
		t.Fatalf("empty window: %+v, %v", st, err)
	}
	// Two slices of [base, base+20s): what started in each.
	q = statsQuery()
	q.Since, q.Until, q.Buckets = time.Unix(0, int64(base)), time.Unix(0, int64(base)).Add(20*time.Second), 2
	st, err := l.JourneyStats(ctx, q)
	must(t, err)
	want := []store.JourneyStats{
		// ok-fast 3 s, ok-slow 40 s, dlq-1, dlq-2, lost-1..3, down-1
		{Started: 8, InFlight: 4, Completed: 2, DeadLettered: 2, Eligible: 8, Good: 1, P50NS: uint64(40 * time.Second), P99NS: uint64(40 * time.Second)},
		// failed 5 s, saga 20 s, straggler 4 s
		{Started: 3, Completed: 1, Failed: 1, Compensated: 1, Eligible: 3, Good: 3, P50NS: uint64(5 * time.Second), P99NS: uint64(20 * time.Second)},
	}
	if st.Started != 11 || st.Stuck != 6 || !reflect.DeepEqual(st.Series, want) {
		t.Fatalf("buckets: %+v\nseries %+v\nwant   %+v", st, st.Series, want)
	}
	q.Buckets = store.MaxJourneyBuckets + 1
	if _, err := l.JourneyStats(ctx, q); !errors.Is(err, store.ErrInvalidQuery) {
		t.Fatalf("too many buckets: %v", err)
	}

	// One step only, and the entries behind a group.
	sq := stuckQuery()
	sq.Step, sq.Samples = "placed", 1
	groups, err := l.StuckGroups(ctx, sq)
	must(t, err)
	if len(groups) != 2 || groups[0].Count != 3 || fmt.Sprint(groups[0].Samples) != "[lost-1]" || groups[1].Reason != "card declined" {
		t.Fatalf("stuck at placed: %+v", groups)
	}
	entries, err := l.LedgerEntries(ctx, store.LedgerQuery{Journey: ledgerJourney, StuckAt: ledgerNow(), StuckAfter: ledgerStuck, Step: "placed"})
	must(t, err)
	if ids := correlationIDs(entries); ids != "[dlq-1 dlq-2 lost-1 lost-2 lost-3]" {
		t.Fatalf("stuck entries at placed, oldest first: %s", ids)
	}
	if e := entries[0]; e.StartedNS != at(2*time.Second) || e.LastNS != at(3*time.Second) || e.Service != "payment" ||
		e.Op != event.OpDeadLetter || e.State != store.JourneyDeadLettered || e.Reason != "card declined" || e.EventID != "dlq-1@3s" {
		t.Fatalf("entry %+v", e)
	}
	entries, err = l.LedgerEntries(ctx, store.LedgerQuery{Journey: ledgerJourney, States: []store.JourneyState{store.JourneyCompleted}, Limit: 2})
	must(t, err)
	if ids := correlationIDs(entries); ids != "[straggler ok-slow]" {
		t.Fatalf("completed entries, newest first, 2 of them: %s", ids)
	}
	if entries[0].Step != "shipped" || entries[0].Service != "shipping" || entries[0].LastNS != at(17*time.Second) {
		t.Fatalf("a completed entry keeps its terminal event: %+v", entries[0])
	}
	if _, err := l.LedgerEntries(ctx, store.LedgerQuery{Journey: ledgerJourney, Limit: store.MaxLimit + 1}); err == nil {
		t.Fatal("a limit over MaxLimit must be an error")
	}

	// The dead-lettered entities are replayed and complete.
	for _, id := range []string{"dlq-1", "dlq-2"} {
		must(t, l.UpdateLedger(ctx, []store.LedgerUpdate{
			ledgerUpd(id, 5*time.Minute, false, "placed", "causeway-replay", "orders", event.OpReplay, store.JourneyInFlight, ""),
			ledgerUpd(id, 5*time.Minute+time.Second, false, "shipped", "shipping", "shipments", event.OpPublish, store.JourneyCompleted, ""),
		}))
	}
	st, err = l.JourneyStats(ctx, statsQuery())
	must(t, err)
	if st.Stuck != 4 || st.DeadLettered != 0 || st.Completed != 5 {
		t.Fatalf("after the replay: %+v", st)
	}
	groups, err = l.StuckGroups(ctx, stuckQuery())
	must(t, err)
	if len(groups) != 2 || groups[0].Count != 3 || groups[1].Count != 1 {
		t.Fatalf("stuck after the replay: %+v", groups)
	}
}

func correlationIDs(es []store.LedgerEntry) string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.CorrelationID
	}
	return fmt.Sprint(ids)
}

// testLedgerRestart: the ledger and the journeys defined through the API
// survive a restart; journey definitions keep their latest write.
func testLedgerRestart(t *testing.T, h Harness) {
	s, ctx := h.New(t), context.Background()
	l := ledgerOf(t, s)
	must(t, l.UpdateLedger(ctx, ledgerWorkload()))
	for _, r := range []store.JourneyRecord{
		{Name: "order", Spec: "v2", UpdatedNS: base + 2}, {Name: "order", Spec: "v1", UpdatedNS: base + 1},
		{Name: "gone", Spec: "x", UpdatedNS: base + 1}, {Name: "gone", Deleted: true, UpdatedNS: base + 2},
		{Name: "a", Spec: "first", UpdatedNS: base},
	} {
		must(t, l.PutJourney(ctx, r))
	}
	check := func(l store.Ledger, what string) {
		defs, err := l.Journeys(ctx)
		must(t, err)
		if fmt.Sprint(defs) != fmt.Sprint([]store.JourneyRecord{{Name: "a", Spec: "first", UpdatedNS: base}, {Name: "order", Spec: "v2", UpdatedNS: base + 2}}) {
			t.Fatalf("%s: journeys %+v", what, defs)
		}
		checkLedger(t, l, what)
	}
	check(l, "before the restart")
	if h.Reopen == nil {
		t.Skip("the backend cannot reopen")
	}
	check(ledgerOf(t, h.Reopen(t, s)), "after the restart")
}
