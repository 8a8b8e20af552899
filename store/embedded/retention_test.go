package embedded

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

// diskSize is the bytes of the database file and its WAL.
func diskSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, f := range []string{dbFile, dbFile + "-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestRetentionGivesSpaceBack: a new store is in auto_vacuum=INCREMENTAL
// mode; across repeated cycles of writing a day's rows and expiring the
// day before, the files stay the size one day's rows need, and after
// everything expired no free page is left in the file.
func TestRetentionGivesSpaceBack(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	var mode int
	if err := s.w.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("auto_vacuum = %d, %v; want 2 (INCREMENTAL)", mode, err)
	}
	const perDay = 4000
	day0 := time.Now().Add(-30 * 24 * time.Hour).Truncate(24 * time.Hour)
	var sizes []int64
	for d := range 5 {
		at := day0.Add(time.Duration(d) * 24 * time.Hour)
		b := &store.Batch{}
		for i := range perDay {
			e := storetest.Event(d, i)
			e.StartNS = uint64(at.UnixNano()) + uint64(i)*1e6
			e.Attributes = map[string]string{"order.id": storetest.TraceID(i)}
			b.Events = append(b.Events, e)
			b.Spans = append(b.Spans, storetest.Span(e))
			if i > 0 {
				b.Edges = append(b.Edges, event.Edge{FromTraceID: e.TraceID, FromSpanID: storetest.SpanID(i - 1),
					ToTraceID: e.TraceID, ToSpanID: e.SpanID, Kind: event.EdgeParent, StartNS: e.StartNS})
			}
		}
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		res, err := s.ApplyRetention(ctx, store.RetentionPolicy{EventsBefore: at})
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(perDay); d > 0 && (res.Deleted["events"] != want || res.Deleted["spans"] != want || res.Deleted["edges"] != want-1) {
			t.Fatalf("day %d: deleted %v, want the previous day's %d events and spans, %d edges", d, res.Deleted, want, want-1)
		}
		sizes = append(sizes, diskSize(t, dir))
	}
	t.Logf("database + WAL bytes after each day: %v", sizes)
	// The first day's size is what one day needs (plus the WAL, which
	// is reused, not grown); later days must not add to it.
	if last, first := sizes[len(sizes)-1], sizes[1]; last > first+first/4 {
		t.Errorf("the files grew from %d to %d bytes across cycles that store one day each", first, last)
	}
	if _, err := s.ApplyRetention(ctx, store.RetentionPolicy{EventsBefore: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var free, pages int
	if err := s.w.QueryRow(`PRAGMA freelist_count`).Scan(&free); err != nil {
		t.Fatal(err)
	}
	if err := s.w.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if free != 0 {
		t.Errorf("%d free pages left in the file after everything expired, want 0 (given back)", free)
	}
	if n, err := s.ReusableBytes(ctx); err != nil || n != 0 {
		t.Errorf("ReusableBytes = %d, %v; want 0 (the free pages were given back)", n, err)
	}
	t.Logf("after everything expired: %d pages in the file, 0 free", pages)
}
