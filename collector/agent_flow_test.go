package collector_test

// The agent library's end-to-end tests: services instrumented with the
// agent (module github.com/causeway-dev/causeway/agent) on kfake and an
// embedded JetStream, exporting to this collector, which stores into the
// embedded store. They live in the main module because the agent module
// must not depend on the collector or the stores.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/agent/natsagent"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
)

// rig is a Kafka (kfake), a NATS JetStream server and a Causeway
// collector with an embedded store, all in the test process.
type rig struct {
	t       *testing.T
	kafka   *kfake.Cluster
	nats    *server.Server
	nc      *natsgo.Conn
	js      jetstream.JetStream
	store   *embedded.Store
	otlpURL string
	ctx     context.Context
	wg      sync.WaitGroup
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, ctx: ctx}
	var err error
	r.kafka, err = kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(1, "orders.placed", "orders.placed.dlq", "shipments.scheduled"))
	if err != nil {
		t.Fatal(err)
	}
	r.nats = brokertest.JetStream(t, server.Options{})
	if r.nc, err = natsgo.Connect(r.nats.ClientURL()); err != nil {
		t.Fatal(err)
	}
	if r.js, err = jetstream.New(r.nc); err != nil {
		t.Fatal(err)
	}
	if _, err := r.js.CreateStream(ctx, jetstream.StreamConfig{Name: "INVENTORY", Subjects: []string{"inventory.>"}}); err != nil {
		t.Fatal(err)
	}
	if r.store, err = embedded.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir, cfg.FlushInterval = "127.0.0.1:0", collector.Off, t.TempDir(), 50*time.Millisecond
	col, err := collector.New(cfg, r.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.otlpURL = "http://" + col.HTTPAddr()
	t.Cleanup(func() {
		cancel()
		r.wg.Wait()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		col.Shutdown(sctx)
		r.store.Close()
		r.nc.Close()
		r.kafka.Close()
	})
	return r
}

func (r *rig) agent(service string) *agent.Agent {
	a, err := agent.New(r.ctx, agent.WithService(service), agent.WithCollector(r.otlpURL), agent.WithBatchSize(16))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a
}

func (r *rig) kafkaClient(a *agent.Agent, opts ...kgo.Opt) *kgo.Client {
	opts = append(opts, kgo.SeedBrokers(r.kafka.ListenAddrs()...), kgo.WithHooks(kafka.NewTracer(a)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(cl.Close)
	return cl
}

// consumeKafka runs fn for every record of topic in group until the rig stops.
func (r *rig) consumeKafka(cl *kgo.Client, fn func(*kgo.Record)) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for r.ctx.Err() == nil {
			fs := cl.PollFetches(r.ctx)
			fs.EachRecord(fn)
		}
	}()
}

// The shop's three hops: orders → (Kafka orders.placed) → inventory →
// (NATS inventory.reserved) → shipping → (Kafka shipments.scheduled).
type shop struct {
	orders, inventory, shipping *agent.Agent
	ordersKafka                 *kgo.Client
	processed                   chan string
}

func startShop(r *rig) *shop {
	s := &shop{orders: r.agent("orders"), inventory: r.agent("inventory"), shipping: r.agent("shipping"), processed: make(chan string, 100)}
	s.ordersKafka = r.kafkaClient(s.orders)

	invKafka := r.kafkaClient(s.inventory, kgo.ConsumerGroup("inventory"), kgo.ConsumeTopics("orders.placed"))
	policy := agent.Policy{MaxAttempts: 3, Backoff: 10 * time.Millisecond, DeadLetter: true, Dedup: agent.NewMemoryDedup(1000)}
	r.consumeKafka(invKafka, func(rec *kgo.Record) {
		kafka.Handle(r.ctx, s.inventory, invKafka, "inventory", rec, policy, func(ctx context.Context, rec *kgo.Record) error {
			if string(rec.Value) == "poison" {
				return agent.Permanent(errors.New("cannot parse order: poison"))
			}
			_, err := natsagent.PublishJS(ctx, s.inventory, r.js, &natsgo.Msg{Subject: "inventory.reserved", Data: rec.Value})
			return err
		})
	})

	shipKafka := r.kafkaClient(s.shipping)
	cons, err := r.js.CreateOrUpdateConsumer(r.ctx, "INVENTORY", jetstream.ConsumerConfig{Durable: "shipping", FilterSubject: "inventory.reserved", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		r.t.Fatal(err)
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for r.ctx.Err() == nil {
			batch, err := cons.Fetch(10, jetstream.FetchMaxWait(200*time.Millisecond))
			if err != nil {
				continue
			}
			for m := range batch.Messages() {
				natsagent.HandleJS(r.ctx, s.shipping, r.js, "shipping", m, agent.Policy{}, func(ctx context.Context, m jetstream.Msg) error {
					err := shipKafka.ProduceSync(ctx, &kgo.Record{Topic: "shipments.scheduled", Value: m.Data(), Context: ctx}).FirstErr()
					s.processed <- string(m.Data())
					return err
				})
			}
		}
	}()
	return s
}

func flush(t *testing.T, agents ...*agent.Agent) {
	for _, a := range agents {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connected reports whether the graph is one connected component.
func connected(g *store.Graph) bool {
	if len(g.Nodes) == 0 {
		return false
	}
	adj := map[string][]string{}
	for _, e := range g.Edges {
		adj[e.From] = append(adj[e.From], e.To)
		adj[e.To] = append(adj[e.To], e.From)
	}
	start := store.NodeID(g.Nodes[0].TraceID, g.Nodes[0].SpanID)
	seen := map[string]bool{start: true}
	stack := []string{start}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, m := range adj[n] {
			if !seen[m] {
				seen[m] = true
				stack = append(stack, m)
			}
		}
	}
	return len(seen) == len(g.Nodes)
}

func TestThreeHopFlowIsOneGraph(t *testing.T) {
	r := newRig(t)
	s := startShop(r)
	ctx := r.ctx
	order := &kgo.Record{Topic: "orders.placed", Value: []byte(`{"order":8123}`), Context: ctx}
	(*kafka.Carrier)(order).Set(event.HeaderCorrelationID, "order-8123")
	if err := s.ordersKafka.ProduceSync(ctx, order).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.processed:
	case <-time.After(20 * time.Second):
		t.Fatal("the order never reached shipping")
	}
	time.Sleep(200 * time.Millisecond) // let shipping's produce and ack end their spans
	flush(t, s.orders, s.inventory, s.shipping)

	var g *store.Graph
	waitFor(t, "a 6-node causation graph", 15*time.Second, func() bool {
		var err error
		g, err = store.Walk(ctx, r.store, store.GraphQuery{CorrelationID: "order-8123"})
		return err == nil && len(g.Nodes) >= 6
	})
	ops := map[string]int{}
	for _, n := range g.Nodes {
		ops[n.Service+" "+string(n.Op)+" "+n.System+" "+n.Destination]++
		if n.CorrelationID != "order-8123" {
			t.Errorf("node %s %s has correlation %q", n.Service, n.Op, n.CorrelationID)
		}
		if n.Outcome != event.OutcomeOK {
			t.Errorf("node %s %s outcome %s", n.Service, n.Op, n.Outcome)
		}
	}
	want := []string{
		"orders publish kafka orders.placed",
		"inventory process kafka orders.placed",
		"inventory publish nats inventory.reserved",
		"shipping process nats inventory.reserved",
		"shipping settle nats inventory.reserved",
		"shipping publish kafka shipments.scheduled",
	}
	for _, w := range want {
		if ops[w] != 1 {
			t.Errorf("graph has %d × %q; nodes: %v", ops[w], w, ops)
		}
	}
	if !connected(g) {
		t.Fatalf("graph is not connected: %d nodes, edges %+v", len(g.Nodes), g.Edges)
	}
	links := 0
	for _, e := range g.Edges {
		if e.Kind == event.EdgeLink {
			links++
		}
	}
	if links != 2 {
		t.Errorf("%d link edges, want 2 (one per consumer hop)", links)
	}
	var pub event.Event
	for _, n := range g.Nodes {
		if n.Service == "orders" {
			pub = n
		}
	}
	if pub.Partition != 0 || pub.Offset < 0 || pub.EventID == "" {
		t.Errorf("producer event lacks its location or id: %+v", pub)
	}
}

func TestPoisonMessageIsDeadLettered(t *testing.T) {
	r := newRig(t)
	s := startShop(r)
	ctx := r.ctx
	poison := &kgo.Record{Topic: "orders.placed", Value: []byte("poison"), Context: ctx}
	if err := s.ordersKafka.ProduceSync(ctx, poison).FirstErr(); err != nil {
		t.Fatal(err)
	}
	id := (*kafka.Carrier)(poison).Get(event.HeaderEventID)
	dlq, err := kgo.NewClient(kgo.SeedBrokers(r.kafka.ListenAddrs()...), kgo.ConsumeTopics("orders.placed.dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var got *kgo.Record
	for got == nil && fctx.Err() == nil {
		dlq.PollFetches(fctx).EachRecord(func(rec *kgo.Record) { got = rec })
	}
	if got == nil {
		t.Fatal("nothing arrived on orders.placed.dlq")
	}
	c := (*kafka.Carrier)(got)
	if string(got.Value) != "poison" || c.Get(event.HeaderEventID) != id ||
		c.Get(event.HeaderSpringDLTOriginalTopic) != "orders.placed" || c.Get(event.HeaderSpringDLTOriginalOffset) != "0" ||
		!strings.Contains(c.Get(event.HeaderSpringDLTExceptionMessage), "poison") {
		t.Fatalf("DLQ record: value %q headers %v", got.Value, c.Keys())
	}
	flush(t, s.orders, s.inventory)
	var evs []event.Event
	waitFor(t, "the dead-lettering in the store", 15*time.Second, func() bool {
		p, err := r.store.Events(ctx, store.EventQuery{EventIDs: []string{id}})
		evs = p.Events
		return err == nil && len(evs) >= 3
	})
	kinds := map[string]bool{}
	for _, e := range evs {
		kinds[string(e.Op)+"/"+string(e.Outcome)] = true
	}
	for _, k := range []string{"publish/ok", "process/dead_lettered", "dead_letter/ok"} {
		if !kinds[k] {
			t.Errorf("no %s event for the poison message; have %v", k, kinds)
		}
	}
}

// TestKcatProducer has a client we did not write (librdkafka's kcat)
// produce to the instrumented consumer: no headers, no trace context.
func TestKcatProducer(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI requires kcat (apt-get install kcat)")
		}
		t.Skip("kcat not installed")
	}
	r := newRig(t)
	s := startShop(r)
	cmd := exec.Command(kcat, "-b", r.kafka.ListenAddrs()[0], "-t", "orders.placed", "-P", "-k", "from-kcat")
	cmd.Stdin = strings.NewReader(`{"order":"kcat-1"}` + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	select {
	case v := <-s.processed:
		if v != `{"order":"kcat-1"}` {
			t.Fatalf("shipping got %q", v)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the kcat record never reached shipping")
	}
	time.Sleep(200 * time.Millisecond)
	flush(t, s.inventory, s.shipping)
	waitFor(t, "the kcat record's processing in the store", 15*time.Second, func() bool {
		p, err := r.store.Events(r.ctx, store.EventQuery{Service: "inventory", Destination: "orders.placed"})
		if err != nil || len(p.Events) != 1 {
			return false
		}
		e := p.Events[0]
		// unknown producer: no link, the span id stands in as event id
		g, err := store.Walk(r.ctx, r.store, store.GraphQuery{EventID: e.EventID})
		return e.Op == event.OpProcess && len(e.Links) == 0 && err == nil && len(g.Nodes) >= 4 && connected(g)
	})
}
