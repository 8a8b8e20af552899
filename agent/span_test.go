package agent_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/event"
)

// TestTraceparentMatchesThePropagator: what the agent writes, the
// OpenTelemetry propagator reads as the span's context; what the
// propagator writes (with tracestate), the agent links to, through both
// a map carrier and a Kafka record's one-pass HeaderList.
func TestTraceparentMatchesThePropagator(t *testing.T) {
	a, exp := newTestAgent(t)
	ctx := context.Background()
	d := agent.Destination{System: event.SystemKafka, Name: "t", Partition: -1, Offset: -1}
	prop := propagation.TraceContext{}
	for _, h := range []agent.Headers{mapHeaders{}, (*kafka.Carrier)(&kgo.Record{})} {
		pctx, span := a.StartPublish(ctx, h, d, "")
		a.EndPublish(span, d, nil)
		got := trace.SpanContextFromContext(prop.Extract(ctx, h))
		if !got.Equal(span.SpanContext().WithRemote(true)) || trace.SpanFromContext(pctx) != span {
			t.Fatalf("%T: propagator read %v, span is %v", h, got, span.SpanContext())
		}
	}
	ts, _ := trace.ParseTraceState("vendor=x")
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2}, SpanID: trace.SpanID{3}, TraceFlags: trace.FlagsSampled, TraceState: ts})
	for _, h := range []agent.Headers{mapHeaders{}, (*kafka.Carrier)(&kgo.Record{})} {
		prop.Inject(trace.ContextWithSpanContext(ctx, remote), h)
		_, span, _ := a.StartProcess(ctx, h, d, 1)
		a.EndProcess(span, event.OutcomeOK, nil)
	}
	a.Flush(ctx)
	spans := exp.GetSpans()
	for _, s := range spans[2:] {
		if len(s.Links) != 1 || !s.Links[0].SpanContext.Equal(remote.WithRemote(true)) {
			t.Fatalf("process span links %+v, want %v", s.Links, remote)
		}
	}
	for _, bad := range []string{"00-0102-03-01", "ff-01020000000000000000000000000000-0300000000000000-01",
		"00-00000000000000000000000000000000-0300000000000000-01", "00-01020000000000000000000000000000-0300000000000000-01-x",
		"00-0102000000000000000000000000000G-0300000000000000-01"} {
		_, span, _ := a.StartProcess(ctx, mapHeaders{event.HeaderTraceparent: bad}, d, 1)
		a.EndProcess(span, event.OutcomeOK, nil)
		exp.Reset()
		a.Flush(ctx)
		if l := exp.GetSpans()[0].Links; len(l) != 0 {
			t.Errorf("traceparent %q accepted: %v", bad, l)
		}
	}
}

// TestProcessContext: a handler's context carries the process span (for
// spans of the agent's tracer) and the event (for what it publishes) in
// one layer; an explicit ContextWithEvent inside it wins.
func TestProcessContext(t *testing.T) {
	a, exp := newTestAgent(t)
	d := agent.Destination{System: event.SystemNATS, Name: "s", Partition: -1, Offset: 7, Group: "g"}
	h := mapHeaders{event.HeaderEventID: "e1", event.HeaderCorrelationID: "c1"}
	ctx, span, ev := a.StartProcess(context.Background(), h, d, 2)
	if got, _ := agent.EventFromContext(ctx); got != ev || ev.ID != "e1" || ev.CorrelationID != "c1" {
		t.Fatalf("event %+v in context, %+v returned", got, ev)
	}
	_, child := a.Tracer().Start(ctx, "db query")
	child.End()
	span.SetAttributes(attribute.String("order.id", "o-9"))
	inner := agent.ContextWithEvent(ctx, agent.Event{ID: "e2"})
	if got, _ := agent.EventFromContext(inner); got.ID != "e2" {
		t.Fatalf("explicit event lost: %+v", got)
	}
	a.RecordSettle(ctx, d, "ack", nil)
	a.EndProcess(span, event.OutcomeError, errors.New("boom"))
	a.EndProcess(span, event.OutcomeOK, nil) // ended already: no effect
	a.Flush(context.Background())
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want the child, the settle and the process span", len(spans))
	}
	for _, s := range spans[:2] {
		if s.Parent.SpanID() != span.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the process span", s.Name)
		}
	}
	settle, proc := attrs(spans[1]), attrs(spans[2])
	if spans[1].Name != "s ack" || settle["messaging.settle.action"] != "ack" || settle[event.AttrMessagingMessageID] != "e1" {
		t.Errorf("settle span %s %v", spans[1].Name, settle)
	}
	if proc["order.id"] != "o-9" || proc[event.AttrOutcome] != "error" || proc[event.AttrAttempt] != "2" ||
		proc[event.AttrMessagingNATSStreamSequence] != "7" || proc[event.AttrMessagingConsumerGroupName] != "g" {
		t.Errorf("process span attributes %v", proc)
	}
	if st := spans[2].Status; st.Code != codes.Error || st.Description != "boom" || len(spans[2].Events) != 1 ||
		spans[2].Events[0].Name != "exception" {
		t.Errorf("process span status %+v, events %+v", st, spans[2].Events)
	}
}

// TestUnrecordedPublishHeaders: a publish that records no span (metadata
// only, or not sampled) writes the same headers as one that does: a new
// event id, which is also the correlation id of a new flow, and its trace
// context with the sampled flag as decided.
func TestUnrecordedPublishHeaders(t *testing.T) {
	d := agent.Destination{System: event.SystemKafka, Name: "t", Partition: -1, Offset: -1}
	for _, opt := range []agent.Option{agent.WithMetadataOnly(), agent.WithSampler(sdktrace.NeverSample())} {
		a, exp := newTestAgent(t, opt)
		for _, h := range []agent.Headers{mapHeaders{}, (*kafka.Carrier)(&kgo.Record{})} {
			_, span := a.StartPublish(context.Background(), h, d, "order.placed")
			a.EndPublish(span, d, nil)
			id := h.Get(event.HeaderEventID)
			if len(id) != 32 || h.Get(event.HeaderCorrelationID) != id || h.Get(event.HeaderEventType) != "order.placed" ||
				h.Get(event.HeaderEventSource) != "svc" || h.Get(event.HeaderEventTime) == "" || span.IsRecording() {
				t.Fatalf("%T: id %q correlation %q type %q source %q (recording %v)", h, id, h.Get(event.HeaderCorrelationID),
					h.Get(event.HeaderEventType), h.Get(event.HeaderEventSource), span.IsRecording())
			}
			sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), h))
			if !sc.IsValid() || sc.SpanID() != span.SpanContext().SpanID() || sc.IsSampled() != span.SpanContext().IsSampled() {
				t.Fatalf("%T: traceparent %q for span %v", h, h.Get(event.HeaderTraceparent), span.SpanContext())
			}
		}
		a.Flush(context.Background())
		if n := len(exp.GetSpans()); n != 0 {
			t.Fatalf("%d spans exported", n)
		}
	}
}
