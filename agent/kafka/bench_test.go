//go:build linux

package kafka_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/internal/cputime"
	"github.com/causeway-dev/causeway/agent/kafka"
)

// countingExporter is the exporter of every instrumented row: it counts
// the spans it is handed and does nothing else, so the rows compare the
// instrumentation, not an exporter.
type countingExporter struct{ spans atomic.Int64 }

func (e *countingExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.spans.Add(int64(len(s)))
	return nil
}

func (e *countingExporter) Shutdown(context.Context) error { return nil }

// endCounter is a SpanProcessor counting the spans kotel ends, so its
// row can report the spans its batch processor dropped.
type endCounter struct{ ended atomic.Int64 }

func (c *endCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *endCounter) OnEnd(sdktrace.ReadOnlySpan)                     { c.ended.Add(1) }
func (c *endCounter) Shutdown(context.Context) error                  { return nil }
func (c *endCounter) ForceFlush(context.Context) error                { return nil }

// BenchmarkProduceConsume produces 1 KiB records through kfake and
// consumes them, bare and instrumented, with no handler work and with a
// handler computing for 20 µs of CPU time. Every instrumented row exports to the same counting
// exporter: franz-go's kotel plugin (propagating W3C trace context, its
// batch span processor sized like the agent's queue), the agent, the
// agent sampled at 0.1 (WithSampler) and in metadata-only mode; and the
// agent exporting over OTLP/HTTP to a live endpoint and to a closed port.
// cpu-ns/op is the process's CPU time per record (getrusage), steadier
// than wall time on a shared machine; dropped/op the spans lost per
// record. The consuming goroutine is locked to its thread, whose CPU time
// per record is consumer-cpu-ns/op, and consumer-records/s its inverse:
// the records per second the consumer sustains on a processor of its
// own, which is the throughput when the handler is the bottleneck and
// nothing else preempts it; in the handler rows the records are produced
// before the consumer starts, so that it has its core to itself. make
// bench puts the ratios in docs/benchmarks.md.
func BenchmarkProduceConsume(b *testing.B) {
	// An OTLP/HTTP endpoint that accepts everything: the collector-up case.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer sink.Close()
	for _, work := range []time.Duration{0, 20 * time.Microsecond} {
		modes := []string{"bare", "kotel", "agent", "agent-sampled", "agent-metadata"}
		if work == 0 {
			modes = append(modes, "agent-collector-up", "agent-collector-down")
		}
		for _, mode := range modes {
			name := mode
			if work > 0 {
				name += "-handler20us"
			}
			b.Run(name, func(b *testing.B) { benchProduceConsume(b, mode, work, sink.URL) })
		}
	}
}

func benchProduceConsume(b *testing.B, mode string, work time.Duration, sinkURL string) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	exp := &countingExporter{}
	var hooks []kgo.Hook
	var worker cputime.Worker
	handler := func() {
		if work > 0 {
			worker.Work()
		}
	}
	process := func(*kgo.Record) { handler() }
	var dropped func() int64
	switch mode {
	case "agent", "agent-sampled", "agent-metadata", "agent-collector-up", "agent-collector-down":
		opts := []agent.Option{agent.WithService("bench"), agent.WithExporter(exp)}
		switch mode {
		case "agent-sampled":
			opts = append(opts, agent.WithSampler(sdktrace.TraceIDRatioBased(0.1)))
		case "agent-metadata":
			opts = append(opts, agent.WithMetadataOnly())
		case "agent-collector-up":
			opts = append(opts, agent.WithCollector(sinkURL), agent.WithExporter(nil))
		case "agent-collector-down":
			// OTLP to a port nobody listens on: every export fails.
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			addr := l.Addr().String()
			l.Close()
			opts = append(opts, agent.WithCollector("http://"+addr), agent.WithExporter(nil))
		}
		a, err := agent.New(ctx, opts...)
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close(ctx)
		hooks = []kgo.Hook{kafka.NewTracer(a)}
		process = func(r *kgo.Record) {
			kafka.Handle(ctx, a, nil, "bench", r, agent.Policy{}, func(context.Context, *kgo.Record) error { handler(); return nil })
		}
		if mode != "agent-collector-down" {
			dropped = func() int64 { a.Flush(ctx); return int64(a.Stats().Dropped) }
		}
	case "kotel":
		ends := &endCounter{}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(ends),
			sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(agent.DefaultQueueSize), sdktrace.WithMaxExportBatchSize(512)))
		defer tp.Shutdown(ctx)
		tr := kotel.NewTracer(kotel.TracerProvider(tp), kotel.TracerPropagator(propagation.TraceContext{}), kotel.LinkSpans())
		hooks = kotel.NewKotel(kotel.WithTracer(tr)).Hooks()
		process = func(r *kgo.Record) {
			_, span := tr.WithProcessSpan(r)
			handler()
			span.End()
		}
		dropped = func() int64 { tp.ForceFlush(ctx); return ends.ended.Load() - exp.spans.Load() }
	}
	prod, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.WithHooks(hooks...), kgo.DefaultProduceTopic("bench"))
	defer prod.Close()
	cons, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.WithHooks(hooks...), kgo.ConsumeTopics("bench"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cons.Close()
	value := make([]byte, 1024)
	ready, start, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var consumerCPU time.Duration
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if work > 0 {
			worker = cputime.NewWorker(work)
		}
		close(ready)
		<-start
		t0 := cputime.Thread()
		for n := 0; n < b.N; {
			cons.PollFetches(ctx).EachRecord(func(r *kgo.Record) { process(r); n++ })
		}
		consumerCPU = cputime.Thread() - t0
	}()
	<-ready
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	cpu0 := cputime.Process()
	if work == 0 {
		close(start) // consume while producing
	}
	for i := 0; i < b.N; i++ {
		prod.Produce(ctx, &kgo.Record{Value: value, Context: ctx}, nil)
	}
	prod.Flush(ctx)
	if work > 0 {
		// With a handler, the records are all produced first: the
		// consumer's CPU time is then its own, not slowed by the
		// producer sharing its core (hyperthreads), whose cost differs
		// between the rows.
		close(start)
	}
	<-done
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(consumerCPU.Nanoseconds())/float64(b.N), "consumer-cpu-ns/op")
	b.ReportMetric(float64(b.N)/consumerCPU.Seconds(), "consumer-records/s")
	if dropped != nil {
		b.ReportMetric(float64(dropped())/float64(b.N), "dropped/op")
	}
}
