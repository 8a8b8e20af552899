package flowmetrics

import (
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// BenchmarkObserve: the cost the flow metrics add to every stored batch
// (a 10,000-event batch over 50 edges), per event.
func BenchmarkObserve(b *testing.B) {
	f := New(Options{})
	var batch store.Batch
	for i := range 10000 {
		batch.Events = append(batch.Events, event.Event{Service: fmt.Sprintf("svc-%d", i%10), Destination: fmt.Sprintf("topic-%d", i%5),
			Op: event.OpProcess, Outcome: event.OutcomeOK})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f.Observe(&batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Events)), "ns/event")
}
