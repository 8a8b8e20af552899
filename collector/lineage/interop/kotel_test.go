package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// kotelChain is the chain the franz-go services make: kotel records a
// receive span per fetched record and, through WithProcessSpan, a process
// span around the handler.
var kotelChain = []hop{
	{"checkout", "orders.a", event.OpPublish},
	{"shipper", "orders.a", event.OpReceive},
	{"shipper", "orders.a", event.OpProcess},
	{"shipper", "orders.b", event.OpPublish},
	{"audit", "orders.b", event.OpReceive},
	{"audit", "orders.b", event.OpProcess},
}

// kotelService is one franz-go service traced only by kotel, exporting
// its spans over OTLP/HTTP like any Go service with the OpenTelemetry SDK.
type kotelService struct {
	tp     *sdktrace.TracerProvider
	tracer *kotel.Tracer
	cl     *kgo.Client
}

func newKotelService(t *testing.T, name, otlpAddr string, brokers []string, linkSpans bool, opts ...kgo.Opt) *kotelService {
	t.Helper()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(otlpAddr), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(100*time.Millisecond)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(name))))
	topts := []kotel.TracerOpt{kotel.TracerProvider(tp), kotel.TracerPropagator(propagation.TraceContext{}), kotel.ConsumerGroup(name)}
	if linkSpans {
		topts = append(topts, kotel.LinkSpans())
	}
	tracer := kotel.NewTracer(topts...)
	k := kotel.NewKotel(kotel.WithTracer(tracer))
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.WithHooks(k.Hooks()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	s := &kotelService{tp: tp, tracer: tracer, cl: cl}
	t.Cleanup(func() {
		cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

// consume handles n records of the service's group, each within a
// process span, then flushes the service's spans.
func (s *kotelService) consume(ctx context.Context, n int, handle func(context.Context, *kgo.Record) error) error {
	for seen := 0; seen < n; {
		fs := s.cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, r := range fs.Records() {
			pctx, span := s.tracer.WithProcessSpan(r)
			err := handle(pctx, r)
			span.End()
			if err != nil {
				return err
			}
			seen++
		}
	}
	return s.tp.ForceFlush(ctx)
}

// runKotelChain runs checkout → orders.a → shipper → orders.b → audit
// with franz-go clients traced only by kotel.
func runKotelChain(t *testing.T, brokers []string, otlpAddr string, linkSpans bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checkout := newKotelService(t, "checkout", otlpAddr, brokers, linkSpans)
	shipper := newKotelService(t, "shipper", otlpAddr, brokers, linkSpans,
		kgo.ConsumerGroup("shipper"), kgo.ConsumeTopics("orders.a"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	audit := newKotelService(t, "audit", otlpAddr, brokers, linkSpans,
		kgo.ConsumerGroup("audit"), kgo.ConsumeTopics("orders.b"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))

	for i := 1; i <= orders; i++ {
		id := fmt.Sprintf("order-%d", i)
		r := &kgo.Record{Topic: "orders.a", Key: []byte(id), Value: []byte(`{"order":"` + id + `"}`)}
		if err := checkout.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := checkout.tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() {
		errs <- shipper.consume(ctx, orders, func(ctx context.Context, r *kgo.Record) error {
			// The handler produces with the process span's context.
			return shipper.cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.b", Key: r.Key, Value: r.Value}).FirstErr()
		})
	}()
	go func() {
		errs <- audit.consume(ctx, orders, func(context.Context, *kgo.Record) error { return nil })
	}()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestKotelChain runs the chain with franz-go services traced only by
// kotel (no Causeway agent), in kotel's default mode (a consumer span is
// the child of the producer's) and in LinkSpans mode (a new root linked
// to it): every order id finds its six events, connected, as a message key,
// in the API and in the UI's search box.
func TestKotelChain(t *testing.T) {
	for _, mode := range []struct {
		name      string
		linkSpans bool
		edges     []event.EdgeKind
	}{
		{"default", false, []event.EdgeKind{event.EdgeParent, event.EdgeParent, event.EdgeParent, event.EdgeParent, event.EdgeParent}},
		{"LinkSpans", true, []event.EdgeKind{event.EdgeLink, event.EdgeLink, event.EdgeParent, event.EdgeLink, event.EdgeLink}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			kc := kafkaCluster(t)
			s := startStudio(t, "", lineage.InheritConfig{})
			runKotelChain(t, kc.ListenAddrs(), s.srv.Collector().HTTPAddr(), mode.linkSpans)
			for i := 1; i <= orders; i++ {
				key := fmt.Sprintf("order-%d", i)
				eventually(t, 20*time.Second, func() error {
					g := s.idGraph(key)
					if g.Matched != store.IDMessageKey {
						return fmt.Errorf("%s: matched %q, want %q", key, g.Matched, store.IDMessageKey)
					}
					if err := checkChain(g, key, kotelChain); err != nil {
						return err
					}
					return checkEdgeKinds(g, key, mode.edges)
				})
			}
			eventually(t, 10*time.Second, func() error {
				return s.checkFlows([]string{"checkout", "shipper", "audit"}, []string{"orders.a", "orders.b"},
					[][2]string{{"checkout", "orders.a"}, {"orders.a", "shipper"}, {"shipper", "orders.b"}, {"orders.b", "audit"}})
			})
			searchInUI(t, s, "order-7", kotelChain)
		})
	}
}

// checkEdgeKinds checks the kinds of a chain's edges from its root on
// (checkChain has checked it is one chain).
func checkEdgeKinds(g graph, key string, kinds []event.EdgeKind) error {
	into := map[string]bool{}
	out := map[string]store.GraphEdge{}
	for _, e := range g.Edges {
		into[e.To] = true
		out[e.From] = e
	}
	at := ""
	for _, n := range g.Nodes {
		if id := store.NodeID(n.TraceID, n.SpanID); !into[id] {
			at = id
		}
	}
	for i, k := range kinds {
		e, ok := out[at]
		if !ok || e.Kind != k {
			return fmt.Errorf("%s: edge %d is %q, want %q: %s", key, i, e.Kind, k, describe(g))
		}
		at = e.To
	}
	return nil
}
