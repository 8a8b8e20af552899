package embedded

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestDeadlineInterruptsQuery: a read past its context deadline is
// interrupted inside SQLite (modernc interrupts the connection when the
// context is done), not run to the end: a query that would count to a
// billion returns soon after its 100 ms deadline, wrapped as
// store.ErrQueryTimeout, and the connection serves the next query.
func TestDeadlineInterruptsQuery(t *testing.T) {
	s := open(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	var n int64
	err := s.r.QueryRowContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)
		SELECT count(*) FROM c`).Scan(&n)
	store.MarkTimeout(ctx, &err)
	if !errors.Is(err, store.ErrQueryTimeout) {
		t.Fatalf("count to a billion under a 100 ms deadline: %d, %v; want ErrQueryTimeout", n, err)
	}
	// Generous: counting to a billion takes minutes; interrupted, it ends
	// within a few scheduler ticks of the deadline.
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the interrupted query returned after %v", took)
	}
	for i := 0; i < 8; i++ { // every pooled connection still answers
		if err := s.r.QueryRowContext(context.Background(), "SELECT 1").Scan(&n); err != nil || n != 1 {
			t.Fatalf("after the interrupt: %d, %v", n, err)
		}
	}
}

// TestFlowsTimeoutOnBigTable: a flow map read from the events
// themselves (a window of less than a minute has no whole minute in the
// rollups) over 60k events (10k under the race detector) under a 2 ms
// deadline stops with store.ErrQueryTimeout; without one it answers.
func TestFlowsTimeoutOnBigTable(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200k events")
	}
	n := 200_000
	if raceEnabled {
		n = 10_000
	}
	s := open(t, t.TempDir())
	for from := 0; from < n; from += 10_000 {
		b := &store.Batch{}
		for i := from; i < from+10_000; i++ {
			e := storetest.Event(i/100, i)
			e.Service = []string{"orders", "billing", "audit"}[i%3]
			e.Op = []event.Op{event.OpPublish, event.OpProcess}[i%2]
			b.Events = append(b.Events, e)
		}
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	// Event i starts at base + i ms: 59 s of them, no whole minute.
	since := time.Unix(0, int64(storetest.Event(0, 0).StartNS)).Add(500 * time.Millisecond)
	until := since.Add(59 * time.Second)
	start := time.Now()
	fm, err := s.Flows(context.Background(), store.FlowQuery{Since: since, Until: until})
	full := time.Since(start)
	if err != nil || len(fm.Edges) == 0 {
		t.Fatalf("Flows without a deadline: %+v, %v", fm, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = s.Flows(ctx, store.FlowQuery{Since: since, Until: until})
	if !errors.Is(err, store.ErrQueryTimeout) {
		t.Fatalf("Flows under a 2 ms deadline (the full query takes %v): %v, want ErrQueryTimeout", full, err)
	}
	t.Logf("flows over %d events: %v in full, %v until the 2 ms deadline stopped it", n, full, time.Since(start))
}
