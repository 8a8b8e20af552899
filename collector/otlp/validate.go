package otlp

import (
	"fmt"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Validation walks every string a request can carry that pdata exposes.
// pdata decodes protobuf without checking UTF-8, and its JSON decoder
// passes raw invalid bytes through (only escaped lone surrogates become
// U+FFFD), so both encodings need this. The first problem found is
// reported with its path, e.g.
// resource_spans[0].scope_spans[1].spans[3].attributes["k"]: value is not valid UTF-8.
//
// Not walked: resource entity refs, which pdata does not expose; they are
// spooled as received but never read.

func validateTraces(td ptrace.Traces) error {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if err := checkResource(rs.Resource(), rs.SchemaUrl()); err != nil {
			return invalid("resource_spans[%d].%s", i, err)
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			if err := checkScope(ss.Scope(), ss.SchemaUrl()); err != nil {
				return invalid("resource_spans[%d].scope_spans[%d].%s", i, j, err)
			}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				if err := checkSpan(spans.At(k)); err != nil {
					return invalid("resource_spans[%d].scope_spans[%d].spans[%d].%s", i, j, k, err)
				}
			}
		}
	}
	return nil
}

func checkSpan(sp ptrace.Span) error {
	switch {
	case sp.TraceID().IsEmpty():
		return fmt.Errorf("trace_id: missing (16 bytes, not all zero, are required)")
	case sp.SpanID().IsEmpty():
		return fmt.Errorf("span_id: missing (8 bytes, not all zero, are required)")
	case !utf8.ValidString(sp.Name()):
		return errUTF8("name")
	case !utf8.ValidString(sp.TraceState().AsRaw()):
		return errUTF8("trace_state")
	case !utf8.ValidString(sp.Status().Message()):
		return errUTF8("status.message")
	}
	if err := checkAttrs(sp.Attributes()); err != nil {
		return err
	}
	evs := sp.Events()
	for e := 0; e < evs.Len(); e++ {
		ev := evs.At(e)
		if !utf8.ValidString(ev.Name()) {
			return fmt.Errorf("events[%d].%w", e, errUTF8("name"))
		}
		if err := checkAttrs(ev.Attributes()); err != nil {
			return fmt.Errorf("events[%d].%w", e, err)
		}
	}
	links := sp.Links()
	for l := 0; l < links.Len(); l++ {
		ln := links.At(l)
		if !utf8.ValidString(ln.TraceState().AsRaw()) {
			return fmt.Errorf("links[%d].%w", l, errUTF8("trace_state"))
		}
		if err := checkAttrs(ln.Attributes()); err != nil {
			return fmt.Errorf("links[%d].%w", l, err)
		}
	}
	return nil
}

func validateMetrics(md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		if err := checkResource(rm.Resource(), rm.SchemaUrl()); err != nil {
			return invalid("resource_metrics[%d].%s", i, err)
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			if err := checkScope(sm.Scope(), sm.SchemaUrl()); err != nil {
				return invalid("resource_metrics[%d].scope_metrics[%d].%s", i, j, err)
			}
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				if err := checkMetric(ms.At(k)); err != nil {
					return invalid("resource_metrics[%d].scope_metrics[%d].metrics[%d].%s", i, j, k, err)
				}
			}
		}
	}
	return nil
}

func checkMetric(m pmetric.Metric) error {
	switch {
	case !utf8.ValidString(m.Name()):
		return errUTF8("name")
	case !utf8.ValidString(m.Description()):
		return errUTF8("description")
	case !utf8.ValidString(m.Unit()):
		return errUTF8("unit")
	}
	if err := checkAttrs(m.Metadata()); err != nil {
		return fmt.Errorf("metadata.%w", err)
	}
	var err error
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		err = checkNumberPoints(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		err = checkNumberPoints(m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for p := 0; p < dps.Len() && err == nil; p++ {
			err = checkPoint(p, dps.At(p).Attributes(), dps.At(p).Exemplars())
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for p := 0; p < dps.Len() && err == nil; p++ {
			err = checkPoint(p, dps.At(p).Attributes(), dps.At(p).Exemplars())
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for p := 0; p < dps.Len() && err == nil; p++ {
			err = checkPoint(p, dps.At(p).Attributes(), pmetric.NewExemplarSlice())
		}
	}
	return err
}

func checkNumberPoints(dps pmetric.NumberDataPointSlice) error {
	for p := 0; p < dps.Len(); p++ {
		if err := checkPoint(p, dps.At(p).Attributes(), dps.At(p).Exemplars()); err != nil {
			return err
		}
	}
	return nil
}

func checkPoint(p int, attrs pcommon.Map, ex pmetric.ExemplarSlice) error {
	if err := checkAttrs(attrs); err != nil {
		return fmt.Errorf("data_points[%d].%w", p, err)
	}
	for e := 0; e < ex.Len(); e++ {
		if err := checkAttrs(ex.At(e).FilteredAttributes()); err != nil {
			return fmt.Errorf("data_points[%d].exemplars[%d].filtered_%w", p, e, err)
		}
	}
	return nil
}

func checkResource(r pcommon.Resource, schemaURL string) error {
	if !utf8.ValidString(schemaURL) {
		return errUTF8("schema_url")
	}
	if err := checkAttrs(r.Attributes()); err != nil {
		return fmt.Errorf("resource.%w", err)
	}
	return nil
}

func checkScope(s pcommon.InstrumentationScope, schemaURL string) error {
	switch {
	case !utf8.ValidString(schemaURL):
		return errUTF8("schema_url")
	case !utf8.ValidString(s.Name()):
		return errUTF8("scope.name")
	case !utf8.ValidString(s.Version()):
		return errUTF8("scope.version")
	}
	if err := checkAttrs(s.Attributes()); err != nil {
		return fmt.Errorf("scope.%w", err)
	}
	return nil
}

func errUTF8(field string) error { return fmt.Errorf("%s: not valid UTF-8", field) }

// checkAttrs checks keys and values, nested maps and slices included.
func checkAttrs(m pcommon.Map) error {
	var err error
	m.Range(func(k string, v pcommon.Value) bool {
		if !utf8.ValidString(k) {
			err = fmt.Errorf("attributes[%q]: key is not valid UTF-8", k)
		} else if !validValue(v) {
			err = fmt.Errorf("attributes[%q]: value is not valid UTF-8", k)
		}
		return err == nil
	})
	return err
}

func validValue(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return utf8.ValidString(v.Str())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if !validValue(s.At(i)) {
				return false
			}
		}
	case pcommon.ValueTypeMap:
		ok := true
		v.Map().Range(func(k string, v pcommon.Value) bool {
			ok = utf8.ValidString(k) && validValue(v)
			return ok
		})
		return ok
	}
	return true
}
