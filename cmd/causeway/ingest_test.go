package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// sdkApp sends spans through the OpenTelemetry Go SDK, as an instrumented
// service would, and remembers the trace ids it used.
type sdkApp struct {
	tp     *sdktrace.TracerProvider
	traces []string
}

func newSDKApp(t *testing.T, service string, exp sdktrace.SpanExporter) *sdkApp {
	t.Helper()
	res := resource.NewSchemaless(attribute.String("service.name", service))
	return &sdkApp{tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(256)), sdktrace.WithResource(res))}
}

// sendTraces makes n traces of spansPer spans each (a root and children).
func (a *sdkApp) sendTraces(n, spansPer int) {
	tr := a.tp.Tracer("causeway-test")
	for i := 0; i < n; i++ {
		ctx, root := tr.Start(context.Background(), fmt.Sprintf("request %d", i))
		for j := 1; j < spansPer; j++ {
			_, c := tr.Start(ctx, fmt.Sprintf("step %d", j))
			c.End()
		}
		a.traces = append(a.traces, root.SpanContext().TraceID().String())
		root.End()
	}
}

func (a *sdkApp) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.tp.Shutdown(ctx); err != nil {
		t.Fatalf("SDK shutdown (flush): %v", err)
	}
}

// TestOTelSDKSpansStoredExactly sends spans from the OpenTelemetry Go SDK
// over OTLP/HTTP and OTLP/gRPC to a causeway collector and finds every span
// in the store, counts exact, for each store backend.
func TestOTelSDKSpansStoredExactly(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			c := startCollector(t, b.url, t.TempDir())
			ctx := context.Background()
			httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(c.httpAddr), otlptracehttp.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(c.grpcAddr), otlptracegrpc.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			viaHTTP, viaGRPC := newSDKApp(t, "sdk-http", httpExp), newSDKApp(t, "sdk-grpc", grpcExp)
			viaHTTP.sendTraces(300, 4)
			viaGRPC.sendTraces(200, 3)
			viaHTTP.shutdown(t)
			viaGRPC.shutdown(t)

			st := openStore(t, b.url)
			traces := append(append([]string{}, viaHTTP.traces...), viaGRPC.traces...)
			want := 300*4 + 200*3
			eventually(t, 30*time.Second, func() string {
				n, err := countSpans(t, st, traces)
				if err != nil || n != want {
					return fmt.Sprintf("stored spans = %d (err %v), want %d", n, err, want)
				}
				return ""
			})
			if b.rawSpanCounts != nil {
				if rows, unique := b.rawSpanCounts(t); rows != uint64(want) || unique != uint64(want) {
					t.Fatalf("raw span rows = %d, unique = %d, want %d both", rows, unique, want)
				}
			}
			spans, _ := st.Spans(ctx, viaGRPC.traces[0], 0)
			if len(spans) != 3 || spans[0].Service != "sdk-grpc" || spans[0].ParentSpanID != "" || spans[1].ParentSpanID != spans[0].SpanID {
				t.Fatalf("a gRPC trace's spans = %+v", spans)
			}
			c.stop()
		})
	}
}

// TestMessagingSpansBecomeLinkedEvents sends a producer span (current
// semconv keys) and a consumer span linked to it in another trace (old
// keys), as OTel SDK instrumentations do, and checks the causation graph.
func TestMessagingSpansBecomeLinkedEvents(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			c := startCollector(t, b.url, t.TempDir())
			ctx := context.Background()
			exporter := func() sdktrace.SpanExporter {
				exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(c.httpAddr), otlptracehttp.WithInsecure())
				if err != nil {
					t.Fatal(err)
				}
				return exp
			}
			// two services, each with its own SDK and exporter
			producer, consumer := newSDKApp(t, "checkout", exporter()), newSDKApp(t, "billing", exporter())
			_, pub := producer.tp.Tracer("t").Start(ctx, "orders.placed publish",
				trace.WithSpanKind(trace.SpanKindProducer),
				trace.WithAttributes(
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.operation.type", "send"),
					attribute.String("messaging.destination.name", "orders.placed"),
					attribute.String("messaging.destination.partition.id", "2"),
					attribute.Int64("messaging.kafka.offset", 17),
					attribute.String("messaging.message.id", "msg-1"),
					attribute.String("messaging.message.conversation_id", "order-77"),
				))
			pub.End()
			_, proc := consumer.tp.Tracer("t").Start(ctx, "orders.placed process",
				trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithLinks(trace.Link{SpanContext: pub.SpanContext()}),
				trace.WithAttributes(
					attribute.String("messaging.system", "kafka"),
					attribute.String("messaging.operation", "process"),
					attribute.String("messaging.destination", "orders.placed"),
					attribute.Int("messaging.kafka.partition", 2),
					attribute.Int64("messaging.kafka.message.offset", 17),
					attribute.String("messaging.kafka.consumer.group", "billing"),
					attribute.String("messaging.message.id", "msg-1"),
					attribute.String("messaging.message.conversation_id", "order-77"),
				))
			proc.End()
			producer.shutdown(t)
			consumer.shutdown(t)

			st := openStore(t, b.url)
			var g *store.Graph
			var err error
			eventually(t, 30*time.Second, func() string {
				g, err = store.Walk(ctx, st, store.GraphQuery{CorrelationID: "order-77"})
				if err != nil || len(g.Nodes) != 2 || len(g.Edges) != 1 {
					return fmt.Sprintf("graph = %+v, err %v", g, err)
				}
				return ""
			})
			pubID := store.NodeID(pub.SpanContext().TraceID().String(), pub.SpanContext().SpanID().String())
			procID := store.NodeID(proc.SpanContext().TraceID().String(), proc.SpanContext().SpanID().String())
			if e := g.Edges[0]; e.From != pubID || e.To != procID || e.Kind != event.EdgeLink {
				t.Fatalf("edge = %+v, want %s → %s (link)", e, pubID, procID)
			}
			for _, n := range g.Nodes {
				if n.Destination != "orders.placed" || n.Partition != 2 || n.Offset != 17 || n.EventID != "msg-1" {
					t.Errorf("node = %+v", n)
				}
			}
			if g.Nodes[0].Op != event.OpPublish || g.Nodes[1].Op != event.OpProcess || g.Nodes[1].ConsumerGroup != "billing" {
				t.Errorf("ops = %s, %s (group %q)", g.Nodes[0].Op, g.Nodes[1].Op, g.Nodes[1].ConsumerGroup)
			}
			c.stop()
		})
	}
}

// TestOTLPJSONHexIDs posts OTLP/JSON with hex ids (as the spec requires)
// and reads the same ids back.
func TestOTLPJSONHexIDs(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			c := startCollector(t, b.url, t.TempDir())
			now := time.Now().UnixNano()
			body := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-client"}}]},
			"scopeSpans":[{"spans":[
			 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"root","kind":2,
			  "startTimeUnixNano":"%d","endTimeUnixNano":"%d"},
			 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174","name":"child","kind":4,
			  "startTimeUnixNano":"%d","endTimeUnixNano":"%d",
			  "links":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"a1a2a3a4a5a6a7a8"}],
			  "attributes":[{"key":"messaging.system","value":{"stringValue":"nats"}},{"key":"messaging.destination.name","value":{"stringValue":"inventory.reserve"}}]}
			]}]}]}`, now, now+1000, now+10, now+500)
			resp, err := http.Post("http://"+c.httpAddr+"/v1/traces", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST JSON: %s", resp.Status)
			}
			st := openStore(t, b.url)
			var spans []event.Span
			eventually(t, 30*time.Second, func() string {
				spans, err = st.Spans(context.Background(), "5b8efff798038103d269b633813fc60c", 0)
				if err != nil || len(spans) != 2 {
					return fmt.Sprintf("spans = %+v, err %v", spans, err)
				}
				return ""
			})
			if spans[0].SpanID != "eee19b7ec3c1b174" || spans[1].SpanID != "eee19b7ec3c1b175" ||
				spans[1].ParentSpanID != "eee19b7ec3c1b174" || spans[0].Service != "json-client" ||
				len(spans[1].Links) != 1 || spans[1].Links[0].TraceID != "0102030405060708090a0b0c0d0e0f10" || spans[1].Links[0].SpanID != "a1a2a3a4a5a6a7a8" {
				t.Fatalf("round-tripped spans = %+v", spans)
			}
			// spans and events are separate inserts: wait for the event too
			eventually(t, 30*time.Second, func() string {
				page, err := st.Events(context.Background(), store.EventQuery{TraceIDs: []string{"5b8efff798038103d269b633813fc60c"}})
				if err != nil || len(page.Events) != 1 || page.Events[0].System != "nats" || page.Events[0].Destination != "inventory.reserve" {
					return fmt.Sprintf("events = %+v, err %v", page.Events, err)
				}
				return ""
			})
			c.stop()
		})
	}
}

// telemetrygen builds (once, cached) and returns the path of the
// OpenTelemetry Collector's load generator, a client we did not write.
func telemetrygen(t *testing.T) string {
	t.Helper()
	const pkg = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0"
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "causeway-test", "bin")
	path := filepath.Join(bin, "telemetrygen")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	cmd := exec.Command("go", "install", pkg)
	cmd.Dir = os.TempDir() // outside our module: telemetrygen brings its own go.mod
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing telemetrygen: %v\n%s", err, out)
	}
	return path
}

// TestTelemetrygen sends traces with telemetrygen over gRPC and HTTP and
// finds every span in each store.
func TestTelemetrygen(t *testing.T) {
	tg := telemetrygen(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			c := startCollector(t, b.url, t.TempDir())
			const traces, workers = 150, 2 // telemetrygen: traces per worker; each trace is a parent and one child
			for _, mode := range []struct {
				service, endpoint string
				http              bool
			}{
				{"tg-grpc", c.grpcAddr, false}, {"tg-http", c.httpAddr, true},
			} {
				args := []string{"traces", "--otlp-insecure", "--otlp-endpoint", mode.endpoint,
					"--traces", fmt.Sprint(traces), "--workers", fmt.Sprint(workers), "--rate", "0",
					"--child-spans", "1", "--service", mode.service,
					"--telemetry-attributes", `messaging.system="kafka"`}
				if mode.http {
					args = append(args, "--otlp-http")
				}
				if out, err := exec.Command(tg, args...).CombinedOutput(); err != nil {
					t.Fatalf("telemetrygen %v: %v\n%s", args, err, out)
				}
			}
			st := openStore(t, b.url)
			for _, svc := range []string{"tg-grpc", "tg-http"} {
				want := traces * workers * 2
				var got []event.Event
				eventually(t, 30*time.Second, func() string {
					got = got[:0]
					q := store.EventQuery{Service: svc, Limit: 1000}
					for {
						p, err := st.Events(context.Background(), q)
						if err != nil {
							return err.Error()
						}
						got = append(got, p.Events...)
						if p.Next == "" {
							break
						}
						q.Cursor = p.Next
					}
					if len(got) != want {
						return fmt.Sprintf("%s: %d events stored, want %d", svc, len(got), want)
					}
					return ""
				})
				seen := map[string]bool{}
				var traceIDs []string
				for _, e := range got {
					if seen[e.SpanID] {
						t.Fatalf("%s: span %s returned twice", svc, e.SpanID)
					}
					seen[e.SpanID] = true
					if !seen["t"+e.TraceID] {
						seen["t"+e.TraceID] = true
						traceIDs = append(traceIDs, e.TraceID)
					}
				}
				if n, err := countSpans(t, st, traceIDs); err != nil || n != want || len(traceIDs) != traces*workers {
					t.Fatalf("%s: %d traces, %d spans (err %v), want %d and %d", svc, len(traceIDs), n, err, traces*workers, want)
				}
			}
			c.stop()
		})
	}
}
