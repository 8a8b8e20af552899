package main

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/causeway-dev/causeway/collector/otlp/otlptest"
	"github.com/causeway-dev/causeway/collector/spool"
)

func TestSummarizeQuarantinedRecord(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range 150 {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{0xab, byte(i)}))
		sp.SetSpanID(pcommon.SpanID([8]byte{0xcd, byte(i)}))
		sp.SetName("orders publish")
		for k := range 60 {
			sp.Attributes().PutInt("k"+strings.Repeat("x", k), 1)
		}
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	sum := summarize(spool.QuarantineInfo{ID: "3-1", Kind: "traces"}, append([]byte{'T'}, b...))
	if !sum.Decoded || len(sum.Spans) != summarySpans || !sum.Truncated {
		t.Fatalf("decoded %v, %d spans shown, truncated %v", sum.Decoded, len(sum.Spans), sum.Truncated)
	}
	s0 := sum.Spans[0]
	if s0.Name != "orders publish" || s0.Service != "orders" || s0.TraceID != "ab000000000000000000000000000000" ||
		s0.SpanID != "cd00000000000000" || len(s0.AttributeKeys) != summaryAttributes {
		t.Errorf("first span %+v", s0)
	}

	// A record nested too deep to decode safely is described, not decoded.
	deep := summarize(spool.QuarantineInfo{}, append([]byte{'T'}, otlptest.DeepProto(100_000, false)...))
	if deep.Decoded || !strings.Contains(deep.DecodeError, "max_attr_depth") || deep.Head == "" {
		t.Errorf("deep record: %+v", deep)
	}
	if bad := summarize(spool.QuarantineInfo{}, []byte("Zzz")); bad.Decoded || !strings.Contains(bad.DecodeError, "unknown record kind") {
		t.Errorf("unknown kind: %+v", bad)
	}
}
