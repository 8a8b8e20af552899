package retention

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

// eventsOf counts the stored events of trace tr.
func eventsOf(t *testing.T, st store.Store, tr int) int {
	t.Helper()
	p, err := st.Events(context.Background(), store.EventQuery{TraceIDs: []string{storetest.TraceID(tr)}, Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Events)
}

// TestWatermark: with a simulated disk, a check above the watermark does
// nothing; each check below it shortens the events retention by a
// quarter and deletes the events now older than it, oldest first, never
// newer ones; at MinFree or above the shortened retention holds, and at
// twice MinFree the configured one applies again. Retention never goes
// under MinEvents however long the disk stays full.
func TestWatermark(t *testing.T) {
	st, err := store.Open(context.Background(), "embedded://"+filepath.ToSlash(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	ages := map[int]time.Duration{1: 6 * day, 2: 3 * day, 3: day, 4: 30 * time.Minute}
	for tr, age := range ages {
		b := &store.Batch{}
		for i := range 10 {
			e := storetest.Event(tr, i)
			e.StartNS = uint64(now.Add(-age).UnixNano()) + uint64(i)
			b.Events = append(b.Events, e)
			b.Spans = append(b.Spans, storetest.Span(e))
			if i > 0 {
				b.Edges = append(b.Edges, eventEdge(e, i))
			}
		}
		if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.MinFree = 0.1
	r := New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var freePermille atomic.Int64
	r.diskSpace = func(string) (uint64, uint64, error) { return uint64(freePermille.Load()), 1000, nil }
	r.SetClock(func() time.Time { return now })
	left := func() []int {
		var out []int
		for tr := 1; tr <= 4; tr++ {
			out = append(out, eventsOf(t, st, tr))
		}
		return out
	}
	check := func(free int64, wantPass bool, wantEvents time.Duration, wantLeft [4]int) {
		t.Helper()
		freePermille.Store(free)
		ran, err := r.CheckDisk(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ran != wantPass {
			t.Errorf("free %d‰: pass run %v, want %v", free, ran, wantPass)
		}
		if got := r.Stats().Events; got != wantEvents {
			t.Errorf("free %d‰: events retention %v, want %v", free, got, wantEvents)
		}
		if got := left(); [4]int(got) != wantLeft {
			t.Errorf("free %d‰: events left per trace %v, want %v", free, got, wantLeft)
		}
	}
	week := 7 * day
	check(500, false, week, [4]int{10, 10, 10, 10})
	check(50, true, week*3/4, [4]int{0, 10, 10, 10})    // 5.25 days: the 6-day-old events go
	check(50, true, week*9/16, [4]int{0, 10, 10, 10})   // 3.9 days
	check(50, true, week*27/64, [4]int{0, 0, 10, 10})   // 2.95 days: the 3-day-old events go
	check(150, false, week*27/64, [4]int{0, 0, 10, 10}) // above the watermark, not yet twice it
	check(300, false, week, [4]int{0, 0, 10, 10})       // twice it: back to 7 days
	if s := r.Stats(); s.WatermarkPasses != 3 || s.FreeShare != 0.3 || s.Deleted["events"] != 20 {
		t.Errorf("stats %+v, want 3 watermark passes, free share 0.3, 20 events deleted", s)
	}
	for range 40 {
		freePermille.Store(10)
		if _, err := r.CheckDisk(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Stats().Events; got != MinEvents {
		t.Errorf("after a long full disk: events retention %v, want the floor %v", got, MinEvents)
	}
	if got := left(); got[3] != 10 {
		t.Errorf("events 30 minutes old: %d left, want 10 (under the floor)", got[3])
	}
}

// TestDiskSpace measures a real directory's file system.
func TestDiskSpace(t *testing.T) {
	free, total, err := diskSpace(t.TempDir())
	if err != nil {
		t.Skipf("no free-space measure here: %v", err)
	}
	if total == 0 || free > total {
		t.Fatalf("free %d of %d bytes", free, total)
	}
}
