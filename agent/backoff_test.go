package agent

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/causeway-dev/causeway/event"
)

// downExporter fails while down is set and counts the spans it took.
type downExporter struct {
	down  atomic.Bool
	calls atomic.Int64
	spans atomic.Int64
}

func (e *downExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.calls.Add(1)
	if e.down.Load() {
		return errors.New("collector down")
	}
	e.spans.Add(int64(len(s)))
	return nil
}

func (e *downExporter) Shutdown(context.Context) error { return nil }

type headerMap map[string]string

func (m headerMap) Get(k string) string { return m[k] }
func (m headerMap) Set(k, v string)     { m[k] = v }
func (m headerMap) Keys() []string      { return nil }

func publishN(a *Agent, n int) {
	d := Destination{System: event.SystemKafka, Name: "t", Partition: -1, Offset: -1}
	for range n {
		_, span := a.StartPublish(context.Background(), headerMap{}, d, "")
		a.EndPublish(span, d, nil)
	}
}

func waitStats(t *testing.T, a *Agent, what string, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := a.Stats()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFailedExportPausesAndSpansWait: after a failed export (its batch
// dropped and counted), exports pause: new spans wait in the queue, no
// export is attempted (a down collector costs no encoding), and they go
// out when the collector is back — at the next flush here, the pause
// being long.
func TestFailedExportPausesAndSpansWait(t *testing.T) {
	exp := &downExporter{}
	exp.down.Store(true)
	pause := optionFunc(func(c *config) { c.minBackoff = time.Hour })
	a, err := New(context.Background(), WithExporter(exp), WithBatchSize(16), WithQueueSize(64), pause)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	publishN(a, 16)
	waitStats(t, a, "the failed export", func(s Stats) bool { return s.Dropped == 16 })
	publishN(a, 100) // 64 wait (the bound), 36 dropped at once
	time.Sleep(20 * time.Millisecond)
	if s := a.Stats(); s.Queued != 64 || s.Dropped != 16+36 || exp.calls.Load() != 1 {
		t.Fatalf("during the pause: %+v after %d export calls, want 64 queued, 52 dropped, 1 call", s, exp.calls.Load())
	}
	exp.down.Store(false)
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Exported != 64 || s.Dropped != 52 || s.Queued != 0 || exp.spans.Load() != 64 {
		t.Fatalf("after the collector came back: %+v", s)
	}
}

// TestExportsResumeAfterThePause: the pause ends by itself and the
// spans that waited are exported.
func TestExportsResumeAfterThePause(t *testing.T) {
	exp := &downExporter{}
	exp.down.Store(true)
	pause := optionFunc(func(c *config) { c.minBackoff = 50 * time.Millisecond })
	a, err := New(context.Background(), WithExporter(exp), WithBatchSize(16), WithQueueSize(1024), pause)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	publishN(a, 16)
	waitStats(t, a, "the failed export", func(s Stats) bool { return s.Dropped == 16 })
	exp.down.Store(false)
	publishN(a, 64)
	s := waitStats(t, a, "the waiting spans' export", func(s Stats) bool { return s.Exported == 64 })
	if s.Dropped != 16 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}
