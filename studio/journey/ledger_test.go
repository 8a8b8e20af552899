package journey

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/embedded"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chtest.StopShared()
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
			println("goroutine leak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// stores runs fn on a fresh embedded store and, when a ClickHouse server
// is available, on a fresh ClickHouse database.
func stores(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("embedded", func(t *testing.T) {
		st, err := embedded.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("clickhouse", func(t *testing.T) {
		srv := chtest.Shared(t)
		st, err := clickhouse.Open(context.Background(), srv.DSN(chtest.UniqueDB(t.Name())))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// orderJourney is the test's journey: an order is placed (orders), paid
// (payments) and shipped (shipments), or declined.
func orderJourney() Journey {
	return Journey{Name: "order", Start: Step{EventType: "order.placed"},
		Steps:   []Step{{Name: "payment", EventType: "payment.authorized"}},
		Success: []Step{{EventType: "order.shipped"}}, Failure: []Step{{EventType: "payment.declined"}},
		SLO: SLO{Target: 0.9, Within: Duration(30 * time.Second), StuckAfter: Duration(2 * time.Minute)}}
}

// shop generates the events of orders: ids are span ids, times are t0 plus
// offsets in ms.
type shop struct {
	t0   time.Time
	n    int
	evts []event.Event
}

func (s *shop) ev(corr, typ, service, dest string, op event.Op, outcome event.Outcome, at, dur time.Duration) event.Event {
	s.n++
	e := event.Event{EventID: corr + "/" + typ, EventType: typ, SchemaVersion: "1", CorrelationID: corr,
		TraceID: fmt.Sprintf("%032x", s.n), SpanID: fmt.Sprintf("%016x", s.n), Service: service, System: event.SystemKafka,
		Destination: dest, Partition: 0, Offset: int64(s.n), Op: op, Outcome: outcome, StartNS: uint64(s.t0.Add(at).UnixNano()),
		DurationNS: uint64(dur), PayloadSize: -1}
	if outcome == event.OutcomeDeadLettered {
		e.Error = "card expired"
	}
	s.evts = append(s.evts, e)
	return e
}

const ms = time.Millisecond

// placed: the shop publishes order.placed (1 ms).
func (s *shop) placed(corr string, at time.Duration) {
	s.ev(corr, "order.placed", "shop", "orders", event.OpPublish, event.OutcomeOK, at, ms)
}

// paid: payments processes order.placed 10 ms after it was published (a
// 9 ms queue wait, a 5 ms handler) and publishes payment.authorized.
func (s *shop) paid(corr string, at time.Duration) {
	s.ev(corr, "order.placed", "payments", "orders", event.OpProcess, event.OutcomeOK, at+10*ms, 5*ms)
	s.ev(corr, "payment.authorized", "payments", "payments", event.OpPublish, event.OutcomeOK, at+12*ms, ms)
}

// shipped: shipping processes the payment and publishes order.shipped.
func (s *shop) shipped(corr string, at time.Duration) {
	s.ev(corr, "payment.authorized", "shipping", "payments", event.OpProcess, event.OutcomeOK, at+20*ms, 3*ms)
	s.ev(corr, "order.shipped", "shipping", "shipments", event.OpPublish, event.OutcomeOK, at+22*ms, ms)
}

// deadLettered: payments fails order.placed for good and moves it to the DLQ.
func (s *shop) deadLettered(corr string, at time.Duration) {
	s.ev(corr, "order.placed", "payments", "orders", event.OpProcess, event.OutcomeDeadLettered, at+10*ms, 5*ms)
	s.ev(corr, "order.placed", "payments", "orders.dlq", event.OpDeadLetter, event.OutcomeDeadLettered, at+16*ms, ms)
}

// workload writes, through a ledger writer over st, orders whose fates
// are known: 20 completed, 3 dead-lettered by payments (the orders topic
// is idle: its consumer group has read everything, lag 0), 4 paid but
// never shipped (shipping's handler is down), 2 placed and never consumed,
// all 10 minutes ago; and 1 placed 5 s ago (in flight, not stuck). Events
// of other correlations and without one are mixed in.
func workload(t *testing.T, st store.Store) (*Writer, *Registry, *shop) {
	t.Helper()
	return workloadOf(t, st, []Journey{orderJourney()})
}

// workloadOf is workload written through a writer keeping journeys (none:
// the events are stored, the ledger stays empty).
func workloadOf(t *testing.T, st store.Store, journeys []Journey) (*Writer, *Registry, *shop) {
	t.Helper()
	ctx := context.Background()
	w, reg, err := Open(ctx, st, journeys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s := &shop{t0: time.Now().Add(-10 * time.Minute).Truncate(time.Second)}
	for i := range 20 {
		c, at := fmt.Sprintf("ok-%02d", i), time.Duration(i)*time.Second
		s.placed(c, at)
		s.paid(c, at)
		s.shipped(c, at)
	}
	for i := range 3 {
		c, at := fmt.Sprintf("dlq-%d", i), time.Duration(30+i)*time.Second
		s.placed(c, at)
		s.deadLettered(c, at)
	}
	for i := range 4 {
		c, at := fmt.Sprintf("down-%d", i), time.Duration(40+i)*time.Second
		s.placed(c, at)
		s.paid(c, at)
	}
	for i := range 2 {
		s.placed(fmt.Sprintf("lost-%d", i), time.Duration(50+i)*time.Second)
	}
	s.ev("young", "order.placed", "shop", "orders", event.OpPublish, event.OutcomeOK, 10*time.Minute-5*time.Second, ms)
	s.ev("", "order.placed", "shop", "orders", event.OpPublish, event.OutcomeOK, time.Second, ms)
	s.ev("other", "invoice.sent", "billing", "invoices", event.OpPublish, event.OutcomeOK, time.Second, ms)
	// Three batches, the second written twice (a retry after a failure).
	third := len(s.evts) / 3
	batches := []*store.Batch{{Events: s.evts[:third]}, {Events: s.evts[third : 2*third]},
		{Events: s.evts[third : 2*third], Retry: true}, {Events: s.evts[2*third:]}}
	batches[3].Lag = []store.LagSample{{TimeNS: uint64(time.Now().UnixNano()), System: event.SystemKafka, Group: "payments",
		Topic: "orders", Partition: 0, Lag: 0, Committed: int64(len(s.evts)), End: int64(len(s.evts)), Status: "OK", GroupStatus: "OK"}}
	for _, b := range batches {
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return w, reg, s
}

// TestLedgerWorkload: exact counts per step for the known stuck entities
// on both stores, then a replay of the dead-lettered orders completes them.
func TestLedgerWorkload(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w, reg, s := workload(t, st)
		svc := NewService(reg, w.Ledger(), st)
		win := Window{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Minute)}
		sum, err := svc.Summary(ctx, "order", win, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := store.JourneyStats{Started: 30, InFlight: 7, Completed: 20, DeadLettered: 3,
			Eligible: 29, Good: 20, P50NS: uint64(22 * ms), P99NS: uint64(22 * ms), Stuck: 9}
		got := sum.Stats
		got.Slowest = ""
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stats\n got %+v\nwant %+v", got, want)
		}
		if sum.Attainment == nil || *sum.Attainment != 20.0/29 || sum.MeetsSLO {
			t.Fatalf("attainment %v, meets %v", sum.Attainment, sum.MeetsSLO)
		}
		stuck, err := svc.Stuck(ctx, "order", "")
		if err != nil {
			t.Fatal(err)
		}
		wantSteps := []StuckStep{
			{Step: "order.placed", Count: 5, DeadLettered: 3, OldestNS: uint64(s.t0.Add(30 * time.Second).UnixNano()),
				Samples: []string{"dlq-0", "dlq-1", "dlq-2", "lost-0", "lost-1"}, Reasons: []ReasonCount{{"card expired", 3}},
				Places: []StuckPlace{
					{Service: "payments", Destination: "orders.dlq", Op: event.OpDeadLetter, State: store.JourneyDeadLettered, Reason: "card expired",
						Count: 3, OldestNS: uint64(s.t0.Add(30 * time.Second).UnixNano()), Samples: []string{"dlq-0", "dlq-1", "dlq-2"}},
					{Service: "shop", Destination: "orders", Op: event.OpPublish, State: store.JourneyInFlight,
						Count: 2, OldestNS: uint64(s.t0.Add(50 * time.Second).UnixNano()), Samples: []string{"lost-0", "lost-1"}},
				}},
			{Step: "payment", Count: 4, OldestNS: uint64(s.t0.Add(40 * time.Second).UnixNano()),
				Samples: []string{"down-0", "down-1", "down-2", "down-3"}, Reasons: []ReasonCount{},
				Places: []StuckPlace{{Service: "payments", Destination: "payments", Op: event.OpPublish, State: store.JourneyInFlight,
					Count: 4, OldestNS: uint64(s.t0.Add(40 * time.Second).UnixNano()), Samples: []string{"down-0", "down-1", "down-2", "down-3"}}}},
		}
		if stuck.Total != 9 || !reflect.DeepEqual(stuck.Steps, wantSteps) {
			t.Fatalf("stuck %d\n got %+v\nwant %+v", stuck.Total, stuck.Steps, wantSteps)
		}

		// Where time goes: payments waits 9 ms for order.placed and runs 5 ms.
		d, err := svc.Detail(ctx, "order", win)
		if err != nil {
			t.Fatal(err)
		}
		if d.Sampled != 20 || len(d.Breakdown) != 4 {
			t.Fatalf("detail: %d sampled, breakdown %+v", d.Sampled, d.Breakdown)
		}
		placed := d.Breakdown[0]
		if placed.Step != "order.placed" || placed.Kind != "start" || placed.Stuck != 5 || placed.DeadLettered != 3 || len(placed.Hops) != 1 ||
			placed.Hops[0] != (Hop{Destination: "orders", Service: "payments", QueueWait: Quantiles{20, uint64(9 * ms), uint64(9 * ms)},
				Handler: Quantiles{20, uint64(5 * ms), uint64(5 * ms)}}) {
			t.Fatalf("order.placed breakdown %+v", placed)
		}
		if pay := d.Breakdown[1]; pay.Step != "payment" || pay.Stuck != 4 || pay.Reached != (Quantiles{20, uint64(12 * ms), uint64(12 * ms)}) {
			t.Fatalf("payment breakdown %+v", pay)
		}

		// The dead-lettered orders are replayed and go through.
		r := &shop{t0: time.Now().Add(-time.Minute), n: len(s.evts) + 100}
		for i := range 3 {
			c := fmt.Sprintf("dlq-%d", i)
			r.ev(c, "order.placed", "causeway-replay", "orders", event.OpReplay, event.OutcomeOK, 0, ms)
			r.paid(c, 0)
			r.shipped(c, 0)
		}
		if err := w.Write(ctx, &store.Batch{Events: r.evts}); err != nil {
			t.Fatal(err)
		}
		sum, err = svc.Summary(ctx, "order", win, 0)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Stats.Completed != 23 || sum.Stats.DeadLettered != 0 || sum.Stats.Stuck != 6 ||
			!reflect.DeepEqual(sum.StuckSteps, []StepCount{{"payment", 4}, {"order.placed", 2}}) {
			t.Fatalf("after the replay: %+v, stuck steps %+v", sum.Stats, sum.StuckSteps)
		}
		es, err := svc.Entities(ctx, "order", EntityQuery{States: []store.JourneyState{store.JourneyCompleted}, Window: win, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if e.CorrelationID == "dlq-1" && e.State == store.JourneyCompleted && e.Step == "order.shipped" && e.Service == "shipping" {
				n++
			}
		}
		if len(es) != 23 || n != 1 {
			t.Fatalf("%d completed entities, dlq-1 among them completed %d times", len(es), n)
		}
	})
}
