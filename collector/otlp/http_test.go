package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// sink is a Consumer that counts what it gets.
type sink struct {
	mu     sync.Mutex
	spans  int
	points int
	err    error
}

func (s *sink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.spans += td.SpanCount()
	return nil
}

func (s *sink) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.points += md.DataPointCount()
	return nil
}

func newServer(t testing.TB, c Consumer, l Limits) *httptest.Server {
	mux := http.NewServeMux()
	NewHTTP(c, l, NewGate(4), slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func traces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		sp := ss.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{1, byte(i)}))
		sp.SetSpanID(pcommon.SpanID([8]byte{2, byte(i)}))
		sp.SetName("op")
		sp.Attributes().PutStr("k", "v")
	}
	return td
}

func protoBody(t testing.TB, n int) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(traces(n)).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, url, ct, enc string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestHTTPAcceptsProtobufJSONAndGzip(t *testing.T) {
	s := &sink{}
	srv := newServer(t, s, Limits{})
	js, _ := ptraceotlp.NewExportRequestFromTraces(traces(2)).MarshalJSON()
	for _, c := range []struct {
		ct, enc string
		body    []byte
	}{
		{ctProtobuf, "", protoBody(t, 3)},
		{ctJSON + "; charset=utf-8", "", js},
		{ctProtobuf, "gzip", gz(protoBody(t, 3))},
		{ctJSON, "gzip", gz(js)},
	} {
		resp, body := post(t, srv.URL+TracesPath, c.ct, c.enc, c.body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s %s", c.ct, c.enc, resp.Status, body)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), strings.Split(c.ct, ";")[0]) {
			t.Errorf("response content type %q for request %q", resp.Header.Get("Content-Type"), c.ct)
		}
	}
	if s.spans != 10 {
		t.Fatalf("consumed %d spans, want 10", s.spans)
	}
	m := pmetric.NewMetrics()
	g := m.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("kafka.consumer_group.lag")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(5)
	mb, _ := (&pmetric.ProtoMarshaler{}).MarshalMetrics(m)
	if resp, body := post(t, srv.URL+MetricsPath, ctProtobuf, "", mb); resp.StatusCode != 200 || s.points != 1 {
		t.Fatalf("metrics: %s %s, points %d", resp.Status, body, s.points)
	}
}

func TestHTTPBadInput(t *testing.T) {
	s := &sink{}
	srv := newServer(t, s, Limits{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 4 << 20})
	valid := protoBody(t, 5)
	invalidUTF8 := traces(1)
	invalidUTF8.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("bad", "\xff\xfe")
	badUTF8, _ := ptraceotlp.NewExportRequestFromTraces(invalidUTF8).MarshalProto()
	bomb := gz(make([]byte, 64<<20)) // 64 MiB of zeros in ~64 KiB
	cases := []struct {
		name, ct, enc string
		body          []byte
		status        int
	}{
		{"truncated protobuf", ctProtobuf, "", valid[:len(valid)-7], 400},
		{"garbage protobuf", ctProtobuf, "", []byte("\xff\xff\xff\xff\xff"), 400},
		{"malformed JSON", ctJSON, "", []byte(`{"resourceSpans":[{`), 400},
		{"hex id of wrong length", ctJSON, "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"01"}]}]}]}`), 400},
		{"wrong content type", "text/plain", "", valid, 415},
		{"no content type", "", "", valid, 415},
		{"unknown encoding", ctProtobuf, "br", valid, 415},
		{"not gzip", ctProtobuf, "gzip", valid, 400},
		{"gzip bomb", ctProtobuf, "gzip", bomb, 413},
		{"50 MB body", ctProtobuf, "", make([]byte, 50<<20), 413},
		{"invalid UTF-8", ctProtobuf, "", badUTF8, 400},
	}
	for _, c := range cases {
		resp, body := post(t, srv.URL+TracesPath, c.ct, c.enc, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s, want %d (%s)", c.name, resp.Status, c.status, body)
			continue
		}
		pb := status.New(codes.OK, "").Proto()
		unmarshal := proto.Unmarshal
		if c.ct == ctJSON {
			unmarshal = protojson.Unmarshal
		}
		if err := unmarshal(body, pb); err != nil || pb.Message == "" {
			t.Errorf("%s: error body is not a google.rpc.Status with a message: %q (%v)", c.name, body, err)
		}
		// the server keeps serving
		if resp, body := post(t, srv.URL+TracesPath, ctProtobuf, "", valid); resp.StatusCode != 200 {
			t.Fatalf("after %s: valid request got %s %s", c.name, resp.Status, body)
		}
	}
	if resp, _ := http.Get(srv.URL + TracesPath); resp.StatusCode != 405 {
		t.Errorf("GET: %s, want 405", resp.Status)
	}
	if s.spans != 5*len(cases) {
		t.Errorf("consumed %d spans, want %d (only the valid requests)", s.spans, 5*len(cases))
	}
}

func TestHTTPConsumerErrors(t *testing.T) {
	s := &sink{err: ErrFull}
	srv := newServer(t, s, Limits{})
	resp, _ := post(t, srv.URL+TracesPath, ctProtobuf, "", protoBody(t, 1))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("full: %s retry-after %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	s.err = io.ErrUnexpectedEOF
	if resp, _ := post(t, srv.URL+TracesPath, ctProtobuf, "", protoBody(t, 1)); resp.StatusCode != 503 {
		t.Fatalf("failing consumer: %s, want 503", resp.Status)
	}
}

// FuzzHTTPTraces feeds arbitrary bodies, protobuf and JSON, plain or
// gzip, to the handler: it must answer 200 or a 4xx, never panic or 5xx.
func FuzzHTTPTraces(f *testing.F) {
	f.Add(protoBody(f, 2), false, false)
	js, _ := ptraceotlp.NewExportRequestFromTraces(traces(2)).MarshalJSON()
	f.Add(js, true, false)
	f.Add(gz(protoBody(f, 1)), false, true)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}`), true, false)
	h := NewHTTP(&sink{}, Limits{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 2 << 20}, NewGate(1), slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	h.Register(mux)
	f.Fuzz(func(t *testing.T, body []byte, asJSON, gzipped bool) {
		req := httptest.NewRequest(http.MethodPost, TracesPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctProtobuf)
		if asJSON {
			req.Header.Set("Content-Type", ctJSON)
		}
		if gzipped {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != 200 && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// FuzzHTTPMetrics does the same for /v1/metrics.
func FuzzHTTPMetrics(f *testing.F) {
	m := pmetric.NewMetrics()
	m.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptySum().DataPoints().AppendEmpty().SetIntValue(1)
	b, _ := (&pmetric.ProtoMarshaler{}).MarshalMetrics(m)
	f.Add(b, false)
	j, _ := (&pmetric.JSONMarshaler{}).MarshalMetrics(m)
	f.Add(j, true)
	mux := http.NewServeMux()
	NewHTTP(&sink{}, Limits{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 2 << 20}, NewGate(1), slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		req := httptest.NewRequest(http.MethodPost, MetricsPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctProtobuf)
		if asJSON {
			req.Header.Set("Content-Type", ctJSON)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != 200 && (rec.Code < 400 || rec.Code >= 500) {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}
