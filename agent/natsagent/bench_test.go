//go:build linux

package natsagent_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/agent/internal/cputime"
	"github.com/causeway-dev/causeway/agent/natsagent"
)

// countingExporter counts the spans it is handed and does nothing else.
type countingExporter struct{ spans atomic.Int64 }

func (e *countingExporter) ExportSpans(_ context.Context, s []sdktrace.ReadOnlySpan) error {
	e.spans.Add(int64(len(s)))
	return nil
}

func (e *countingExporter) Shutdown(context.Context) error { return nil }

// BenchmarkPublishConsumeJS publishes 1 KiB messages to a JetStream stream
// of an embedded nats-server and consumes them from a durable pull
// consumer, acking each (DoubleAck, as HandleJS does): bare nats.go, and
// through the agent (PublishJS, HandleJS: a publish, a process and a
// settle span per message) recording every span, sampled at 0.1 and in
// metadata-only mode, with no handler work and with a handler computing
// for 20 µs of CPU time. cpu-ns/op is the process's CPU time per message
// (getrusage), the nats-server's included; dropped/op the spans lost per
// message; consumer-cpu-ns/op the CPU time per message of the thread
// running the consumer's callbacks (locked to it), and
// consumer-msgs/s its inverse, the rate that callback sustains on a
// processor of its own (in the handler rows the messages are published
// before the consumer starts).
func BenchmarkPublishConsumeJS(b *testing.B) {
	for _, work := range []time.Duration{0, 20 * time.Microsecond} {
		for _, mode := range []string{"bare", "agent", "agent-sampled", "agent-metadata"} {
			name := mode
			if work > 0 {
				name += "-handler20us"
			}
			b.Run(name, func(b *testing.B) { benchPublishConsumeJS(b, mode, work) })
		}
	}
}

func benchPublishConsumeJS(b *testing.B, mode string, work time.Duration) {
	srv := brokertest.JetStream(b, server.Options{})
	nc, err := natsgo.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}}); err != nil {
		b.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "BENCH", jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		b.Fatal(err)
	}
	publish := func(m *natsgo.Msg) error { _, err := js.PublishMsg(ctx, m); return err }
	var worker cputime.Worker
	if work > 0 {
		runtime.LockOSThread()
		worker = cputime.NewWorker(work)
		runtime.UnlockOSThread()
	}
	handler := func() {
		if work > 0 {
			worker.Work()
		}
	}
	handle := func(m jetstream.Msg) error { handler(); return m.DoubleAck(ctx) }
	var a *agent.Agent
	if mode != "bare" {
		opts := []agent.Option{agent.WithService("bench"), agent.WithExporter(&countingExporter{})}
		switch mode {
		case "agent-sampled":
			opts = append(opts, agent.WithSampler(sdktrace.TraceIDRatioBased(0.1)))
		case "agent-metadata":
			opts = append(opts, agent.WithMetadataOnly())
		}
		if a, err = agent.New(ctx, opts...); err != nil {
			b.Fatal(err)
		}
		defer a.Close(ctx)
		publish = func(m *natsgo.Msg) error { _, err := natsagent.PublishJS(ctx, a, js, m); return err }
		handle = func(m jetstream.Msg) error {
			return natsagent.HandleJS(ctx, a, js, "bench", m, agent.Policy{}, func(context.Context, jetstream.Msg) error {
				handler()
				return nil
			}).Err
		}
	}
	value := make([]byte, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	cpu0 := cputime.Process()
	var handled atomic.Int64
	done := make(chan struct{})
	var failed atomic.Value
	var t0, consumerCPU time.Duration
	publishAll := func() {
		for i := 0; i < b.N; i++ {
			if err := publish(&natsgo.Msg{Subject: "bench.orders", Data: value}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if work > 0 {
		// With a handler, the messages are all published first: the
		// consumer's CPU time is then its own, not slowed by the
		// publisher sharing its core.
		publishAll()
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		n := handled.Add(1)
		if n == 1 {
			// nats.go calls back on one goroutine: keep it on this thread
			// (for good: the goroutine ends with the subscription).
			runtime.LockOSThread()
			t0 = cputime.Thread()
		}
		if err := handle(m); err != nil {
			failed.CompareAndSwap(nil, err)
		}
		if n == int64(b.N) {
			consumerCPU = cputime.Thread() - t0
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	if work == 0 {
		publishAll()
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d messages handled", handled.Load(), b.N)
	}
	b.StopTimer()
	cpu := cputime.Process() - cpu0
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(fmt.Errorf("handling: %w", err))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(consumerCPU.Nanoseconds())/float64(b.N), "consumer-cpu-ns/op")
	b.ReportMetric(float64(b.N)/consumerCPU.Seconds(), "consumer-msgs/s")
	if a != nil {
		a.Flush(ctx)
		b.ReportMetric(float64(a.Stats().Dropped)/float64(b.N), "dropped/op")
	}
}
