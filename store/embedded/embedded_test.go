package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunAll(t, storetest.Harness{
		New: func(t *testing.T) store.Store {
			dir := t.TempDir()
			s, err := store.Open(context.Background(), "embedded://"+dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			dir := s.(*Store).dir
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s2.Close() })
			return s2
		},
	})
}

func TestOpenErrors(t *testing.T) {
	if _, err := store.Open(context.Background(), "embedded://"); err == nil {
		t.Fatal("empty path: want an error")
	}
}

func BenchmarkWrite(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := uint64(time.Now().UnixNano())
	rows := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := &store.Batch{}
		for n := 0; n < 1000; n++ {
			e := storetest.Event(i, n)
			e.StartNS = start + uint64(i*1000+n)
			batch.Events = append(batch.Events, e)
			batch.Spans = append(batch.Spans, storetest.Span(e))
			batch.Edges = append(batch.Edges, event.Edge{FromTraceID: e.TraceID, FromSpanID: "0000000000000001", ToTraceID: e.TraceID, ToSpanID: e.SpanID, Kind: event.EdgeParent})
		}
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		rows += batch.Len()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
