package agent_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/causeway-dev/causeway/agent"
)

// received collects what an OTLP endpoint was sent.
type received struct {
	mu     sync.Mutex
	traces []ptrace.Traces
	auth   []string
}

func (r *received) add(td ptrace.Traces, auth string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.traces = append(r.traces, td)
	r.auth = append(r.auth, auth)
}

// spans returns every span received, by name, with its resource.
func (r *received) spans() (map[string]ptrace.Span, map[string]pcommon.Map) {
	r.mu.Lock()
	defer r.mu.Unlock()
	spans, res := map[string]ptrace.Span{}, map[string]pcommon.Map{}
	for _, td := range r.traces {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				ss := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					spans[ss.At(k).Name()], res[ss.At(k).Name()] = ss.At(k), rs.Resource().Attributes()
				}
			}
		}
	}
	return spans, res
}

// exportTwoSpans ends a PRODUCER span with every kind of attribute, an
// event, a link and an error status, and a child of it, through an agent
// exporting to endpoint; it returns the two spans' contexts and the link's.
func exportTwoSpans(t *testing.T, opts ...agent.Option) (parent, child, linked trace.SpanContext) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := agent.New(ctx, append([]agent.Option{agent.WithService("otlp-test"), agent.WithToken("tok-1"),
		agent.WithResourceAttributes(attribute.String("deployment.environment", "test"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	_, other := a.Tracer().Start(ctx, "other")
	linked = other.SpanContext()
	other.End()
	pctx, p := a.Tracer().Start(ctx, "publish orders", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("link.kind", "cause")}}),
		trace.WithAttributes(attribute.String("s", "v"), attribute.Int64("i", 42), attribute.Float64("f", 1.5), attribute.Bool("b", true),
			attribute.StringSlice("ss", []string{"x", "y"}), attribute.Int64Slice("is", []int64{1, 2}),
			attribute.Float64Slice("fs", []float64{0.5}), attribute.BoolSlice("bs", []bool{false, true})))
	p.AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", 2)))
	p.SetStatus(codes.Error, "broker said no")
	_, c := a.Tracer().Start(pctx, "child", trace.WithSpanKind(trace.SpanKindConsumer))
	c.End()
	p.End()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.Exported != 3 || s.Dropped != 0 {
		t.Fatalf("stats %+v, want 3 exported", s)
	}
	return p.SpanContext(), c.SpanContext(), linked
}

// checkSpans compares what the endpoint received with what was recorded.
func checkSpans(t *testing.T, r *received, parent, child, linked trace.SpanContext) {
	t.Helper()
	spans, res := r.spans()
	p, ok := spans["publish orders"]
	if !ok || len(spans) != 3 {
		t.Fatalf("received %d spans, want publish orders, child and other", len(spans))
	}
	if p.TraceID() != pcommon.TraceID(parent.TraceID()) || p.SpanID() != pcommon.SpanID(parent.SpanID()) || !p.ParentSpanID().IsEmpty() {
		t.Errorf("publish ids %s/%s parent %s", p.TraceID(), p.SpanID(), p.ParentSpanID())
	}
	if p.Kind() != ptrace.SpanKindProducer || p.Status().Code() != ptrace.StatusCodeError || p.Status().Message() != "broker said no" {
		t.Errorf("publish kind %v status %v %q", p.Kind(), p.Status().Code(), p.Status().Message())
	}
	if p.StartTimestamp() == 0 || p.EndTimestamp() < p.StartTimestamp() {
		t.Errorf("publish times %v..%v", p.StartTimestamp(), p.EndTimestamp())
	}
	want := map[string]any{"s": "v", "i": int64(42), "f": 1.5, "b": true, "ss": []any{"x", "y"}, "is": []any{int64(1), int64(2)},
		"fs": []any{0.5}, "bs": []any{false, true}}
	got := p.Attributes().AsRaw()
	for k, v := range want {
		if !equalRaw(got[k], v) {
			t.Errorf("attribute %s = %#v, want %#v", k, got[k], v)
		}
	}
	if p.Events().Len() != 1 || p.Events().At(0).Name() != "retry" || p.Events().At(0).Attributes().AsRaw()["attempt"] != int64(2) {
		t.Errorf("events %v", p.Events().Len())
	}
	if p.Links().Len() != 1 || p.Links().At(0).SpanID() != pcommon.SpanID(linked.SpanID()) ||
		p.Links().At(0).TraceID() != pcommon.TraceID(linked.TraceID()) || p.Links().At(0).Attributes().AsRaw()["link.kind"] != "cause" {
		t.Errorf("links %d", p.Links().Len())
	}
	c := spans["child"]
	if c.ParentSpanID() != pcommon.SpanID(parent.SpanID()) || c.TraceID() != pcommon.TraceID(child.TraceID()) || c.Kind() != ptrace.SpanKindConsumer {
		t.Errorf("child parent %s kind %v", c.ParentSpanID(), c.Kind())
	}
	rm := res["publish orders"].AsRaw()
	if rm["service.name"] != "otlp-test" || rm["deployment.environment"] != "test" {
		t.Errorf("resource %v", rm)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.auth {
		if a != "Bearer tok-1" {
			t.Errorf("authorization %q, want the token", a)
		}
	}
}

func equalRaw(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok != bok {
		return false
	}
	if !aok {
		return a == b
	}
	if len(as) != len(bs) {
		return false
	}
	for i := range as {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

// TestOTLPHTTPExport: the spans an OTLP/HTTP endpoint decodes are the ones
// recorded, field by field (ids, parent, kind, times, every attribute
// type, events, links, status, resource), with the bearer token.
func TestOTLPHTTPExport(t *testing.T) {
	r := new(received)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		er := ptraceotlp.NewExportRequest()
		if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" || er.UnmarshalProto(body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		r.add(er.Traces(), req.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	parent, child, linked := exportTwoSpans(t, agent.WithCollector(srv.URL))
	checkSpans(t, r, parent, child, linked)
}

// TestOTLPHTTPExportRefused: a non-2xx answer drops the batch, counted.
func TestOTLPHTTPExportRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx := context.Background()
	a, err := agent.New(ctx, agent.WithCollector(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, sp := a.Tracer().Start(ctx, "op")
	sp.End()
	a.Close(ctx)
	if s := a.Stats(); s.Exported != 0 || s.Dropped != 1 {
		t.Fatalf("stats %+v, want the span dropped", s)
	}
}

// grpcReceiver is an OTLP/gRPC trace service that records requests.
type grpcReceiver struct {
	ptraceotlp.UnimplementedGRPCServer
	r *received
}

func (g *grpcReceiver) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var auth string
	if v := md.Get("authorization"); len(v) > 0 {
		auth = v[0]
	}
	g.r.add(req.Traces(), auth)
	return ptraceotlp.NewExportResponse(), nil
}

// TestOTLPGRPCExport: the same over OTLP/gRPC, the token as metadata.
func TestOTLPGRPCExport(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := new(received)
	gs := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(gs, &grpcReceiver{r: r})
	go gs.Serve(l)
	defer gs.Stop()
	parent, child, linked := exportTwoSpans(t, agent.WithGRPC(), agent.WithCollector(l.Addr().String()))
	checkSpans(t, r, parent, child, linked)
}
