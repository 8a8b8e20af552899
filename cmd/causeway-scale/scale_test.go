package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/event"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestWorkload: the generated spans are what the benchmark says it loads:
// five messaging events per order, in one trace with one correlation id,
// chained by parent edges, publish and process of a message sharing its
// event id, all within the workload's span of time.
func TestWorkload(t *testing.T) {
	now := time.Now()
	w := workload{orders: 10, span: time.Hour, now: now, perRequest: 10}
	b := lineage.Derive(w.traces(0, 10))
	if len(b.Events) != 50 || len(b.Spans) != 50 {
		t.Fatalf("%d events, %d spans; want 50 and 50", len(b.Events), len(b.Spans))
	}
	perTrace := map[string]map[string]bool{}
	ids := map[string]int{}
	for _, e := range b.Events {
		if perTrace[e.TraceID] == nil {
			perTrace[e.TraceID] = map[string]bool{}
		}
		perTrace[e.TraceID][e.CorrelationID] = true
		ids[e.EventID]++
		if e.StartNS < uint64(now.Add(-time.Hour).UnixNano()) || e.StartNS > uint64(now.UnixNano()) {
			t.Errorf("event at %v, outside the last hour", time.Unix(0, int64(e.StartNS)))
		}
		if e.System != event.SystemKafka || e.Destination == "" || e.EventType == "" || e.MessageKey != e.CorrelationID {
			t.Errorf("event %+v: want a Kafka event with a destination, a type and the order as its key", e)
		}
	}
	if len(perTrace) != 10 {
		t.Fatalf("%d traces, want 10", len(perTrace))
	}
	for tr, cs := range perTrace {
		if len(cs) != 1 {
			t.Errorf("trace %s has correlation ids %v, want one", tr, cs)
		}
	}
	if len(ids) != 30 { // per order: the two published-and-processed messages and the last publish
		t.Errorf("%d distinct event ids, want 30", len(ids))
	}
	parents := 0
	for _, e := range b.Edges {
		if e.Kind == event.EdgeParent {
			parents++
		}
	}
	if parents != 40 {
		t.Errorf("%d parent edges, want 40 (four per order)", parents)
	}
	plain := lineage.Derive(workload{orders: 10, plain: true, span: time.Hour, now: now}.traces(0, 10))
	if len(plain.Events) != 0 || len(plain.Spans) != 50 {
		t.Errorf("plain workload: %d events, %d spans; want 0 and 50", len(plain.Events), len(plain.Spans))
	}
}

// TestMessagingRun: a small run through OTLP/HTTP, a collector and an
// embedded store prints one result line with every measure.
func TestMessagingRun(t *testing.T) {
	out := captureStdout(t, func() {
		b := bench{log: slog.New(slog.NewTextHandler(io.Discard, nil)), root: t.TempDir(), clients: 2, runs: 3,
			label: "embedded", now: time.Now()}
		if err := b.messaging(context.Background(), 1000); err != nil {
			t.Fatal(err)
		}
	})
	for _, want := range []string{"scale.BenchmarkScale/embedded/events=1000\t", " events/s", " bytes/event",
		" flowmap-1h-p50-ms", " graph-correlation-p99-ms", " events-by-type-1h-p50-ms", " events-by-correlation-p50-ms", " newest-100-p99-ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var buf bytes.Buffer
		io.Copy(&buf, r)
		done <- buf.String()
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	os.Stdout = old
	return <-done
}
