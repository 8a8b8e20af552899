package clickhouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// TestLedgerOneTableMigration: a ledger written with schema 11 (three
// materialized views: journey_ledger, journey_open, journey_places) reads
// the same after migration 012 (one view into journey_open, the places
// written by the store): every entry keeps its event id, times, step and
// state, the stuck list names its places, and an update after the
// migration moves an entity on.
func TestLedgerOneTableMigration(t *testing.T) {
	srv := chtest.Shared(t)
	ctx := context.Background()
	db := chtest.UniqueDB(t.Name())
	old := openAt(t, srv, db, 11)
	t0 := uint64(time.Date(2026, 11, 30, 23, 59, 58, 0, time.UTC).UnixNano())
	upd := func(id string, d time.Duration, start bool, step string, st store.JourneyState, reason string) store.LedgerUpdate {
		return store.LedgerUpdate{Journey: "order", CorrelationID: id, AtNS: t0 + uint64(d), Start: start, Step: step,
			StepIndex: map[string]int{"placed": 0, "paid": 1, "shipped": 2}[step], Service: step + "-svc",
			Destination: step + "s", Op: event.OpPublish, State: st, EventID: fmt.Sprintf("%s@%v", id, d), Reason: reason}
	}
	in, done := store.JourneyInFlight, store.JourneyCompleted
	ups := []store.LedgerUpdate{
		upd("paid", 0, true, "placed", in, ""), upd("paid", time.Second, false, "paid", in, ""),
		// Completed the next day: its rows lie in two partitions.
		upd("shipped", 0, true, "placed", in, ""), upd("shipped", 3*time.Second, false, "shipped", done, ""),
		upd("dlq", 0, true, "placed", in, ""), upd("dlq", time.Second, false, "paid", store.JourneyDeadLettered, "card declined"),
	}
	// Schema 11's UpdateLedger: the materialized views name the places.
	if err := old.insert(ctx, "journey_ledger_in", "date, journey, correlation_id, at_ns, first_at, start, ord, pl, eid", len(ups),
		func(i int) []any {
			u := &ups[i]
			var start uint8
			if u.Start {
				start = 1
			}
			return []any{day(u.AtNS), u.Journey, u.CorrelationID, u.AtNS, u.First(), start, store.LedgerRank(*u),
				packPlace(u.State, u.Step, u.Service, u.Destination, u.Op, u.Reason), u.EventID}
		}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	s := open(t, srv.DSN(db))
	defer s.Close()

	entries := func() map[string]store.LedgerEntry {
		t.Helper()
		es, err := s.LedgerEntries(ctx, store.LedgerQuery{Journey: "order"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.LedgerEntry{}
		for _, e := range es {
			out[e.CorrelationID] = e
		}
		return out
	}
	want := func(last store.LedgerUpdate) store.LedgerEntry {
		return store.LedgerEntry{Journey: "order", CorrelationID: last.CorrelationID, StartedNS: t0, LastNS: last.AtNS,
			Step: last.Step, Service: last.Service, Destination: last.Destination, Op: last.Op, State: last.State,
			EventID: last.EventID, Reason: last.Reason}
	}
	got := entries()
	for _, w := range []store.LedgerEntry{want(ups[1]), want(ups[3]), want(ups[5])} {
		if got[w.CorrelationID] != w {
			t.Errorf("after the migration %s is\n%+v, want\n%+v", w.CorrelationID, got[w.CorrelationID], w)
		}
	}
	now := time.Unix(0, int64(t0)).Add(time.Hour)
	gs, err := s.StuckGroups(ctx, store.StuckQuery{Journey: "order", Now: now, StuckAfter: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Step != "paid" || gs[1].Step != "paid" || gs[0].Count+gs[1].Count != 2 {
		t.Fatalf("stuck groups %+v, want the two entities at paid", gs)
	}
	st, err := s.JourneyStats(ctx, store.JourneyStatsQuery{Journey: "order", Now: now, Within: time.Minute, StuckAfter: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if st.Started != 3 || st.InFlight != 1 || st.Completed != 1 || st.DeadLettered != 1 || st.Stuck != 2 || st.Slowest != "shipped" {
		t.Fatalf("stats %+v", st)
	}

	// After the migration: "paid" ships, "dlq" is replayed into a new
	// reason; both places are new, named by the store's own write.
	more := []store.LedgerUpdate{upd("paid", 5*time.Second, false, "shipped", done, ""),
		upd("dlq", 6*time.Second, false, "paid", store.JourneyDeadLettered, "card expired")}
	if err := s.UpdateLedger(ctx, more); err != nil {
		t.Fatal(err)
	}
	got = entries()
	for _, w := range []store.LedgerEntry{want(more[0]), want(ups[3]), want(more[1])} {
		if got[w.CorrelationID] != w {
			t.Errorf("after an update %s is\n%+v, want\n%+v", w.CorrelationID, got[w.CorrelationID], w)
		}
	}
	if gs, err = s.StuckGroups(ctx, store.StuckQuery{Journey: "order", Now: now, StuckAfter: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || gs[0].Reason != "card expired" || gs[0].Samples[0] != "dlq" {
		t.Fatalf("stuck groups after an update %+v", gs)
	}
	var mvs uint64
	if err := s.conn.QueryRow(ctx, `SELECT count() FROM system.tables WHERE database = ? AND engine = 'MaterializedView'
		AND name IN ('journey_ledger_mv', 'journey_open_mv', 'journey_places_mv')`, db).Scan(&mvs); err != nil {
		t.Fatal(err)
	}
	if mvs != 1 {
		t.Errorf("%d of the ledger's views from journey_ledger_in, want 1 (journey_open_mv)", mvs)
	}
}
