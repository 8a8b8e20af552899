package kafka_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
)

// A producer and a consumer instrumented with the agent, on an in-memory
// Kafka (kfake). The hooks add the event id, correlation id and W3C trace
// context to the record; Handle runs the handler in a process span linked
// to the producer's. In a service, agent.WithCollector names the collector
// instead of the in-memory exporter used here.
func Example() {
	ctx := context.Background()
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders.placed"))
	if err != nil {
		panic(err)
	}
	defer broker.Close()
	a, err := agent.New(ctx, agent.WithService("orders"), agent.WithExporter(tracetest.NewInMemoryExporter()))
	if err != nil {
		panic(err)
	}
	defer a.Close(ctx)
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.ListenAddrs()...), kgo.WithHooks(kafka.NewTracer(a)),
		kgo.ConsumerGroup("payments"), kgo.ConsumeTopics("orders.placed"))
	if err != nil {
		panic(err)
	}
	defer cl.Close()

	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.placed", Value: []byte(`{"id":"order-1"}`)}).FirstErr(); err != nil {
		panic(err)
	}
	cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
		kafka.Handle(ctx, a, cl, "payments", r, agent.Policy{}, func(ctx context.Context, r *kgo.Record) error {
			c := &kafka.Carrier{Headers: r.Headers}
			fmt.Printf("handled %s: event id %t, traceparent %t\n", r.Value, c.Get("ce_id") != "", c.Get("traceparent") != "")
			return nil
		})
	})
	// Output: handled {"id":"order-1"}: event id true, traceparent true
}
