package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sink is a Consumer that counts what it gets. It re-encodes every
// request as the collector does for its spool and checks that the result
// decodes to the same data: what a receiver accepts must survive the spool.
type sink struct {
	mu     sync.Mutex
	spans  int
	points int
	err    error
	hold   chan struct{} // when set, consumers wait for it to close
}

func (s *sink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	if s.hold != nil {
		<-s.hold
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return fmt.Errorf("re-encoding accepted traces: %w", err)
	}
	back := ptraceotlp.NewExportRequest()
	if err := back.UnmarshalProto(b); err != nil || back.Traces().SpanCount() != td.SpanCount() {
		return fmt.Errorf("accepted traces do not survive re-encoding: %v", err)
	}
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
	if s.err != nil {
		return s.err
	}
	s.points += md.DataPointCount()
	return nil
}

func (s *sink) count() (spans, points int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans, s.points
}

func (s *sink) setErr(err error) { s.mu.Lock(); s.err = err; s.mu.Unlock() }

func newServer(t testing.TB, c Consumer, o Options) *httptest.Server {
	srv := httptest.NewServer(NewHTTP(c, o))
	t.Cleanup(srv.Close)
	return srv
}

// traces builds n spans with ids, in one resource and scope.
func traces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < n; i++ {
		sp := ss.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{1, byte(i >> 8), byte(i)}))
		sp.SetSpanID(pcommon.SpanID([8]byte{2, byte(i >> 8), byte(i)}))
		sp.SetName("op")
		sp.Attributes().PutStr("k", "v")
	}
	return td
}

func span0(td ptrace.Traces) ptrace.Span {
	return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

func protoOf(t testing.TB, td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonOf(t testing.TB, td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func protoBody(t testing.TB, n int) []byte { return protoOf(t, traces(n)) }

func metricsBody(t testing.TB, name string) []byte {
	m := pmetric.NewMetrics()
	g := m.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName(name)
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(5)
	b, err := pmetricotlp.NewExportRequestFromMetrics(m).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// do sends a request, chunked (without a Content-Length) if asked.
func do(t *testing.T, method, url, ct, enc string, body []byte, chunked bool) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length: sent chunked
	}
	req, _ := http.NewRequest(method, url, r)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
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

func post(t *testing.T, url, ct, enc string, body []byte) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodPost, url, ct, enc, body, false)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// errorStatus decodes an error answer as a google.rpc.Status in the
// encoding of ct.
func errorStatus(t *testing.T, ct string, body []byte) *spb.Status {
	t.Helper()
	st := &spb.Status{}
	unmarshal := proto.Unmarshal
	if strings.HasPrefix(ct, ctJSON) {
		unmarshal = protojson.Unmarshal
	}
	if err := unmarshal(body, st); err != nil || st.Message == "" {
		t.Fatalf("error body is not a google.rpc.Status (%s) with a message: %q (%v)", ct, body, err)
	}
	return st
}

func TestHTTPAcceptsProtobufJSONAndGzip(t *testing.T) {
	s := &sink{}
	counters := &Counters{}
	srv := newServer(t, s, Options{Counters: counters})
	js := jsonOf(t, traces(2))
	for _, c := range []struct {
		ct, enc string
		body    []byte
	}{
		{ctProtobuf, "", protoBody(t, 3)},
		{ctJSON + "; charset=utf-8", "", js},
		{ctProtobuf, "gzip", gz(protoBody(t, 3))},
		{ctJSON, "GZIP", gz(js)},
		{ctProtobuf, "identity", protoBody(t, 2)},
	} {
		resp, body := post(t, srv.URL+TracesPath, c.ct, c.enc, c.body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s %s", c.ct, c.enc, resp.Status, body)
		}
		// The response is an ExportTraceServiceResponse in the request's encoding.
		want := strings.Split(c.ct, ";")[0]
		if got := resp.Header.Get("Content-Type"); got != want {
			t.Errorf("response content type %q for request %q", got, c.ct)
		}
		r := ptraceotlp.NewExportResponse()
		var err error
		if want == ctJSON {
			err = r.UnmarshalJSON(body)
		} else {
			err = r.UnmarshalProto(body)
		}
		if err != nil {
			t.Errorf("%s response %q does not decode: %v", c.ct, body, err)
		}
	}
	if spans, _ := s.count(); spans != 12 {
		t.Fatalf("consumed %d spans, want 12", spans)
	}
	if resp, body := post(t, srv.URL+MetricsPath, ctProtobuf, "", metricsBody(t, "kafka.consumer_group.lag")); resp.StatusCode != 200 {
		t.Fatalf("metrics: %s %s", resp.Status, body)
	}
	if _, points := s.count(); points != 1 || counters.SpansReceived() != 12 || counters.PointsReceived() != 1 || len(counters.Rejected()) != 0 {
		t.Fatalf("points %d, counters %d spans %d points %v rejected", points, counters.SpansReceived(), counters.PointsReceived(), counters.Rejected())
	}
}

// TestOTLPJSONHexIDs checks that ids in OTLP/JSON are read as hex (the
// OTLP/JSON rule), not as base64 as protojson would.
func TestOTLPJSONHexIDs(t *testing.T) {
	var got ptrace.Traces
	c := consumerFunc(func(td ptrace.Traces) error { got = ptrace.NewTraces(); td.CopyTo(got); return nil })
	srv := newServer(t, c, Options{})
	body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"x"}]}]}]}`
	if resp, b := post(t, srv.URL+TracesPath, ctJSON, "", []byte(body)); resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Status, b)
	}
	sp := span0(got)
	if sp.TraceID().String() != "5b8efff798038103d269b633813fc60c" || sp.SpanID().String() != "eee19b7ec3c1b174" || sp.ParentSpanID().String() != "eee19b7ec3c1b173" {
		t.Fatalf("ids %s %s %s", sp.TraceID(), sp.SpanID(), sp.ParentSpanID())
	}
}

type consumerFunc func(ptrace.Traces) error

func (f consumerFunc) ConsumeTraces(_ context.Context, td ptrace.Traces) error { return f(td) }
func (f consumerFunc) ConsumeMetrics(context.Context, pmetric.Metrics) error   { return nil }

func TestHTTPBadInput(t *testing.T) {
	s := &sink{}
	counters := &Counters{}
	srv := newServer(t, s, Options{Limits: Limits{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 4 << 20}, Counters: counters})
	valid := protoBody(t, 5)
	mutate := func(f func(ptrace.Span)) ptrace.Traces {
		td := traces(2)
		f(span0(td))
		return td
	}
	badAttr := mutate(func(sp ptrace.Span) { sp.Attributes().PutStr("bad", "\xff\xfe") })
	badNested := mutate(func(sp ptrace.Span) {
		sp.Attributes().PutEmptySlice("list").AppendEmpty().SetEmptyMap().PutStr("k", "ok\xc3\x28")
	})
	badLink := mutate(func(sp ptrace.Span) { sp.Links().AppendEmpty().Attributes().PutStr("k", "\xed\xa0\x80") }) // a UTF-8-encoded surrogate
	badEvent := mutate(func(sp ptrace.Span) { sp.Events().AppendEmpty().SetName("\x80") })
	badScope := traces(1)
	badScope.ResourceSpans().At(0).ScopeSpans().At(0).Scope().SetVersion("1.\xff")
	noTrace := mutate(func(sp ptrace.Span) { sp.SetTraceID(pcommon.NewTraceIDEmpty()) })
	noSpan := mutate(func(sp ptrace.Span) { sp.SetSpanID(pcommon.NewSpanIDEmpty()) })
	badKeyJSON := jsonOf(t, badAttr) // encoding/json-style encoders would escape; pdata writes the bytes raw
	rawJSON := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"a` + "\xff" + `b"}]}]}]}`)
	bomb := gz(make([]byte, 64<<20)) // 64 MiB of zeros in ~64 KiB
	gzValid := gz(valid)
	badMetric := pmetric.NewMetrics()
	dp := badMetric.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	dp.SetName("lag")
	dp.SetEmptyGauge().DataPoints().AppendEmpty().Attributes().PutStr("topic", "\xff")
	badMetricBody, _ := pmetricotlp.NewExportRequestFromMetrics(badMetric).MarshalProto()

	cases := []struct {
		name, method, path, ct, enc string
		body                        []byte
		chunked                     bool
		status                      int
		reason                      Reason
	}{
		{"truncated protobuf", "", "", ctProtobuf, "", valid[:len(valid)-7], false, 400, ReasonMalformed},
		{"garbage protobuf", "", "", ctProtobuf, "", []byte("\xff\xff\xff\xff\xff"), false, 400, ReasonMalformed},
		{"malformed JSON", "", "", ctJSON, "", []byte(`{"resourceSpans":[{`), false, 400, ReasonMalformed},
		{"truncated JSON", "", "", ctJSON, "", jsonOf(t, traces(3))[:60], false, 400, ReasonMalformed},
		{"hex id of wrong length", "", "", ctJSON, "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc","spanId":"01"}]}]}]}`), false, 400, ReasonMalformed},
		{"invalid UTF-8 attribute (protobuf)", "", "", ctProtobuf, "", protoOf(t, badAttr), false, 400, ReasonInvalid},
		{"invalid UTF-8 attribute (JSON)", "", "", ctJSON, "", badKeyJSON, false, 400, ReasonInvalid},
		{"raw invalid UTF-8 in JSON", "", "", ctJSON, "", rawJSON, false, 400, ReasonInvalid},
		{"invalid UTF-8 nested in a list", "", "", ctProtobuf, "", protoOf(t, badNested), false, 400, ReasonInvalid},
		{"invalid UTF-8 in a link", "", "", ctProtobuf, "", protoOf(t, badLink), false, 400, ReasonInvalid},
		{"invalid UTF-8 in an event", "", "", ctProtobuf, "", protoOf(t, badEvent), false, 400, ReasonInvalid},
		{"invalid UTF-8 in the scope", "", "", ctProtobuf, "", protoOf(t, badScope), false, 400, ReasonInvalid},
		{"missing trace id", "", "", ctProtobuf, "", protoOf(t, noTrace), false, 400, ReasonInvalid},
		{"missing span id", "", "", ctJSON, "", jsonOf(t, noSpan), false, 400, ReasonInvalid},
		{"invalid UTF-8 in a metric", "", MetricsPath, ctProtobuf, "", badMetricBody, false, 400, ReasonInvalid},
		{"garbage metrics", "", MetricsPath, ctJSON, "", []byte("[1,2"), false, 400, ReasonMalformed},
		{"wrong content type", "", "", "text/plain", "", valid, false, 415, ReasonMediaType},
		{"no content type", "", "", "", "", valid, false, 415, ReasonMediaType},
		{"bad content type", "", "", "application/", "", valid, false, 415, ReasonMediaType},
		{"unknown encoding", "", "", ctProtobuf, "br", valid, false, 415, ReasonMediaType},
		{"not gzip", "", "", ctProtobuf, "gzip", valid, false, 400, ReasonMalformed},
		{"truncated gzip", "", "", ctProtobuf, "gzip", gzValid[:len(gzValid)/2], false, 400, ReasonMalformed},
		{"gzip bomb", "", "", ctProtobuf, "gzip", bomb, false, 413, ReasonTooLarge},
		{"50 MB body", "", "", ctProtobuf, "", make([]byte, 50<<20), false, 413, ReasonTooLarge},
		{"50 MB body, chunked", "", "", ctProtobuf, "", make([]byte, 50<<20), true, 413, ReasonTooLarge},
		{"2 MiB gzip body, chunked", "", "", ctProtobuf, "gzip", gz(noise(2 << 20)), true, 413, ReasonTooLarge},
		{"GET", http.MethodGet, "", ctProtobuf, "", nil, false, 405, ReasonMethod},
		{"PUT", http.MethodPut, "", ctProtobuf, "", valid, false, 405, ReasonMethod},
		{"GET metrics", http.MethodGet, MetricsPath, "", "", nil, false, 405, ReasonMethod},
	}
	want := map[string]uint64{}
	for _, c := range cases {
		method, path := c.method, c.path
		if method == "" {
			method = http.MethodPost
		}
		if path == "" {
			path = TracesPath
		}
		resp, body := do(t, method, srv.URL+path, c.ct, c.enc, c.body, c.chunked)
		want[c.reason.String()]++
		if resp.StatusCode != c.status {
			t.Errorf("%s: %s, want %d (%s)", c.name, resp.Status, c.status, body)
			continue
		}
		st := errorStatus(t, resp.Header.Get("Content-Type"), body)
		if c.ct == ctJSON && resp.Header.Get("Content-Type") != ctJSON {
			t.Errorf("%s: JSON request answered in %q", c.name, resp.Header.Get("Content-Type"))
		}
		if c.status == 405 && resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: Allow %q", c.name, resp.Header.Get("Allow"))
		}
		t.Logf("%s: %d %s", c.name, resp.StatusCode, st.Message)
		// the server keeps serving
		if resp, body := post(t, srv.URL+TracesPath, ctProtobuf, "", valid); resp.StatusCode != 200 {
			t.Fatalf("after %s: valid request got %s %s", c.name, resp.Status, body)
		}
	}
	if spans, _ := s.count(); spans != 5*len(cases) {
		t.Errorf("consumed %d spans, want %d (only the valid requests)", spans, 5*len(cases))
	}
	if got := counters.Rejected(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rejected %v, want %v", got, want)
	}
}

func TestHTTPConsumerErrors(t *testing.T) {
	s := &sink{}
	counters := &Counters{}
	srv := newServer(t, s, Options{Counters: counters})
	for _, c := range []struct {
		err         error
		status      int
		retryAfter  string
		ct          string
		wantRetryIn bool
	}{
		{fmt.Errorf("spool: %w", ErrFull), 429, "5", ctProtobuf, true},
		{fmt.Errorf("spool: %w", ErrFull), 429, "5", ctJSON, true},
		{fmt.Errorf("spool: %w", ErrTooLarge), 413, "", ctProtobuf, false},
		{errors.New("disk on fire"), 503, "1", ctJSON, true},
	} {
		s.setErr(c.err)
		body := protoBody(t, 1)
		if c.ct == ctJSON {
			body = jsonOf(t, traces(1))
		}
		resp, b := post(t, srv.URL+TracesPath, c.ct, "", body)
		if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retryAfter {
			t.Fatalf("%v: %s Retry-After %q, want %d %q", c.err, resp.Status, resp.Header.Get("Retry-After"), c.status, c.retryAfter)
		}
		st := errorStatus(t, c.ct, b)
		hasRetryInfo := len(st.Details) == 1 && st.Details[0].MessageIs(&errdetails.RetryInfo{})
		if hasRetryInfo != c.wantRetryIn || !strings.Contains(st.Message, c.err.Error()) {
			t.Fatalf("%v: status %v", c.err, st)
		}
	}
	s.setErr(nil)
	if resp, _ := post(t, srv.URL+TracesPath, ctProtobuf, "", protoBody(t, 1)); resp.StatusCode != 200 {
		t.Fatalf("after the consumer recovered: %s", resp.Status)
	}
	if got := fmt.Sprint(counters.Rejected()); got != "map[full:2 too_large:1 unavailable:1]" {
		t.Fatalf("rejected %s", got)
	}
}

func TestHTTPInflightLimits(t *testing.T) {
	s := &sink{hold: make(chan struct{})}
	counters := &Counters{}
	lim := NewLimiter(Limits{MaxConcurrentRequests: 2, MaxInflightBytes: 1 << 20, PerPeerShare: 1})
	srv := newServer(t, s, Options{Limiter: lim, Counters: counters, Limits: Limits{MaxDecodedBytes: 4 << 20}})

	// A body within MaxDecodedBytes but over the in-flight bytes: 429, not 413.
	big := traces(1)
	span0(big).Attributes().PutStr("blob", strings.Repeat("x", 1<<20))
	if resp, _ := post(t, srv.URL+TracesPath, ctProtobuf, "gzip", gz(protoOf(t, big))); resp.StatusCode != 429 {
		t.Fatalf("body over the in-flight bytes: %s, want 429", resp.Status)
	}

	// Two requests held by the consumer fill the request slots.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+TracesPath, bytes.NewReader(protoBody(t, 1)))
			req.Header.Set("Content-Type", ctProtobuf)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("held request: %s", resp.Status)
			}
		}()
	}
	for lim.InflightRequests() < 2 {
		runtimeGosched()
	}
	resp, b := post(t, srv.URL+TracesPath, ctProtobuf, "", protoBody(t, 1))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("third concurrent request: %s %q, want 429", resp.Status, b)
	}
	close(s.hold)
	wg.Wait()
	if resp, _ := post(t, srv.URL+TracesPath, ctProtobuf, "", protoBody(t, 1)); resp.StatusCode != 200 {
		t.Fatalf("after the held requests finished: %s", resp.Status)
	}
	if lim.InflightBytes() != 0 || lim.InflightRequests() != 0 {
		t.Fatalf("limiter holds %d bytes, %d requests after all requests ended", lim.InflightBytes(), lim.InflightRequests())
	}
	if got := counters.Rejected()["busy"]; got != 2 {
		t.Fatalf("busy rejections %d, want 2", got)
	}
}

// noise returns n incompressible bytes.
func noise(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

func runtimeGosched() { time.Sleep(time.Millisecond) }
