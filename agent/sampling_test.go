package agent_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/event"
)

// hopRig is orders → (Kafka "orders") → billing → (Kafka "invoices") →
// mail through kfake, each service with its own agent and in-memory
// exporter.
type hopRig struct {
	t                     *testing.T
	cluster               *kfake.Cluster
	orders, billing, mail *agent.Agent
	exps                  map[string]*tracetest.InMemoryExporter
}

func newHopRig(t *testing.T, orders, billing, mail []agent.Option) *hopRig {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "invoices"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := &hopRig{t: t, cluster: c, exps: map[string]*tracetest.InMemoryExporter{}}
	mk := func(service string, opts []agent.Option) *agent.Agent {
		exp := tracetest.NewInMemoryExporter()
		r.exps[service] = exp
		a, err := agent.New(context.Background(), append([]agent.Option{agent.WithService(service), agent.WithExporter(exp)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(context.Background()) })
		return a
	}
	r.orders, r.billing, r.mail = mk("orders", orders), mk("billing", billing), mk("mail", mail)
	return r
}

func (r *hopRig) client(a *agent.Agent, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(r.cluster.ListenAddrs()...), kgo.WithHooks(kafka.NewTracer(a)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(cl.Close)
	return cl
}

// run sends n orders through both hops and returns, per order (its
// correlation id), the services' spans of its flow.
func (r *hopRig) run(n int) map[string][]string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prod := r.client(r.orders)
	billIn := r.client(r.billing, kgo.ConsumeTopics("orders"))
	billOut := r.client(r.billing)
	mailIn := r.client(r.mail, kgo.ConsumeTopics("invoices"))
	for i := range n {
		rec := &kgo.Record{Topic: "orders", Value: fmt.Appendf(nil, "order-%d", i), Context: ctx}
		if err := prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
			r.t.Fatal(err)
		}
	}
	for got := 0; got < n && ctx.Err() == nil; {
		billIn.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
			got++
			kafka.Handle(ctx, r.billing, billOut, "billing", rec, agent.Policy{}, func(ctx context.Context, rec *kgo.Record) error {
				return billOut.ProduceSync(ctx, &kgo.Record{Topic: "invoices", Value: rec.Value, Context: ctx}).FirstErr()
			})
		})
	}
	var mailed []*kgo.Record
	for len(mailed) < n && ctx.Err() == nil {
		mailIn.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
			mailed = append(mailed, rec)
			kafka.Handle(ctx, r.mail, nil, "mail", rec, agent.Policy{}, func(context.Context, *kgo.Record) error { return nil })
		})
	}
	if len(mailed) != n {
		r.t.Fatalf("%d of %d orders reached mail", len(mailed), n)
	}
	for _, rec := range mailed {
		c := (*kafka.Carrier)(rec)
		if c.Get(event.HeaderCorrelationID) == "" || c.Get(event.HeaderCausationID) == "" || c.Get(event.HeaderTraceparent) == "" {
			r.t.Fatalf("an invoice lacks ids: %v", c.Keys())
		}
	}
	flows := map[string][]string{}
	for _, a := range []*agent.Agent{r.orders, r.billing, r.mail} {
		if err := a.Flush(ctx); err != nil {
			r.t.Fatal(err)
		}
		for _, s := range r.exps[a.Service()].GetSpans() {
			corr := attrs(s)[event.AttrCorrelationID]
			flows[corr] = append(flows[corr], a.Service()+" "+s.Name)
		}
	}
	return flows
}

// TestSamplingKeepsOrDropsFlowsWhole: orders samples flows at 0.5;
// billing's own sampler drops everything it would decide on, mail's
// keeps everything. Neither decides: each follows the producer's
// decision through the link, so every order's flow is either recorded at
// all three services or at none.
func TestSamplingKeepsOrDropsFlowsWhole(t *testing.T) {
	const n = 60
	r := newHopRig(t, []agent.Option{agent.WithSampler(sdktrace.TraceIDRatioBased(0.5))},
		[]agent.Option{agent.WithSampler(sdktrace.NeverSample())}, []agent.Option{agent.WithSampler(sdktrace.AlwaysSample())})
	flows := r.run(n)
	whole := []string{"orders orders publish", "billing orders process", "billing invoices publish", "mail invoices process"}
	for corr, spans := range flows {
		if len(spans) != len(whole) {
			t.Errorf("flow %s recorded in part: %v", corr, spans)
		}
	}
	if len(flows) == 0 || len(flows) == n {
		t.Fatalf("%d of %d flows kept at a 0.5 ratio: the sampler did not decide", len(flows), n)
	}
	if s := r.orders.Stats(); s.Published != n || s.Exported != uint64(len(flows)) {
		t.Errorf("orders stats %+v, want %d published and %d exported", s, n, len(flows))
	}
}

// TestMetadataOnlyHopKeepsTheFlow: billing records no spans, but writes
// ids and trace context with orders' decision, so mail's spans follow
// orders' sampling and name billing's publish as their cause.
func TestMetadataOnlyHopKeepsTheFlow(t *testing.T) {
	const n = 40
	r := newHopRig(t, []agent.Option{agent.WithSampler(sdktrace.TraceIDRatioBased(0.5))},
		[]agent.Option{agent.WithMetadataOnly()}, nil)
	flows := r.run(n)
	if len(flows) == 0 || len(flows) == n {
		t.Fatalf("%d of %d flows kept at a 0.5 ratio", len(flows), n)
	}
	for corr, spans := range flows {
		if len(spans) != 2 || spans[0] != "orders orders publish" || spans[1] != "mail invoices process" {
			t.Errorf("flow %s: %v, want orders' publish and mail's process only", corr, spans)
		}
	}
	if s := r.billing.Stats(); s.Published != n || s.Processed != n || s.Exported != 0 || s.Dropped != 0 {
		t.Errorf("billing stats %+v, want %d published and processed, no spans", s, n)
	}
	for _, s := range r.exps["mail"].GetSpans() {
		if attrs(s)[event.AttrMessagingMessageID] == "" || len(s.Links) != 1 {
			t.Errorf("mail's span lacks its event id or its link to billing's publish: %+v", s)
		}
	}
}
