package kafka_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/event"
)

// BenchmarkHooksAndHandle is the agent's work per record on one
// goroutine, without a broker: the producer hooks on a new record, then
// Handle on a copy of it as a consumer would fetch it. It isolates the
// agent's own cost in each mode (BenchmarkProduceConsume measures it in
// a whole process beside kfake).
func BenchmarkHooksAndHandle(b *testing.B) {
	for _, mode := range []string{"agent", "agent-sampled", "agent-metadata"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			opts := []agent.Option{agent.WithService("bench"), agent.WithExporter(&countingExporter{})}
			switch mode {
			case "agent-sampled":
				opts = append(opts, agent.WithSampler(sdktrace.TraceIDRatioBased(0.1)))
			case "agent-metadata":
				opts = append(opts, agent.WithMetadataOnly())
			}
			a, err := agent.New(ctx, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close(ctx)
			t := kafka.NewTracer(a)
			value := make([]byte, 1024)
			handler := func(context.Context, *kgo.Record) error { return nil }
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r := &kgo.Record{Topic: "bench", Value: value, Context: ctx}
				t.OnProduceRecordBuffered(r)
				r.Partition, r.Offset = 0, int64(i)
				t.OnProduceRecordUnbuffered(r, nil)
				fetched := &kgo.Record{Topic: "bench", Value: value, Headers: r.Headers, Partition: 0, Offset: int64(i)}
				if res := kafka.Handle(ctx, a, nil, "bench", fetched, agent.Policy{}, handler); res.Outcome != event.OutcomeOK {
					b.Fatal(res)
				}
			}
		})
	}
}
