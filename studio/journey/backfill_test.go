package journey

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// TestBackfill: a journey defined after its events were stored gets the
// ledger it would have had from ingest (the counts of TestLedgerWorkload),
// on both stores; a bounded backfill stops at its bound and says so; the
// background backfill a definition starts ends with the same counts.
func TestBackfill(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w, reg, s := workloadOf(t, st, nil)
		svc := NewService(reg, w.Ledger(), st)
		defer svc.Close()
		win := Window{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Minute)}
		if _, err := svc.Backfill(ctx, "order", win, BackfillMaxEvents); err == nil {
			t.Fatal("backfill of an undefined journey: no error")
		}
		if err := reg.Put(ctx, orderJourney()); err != nil {
			t.Fatal(err)
		}
		if sum, err := svc.Summary(ctx, "order", win, 0); err != nil || sum.Stats.Started != 0 {
			t.Fatalf("before the backfill: %+v, %v", sum.Stats, err)
		}

		res, err := svc.Backfill(ctx, "order", win, 10)
		if err != nil || res.Events != 10 || !res.Truncated {
			t.Fatalf("bounded backfill: %+v, %v", res, err)
		}
		res, err = svc.Backfill(ctx, "order", win, BackfillMaxEvents)
		if err != nil || res.Events != len(s.evts) || res.Truncated {
			t.Fatalf("backfill: %+v, %v; want %d events read", res, err, len(s.evts))
		}
		want := store.JourneyStats{Started: 30, InFlight: 7, Completed: 20, DeadLettered: 3,
			Eligible: 29, Good: 20, P50NS: uint64(22 * ms), P99NS: uint64(22 * ms), Stuck: 9}
		check := func(when string) bool {
			sum, err := svc.Summary(ctx, "order", win, 0)
			if err != nil {
				t.Fatal(err)
			}
			got := sum.Stats
			got.Slowest = ""
			if !reflect.DeepEqual(got, want) {
				t.Logf("%s:\n got %+v\nwant %+v", when, got, want)
				return false
			}
			return true
		}
		if !check("after the backfill") {
			t.FailNow()
		}
		stuck, err := svc.Stuck(ctx, "order", "")
		if err != nil || stuck.Total != 9 || len(stuck.Steps) != 2 || stuck.Steps[0].DeadLettered != 3 {
			t.Fatalf("stuck after the backfill: %+v, %v", stuck, err)
		}

		// Defining a journey starts its backfill in the background.
		j := orderJourney()
		j.Name = "order-again"
		if err := reg.Put(ctx, j); err != nil {
			t.Fatal(err)
		}
		svc.StartBackfill(j.Name, slog.New(slog.NewTextHandler(io.Discard, nil)))
		deadline := time.Now().Add(30 * time.Second)
		for {
			sum, err := svc.Summary(ctx, j.Name, win, 0)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Stats.Started == 30 && sum.Stats.Stuck == 9 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("background backfill: %+v", sum.Stats)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
