package agent

import (
	"context"
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
	// SchemaVersion is the payload's schema version, from the message's
	// causeway-schema-version header when it has one.
	SchemaVersion string
}

type eventKey struct{}

// ContextWithEvent returns ctx carrying e as the event being handled.
func ContextWithEvent(ctx context.Context, e Event) context.Context {
	return context.WithValue(ctx, eventKey{}, e)
}

// EventFromContext returns the event a handler's context carries.
func EventFromContext(ctx context.Context) (Event, bool) {
	switch v := ctx.Value(eventKey{}).(type) {
	case Event:
		return v, true
	case *span: // a process span's context
		return v.ev, true
	}
	return Event{}, false
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
// new span is written into the headers. The returned context carries the
// span (trace.SpanFromContext). End the span with EndPublish.
//
// The span is a child of the span in ctx, if any, and follows its
// sampling decision; else it starts a flow (see WithSampler).
func (a *Agent) StartPublish(ctx context.Context, h Headers, d Destination, eventType string) (context.Context, trace.Span) {
	if ctx == nil {
		ctx = context.Background()
	}
	a.published.Add(1)
	now := time.Now()
	var m msgHeaders
	m.read(h)
	cur, _ := EventFromContext(ctx)

	parent := trace.SpanContextFromContext(ctx)
	var sampled bool
	var tid trace.TraceID
	if parent.IsValid() {
		tid, sampled = parent.TraceID(), parent.IsSampled()
	} else {
		tid = newTraceID()
		sampled = a.sampleRoot(ctx, tid, d.Name, trace.SpanKindProducer)
	}
	s := newSpan(ctx, a, event.OpPublish, sampled && !a.cfg.metaOnly)
	s.sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: newSpanID(), TraceFlags: flags(sampled),
		TraceState: parent.TraceState()})

	// One buffer for every value written. A generated id is a string
	// of its own only when the span records it.
	var w headerWriter
	w.buf = make([]byte, 0, 192)
	id, idAt := m.id, len(w.buf)
	if id == "" {
		if s.record != nil {
			var b [32]byte
			id = string(appendNewID(b[:0]))
			w.buf = append(w.buf, id...)
		} else {
			w.buf = appendNewID(w.buf)
		}
		w.mark(event.HeaderEventID)
	}
	typ := m.typ
	if typ == "" && eventType != "" {
		typ = eventType
		w.buf = append(w.buf, eventType...)
		w.mark(event.HeaderEventType)
	}
	if !m.hasSource {
		w.buf = append(w.buf, a.cfg.service...)
		w.mark(event.HeaderEventSource)
	}
	if !m.hasTime {
		w.buf = now.UTC().AppendFormat(w.buf, time.RFC3339Nano)
		w.mark(event.HeaderEventTime)
	}
	corr := m.corr
	if corr == "" {
		if corr = cur.CorrelationID; corr != "" {
			w.buf = append(w.buf, corr...)
		} else if id != "" {
			corr = id
			w.buf = append(w.buf, id...)
		} else { // a generated id the span does not keep: its bytes again
			w.buf = append(w.buf, w.buf[idAt:idAt+32]...)
		}
		w.mark(event.HeaderCorrelationID)
	}
	cause := m.cause
	if cause == "" && cur.ID != "" {
		cause = cur.ID
		w.buf = append(w.buf, cause...)
		w.mark(event.HeaderCausationID)
	}
	w.buf = appendTraceparent(w.buf, s.sc)
	w.mark(event.HeaderTraceparent)
	if ts := s.sc.TraceState(); ts.Len() > 0 {
		w.buf = append(w.buf, ts.String()...)
		w.mark(event.HeaderTracestate)
	}
	w.flush(h, m.hasTraceContext)
	if s.record == nil {
		return s, s
	}
	s.kind, s.parent, s.start, s.d = trace.SpanKindProducer, parent, now.UnixNano(), d
	s.ev = Event{ID: id, Type: typ, CorrelationID: corr, CausationID: cause, SchemaVersion: m.schema}
	s.replayOf = m.replayOf
	if op, ok := ctx.Value(opKey{}).(event.Op); ok && op != event.OpPublish {
		s.pubOp = op
	}
	return s, s
}

// EndPublish ends a PRODUCER span with where the broker put the message
// (partition and offset or stream sequence, when known) or the error.
func (a *Agent) EndPublish(sp trace.Span, d Destination, err error) {
	s, ok := sp.(*span)
	if !ok {
		// not the agent's: what the SDK can record of it
		if err != nil {
			sp.RecordError(err)
			sp.SetStatus(codes.Error, err.Error())
		}
		sp.End()
		return
	}
	if s.record != nil {
		s.mu.Lock()
		if !s.ended {
			s.d.Partition, s.d.Offset = d.Partition, d.Offset
		}
		s.mu.Unlock()
	}
	if err != nil {
		s.finish(event.OutcomeError, err)
		return
	}
	s.finish("", nil)
}

// StartProcess starts the CONSUMER span of one handling attempt: linked to
// the producer's span from the headers' trace context (the conventions'
// way, so a consumer's trace stays its own), with the message's ids. The
// returned context carries the span and the Event for what the handler
// publishes. End the span with EndProcess.
//
// The span follows the producer's sampling decision (the sampled flag of
// traceparent); a message without trace context starts a flow (see
// WithSampler).
func (a *Agent) StartProcess(ctx context.Context, h Headers, d Destination, attempt int) (context.Context, trace.Span, Event) {
	if ctx == nil {
		ctx = context.Background()
	}
	a.processed.Add(1)
	start := time.Now()
	var m msgHeaders
	m.read(h)
	tid := newTraceID()
	sampled := m.remote.IsSampled()
	if !m.remote.IsValid() {
		sampled = a.sampleRoot(context.Background(), tid, d.Name, trace.SpanKindConsumer)
	}
	s := newSpan(ctx, a, event.OpProcess, sampled && !a.cfg.metaOnly)
	s.sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: newSpanID(), TraceFlags: flags(sampled)})
	s.ev = Event{ID: m.id, Type: m.typ, CorrelationID: m.corr, CausationID: m.cause, SchemaVersion: m.schema}
	if s.record != nil {
		s.kind, s.link, s.start, s.d, s.attempt = trace.SpanKindConsumer, m.remote, start.UnixNano(), d, attempt
		s.hasID, s.hasCorr, s.replayOf = m.id != "", m.corr != "", m.replayOf
	}
	if s.ev.ID == "" {
		// A producer we do not know (kcat, another library): the span
		// id stands in as the event id, as the collector would do.
		s.ev.ID = s.sc.SpanID().String()
	}
	if s.ev.CorrelationID == "" {
		s.ev.CorrelationID = s.ev.ID
	}
	return s, s, s.ev
}

// EndProcess ends a handling attempt's span with its outcome.
func (a *Agent) EndProcess(sp trace.Span, outcome event.Outcome, err error) {
	switch outcome {
	case event.OutcomeError, event.OutcomeRetry, event.OutcomeDeadLettered:
		a.failed.Add(1)
	}
	s, ok := sp.(*span)
	if !ok {
		sp.SetAttributes(attribute.String(event.AttrOutcome, string(outcome)))
		if err != nil {
			sp.RecordError(err)
			sp.SetStatus(codes.Error, err.Error())
		}
		sp.End()
		return
	}
	s.finish(outcome, err)
}

// RecordSettle records an ack, nak or term of a message as a settle span,
// a child of the span in ctx (the handling attempt's).
func (a *Agent) RecordSettle(ctx context.Context, d Destination, action string, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	parent := trace.SpanContextFromContext(ctx)
	if a.cfg.metaOnly || (parent.IsValid() && !parent.IsSampled()) {
		return
	}
	start := time.Now()
	tid := parent.TraceID()
	if !parent.IsValid() {
		if tid = newTraceID(); !a.sampleRoot(ctx, tid, d.Name, trace.SpanKindConsumer) {
			return
		}
	}
	s := newSpan(ctx, a, event.OpSettle, true)
	s.kind, s.start, s.d, s.action, s.parent = trace.SpanKindConsumer, start.UnixNano(), d, action, parent
	s.sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: newSpanID(), TraceFlags: trace.FlagsSampled,
		TraceState: parent.TraceState()})
	if e, ok := EventFromContext(ctx); ok {
		s.hasID, s.ev = true, e
	}
	outcome := event.OutcomeOK
	if err != nil {
		outcome = event.OutcomeError
	}
	s.finish(outcome, err)
}
