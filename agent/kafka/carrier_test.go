package kafka_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/event"
)

// TestHooksRewriteTraceContextOnly: a record that already carries ids and
// an old traceparent (a dead-lettered or replayed copy) keeps its ids,
// gets exactly one traceparent, the new span's, and the headers the
// agent adds hold their own values although they share one buffer.
func TestHooksRewriteTraceContextOnly(t *testing.T) {
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	a, err := agent.New(ctx, agent.WithService("svc"), agent.WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	tr := kafka.NewTracer(a)
	old := "00-0102030405060708090a0b0c0d0e0f10-0102030405060708-01"
	r := &kgo.Record{Topic: "orders", Value: []byte("v"), Context: ctx, Headers: []kgo.RecordHeader{
		{Key: event.HeaderEventID, Value: []byte("evt-1")}, {Key: event.HeaderTraceparent, Value: []byte(old)}}}
	tr.OnProduceRecordBuffered(r)
	r.Partition, r.Offset = 3, 42
	tr.OnProduceRecordUnbuffered(r, nil)

	count := map[string]int{}
	for _, h := range r.Headers {
		count[h.Key]++
	}
	for _, k := range []string{event.HeaderEventID, event.HeaderTraceparent, event.HeaderCorrelationID, event.HeaderEventSource, event.HeaderEventTime} {
		if count[k] != 1 {
			t.Errorf("%d × %s in %v", count[k], k, count)
		}
	}
	c := (*kafka.Carrier)(r)
	span := trace.SpanFromContext(r.Context)
	got := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(ctx, c))
	if c.Get(event.HeaderEventID) != "evt-1" || c.Get(event.HeaderCorrelationID) != "evt-1" || c.Get(event.HeaderEventSource) != "svc" ||
		!got.Equal(span.SpanContext().WithRemote(true)) || c.Get(event.HeaderTraceparent) == old {
		t.Fatalf("headers: id %q correlation %q source %q traceparent %q (span %v)", c.Get(event.HeaderEventID),
			c.Get(event.HeaderCorrelationID), c.Get(event.HeaderEventSource), c.Get(event.HeaderTraceparent), span.SpanContext())
	}
	a.Flush(ctx)
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "orders publish" {
		t.Fatalf("spans %+v", spans)
	}
	attrs := map[string]string{}
	for _, kv := range spans[0].Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if attrs[event.AttrMessagingMessageID] != "evt-1" || attrs[event.AttrMessagingDestinationPartID] != "3" || attrs[event.AttrMessagingKafkaOffset] != "42" {
		t.Fatalf("span attributes %v", attrs)
	}
}
