package lineage

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/causeway-dev/causeway/event"
)

var (
	traceA = pcommon.TraceID([16]byte{0xa1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	traceB = pcommon.TraceID([16]byte{0xb1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	spanP  = pcommon.SpanID([8]byte{0xaa, 0, 0, 0, 0, 0, 0, 1})
	spanC  = pcommon.SpanID([8]byte{0xbb, 0, 0, 0, 0, 0, 0, 2})
	spanH  = pcommon.SpanID([8]byte{0xcc, 0, 0, 0, 0, 0, 0, 3})
)

// producerConsumer builds a producer span in service "orders" using the new
// semconv keys, and a consumer span in "payments" using the old ones and
// linked to the producer, plus a plain child span of the consumer.
func producerConsumer() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders")
	p := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	p.SetTraceID(traceA)
	p.SetSpanID(spanP)
	p.SetName("orders.placed send")
	p.SetKind(ptrace.SpanKindProducer)
	p.SetStartTimestamp(1_000)
	p.SetEndTimestamp(1_500)
	a := p.Attributes()
	a.PutStr("messaging.system", "kafka")
	a.PutStr("messaging.operation.type", "send")
	a.PutStr("messaging.destination.name", "orders.placed")
	a.PutStr("messaging.destination.partition.id", "3")
	a.PutInt("messaging.kafka.offset", 42)
	a.PutStr("messaging.message.id", "evt-1")
	a.PutStr("messaging.message.conversation_id", "order-8123")
	a.PutInt("messaging.message.body.size", 128)
	a.PutStr("custom", "kept")

	rs2 := td.ResourceSpans().AppendEmpty()
	rs2.Resource().Attributes().PutStr("service.name", "payments")
	ss := rs2.ScopeSpans().AppendEmpty().Spans()
	c := ss.AppendEmpty()
	c.SetTraceID(traceB)
	c.SetSpanID(spanC)
	c.SetKind(ptrace.SpanKindConsumer)
	c.SetStartTimestamp(2_000)
	c.SetEndTimestamp(2_600)
	c.Status().SetCode(ptrace.StatusCodeError)
	c.Status().SetMessage("card declined")
	l := c.Links().AppendEmpty()
	l.SetTraceID(traceA)
	l.SetSpanID(spanP)
	ca := c.Attributes()
	ca.PutStr("messaging.system", "kafka")
	ca.PutStr("messaging.operation", "process")
	ca.PutStr("messaging.destination", "orders.placed")
	ca.PutInt("messaging.kafka.partition", 3)
	ca.PutInt("messaging.kafka.message.offset", 42)
	ca.PutStr("messaging.kafka.consumer.group", "payment-service")
	ca.PutStr("messaging.message.id", "evt-1")
	ca.PutStr("causeway.correlation.id", "order-8123")
	ca.PutStr("causeway.outcome", "retry")
	ca.PutInt("causeway.attempt", 2)

	h := ss.AppendEmpty()
	h.SetTraceID(traceB)
	h.SetSpanID(spanH)
	h.SetParentSpanID(spanC)
	h.SetName("SELECT balance")
	h.SetKind(ptrace.SpanKindClient)
	return td
}

func TestDeriveProducerConsumer(t *testing.T) {
	b := Derive(producerConsumer())
	if len(b.Spans) != 3 {
		t.Fatalf("spans = %d, want 3 (messaging and plain spans are all kept)", len(b.Spans))
	}
	if len(b.Events) != 2 {
		t.Fatalf("events = %d, want 2", len(b.Events))
	}
	p, c := b.Events[0], b.Events[1]
	want := event.Event{
		EventID: "evt-1", CorrelationID: "order-8123", TraceID: traceA.String(), SpanID: spanP.String(),
		Service: "orders", System: "kafka", Destination: "orders.placed", Partition: 3, Offset: 42,
		Op: event.OpPublish, Outcome: event.OutcomeOK, StartNS: 1000, DurationNS: 500, PayloadSize: 128,
		Attributes: map[string]string{"custom": "kept"},
	}
	if p.EventID != want.EventID || p.CorrelationID != want.CorrelationID || p.TraceID != want.TraceID ||
		p.SpanID != want.SpanID || p.Service != want.Service || p.System != want.System ||
		p.Destination != want.Destination || p.Partition != want.Partition || p.Offset != want.Offset ||
		p.Op != want.Op || p.Outcome != want.Outcome || p.StartNS != want.StartNS ||
		p.DurationNS != want.DurationNS || p.PayloadSize != want.PayloadSize || len(p.Attributes) != 1 || p.Attributes["custom"] != "kept" {
		t.Errorf("producer event =\n%+v\nwant\n%+v", p, want)
	}
	if c.Op != event.OpProcess || c.Outcome != event.OutcomeRetry || c.Error != "card declined" ||
		c.Attempt != 2 || c.ConsumerGroup != "payment-service" || c.Destination != "orders.placed" ||
		c.Partition != 3 || c.Offset != 42 || c.Service != "payments" || c.PayloadSize != -1 {
		t.Errorf("consumer event = %+v", c)
	}
	if len(b.Edges) != 1 {
		t.Fatalf("edges = %+v, want one link edge", b.Edges)
	}
	e := b.Edges[0]
	if e.Kind != event.EdgeLink || e.FromTraceID != traceA.String() || e.FromSpanID != spanP.String() ||
		e.ToTraceID != traceB.String() || e.ToSpanID != spanC.String() || e.CorrelationID != "order-8123" {
		t.Errorf("edge = %+v", e)
	}
}

func TestDeriveParentAndCausation(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(traceA)
	sp.SetSpanID(spanH)
	sp.SetParentSpanID(spanC)
	sp.SetKind(ptrace.SpanKindProducer)
	sp.Attributes().PutStr("causeway.causation.id", "evt-1")
	b := Derive(td)
	if len(b.Events) != 1 || b.Events[0].Service != "unknown_service" || b.Events[0].EventID != spanH.String() {
		t.Fatalf("events = %+v", b.Events)
	}
	kinds := map[event.EdgeKind]event.Edge{}
	for _, e := range b.Edges {
		kinds[e.Kind] = e
	}
	if e, ok := kinds[event.EdgeParent]; !ok || e.FromSpanID != spanC.String() || e.FromTraceID != traceA.String() {
		t.Errorf("parent edge = %+v", e)
	}
	if e, ok := kinds[event.EdgeCausation]; !ok || e.FromEventID != "evt-1" || e.FromSpanID != "" {
		t.Errorf("causation edge = %+v", e)
	}
}

func TestDeriveSkipsSpansWithoutIDs(t *testing.T) {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("no ids")
	if b := Derive(td); b.Len() != 0 {
		t.Fatalf("batch = %+v, want empty", b)
	}
}

func BenchmarkDerive(b *testing.B) {
	td := ptrace.NewTraces()
	for i := 0; i < 100; i++ {
		producerConsumer().ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	n := td.SpanCount()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Derive(td)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkDecodeProto decodes the same spans from OTLP protobuf: the
// ceiling Derive is compared with in docs/benchmarks.md (every span is
// decoded once before it can be normalised).
func BenchmarkDecodeProto(b *testing.B) {
	td := ptrace.NewTraces()
	for i := 0; i < 100; i++ {
		producerConsumer().ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	n := td.SpanCount()
	raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		b.Fatal(err)
	}
	var u ptrace.ProtoUnmarshaler
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := u.UnmarshalTraces(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "spans/s")
}

// TestDeriveKafkaClusterID: the cluster id the kafkajs instrumentation
// records names the event's cluster (before the broker's address).
func TestDeriveKafkaClusterID(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(traceA)
	sp.SetSpanID(spanP)
	sp.SetKind(ptrace.SpanKindProducer)
	a := sp.Attributes()
	a.PutStr("messaging.system", "kafka")
	a.PutStr("messaging.operation", "publish")
	a.PutStr("messaging.destination", "a")
	a.PutStr("messaging.kafka.cluster.id", "kfake")
	a.PutStr("server.address", "127.0.0.1")
	b := Derive(td)
	if len(b.Events) != 1 || b.Events[0].Cluster != "kfake" {
		t.Fatalf("events %+v", b.Events)
	}
	if _, repeated := b.Events[0].Attributes["messaging.kafka.cluster.id"]; repeated {
		t.Error("the cluster id is repeated in the event's attributes")
	}
}
