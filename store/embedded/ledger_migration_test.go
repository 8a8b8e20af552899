package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// TestLedgerPlacesMigration: a ledger kept by schema 11 (each row with
// its place as six strings) reads the same after migration 012 (places
// in journey_places, rows holding their number): every entry keeps its
// times, event id and place, the stuck list and the figures count as
// before, and updates after the migration move entities on, a new place
// (a new reason) included.
func TestLedgerPlacesMigration(t *testing.T) {
	dir := t.TempDir()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(dir, dbFile))+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms[:11] {
		if _, err := db.Exec(m + fmt.Sprintf("; PRAGMA user_version = %d;", i+1)); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	t0 := uint64(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixNano())
	upd := func(id string, d time.Duration, step string, st store.JourneyState, reason string) store.LedgerUpdate {
		return store.LedgerUpdate{Journey: "order", CorrelationID: id, AtNS: t0 + uint64(d), FirstNS: t0, Start: true, Step: step,
			StepIndex: map[string]int{"placed": 0, "paid": 1, "shipped": 2}[step], Service: step + "-svc",
			Destination: step + "s", Op: event.OpPublish, State: st, EventID: fmt.Sprintf("%s@%v", id, d), Reason: reason}
	}
	in, done := store.JourneyInFlight, store.JourneyCompleted
	// The entries as schema 11 kept them: one row each, its update of
	// greatest rank.
	old := []store.LedgerUpdate{upd("paid", time.Second, "paid", in, ""), upd("shipped", 3*time.Second, "shipped", done, ""),
		upd("dlq", time.Second, "paid", store.JourneyDeadLettered, "card declined"),
		upd("dlq2", 2*time.Second, "paid", store.JourneyDeadLettered, "card declined")}
	for _, u := range old {
		if _, err := db.Exec(`INSERT INTO journey_ledger (journey, correlation_id, first_ns, has_start, rank, done, last_ns, step,
			service, destination, op, state, event_id, reason) VALUES (`+placeholders(14)+`)`,
			u.Journey, u.CorrelationID, int64(u.First()), u.Start, int64(store.LedgerRank(u)), u.State.Terminal(),
			int64(u.AtNS), u.Step, u.Service, u.Destination, string(u.Op), string(u.State), u.EventID, u.Reason); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var places int
	if err := s.r.QueryRow(`SELECT count(*) FROM journey_places`).Scan(&places); err != nil || places != 3 {
		t.Fatalf("%d places (%v), want 3", places, err)
	}
	check := func(what string, want ...store.LedgerUpdate) {
		t.Helper()
		es, err := s.LedgerEntries(ctx, store.LedgerQuery{Journey: "order"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]store.LedgerEntry{}
		for _, e := range es {
			got[e.CorrelationID] = e
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d entries, want %d", what, len(got), len(want))
		}
		for _, u := range want {
			w := store.LedgerEntry{Journey: "order", CorrelationID: u.CorrelationID, StartedNS: t0, LastNS: u.AtNS, Step: u.Step,
				Service: u.Service, Destination: u.Destination, Op: u.Op, State: u.State, EventID: u.EventID, Reason: u.Reason}
			if got[u.CorrelationID] != w {
				t.Errorf("%s: %s is\n%+v, want\n%+v", what, u.CorrelationID, got[u.CorrelationID], w)
			}
		}
	}
	check("after the migration", old...)
	now := time.Unix(0, int64(t0)).Add(time.Hour)
	gs, err := s.StuckGroups(ctx, store.StuckQuery{Journey: "order", Now: now, StuckAfter: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Count != 2 || gs[0].Reason != "card declined" || gs[1].Count != 1 || gs[1].State != in {
		t.Fatalf("stuck groups %+v, want the two dead-lettered, then the one in flight", gs)
	}
	st, err := s.JourneyStats(ctx, store.JourneyStatsQuery{Journey: "order", Now: now, Within: time.Minute, StuckAfter: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if st.Started != 4 || st.InFlight != 1 || st.Completed != 1 || st.DeadLettered != 2 || st.Stuck != 3 || st.Slowest != "shipped" {
		t.Fatalf("stats %+v", st)
	}
	// "paid" ships (a known place), "dlq" is dead-lettered again for a
	// new reason (a new place), a late event of "shipped" changes nothing.
	more := []store.LedgerUpdate{upd("paid", 5*time.Second, "shipped", done, ""),
		upd("dlq", 6*time.Second, "paid", store.JourneyDeadLettered, "card expired"), upd("shipped", 9*time.Second, "paid", in, "")}
	if err := s.UpdateLedger(ctx, more); err != nil {
		t.Fatal(err)
	}
	check("after updates", more[0], old[1], more[1], old[3])
	if err := s.r.QueryRow(`SELECT count(*) FROM journey_places`).Scan(&places); err != nil || places != 4 {
		t.Fatalf("%d places (%v), want 4", places, err)
	}
}
