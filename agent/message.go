package agent

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/event"
)

// Headers are a message's headers as the agent reads and writes them: a
// propagation.TextMapCarrier over Kafka record headers or NATS headers.
type Headers = propagation.TextMapCarrier

// Destination says where a message is going or came from.
type Destination struct {
	// System is event.SystemKafka or event.SystemNATS.
	System string
	// Name is the topic or subject.
	Name string
	// Partition is the Kafka partition, -1 when unknown or not Kafka.
	Partition int32
	// Offset is the Kafka offset or JetStream stream sequence, -1 when unknown.
	Offset int64
	// Group is the consumer group or durable consumer, for consumers.
	Group string
	// PayloadSize is the body size in bytes.
	PayloadSize int
}

// Event is the message being handled, carried in a handler's context so
// that what the handler publishes names it as its cause and keeps its
// correlation id.
type Event struct {
	ID            string
	Type          string
	CorrelationID string
	CausationID   string
}

type eventKey struct{}

// ContextWithEvent returns ctx carrying e as the event being handled.
func ContextWithEvent(ctx context.Context, e Event) context.Context {
	return context.WithValue(ctx, eventKey{}, e)
}

// EventFromContext returns the event a handler's context carries.
func EventFromContext(ctx context.Context) (Event, bool) {
	e, ok := ctx.Value(eventKey{}).(Event)
	return e, ok
}

type opKey struct{}

// ContextWithOp marks what is published with ctx as op (event.OpDeadLetter
// or event.OpReplay) instead of a plain publish.
func ContextWithOp(ctx context.Context, op event.Op) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

// StartPublish fills a message's headers and starts its PRODUCER span.
// Ids already in the headers are kept: ce_id (a new id otherwise), the
// correlation id (else the handled event's, else the event id), the
// causation id (else the handled event's id). The W3C trace context of the
// new span is written into the headers. End the span with EndPublish.
func (a *Agent) StartPublish(ctx context.Context, h Headers, d Destination, eventType string) (context.Context, trace.Span) {
	cur, _ := EventFromContext(ctx)
	id := h.Get(event.HeaderEventID)
	if id == "" {
		id = NewID()
		h.Set(event.HeaderEventID, id)
	}
	if h.Get(event.HeaderEventType) == "" && eventType != "" {
		h.Set(event.HeaderEventType, eventType)
	}
	if h.Get(event.HeaderEventSource) == "" {
		h.Set(event.HeaderEventSource, a.cfg.service)
	}
	if h.Get(event.HeaderEventTime) == "" {
		h.Set(event.HeaderEventTime, time.Now().UTC().Format(time.RFC3339Nano))
	}
	corr := h.Get(event.HeaderCorrelationID)
	if corr == "" {
		corr = cur.CorrelationID
		if corr == "" {
			corr = id
		}
		h.Set(event.HeaderCorrelationID, corr)
	}
	cause := h.Get(event.HeaderCausationID)
	if cause == "" && cur.ID != "" {
		cause = cur.ID
		h.Set(event.HeaderCausationID, cause)
	}
	op := event.OpPublish
	if o, ok := ctx.Value(opKey{}).(event.Op); ok {
		op = o
	}
	attrs := a.messagingAttrs(d, "send", event.OpPublish)
	attrs = append(attrs,
		attribute.String(event.AttrMessagingMessageID, id),
		attribute.String(event.AttrMessagingConversationID, corr),
		attribute.String(event.AttrCorrelationID, corr))
	if op != event.OpPublish {
		attrs = append(attrs, attribute.String(event.AttrOp, string(op)))
	}
	if t := h.Get(event.HeaderEventType); t != "" {
		attrs = append(attrs, attribute.String(event.AttrEventType, t))
	}
	if cause != "" {
		attrs = append(attrs, attribute.String(event.AttrCausationID, cause))
	}
	if r := h.Get(event.HeaderReplayOf); r != "" {
		attrs = append(attrs, attribute.String(event.AttrReplayOf, r))
	}
	ctx, span := a.tracer.Start(ctx, d.Name+" publish", trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	a.prop.Inject(ctx, h)
	return ctx, span
}

// EndPublish ends a PRODUCER span with where the broker put the message
// (partition and offset or stream sequence, when known) or the error.
func (a *Agent) EndPublish(span trace.Span, d Destination, err error) {
	span.SetAttributes(a.locationAttrs(d)...)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(attribute.String(event.AttrOutcome, string(event.OutcomeError)))
	}
	span.End()
}

// StartProcess starts the CONSUMER span of one handling attempt: linked to
// the producer's span from the headers' trace context (the conventions'
// way, so a consumer's trace stays its own), with the message's ids. The
// returned context carries the Event for what the handler publishes.
// End the span with EndProcess.
func (a *Agent) StartProcess(ctx context.Context, h Headers, d Destination, attempt int) (context.Context, trace.Span, Event) {
	ev := Event{ID: h.Get(event.HeaderEventID), Type: h.Get(event.HeaderEventType),
		CorrelationID: h.Get(event.HeaderCorrelationID), CausationID: h.Get(event.HeaderCausationID)}
	var opts []trace.SpanStartOption
	if pc := trace.SpanContextFromContext(a.prop.Extract(context.Background(), h)); pc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: pc}))
	}
	attrs := a.messagingAttrs(d, "process", event.OpProcess)
	attrs = append(attrs, a.locationAttrs(d)...)
	attrs = append(attrs, attribute.Int(event.AttrAttempt, attempt))
	if ev.ID != "" {
		attrs = append(attrs, attribute.String(event.AttrMessagingMessageID, ev.ID))
	}
	if ev.CorrelationID != "" {
		attrs = append(attrs, attribute.String(event.AttrMessagingConversationID, ev.CorrelationID),
			attribute.String(event.AttrCorrelationID, ev.CorrelationID))
	}
	if ev.Type != "" {
		attrs = append(attrs, attribute.String(event.AttrEventType, ev.Type))
	}
	if r := h.Get(event.HeaderReplayOf); r != "" {
		attrs = append(attrs, attribute.String(event.AttrReplayOf, r))
	}
	opts = append(opts, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...), trace.WithNewRoot())
	ctx, span := a.tracer.Start(ctx, d.Name+" process", opts...)
	if ev.ID == "" {
		// A producer we do not know (kcat, another library): the span
		// id stands in as the event id, as the collector would do.
		ev.ID = span.SpanContext().SpanID().String()
	}
	if ev.CorrelationID == "" {
		ev.CorrelationID = ev.ID
	}
	return ContextWithEvent(ctx, ev), span, ev
}

// EndProcess ends a handling attempt's span with its outcome.
func (a *Agent) EndProcess(span trace.Span, outcome event.Outcome, err error) {
	span.SetAttributes(attribute.String(event.AttrOutcome, string(outcome)))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// RecordSettle records an ack, nak or term of a message as a settle span.
func (a *Agent) RecordSettle(ctx context.Context, d Destination, action string, err error) {
	attrs := append(a.messagingAttrs(d, "settle", event.OpSettle), a.locationAttrs(d)...)
	attrs = append(attrs, attribute.String("messaging.settle.action", action))
	if e, ok := EventFromContext(ctx); ok {
		attrs = append(attrs, attribute.String(event.AttrMessagingMessageID, e.ID), attribute.String(event.AttrCorrelationID, e.CorrelationID))
	}
	_, span := a.tracer.Start(ctx, d.Name+" "+action, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	outcome := event.OutcomeOK
	if err != nil {
		outcome = event.OutcomeError
	}
	a.EndProcess(span, outcome, err)
}

// messagingAttrs are the convention attributes of an operation, with the
// old names too when asked for.
func (a *Agent) messagingAttrs(d Destination, opType string, op event.Op) []attribute.KeyValue {
	// Room for what StartPublish and StartProcess append, so the slice
	// is allocated once.
	attrs := make([]attribute.KeyValue, 0, 16)
	attrs = append(attrs,
		attribute.String(event.AttrMessagingSystem, d.System),
		attribute.String(event.AttrMessagingDestinationName, d.Name),
		attribute.String(event.AttrMessagingOperationType, opType),
		attribute.String(event.AttrMessagingOperationName, string(op)),
	)
	if d.PayloadSize >= 0 {
		attrs = append(attrs, attribute.Int(event.AttrMessagingMessageBodySize, d.PayloadSize))
	}
	if d.Group != "" {
		attrs = append(attrs, attribute.String(event.AttrMessagingConsumerGroupName, d.Group))
	}
	if a.cfg.oldSemconv {
		attrs = append(attrs, attribute.String(event.AttrMessagingOperation, opType), attribute.String(event.AttrMessagingDestinationOld, d.Name))
		if d.Group != "" && d.System == event.SystemKafka {
			attrs = append(attrs, attribute.String(event.AttrMessagingKafkaConsumerGrp, d.Group))
		}
	}
	return attrs
}

func (a *Agent) locationAttrs(d Destination) []attribute.KeyValue {
	var attrs []attribute.KeyValue
	if d.Partition >= 0 {
		attrs = append(attrs, attribute.String(event.AttrMessagingDestinationPartID, strconv.Itoa(int(d.Partition))))
		if a.cfg.oldSemconv {
			attrs = append(attrs, attribute.Int(event.AttrMessagingKafkaPartitionOld, int(d.Partition)))
		}
	}
	if d.Offset >= 0 {
		switch d.System {
		case event.SystemKafka:
			attrs = append(attrs, attribute.Int64(event.AttrMessagingKafkaOffset, d.Offset))
			if a.cfg.oldSemconv {
				attrs = append(attrs, attribute.Int64(event.AttrMessagingKafkaOffsetOld, d.Offset))
			}
		default:
			attrs = append(attrs, attribute.Int64(event.AttrMessagingNATSStreamSequence, d.Offset))
		}
	}
	return attrs
}
