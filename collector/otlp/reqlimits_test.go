package otlp

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/causeway-dev/causeway/collector/otlp/otlptest"
)

// limitCases are requests over one limit each, with the path and setting
// the answer must name. Small limits keep the requests small.
var testLimits = RequestLimits{MaxAttrDepth: 3, MaxAttributes: 4, MaxEventsPerSpan: 2, MaxLinksPerSpan: 2,
	MaxKeyBytes: 12, MaxValueBytes: 16, MaxArrayLen: 3, MaxSpansPerRequest: 5}

func limitCases() []struct {
	name, want string
	td         ptrace.Traces
} {
	mk := func(f func(sp ptrace.Span, td ptrace.Traces)) ptrace.Traces {
		td := traces(1)
		f(span0(td), td)
		return td
	}
	nest := func(depth int, kvlist bool) func(sp ptrace.Span, _ ptrace.Traces) {
		return func(sp ptrace.Span, _ ptrace.Traces) {
			v := sp.Attributes().PutEmpty("deep")
			for range depth {
				if kvlist {
					v = v.SetEmptyMap().PutEmpty("k")
				} else {
					v = v.SetEmptySlice().AppendEmpty()
				}
			}
			v.SetStr("x")
		}
	}
	return []struct {
		name, want string
		td         ptrace.Traces
	}{
		{"array depth", `: 4 levels of nested arrays and key-value lists exceed the limit of 3 (collector.limits.max_attr_depth)`, mk(nest(4, false))},
		{"kvlist depth", `: 4 levels of nested arrays and key-value lists exceed the limit of 3 (collector.limits.max_attr_depth)`, mk(nest(4, true))},
		{"span attributes", `spans[0].attributes: 5 attributes exceed the limit of 4 (collector.limits.max_attributes)`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			for _, k := range []string{"a", "b", "c", "d"} {
				sp.Attributes().PutStr(k, "v")
			}
		})},
		{"resource attributes", `resource_spans[0].resource.attributes: 5 attributes exceed the limit of 4 (collector.limits.max_attributes)`, mk(func(_ ptrace.Span, td ptrace.Traces) {
			for _, k := range []string{"a", "b", "c", "d"} {
				td.ResourceSpans().At(0).Resource().Attributes().PutStr(k, "v")
			}
		})},
		{"kvlist entries", `spans[0].attributes["m"]: 5 key-value list entries exceed the limit of 4`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			m := sp.Attributes().PutEmptyMap("m")
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				m.PutStr(k, "v")
			}
		})},
		{"events", `spans[0].events: 3 events exceed the limit of 2 (collector.limits.max_events_per_span)`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			for range 3 {
				sp.Events().AppendEmpty().SetName("e")
			}
		})},
		{"event attributes", `spans[0].events[1].attributes: 5 attributes exceed the limit of 4`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			sp.Events().AppendEmpty()
			ev := sp.Events().AppendEmpty()
			for _, k := range []string{"a", "b", "c", "d", "e"} {
				ev.Attributes().PutStr(k, "v")
			}
		})},
		{"links", `spans[0].links: 3 links exceed the limit of 2 (collector.limits.max_links_per_span)`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			for range 3 {
				sp.Links().AppendEmpty().SetTraceID(pcommon.TraceID{9})
			}
		})},
		{"key size", `spans[0].attributes["a-long-key-xy"]: 13 key bytes exceed the limit of 12 (collector.limits.max_key_bytes)`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			sp.Attributes().PutStr("a-long-key-x", "v")
			sp.Attributes().PutStr("a-long-key-xy", "v")
			sp.Attributes().Remove("a-long-key-x")
		})},
		{"string size", `spans[0].attributes["s"]: 17 value bytes exceed the limit of 16 (collector.limits.max_value_bytes)`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			sp.Attributes().PutStr("s", strings.Repeat("x", 17))
		})},
		{"bytes size in an array", `spans[0].attributes["s"][1]: 17 value bytes exceed the limit of 16`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			s := sp.Attributes().PutEmptySlice("s")
			s.AppendEmpty().SetStr("ok")
			s.AppendEmpty().SetEmptyBytes().FromRaw(make([]byte, 17))
		})},
		{"array length", `spans[0].attributes["s"]: 4 array elements exceed the limit of 3 (collector.limits.max_array_len)`, mk(func(sp ptrace.Span, _ ptrace.Traces) {
			s := sp.Attributes().PutEmptySlice("s")
			for range 4 {
				s.AppendEmpty().SetInt(1)
			}
		})},
		{"spans", `request: 6 spans exceed the limit of 5 (collector.limits.max_spans_per_request)`, traces(6)},
	}
}

func TestRequestLimitsHTTP(t *testing.T) {
	for _, c := range limitCases() {
		for _, ct := range []string{ctProtobuf, ctJSON} {
			t.Run(c.name+"/"+ct, func(t *testing.T) {
				s := &sink{}
				counters := &Counters{}
				srv := newServer(t, s, Options{Request: testLimits, Counters: counters})
				body := protoOf(t, c.td)
				if ct == ctJSON {
					body = jsonOf(t, c.td)
				}
				resp, b := post(t, srv.URL+TracesPath, ct, "", body)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", resp.StatusCode, b)
				}
				st := errorStatus(t, ct, b)
				// The raw-bytes span count stops at the first span over.
				if !strings.Contains(st.Message, c.want) {
					t.Errorf("message %q\nwant it to contain %q", st.Message, c.want)
				}
				if n, _ := s.count(); n != 0 {
					t.Errorf("%d spans consumed", n)
				}
				if got := counters.Rejected()["limit"]; got != 1 {
					t.Errorf("rejected[limit] = %d, want 1 (%v)", got, counters.Rejected())
				}
			})
		}
	}
}

func TestRequestLimitsGRPC(t *testing.T) {
	s := &sink{}
	conn := startGRPC(t, s, Options{Request: testLimits})
	client := ptraceotlp.NewGRPCClient(conn)
	for _, c := range limitCases() {
		_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(c.td))
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), c.want) {
			t.Errorf("%s: %v, want InvalidArgument with %q", c.name, err, c.want)
		}
	}
	// At every limit exactly, the request is accepted.
	td := traces(5)
	sp := span0(td)
	sp.Attributes().PutStr("123456789012", strings.Repeat("x", 16))
	sp.Attributes().PutEmptySlice("s").FromRaw([]any{1, []any{[]any{"x"}}, 3})
	sp.Attributes().PutEmptyMap("m").PutStr("k", "v")
	for range 2 {
		sp.Events().AppendEmpty()
		sp.Links().AppendEmpty()
	}
	if _, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatalf("a request at every limit: %v", err)
	}
	if n, _ := s.count(); n != 5 {
		t.Errorf("%d spans consumed, want 5", n)
	}
}

// TestDeepNesting sends values nested 800,000 deep, which pdata's decoders
// would recurse into (hundreds of MB of stack; deeper, a fatal stack
// overflow): the pre-scan refuses them before decoding.
func TestDeepNesting(t *testing.T) {
	s := &sink{}
	counters := &Counters{}
	srv := newServer(t, s, Options{Counters: counters})
	for _, c := range []struct {
		name, ct string
		body     []byte
		want     string
	}{
		{"proto arrays", ctProtobuf, otlptest.DeepProto(800_000, false), "attribute value: 17 levels of nested arrays and key-value lists exceed the limit of 16 (collector.limits.max_attr_depth)"},
		{"proto kvlists", ctProtobuf, otlptest.DeepProto(800_000, true), "exceed the limit of 16 (collector.limits.max_attr_depth)"},
		{"json arrays", ctJSON, otlptest.DeepJSON(550_000, false), "85 levels of JSON nesting (20 + 4 per level of max_attr_depth) exceed the limit of 84 (collector.limits.max_attr_depth)"},
		{"json kvlists", ctJSON, otlptest.DeepJSON(300_000, true), "exceed the limit of 84 (collector.limits.max_attr_depth)"},
		// Too deep for the limit but shallow enough for the JSON bound:
		// the walk of the decoded request finds it.
		{"json depth 17", ctJSON, otlptest.DeepJSON(17, false), `attributes["deep"]` + strings.Repeat("[0]", 16) + ": 17 levels of nested arrays and key-value lists exceed the limit of 16"},
	} {
		resp, b := post(t, srv.URL+TracesPath, c.ct, "", c.body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: status %d: %s", c.name, resp.StatusCode, b)
		}
		if st := errorStatus(t, c.ct, b); !strings.Contains(st.Message, c.want) {
			t.Errorf("%s: %q, want %q", c.name, st.Message, c.want)
		}
	}
	for _, depth := range []int{1, 16} {
		for _, kv := range []bool{false, true} {
			if resp, b := post(t, srv.URL+TracesPath, ctProtobuf, "", otlptest.DeepProto(depth, kv)); resp.StatusCode != http.StatusOK {
				t.Errorf("depth %d (kvlist %v), protobuf: %d %s", depth, kv, resp.StatusCode, b)
			}
			if resp, b := post(t, srv.URL+TracesPath, ctJSON, "", otlptest.DeepJSON(depth, kv)); resp.StatusCode != http.StatusOK {
				t.Errorf("depth %d (kvlist %v), JSON: %d %s", depth, kv, resp.StatusCode, b)
			}
		}
	}
	if n, _ := s.count(); n != 8 {
		t.Errorf("%d spans consumed, want 8", n)
	}
}

func TestPrescanProtoMatchesDecoder(t *testing.T) {
	// Every request the tests build decodes; the pre-scan agrees with
	// pdata on the well-formed ones and refuses truncations as malformed.
	body := protoOf(t, richTraces())
	if err := PrescanTracesProto(body, RequestLimits{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(body); i++ {
		err := PrescanTracesProto(body[:i], RequestLimits{})
		perr := ptraceotlp.NewExportRequest().UnmarshalProto(body[:i])
		if (err == nil) != (perr == nil) {
			t.Fatalf("cut at %d: pre-scan %v, pdata %v", i, err, perr)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut at %d: %v does not wrap ErrMalformed", i, err)
		}
	}
	var le *LimitError
	if err := PrescanTracesProto(otlptest.DeepProto(20, false), RequestLimits{}); !errors.As(err, &le) || le.Limit != LimitAttrDepth || le.Max != 16 {
		t.Errorf("deep: %v", err)
	}
	if err := PrescanTracesProto(protoBody(t, 7), RequestLimits{MaxSpansPerRequest: 6}); !errors.As(err, &le) || le.Limit != LimitSpans {
		t.Errorf("spans: %v", err)
	}
}

func TestRequestLimitsValidate(t *testing.T) {
	if err := (RequestLimits{}).Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (RequestLimits{MaxAttributes: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "max_attributes") {
		t.Errorf("negative: %v", err)
	}
	if err := (RequestLimits{MaxAttrDepth: MaxAttrDepthCeiling + 1}).Validate(); err == nil {
		t.Error("a depth over the ceiling is accepted")
	}
}

// FuzzPrescanProto checks that the pre-scan never panics, and that it
// refuses nothing pdata decodes within the limits: any request it lets
// through that pdata decodes must not be refused by it, and what it
// refuses as malformed pdata must refuse too.
func FuzzPrescanProto(f *testing.F) {
	f.Add(protoOf(f, richTraces()))
	f.Add(otlptest.DeepProto(3, true))
	f.Add(otlptest.DeepProto(30, false))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := PrescanTracesProto(b, RequestLimits{})
		if errors.Is(err, ErrMalformed) {
			if perr := ptraceotlp.NewExportRequest().UnmarshalProto(b); perr == nil {
				t.Fatalf("pre-scan says malformed (%v), pdata decodes it", err)
			}
		}
		if err == nil {
			req := ptraceotlp.NewExportRequest()
			if req.UnmarshalProto(b) == nil {
				// Within the depth bound: the walk finds no deeper value.
				var le *LimitError
				if verr := validateTraces(req.Traces(), DefaultRequestLimits); errors.As(verr, &le) && le.Limit == LimitAttrDepth {
					t.Fatalf("pre-scan passed a request the walk finds too deep: %v", verr)
				}
			}
		}
	})
}

// FuzzPrescanJSON checks that the JSON pre-scan never panics and never
// refuses a request whose attributes are within the depth limit.
func FuzzPrescanJSON(f *testing.F) {
	f.Add(jsonOf(f, richTraces()), 3)
	f.Add(otlptest.DeepJSON(16, true), 16)
	f.Add([]byte(`{"a":"\\\"[[[["}`), 0)
	f.Fuzz(func(t *testing.T, b []byte, depth int) {
		_ = PrescanJSON(b, RequestLimits{})
		depth = min(max(depth, 0), 16)
		for _, kv := range []bool{false, true} {
			if err := PrescanJSON(otlptest.DeepJSON(depth, kv), RequestLimits{}); err != nil {
				t.Fatalf("depth %d: %v", depth, err)
			}
		}
	})
}

func TestRequestLimitsMetrics(t *testing.T) {
	m := pmetric.NewMetrics()
	g := m.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("lag")
	dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		dp.Attributes().PutStr(k, "v")
	}
	var le *LimitError
	err := validateMetrics(m, testLimits)
	if !errors.As(err, &le) || le.Limit != LimitAttributes ||
		err.Error() != "resource_metrics[0].scope_metrics[0].metrics[0].data_points[0].attributes: 5 attributes exceed the limit of 4 (collector.limits.max_attributes)" {
		t.Fatalf("%v", err)
	}
	dp.Attributes().Clear()
	dp.Exemplars().AppendEmpty().FilteredAttributes().PutStr("s", strings.Repeat("x", 17))
	if err := validateMetrics(m, testLimits); !errors.As(err, &le) || le.Limit != LimitValueBytes ||
		!strings.Contains(err.Error(), `data_points[0].exemplars[0].filtered_attributes["s"]: 17 value bytes`) {
		t.Fatalf("%v", err)
	}
	b, err := pmetricotlp.NewExportRequestFromMetrics(m).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, &sink{}, Options{Request: testLimits})
	if resp, body := post(t, srv.URL+MetricsPath, ctProtobuf, "", b); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("metrics over a limit: %d %s", resp.StatusCode, body)
	}
}
