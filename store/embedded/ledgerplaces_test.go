package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// TestLedgerPlacesRetention: retention deletes the journey places no
// ledger row holds any more (a dead-lettering's reason is free text, so
// they would grow without bound), and keeps those still held.
func TestLedgerPlacesRetention(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	dlq := func(id string, at time.Time, reason string) store.LedgerUpdate {
		return store.LedgerUpdate{Journey: "order", CorrelationID: id, AtNS: uint64(at.UnixNano()), Start: true, Step: "placed",
			Service: "shop", Destination: "orders", Op: event.OpDeadLetter, State: store.JourneyDeadLettered, EventID: id, Reason: reason}
	}
	old, young := now.Add(-48*time.Hour), now.Add(-time.Hour)
	if err := s.UpdateLedger(ctx, []store.LedgerUpdate{dlq("a", old, "order a not found"), dlq("b", young, "order b not found"),
		dlq("c", old, "card declined"), dlq("d", young, "card declined")}); err != nil {
		t.Fatal(err)
	}
	places := func() (n int) {
		if err := s.r.QueryRow(`SELECT count(*) FROM journey_places`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := places(); n != 3 {
		t.Fatalf("%d places, want 3", n)
	}
	res, err := s.ApplyRetention(ctx, store.RetentionPolicy{EventsBefore: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted["journey_ledger"] != 2 || res.Deleted["journey_places"] != 1 || places() != 2 {
		t.Fatalf("retention deleted %v, %d places left; want 2 entries and the place only \"a\" held", res.Deleted, places())
	}
	es, err := s.LedgerEntries(ctx, store.LedgerQuery{Journey: "order"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Reason == "" || es[1].Reason == "" {
		t.Fatalf("entries after retention %+v", es)
	}
}
