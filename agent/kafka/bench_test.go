package kafka_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
)

// BenchmarkProduceConsume produces records through kfake and consumes
// them, bare, with this agent (producer hooks plus a process span per
// record) and with franz-go's own kotel plugin, spans going to a no-op
// exporter in both instrumented cases; and with the agent exporting over
// OTLP/HTTP to a live endpoint (collector up) and to a closed port
// (collector down), both encoding every span. make bench puts the ratios in
// docs/benchmarks.md.
func BenchmarkProduceConsume(b *testing.B) {
	// An OTLP/HTTP endpoint that accepts everything: the collector-up case.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer sink.Close()
	for _, mode := range []string{"bare", "agent", "agent-collector-up", "agent-collector-down", "kotel"} {
		b.Run(mode, func(b *testing.B) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "bench"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			var hooks []kgo.Hook
			var process func(r *kgo.Record)
			switch mode {
			case "agent", "agent-collector-up", "agent-collector-down":
				opt := agent.WithExporter(tracetest.NewNoopExporter())
				if mode == "agent-collector-up" {
					opt = agent.WithCollector(sink.URL)
				}
				if mode == "agent-collector-down" {
					// OTLP to a port nobody listens on: every export fails.
					l, _ := net.Listen("tcp", "127.0.0.1:0")
					addr := l.Addr().String()
					l.Close()
					opt = agent.WithCollector("http://" + addr)
				}
				a, err := agent.New(ctx, agent.WithService("bench"), opt)
				if err != nil {
					b.Fatal(err)
				}
				defer a.Close(ctx)
				hooks = []kgo.Hook{kafka.NewTracer(a)}
				process = func(r *kgo.Record) {
					kafka.Handle(ctx, a, nil, "bench", r, agent.Policy{}, func(context.Context, *kgo.Record) error { return nil })
				}
			case "kotel":
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
				defer tp.Shutdown(ctx)
				tr := kotel.NewTracer(kotel.TracerProvider(tp), kotel.LinkSpans())
				hooks = kotel.NewKotel(kotel.WithTracer(tr)).Hooks()
				process = func(r *kgo.Record) {
					_, span := tr.WithProcessSpan(r)
					span.End()
				}
			default:
				process = func(*kgo.Record) {}
			}
			prod, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.WithHooks(hooks...), kgo.DefaultProduceTopic("bench"))
			defer prod.Close()
			cons, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.WithHooks(hooks...), kgo.ConsumeTopics("bench"),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			defer cons.Close()
			value := make([]byte, 1024)
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			b.ResetTimer()
			done := make(chan struct{})
			go func() {
				defer close(done)
				for n := 0; n < b.N; {
					cons.PollFetches(ctx).EachRecord(func(r *kgo.Record) { process(r); n++ })
				}
			}()
			for i := 0; i < b.N; i++ {
				prod.Produce(ctx, &kgo.Record{Value: value, Context: ctx}, nil)
			}
			prod.Flush(ctx)
			<-done
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
