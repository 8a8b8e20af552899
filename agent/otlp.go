package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// otlpExporter sends spans as OTLP protobuf, over HTTP (POST
// <endpoint>/v1/traces) or gRPC. It encodes with the OpenTelemetry
// Collector's pdata rather than through the SDK's OTLP exporters: those
// import the OTLP protos' generated gRPC gateway, which would put
// grpc-gateway into every module that uses the agent. It does not retry
// (the queue counts a failed batch as dropped).
type otlpExporter struct {
	headers map[string]string

	// HTTP
	url       string
	client    *http.Client
	transport *http.Transport

	// gRPC
	conn *grpc.ClientConn
	rpc  ptraceotlp.GRPCClient
}

// newExporter is the OTLP exporter cfg describes. It does not connect.
func newExporter(_ context.Context, cfg config) (sdktrace.SpanExporter, error) {
	e := &otlpExporter{headers: cfg.headers()}
	if cfg.grpc {
		ep := strings.TrimPrefix(strings.TrimPrefix(cfg.endpoint, "http://"), "https://")
		if ep == "127.0.0.1:4318" {
			ep = "127.0.0.1:4317"
		}
		creds := insecure.NewCredentials()
		if cfg.tls != nil || strings.HasPrefix(cfg.endpoint, "https://") {
			tc := cfg.tls
			if tc == nil {
				tc = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			creds = credentials.NewTLS(tc)
		}
		conn, err := grpc.NewClient(ep, grpc.WithTransportCredentials(creds))
		if err != nil {
			return nil, fmt.Errorf("agent: OTLP/gRPC exporter for %q: %w", cfg.endpoint, err)
		}
		e.conn, e.rpc = conn, ptraceotlp.NewGRPCClient(conn)
		return e, nil
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.endpoint, "/") + "/v1/traces")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agent: OTLP exporter for %q: want http://host:port or https://host:port", cfg.endpoint)
	}
	e.url = u.String()
	e.transport = http.DefaultTransport.(*http.Transport).Clone()
	if cfg.tls != nil {
		e.transport.TLSClientConfig = cfg.tls
	}
	e.client = &http.Client{Transport: e.transport}
	return e, nil
}

// ExportSpans sends spans in one request, bounded by ctx.
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	req := ptraceotlp.NewExportRequestFromTraces(toTraces(spans))
	if e.rpc != nil {
		for k, v := range e.headers {
			ctx = metadata.AppendToOutgoingContext(ctx, strings.ToLower(k), v)
		}
		_, err := e.rpc.Export(ctx, req)
		return err
	}
	body, err := req.MarshalProto()
	if err != nil {
		return err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	for k, v := range e.headers {
		hreq.Header.Set(k, v)
	}
	resp, err := e.client.Do(hreq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // read to the end: the connection is reused
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("agent: OTLP export to %s: %s: %s", e.url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Shutdown closes the connections.
func (e *otlpExporter) Shutdown(context.Context) error {
	if e.conn != nil {
		return e.conn.Close()
	}
	e.transport.CloseIdleConnections()
	return nil
}

// toTraces converts SDK spans to pdata, one ResourceSpans per resource
// and one ScopeSpans per instrumentation scope within it.
func toTraces(spans []sdktrace.ReadOnlySpan) ptrace.Traces {
	td := ptrace.NewTraces()
	type scopeKey struct {
		res   *resource.Resource
		scope instrumentation.Scope
	}
	resources := map[*resource.Resource]ptrace.ResourceSpans{}
	scopes := map[scopeKey]ptrace.SpanSlice{}
	for _, s := range spans {
		res := s.Resource()
		rs, ok := resources[res]
		if !ok {
			rs = td.ResourceSpans().AppendEmpty()
			if res != nil {
				rs.SetSchemaUrl(res.SchemaURL())
				putAttrs(rs.Resource().Attributes(), res.Attributes())
			}
			resources[res] = rs
		}
		key := scopeKey{res, s.InstrumentationScope()}
		ss, ok := scopes[key]
		if !ok {
			sc := rs.ScopeSpans().AppendEmpty()
			sc.Scope().SetName(key.scope.Name)
			sc.Scope().SetVersion(key.scope.Version)
			sc.SetSchemaUrl(key.scope.SchemaURL)
			ss = sc.Spans()
			scopes[key] = ss
		}
		putSpan(ss.AppendEmpty(), s)
	}
	return td
}

func putSpan(d ptrace.Span, s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	d.SetTraceID(pcommon.TraceID(sc.TraceID()))
	d.SetSpanID(pcommon.SpanID(sc.SpanID()))
	d.TraceState().FromRaw(sc.TraceState().String())
	if p := s.Parent(); p.SpanID().IsValid() {
		d.SetParentSpanID(pcommon.SpanID(p.SpanID()))
	}
	d.SetName(s.Name())
	d.SetKind(ptrace.SpanKind(s.SpanKind())) // the SDK's kinds are numbered as OTLP's
	d.SetStartTimestamp(pcommon.NewTimestampFromTime(s.StartTime()))
	d.SetEndTimestamp(pcommon.NewTimestampFromTime(s.EndTime()))
	putAttrs(d.Attributes(), s.Attributes())
	d.SetDroppedAttributesCount(uint32(max(s.DroppedAttributes(), 0)))
	for _, ev := range s.Events() {
		de := d.Events().AppendEmpty()
		de.SetName(ev.Name)
		de.SetTimestamp(pcommon.NewTimestampFromTime(ev.Time))
		putAttrs(de.Attributes(), ev.Attributes)
	}
	for _, l := range s.Links() {
		dl := d.Links().AppendEmpty()
		dl.SetTraceID(pcommon.TraceID(l.SpanContext.TraceID()))
		dl.SetSpanID(pcommon.SpanID(l.SpanContext.SpanID()))
		dl.TraceState().FromRaw(l.SpanContext.TraceState().String())
		putAttrs(dl.Attributes(), l.Attributes)
	}
	switch st := s.Status(); st.Code {
	case codes.Error:
		d.Status().SetCode(ptrace.StatusCodeError)
		d.Status().SetMessage(st.Description)
	case codes.Ok:
		d.Status().SetCode(ptrace.StatusCodeOk)
	}
}

// putAttrs copies OpenTelemetry attributes into a pdata map.
func putAttrs(m pcommon.Map, kvs []attribute.KeyValue) {
	m.EnsureCapacity(len(kvs))
	for _, kv := range kvs {
		k := string(kv.Key)
		switch kv.Value.Type() {
		case attribute.BOOL:
			m.PutBool(k, kv.Value.AsBool())
		case attribute.INT64:
			m.PutInt(k, kv.Value.AsInt64())
		case attribute.FLOAT64:
			m.PutDouble(k, kv.Value.AsFloat64())
		case attribute.STRING:
			m.PutStr(k, kv.Value.AsString())
		case attribute.BOOLSLICE:
			sl := m.PutEmptySlice(k)
			for _, v := range kv.Value.AsBoolSlice() {
				sl.AppendEmpty().SetBool(v)
			}
		case attribute.INT64SLICE:
			sl := m.PutEmptySlice(k)
			for _, v := range kv.Value.AsInt64Slice() {
				sl.AppendEmpty().SetInt(v)
			}
		case attribute.FLOAT64SLICE:
			sl := m.PutEmptySlice(k)
			for _, v := range kv.Value.AsFloat64Slice() {
				sl.AppendEmpty().SetDouble(v)
			}
		case attribute.STRINGSLICE:
			sl := m.PutEmptySlice(k)
			for _, v := range kv.Value.AsStringSlice() {
				sl.AppendEmpty().SetStr(v)
			}
		default:
			m.PutStr(k, kv.Value.Emit())
		}
	}
}

var _ sdktrace.SpanExporter = (*otlpExporter)(nil)
