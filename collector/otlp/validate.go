package otlp

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Validation walks every string a request can carry that pdata exposes,
// and checks the request against its RequestLimits. pdata decodes protobuf
// without checking UTF-8, and its JSON decoder passes raw invalid bytes
// through (only escaped lone surrogates become U+FFFD), so both encodings
// need this. The first problem found is reported with its path, e.g.
// resource_spans[0].scope_spans[1].spans[3].attributes["k"]: value is not valid UTF-8,
// as an invalid error or, for a limit, a *LimitError whose Path is that path.
//
// Not walked: resource entity refs, which pdata does not expose; they are
// spooled as received but never read.

// within prefixes err's path: a *LimitError keeps its type with a longer
// Path, anything else becomes an invalid error.
func within(prefix string, err error) error {
	var le *LimitError
	if errors.As(err, &le) {
		c := *le
		if c.Path == "" {
			c.Path = prefix
		} else {
			c.Path = prefix + "." + c.Path
		}
		return &c
	}
	return invalid("%s.%v", prefix, err)
}

// nested prefixes err's path inside checks below the request level.
func nested(prefix string, err error) error {
	var le *LimitError
	if errors.As(err, &le) {
		return within(prefix, le)
	}
	return fmt.Errorf("%s.%w", prefix, err)
}

func validateTraces(td ptrace.Traces, l RequestLimits) error {
	if n := td.SpanCount(); n > l.MaxSpansPerRequest {
		return overLimit("request", "spans", LimitSpans, l.MaxSpansPerRequest, n)
	}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if err := checkResource(rs.Resource(), rs.SchemaUrl(), l); err != nil {
			return within(fmt.Sprintf("resource_spans[%d]", i), err)
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			if err := checkScope(ss.Scope(), ss.SchemaUrl(), l); err != nil {
				return within(fmt.Sprintf("resource_spans[%d].scope_spans[%d]", i, j), err)
			}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				if err := checkSpan(spans.At(k), l); err != nil {
					return within(fmt.Sprintf("resource_spans[%d].scope_spans[%d].spans[%d]", i, j, k), err)
				}
			}
		}
	}
	return nil
}

func checkSpan(sp ptrace.Span, l RequestLimits) error {
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
	if err := checkAttrs(sp.Attributes(), l); err != nil {
		return err
	}
	evs := sp.Events()
	if evs.Len() > l.MaxEventsPerSpan {
		return overLimit("events", "events", LimitEvents, l.MaxEventsPerSpan, evs.Len())
	}
	for e := 0; e < evs.Len(); e++ {
		ev := evs.At(e)
		if !utf8.ValidString(ev.Name()) {
			return fmt.Errorf("events[%d].%w", e, errUTF8("name"))
		}
		if err := checkAttrs(ev.Attributes(), l); err != nil {
			return nested(fmt.Sprintf("events[%d]", e), err)
		}
	}
	links := sp.Links()
	if links.Len() > l.MaxLinksPerSpan {
		return overLimit("links", "links", LimitLinks, l.MaxLinksPerSpan, links.Len())
	}
	for k := 0; k < links.Len(); k++ {
		ln := links.At(k)
		if !utf8.ValidString(ln.TraceState().AsRaw()) {
			return fmt.Errorf("links[%d].%w", k, errUTF8("trace_state"))
		}
		if err := checkAttrs(ln.Attributes(), l); err != nil {
			return nested(fmt.Sprintf("links[%d]", k), err)
		}
	}
	return nil
}

func validateMetrics(md pmetric.Metrics, l RequestLimits) error {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		if err := checkResource(rm.Resource(), rm.SchemaUrl(), l); err != nil {
			return within(fmt.Sprintf("resource_metrics[%d]", i), err)
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			if err := checkScope(sm.Scope(), sm.SchemaUrl(), l); err != nil {
				return within(fmt.Sprintf("resource_metrics[%d].scope_metrics[%d]", i, j), err)
			}
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				if err := checkMetric(ms.At(k), l); err != nil {
					return within(fmt.Sprintf("resource_metrics[%d].scope_metrics[%d].metrics[%d]", i, j, k), err)
				}
			}
		}
	}
	return nil
}

func checkMetric(m pmetric.Metric, l RequestLimits) error {
	switch {
	case !utf8.ValidString(m.Name()):
		return errUTF8("name")
	case !utf8.ValidString(m.Description()):
		return errUTF8("description")
	case !utf8.ValidString(m.Unit()):
		return errUTF8("unit")
	}
	if err := checkNamed(m.Metadata(), l, "metadata.attributes"); err != nil {
		return err
	}
	var err error
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		err = checkNumberPoints(m.Gauge().DataPoints(), l)
	case pmetric.MetricTypeSum:
		err = checkNumberPoints(m.Sum().DataPoints(), l)
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for p := 0; p < dps.Len() && err == nil; p++ {
			err = checkPoint(p, dps.At(p).Attributes(), dps.At(p).Exemplars(), l)
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for p := 0; p < dps.Len() && err == nil; p++ {
			err = checkPoint(p, dps.At(p).Attributes(), dps.At(p).Exemplars(), l)
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for p := 0; p < dps.Len() && err == nil; p++ {
			err = checkPoint(p, dps.At(p).Attributes(), pmetric.NewExemplarSlice(), l)
		}
	}
	return err
}

func checkNumberPoints(dps pmetric.NumberDataPointSlice, l RequestLimits) error {
	for p := 0; p < dps.Len(); p++ {
		if err := checkPoint(p, dps.At(p).Attributes(), dps.At(p).Exemplars(), l); err != nil {
			return err
		}
	}
	return nil
}

func checkPoint(p int, attrs pcommon.Map, ex pmetric.ExemplarSlice, l RequestLimits) error {
	if err := checkAttrs(attrs, l); err != nil {
		return nested(fmt.Sprintf("data_points[%d]", p), err)
	}
	for e := 0; e < ex.Len(); e++ {
		if err := checkNamed(ex.At(e).FilteredAttributes(), l, "filtered_attributes"); err != nil {
			return nested(fmt.Sprintf("data_points[%d].exemplars[%d]", p, e), err)
		}
	}
	return nil
}

func checkResource(r pcommon.Resource, schemaURL string, l RequestLimits) error {
	if !utf8.ValidString(schemaURL) {
		return errUTF8("schema_url")
	}
	if err := checkAttrs(r.Attributes(), l); err != nil {
		return nested("resource", err)
	}
	return nil
}

func checkScope(s pcommon.InstrumentationScope, schemaURL string, l RequestLimits) error {
	switch {
	case !utf8.ValidString(schemaURL):
		return errUTF8("schema_url")
	case !utf8.ValidString(s.Name()):
		return errUTF8("scope.name")
	case !utf8.ValidString(s.Version()):
		return errUTF8("scope.version")
	}
	if err := checkAttrs(s.Attributes(), l); err != nil {
		return nested("scope", err)
	}
	return nil
}

func errUTF8(field string) error { return fmt.Errorf("%s: not valid UTF-8", field) }

// checkAttrs checks an attribute map: its size, keys and values, nested
// maps and slices included, down to l.MaxAttrDepth levels. The pre-scan
// has bounded the depth already (the recursion here is at most
// MaxAttrDepthCeiling deep whatever the input); the depth is checked
// again because a JSON request is only bounded loosely by its pre-scan.
// Paths are built only on the way out of an error, so a valid request
// costs no formatting.
func checkAttrs(m pcommon.Map, l RequestLimits) error { return checkNamed(m, l, "attributes") }

// checkNamed is checkAttrs for a map known by another name in messages.
func checkNamed(m pcommon.Map, l RequestLimits, name string) error {
	err := checkMap(m, l, 0)
	if err == nil {
		return nil
	}
	var le *LimitError
	if errors.As(err, &le) {
		le.Path = name + le.Path
		return le
	}
	var pe *pathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s%s: %s", name, pe.path, pe.msg)
	}
	return err
}

// pathError is a problem inside an attribute value, its path relative to
// the attribute map, built from the inside out.
type pathError struct{ path, msg string }

func (e *pathError) Error() string { return e.path + ": " + e.msg }

// under prefixes the relative path of err (a *LimitError or *pathError) with seg.
func under(seg string, err error) error {
	switch e := err.(type) {
	case *LimitError:
		e.Path = seg + e.Path
	case *pathError:
		e.path = seg + e.path
	}
	return err
}

func checkMap(m pcommon.Map, l RequestLimits, depth int) error {
	if n := m.Len(); n > l.MaxAttributes {
		what := "attributes"
		if depth > 0 {
			what = "key-value list entries"
		}
		return overLimit("", what, LimitAttributes, l.MaxAttributes, n)
	}
	var err error
	m.Range(func(k string, v pcommon.Value) bool {
		switch {
		case len(k) > l.MaxKeyBytes:
			err = overLimit(fmt.Sprintf("[%q]", truncUTF8(k, 32)), "key bytes", LimitKeyBytes, l.MaxKeyBytes, len(k))
		case !utf8.ValidString(k):
			err = &pathError{path: fmt.Sprintf("[%q]", k), msg: "key is not valid UTF-8"}
		default:
			if err = checkValue(v, l, depth); err != nil {
				err = under(fmt.Sprintf("[%q]", truncUTF8(k, 64)), err)
			}
		}
		return err == nil
	})
	return err
}

// checkValue checks one value nested depth levels inside an attribute.
func checkValue(v pcommon.Value, l RequestLimits, depth int) error {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		if len(s) > l.MaxValueBytes {
			return overLimit("", "value bytes", LimitValueBytes, l.MaxValueBytes, len(s))
		}
		if !utf8.ValidString(s) {
			return &pathError{msg: "value is not valid UTF-8"}
		}
	case pcommon.ValueTypeBytes:
		if n := v.Bytes().Len(); n > l.MaxValueBytes {
			return overLimit("", "value bytes", LimitValueBytes, l.MaxValueBytes, n)
		}
	case pcommon.ValueTypeSlice:
		if depth+1 > l.MaxAttrDepth {
			return overLimit("", "levels of nested arrays and key-value lists", LimitAttrDepth, l.MaxAttrDepth, depth+1)
		}
		s := v.Slice()
		if s.Len() > l.MaxArrayLen {
			return overLimit("", "array elements", LimitArrayLen, l.MaxArrayLen, s.Len())
		}
		for i := 0; i < s.Len(); i++ {
			if err := checkValue(s.At(i), l, depth+1); err != nil {
				return under(fmt.Sprintf("[%d]", i), err)
			}
		}
	case pcommon.ValueTypeMap:
		if depth+1 > l.MaxAttrDepth {
			return overLimit("", "levels of nested arrays and key-value lists", LimitAttrDepth, l.MaxAttrDepth, depth+1)
		}
		return checkMap(v.Map(), l, depth+1)
	}
	return nil
}

// truncUTF8 shortens s to at most n bytes and an ellipsis for a message,
// on a rune boundary.
func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
