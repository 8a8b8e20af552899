package natsagent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/natsagent"
)

// A publisher and a subscriber instrumented with the agent, on an
// embedded nats-server. Publish adds the event id, correlation id and W3C
// trace context as message headers; Handle runs the handler in a process
// span linked to the publisher's. In a service, agent.WithCollector names
// the collector instead of the in-memory exporter used here.
func Example() {
	ctx := context.Background()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		panic("nats-server not ready")
	}
	a, err := agent.New(ctx, agent.WithService("inventory"), agent.WithExporter(tracetest.NewInMemoryExporter()))
	if err != nil {
		panic(err)
	}
	defer a.Close(ctx)
	nc, err := natsgo.Connect(ns.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()

	handled := make(chan string, 1)
	sub, err := nc.Subscribe("inventory.reserve", func(m *natsgo.Msg) {
		natsagent.Handle(ctx, a, nc, "inventory", m, agent.Policy{}, func(ctx context.Context, m *natsgo.Msg) error {
			handled <- fmt.Sprintf("handled %s: event id %t, traceparent %t", m.Data, m.Header.Get("ce_id") != "", m.Header.Get("traceparent") != "")
			return nil
		})
	})
	if err != nil {
		panic(err)
	}
	defer sub.Unsubscribe()
	if err := natsagent.Publish(ctx, a, nc, &natsgo.Msg{Subject: "inventory.reserve", Data: []byte(`{"sku":"book"}`)}); err != nil {
		panic(err)
	}
	fmt.Println(<-handled)
	// Output: handled {"sku":"book"}: event id true, traceparent true
}
