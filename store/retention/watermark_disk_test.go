package retention

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/collector/spool/spooltest"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestWatermarkOnSmallDisk: an embedded store on a 12 MiB tmpfs takes
// ten simulated days of events (about 23 MB in all: without the
// watermark the sixth day's writes fail with "disk is full") with a
// 7-day retention that would not fit: checks of the real free space
// between writes (as the 15 s ticker does) make the watermark delete
// the oldest days, so no write ever fails for want of space and the
// newest day is kept whole. (Small, because the race detector makes
// SQLite about thirty times slower.)
func TestWatermarkOnSmallDisk(t *testing.T) {
	dir := spooltest.MountTmpfs(t, "12m")
	st, err := store.Open(context.Background(), "embedded://"+filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.MinFree = 0.34
	r := New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t0 := time.Now().Add(-30 * day)
	var now time.Time
	r.SetClock(func() time.Time { return now })
	const days, perDay, perBatch = 10, 1200, 400
	for d := range days {
		now = t0.Add(time.Duration(d) * day)
		for off := 0; off < perDay; off += perBatch {
			b := &store.Batch{}
			for i := off; i < off+perBatch; i++ {
				e := storetest.Event(d, i)
				e.StartNS = uint64(now.UnixNano()) + uint64(i)*1e6
				e.Attributes = map[string]string{"order.id": storetest.TraceID(d*perDay + i), "customer": "c-0001234567"}
				b.Events = append(b.Events, e)
				b.Spans = append(b.Spans, storetest.Span(e))
				if i > 0 {
					b.Edges = append(b.Edges, eventEdge(e, i))
				}
			}
			if err := st.Write(ctx, b); err != nil {
				t.Fatalf("day %d: write failed (the watermark did not free space in time): %v", d, err)
			}
			if _, err := r.CheckDisk(ctx); err != nil {
				t.Fatalf("day %d: %v", d, err)
			}
		}
	}
	s := r.Stats()
	t.Logf("after %d days of %d events: %d watermark passes, events retention %v, free share %.2f, deleted %v",
		days, perDay, s.WatermarkPasses, s.Events, s.FreeShare, s.Deleted)
	if s.WatermarkPasses == 0 || s.Deleted["events"] == 0 {
		t.Fatalf("the watermark never ran (stats %+v): the workload must not fit the disk", s)
	}
	if s.FreeShare < cfg.MinFree*0.5 {
		t.Errorf("free share %.2f at the end, want it kept near the watermark %.2f", s.FreeShare, cfg.MinFree)
	}
	if got := eventsOf(t, st, days-1); got != perDay {
		t.Errorf("the newest day has %d events, want all %d", got, perDay)
	}
	if got := eventsOf(t, st, 0); got != 0 {
		t.Errorf("the oldest day has %d events left, want 0", got)
	}
}
