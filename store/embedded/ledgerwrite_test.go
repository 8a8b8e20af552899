package embedded

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// TestWriteLedger: a batch and its ledger updates written together are
// both stored; written again (a retry) nothing changes; with the write
// failing (a cancelled context) neither is stored.
func TestWriteLedger(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().Add(-time.Minute)
	batch := func(id string) (*store.Batch, []store.LedgerUpdate) {
		e := event.Event{TraceID: "trace-" + id, SpanID: "span-" + id, EventID: "evt-" + id, CorrelationID: id,
			Service: "shop", Destination: "orders", Op: event.OpPublish, StartNS: uint64(now.UnixNano())}
		u := store.LedgerUpdate{Journey: "order", CorrelationID: id, AtNS: e.StartNS, Start: true, Step: "placed",
			Service: e.Service, Destination: e.Destination, Op: e.Op, State: store.JourneyInFlight, EventID: e.EventID}
		return &store.Batch{Events: []event.Event{e}}, []store.LedgerUpdate{u}
	}
	stored := func(id string) (events, entries int) {
		t.Helper()
		page, err := s.Events(ctx, store.EventQuery{CorrelationID: id})
		if err != nil {
			t.Fatal(err)
		}
		es, err := s.LedgerEntries(ctx, store.LedgerQuery{Journey: "order"})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.CorrelationID == id {
				entries++
			}
		}
		return len(page.Events), entries
	}

	b, ups := batch("order-1")
	for range 2 { // the second time a retry
		if err := s.WriteLedger(ctx, b, func() []store.LedgerUpdate { return ups }); err != nil {
			t.Fatal(err)
		}
		if ev, en := stored("order-1"); ev != 1 || en != 1 {
			t.Fatalf("after WriteLedger: %d events, %d ledger entries; want 1 and 1", ev, en)
		}
	}

	b, ups = batch("order-2")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.WriteLedger(cancelled, b, func() []store.LedgerUpdate { return ups }); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteLedger with a cancelled context: %v, want context.Canceled", err)
	}
	if ev, en := stored("order-2"); ev != 0 || en != 0 {
		t.Fatalf("after a failed WriteLedger: %d events, %d ledger entries; want none", ev, en)
	}
}
