package agent_test

import (
	"context"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/event"
)

// gateExporter blocks its first export until released and records the
// size of every export.
type gateExporter struct {
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	sizes            []int
}

func (e *gateExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.once.Do(func() { close(e.entered); <-e.release })
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sizes = append(e.sizes, len(s))
	return nil
}

func (e *gateExporter) Shutdown(context.Context) error { return nil }

// TestExportCatchesUpInLargerRequests: while an export is under way, full
// batches wait; the next export carries them together (up to 8), and
// every span is exported exactly once.
func TestExportCatchesUpInLargerRequests(t *testing.T) {
	ctx := context.Background()
	exp := &gateExporter{entered: make(chan struct{}), release: make(chan struct{})}
	a, err := agent.New(ctx, agent.WithService("svc"), agent.WithExporter(exp), agent.WithBatchSize(16), agent.WithQueueSize(1024))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	d := agent.Destination{System: event.SystemKafka, Name: "t", Partition: -1, Offset: -1}
	publish := func(n int) {
		for range n {
			_, span := a.StartPublish(ctx, mapHeaders{}, d, "")
			a.EndPublish(span, d, nil)
		}
	}
	publish(16) // one full batch: its export blocks
	<-exp.entered
	publish(16 * 10) // ten more full batches wait meanwhile
	close(exp.release)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s := a.Stats()
	if s.Exported != 16*11 || s.Dropped != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v, want %d exported", s, 16*11)
	}
	exp.mu.Lock()
	defer exp.mu.Unlock()
	if len(exp.sizes) < 2 || exp.sizes[0] != 16 || exp.sizes[1] != 16*8 {
		t.Fatalf("export sizes %v, want 16, then 8 batches of 16 together", exp.sizes)
	}
}
