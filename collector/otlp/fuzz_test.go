package otlp

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// richTraces has every kind of field the validator walks, so mutations of
// its encodings reach all of them.
func richTraces() ptrace.Traces {
	td := traces(2)
	rs := td.ResourceSpans().At(0)
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	ss := rs.ScopeSpans().At(0)
	ss.Scope().SetName("causeway/agent")
	ss.Scope().SetVersion("0.1.0")
	ss.Scope().Attributes().PutBool("b", true)
	sp := span0(td)
	sp.SetKind(ptrace.SpanKindProducer)
	sp.TraceState().FromRaw("k=v")
	sp.SetParentSpanID(pcommon.SpanID([8]byte{9}))
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage("boom")
	sp.Attributes().PutStr("messaging.system", "kafka")
	sp.Attributes().PutInt("messaging.kafka.offset", 42)
	sp.Attributes().PutEmptyBytes("raw").FromRaw([]byte{0xff, 0})
	l := sp.Attributes().PutEmptySlice("list")
	l.AppendEmpty().SetStr("a")
	l.AppendEmpty().SetEmptyMap().PutDouble("d", 1.5)
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.message", "x")
	ln := sp.Links().AppendEmpty()
	ln.SetTraceID(pcommon.TraceID([16]byte{7}))
	ln.SetSpanID(pcommon.SpanID([8]byte{7}))
	ln.TraceState().FromRaw("a=b")
	ln.Attributes().PutStr("messaging.operation", "publish")
	return td
}

func richMetrics() pmetric.Metrics {
	m := pmetric.NewMetrics()
	rm := m.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "sidecar")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	g := ms.AppendEmpty()
	g.SetName("kafka.consumer_group.lag")
	g.SetUnit("{message}")
	g.SetDescription("lag")
	dp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(5)
	dp.Attributes().PutStr("group", "g")
	dp.Exemplars().AppendEmpty().FilteredAttributes().PutStr("k", "v")
	s := ms.AppendEmpty()
	s.SetName("sum")
	s.SetEmptySum().DataPoints().AppendEmpty().SetDoubleValue(1)
	h := ms.AppendEmpty()
	h.SetName("hist")
	hp := h.SetEmptyHistogram().DataPoints().AppendEmpty()
	hp.BucketCounts().FromRaw([]uint64{1, 2})
	hp.ExplicitBounds().FromRaw([]float64{1})
	e := ms.AppendEmpty()
	e.SetName("exp")
	e.SetEmptyExponentialHistogram().DataPoints().AppendEmpty().Positive().BucketCounts().FromRaw([]uint64{3})
	sm := ms.AppendEmpty()
	sm.SetName("summary")
	sm.SetEmptySummary().DataPoints().AppendEmpty().QuantileValues().AppendEmpty().SetQuantile(0.5)
	return m
}

// fuzzHandler is a handler over a consumer that checks what it accepts
// survives the spool's re-encoding (see sink).
func fuzzHandler() http.Handler {
	return NewHTTP(&sink{}, Options{Limits: Limits{MaxBodyBytes: 1 << 20, MaxDecodedBytes: 2 << 20}})
}

// checkAnswer fails on anything but 200 or the 4xx of bad input, and on a
// 4xx without a google.rpc.Status body.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, body []byte) {
	t.Helper()
	switch rec.Code {
	case 200:
	case 400, 413:
		errorStatus(t, rec.Header().Get("Content-Type"), rec.Body.Bytes())
	default:
		t.Fatalf("status %d (%s) for %q", rec.Code, rec.Body.Bytes(), body)
	}
}

func serveFuzz(h http.Handler, path, ct, enc string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// FuzzHTTPTraces feeds arbitrary protobuf bodies to /v1/traces.
func FuzzHTTPTraces(f *testing.F) {
	f.Add(protoBody(f, 2))
	rich := protoOf(f, richTraces())
	f.Add(rich)
	f.Add(rich[:len(rich)/2])
	f.Add([]byte{})
	f.Add([]byte("\x0a\xff\xff\xff\xff\x0f"))
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAnswer(t, serveFuzz(h, TracesPath, ctProtobuf, "", body), body)
	})
}

// FuzzHTTPTracesJSON feeds arbitrary OTLP/JSON bodies to /v1/traces.
func FuzzHTTPTracesJSON(f *testing.F) {
	f.Add(jsonOf(f, traces(2)))
	f.Add(jsonOf(f, richTraces()))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"\ud800"}]}]}]}`))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","kind":"SPAN_KIND_PRODUCER","attributes":[{"key":"n","value":{"intValue":"12"}}]}]}]}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAnswer(t, serveFuzz(h, TracesPath, ctJSON, "", body), body)
	})
}

// FuzzGzip feeds arbitrary gzip bodies (of protobuf or JSON) to /v1/traces:
// the decompressor's limits and errors, then the decoders.
func FuzzGzip(f *testing.F) {
	f.Add(gz(protoBody(f, 2)), false)
	f.Add(gz(jsonOf(f, richTraces())), true)
	two := append(gz(protoBody(f, 1)), gz(protoBody(f, 1))...) // two gzip members
	f.Add(two, false)
	g := gz(protoOf(f, richTraces()))
	f.Add(g[:len(g)-5], false)
	f.Add(gz(make([]byte, 3<<20)), false) // over MaxDecodedBytes
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := ctProtobuf
		if asJSON {
			ct = ctJSON
		}
		checkAnswer(t, serveFuzz(h, TracesPath, ct, "gzip", body), body)
	})
}

// FuzzHTTPMetrics feeds arbitrary protobuf and JSON bodies to /v1/metrics.
func FuzzHTTPMetrics(f *testing.F) {
	b, _ := pmetricotlp.NewExportRequestFromMetrics(richMetrics()).MarshalProto()
	f.Add(b, false)
	j, _ := pmetricotlp.NewExportRequestFromMetrics(richMetrics()).MarshalJSON()
	f.Add(j, true)
	h := fuzzHandler()
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := ctProtobuf
		if asJSON {
			ct = ctJSON
		}
		checkAnswer(t, serveFuzz(h, MetricsPath, ct, "", body), body)
	})
}

// FuzzGRPCExport feeds arbitrary messages to the gRPC trace and metrics
// services behind the transport: InvalidArgument or OK, nothing else.
func FuzzGRPCExport(f *testing.F) {
	f.Add(protoOf(f, richTraces()), false)
	b, _ := pmetricotlp.NewExportRequestFromMetrics(richMetrics()).MarshalProto()
	f.Add(b, true)
	g := &grpcReceiver{c: &sink{}, o: Options{}.withDefaults()}
	f.Fuzz(func(t *testing.T, msg []byte, metrics bool) {
		export := g.traces
		if metrics {
			export = g.metrics
		}
		if _, e := export(context.Background(), msg); e != nil && e.reason != ReasonMalformed && e.reason != ReasonInvalid {
			t.Fatalf("%s for %q", e.msg, msg)
		}
	})
}

func TestRichRequestsAreValid(t *testing.T) {
	if err := validateTraces(richTraces(), DefaultRequestLimits); err != nil {
		t.Fatal(err)
	}
	if err := validateMetrics(richMetrics(), DefaultRequestLimits); err != nil {
		t.Fatal(err)
	}
	rec := serveFuzz(fuzzHandler(), TracesPath, ctJSON, "", jsonOf(t, richTraces()))
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestValidateMetricsEveryField puts one invalid string in each place of
// a metrics request and expects the path of that place in the error.
func TestValidateMetricsEveryField(t *testing.T) {
	const bad = "\xff"
	first := func(m pmetric.Metrics, i int) pmetric.Metric {
		return m.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(i)
	}
	for _, c := range []struct {
		want string
		mut  func(pmetric.Metrics)
	}{
		{"resource_metrics[0].schema_url", func(m pmetric.Metrics) { m.ResourceMetrics().At(0).SetSchemaUrl(bad) }},
		{"resource_metrics[0].resource.attributes", func(m pmetric.Metrics) {
			m.ResourceMetrics().At(0).Resource().Attributes().PutStr(bad, "v")
		}},
		{"scope_metrics[0].scope.name", func(m pmetric.Metrics) { m.ResourceMetrics().At(0).ScopeMetrics().At(0).Scope().SetName(bad) }},
		{"metrics[0].name", func(m pmetric.Metrics) { first(m, 0).SetName(bad) }},
		{"metrics[0].description", func(m pmetric.Metrics) { first(m, 0).SetDescription(bad) }},
		{"metrics[0].unit", func(m pmetric.Metrics) { first(m, 0).SetUnit(bad) }},
		{"metrics[0].metadata.attributes", func(m pmetric.Metrics) { first(m, 0).Metadata().PutStr("k", bad) }},
		{"metrics[0].data_points[0].exemplars[0].filtered_attributes", func(m pmetric.Metrics) {
			first(m, 0).Gauge().DataPoints().At(0).Exemplars().At(0).FilteredAttributes().PutStr("k", bad)
		}},
		{"metrics[1].data_points[0].attributes", func(m pmetric.Metrics) { first(m, 1).Sum().DataPoints().At(0).Attributes().PutStr("k", bad) }},
		{"metrics[2].data_points[0].attributes", func(m pmetric.Metrics) {
			first(m, 2).Histogram().DataPoints().At(0).Attributes().PutStr("k", bad)
		}},
		{"metrics[3].data_points[0].exemplars[0]", func(m pmetric.Metrics) {
			first(m, 3).ExponentialHistogram().DataPoints().At(0).Exemplars().AppendEmpty().FilteredAttributes().PutStr("k", bad)
		}},
		{"metrics[4].data_points[0].attributes", func(m pmetric.Metrics) {
			first(m, 4).Summary().DataPoints().At(0).Attributes().PutStr("k", bad)
		}},
	} {
		m := richMetrics()
		c.mut(m)
		err := validateMetrics(m, DefaultRequestLimits)
		if err == nil || !IsInvalid(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.want, err)
		}
	}
}

func BenchmarkDecodeValidate(b *testing.B) {
	td := traces(1000)
	body := protoOf(b, td)
	b.SetBytes(int64(len(body)))
	for _, validate := range []bool{false, true} {
		name := "decode"
		if validate {
			name = "decode+validate"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				req := ptraceotlp.NewExportRequest()
				if err := req.UnmarshalProto(body); err != nil {
					b.Fatal(err)
				}
				if validate {
					if err := validateTraces(req.Traces(), DefaultRequestLimits); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
