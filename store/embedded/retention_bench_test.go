package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

// BenchmarkRetention expires 100,000 events with their spans and edges
// (300,000 rows) per iteration while a writer stores batches of 500 new
// events and spans, and reports the rows deleted per second and the
// writer's slowest and mean batch during the pass: how long a pass can
// hold up ingest.
func BenchmarkRetention(b *testing.B) {
	const n = 100000
	s := open(b, b.TempDir())
	ctx := context.Background()
	var deleted int64
	var took, worst, sum time.Duration
	var writes int
	for it := range b.N {
		b.StopTimer()
		old := time.Now().Add(-10 * 24 * time.Hour)
		for off := 0; off < n; off += 10000 {
			batch := &store.Batch{}
			for i := off; i < off+10000; i++ {
				e := storetest.Event(it*1000+i/1000, i)
				e.StartNS = uint64(old.UnixNano()) + uint64(i)*1e6
				e.Attributes = map[string]string{"order.id": storetest.TraceID(i)}
				batch.Events = append(batch.Events, e)
				batch.Spans = append(batch.Spans, storetest.Span(e))
				batch.Edges = append(batch.Edges, event.Edge{FromTraceID: e.TraceID, FromSpanID: storetest.SpanID(i - 1),
					ToTraceID: e.TraceID, ToSpanID: e.SpanID, Kind: event.EdgeParent, StartNS: e.StartNS})
			}
			if err := s.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := &store.Batch{}
				for i := range 500 {
					e := storetest.Event(1<<30+it<<16+k, i)
					e.StartNS = uint64(time.Now().UnixNano())
					batch.Events = append(batch.Events, e)
					batch.Spans = append(batch.Spans, storetest.Span(e))
				}
				t0 := time.Now()
				if err := s.Write(ctx, batch); err != nil {
					b.Error(err)
					return
				}
				l := time.Since(t0)
				sum, worst, writes = sum+l, max(worst, l), writes+1
			}
		}()
		b.StartTimer()
		t0 := time.Now()
		res, err := s.ApplyRetention(ctx, store.RetentionPolicy{EventsBefore: time.Now().Add(-7 * 24 * time.Hour)})
		took += time.Since(t0)
		b.StopTimer()
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		deleted += res.Total()
	}
	b.ReportMetric(float64(deleted)/took.Seconds(), "rows_deleted/s")
	b.ReportMetric(float64(worst.Milliseconds()), "max_write_ms")
	b.ReportMetric(float64(sum.Milliseconds())/float64(max(writes, 1)), "mean_write_ms")
}
