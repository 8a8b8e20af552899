package agent

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/causeway-dev/causeway/event"
)

// span is the agent's own record of one messaging operation (publish,
// process attempt or settle): fixed fields, set on the hot path without
// building anything, turned into attributes by the exporter goroutine
// (export.go) a batch at a time. It is a trace.Span, for callers, and
// the context.Context that carries it, so a record's context holds the
// span and the handled event in one layer (Value answers both the trace
// package's span key and the agent's event key).
//
// A span that is not sampled, or made in metadata-only mode, is not
// recording: it carries ids (its span context goes into traceparent, a
// process span's Event into the handler's context), has no record and is
// never exported.
type span struct {
	context.Context // the context the span started in
	embedded.Span

	a  *Agent
	op event.Op // OpPublish, OpProcess or OpSettle
	sc trace.SpanContext
	ev Event // the message's ids
	// *record is what only a recording span has; nil for the others,
	// which are a fifth of the size.
	*record
}

// record is a recording span's data, kept small: times as Unix
// nanoseconds, what callers add in a separate, rarely allocated struct.
type record struct {
	kind trace.SpanKind
	// hasID, hasCorr: the message carried ce_id and a correlation id
	// (process spans); the conventions' attributes are set only then.
	hasID, hasCorr bool

	parent, link trace.SpanContext
	start        int64 // Unix nanoseconds
	d            Destination
	pubOp        event.Op // a publish's causeway.op (dead_letter, replay), "" for a plain publish
	replayOf     string
	action       string // a settle's ack, nak or term
	attempt      int

	mu      sync.Mutex
	ended   bool
	end     int64 // Unix nanoseconds
	outcome event.Outcome
	err     error
	status  sdktrace.Status
	name    string // set by SetName, else derived from the destination
	added   *added // nil until a caller adds attributes, events or links
}

// added is what callers add to a span beside the agent's own data.
type added struct {
	attrs  []attribute.KeyValue
	events []sdktrace.Event
	links  []sdktrace.Link
}

// more returns s.added, allocating it. Called with s.mu held.
func (r *record) more() *added {
	if r.added == nil {
		r.added = &added{}
	}
	return r.added
}

// recordedSpan allocates a recording span and its record at once.
type recordedSpan struct {
	span
	record
}

// newSpan returns a span, recording or not.
func newSpan(ctx context.Context, a *Agent, op event.Op, recording bool) *span {
	if !recording {
		return &span{Context: ctx, a: a, op: op}
	}
	rs := &recordedSpan{span: span{Context: ctx, a: a, op: op}}
	rs.span.record = &rs.record
	return &rs.span
}

var _ trace.Span = (*span)(nil)

// spanKey is the trace package's context key of the current span, learnt
// once by asking trace.SpanFromContext for it, so that a span's context
// answers trace.SpanFromContext without a second context layer.
var spanKey = func() any {
	var k keySpy
	trace.SpanFromContext(&k)
	return k.key
}()

// keySpy is a context that remembers the key it was asked for.
type keySpy struct {
	context.Context
	key any
}

func (k *keySpy) Value(key any) any { k.key = key; return nil }

// Value implements context.Context: the span itself for the trace
// package, a process span's Event for EventFromContext.
func (s *span) Value(key any) any {
	switch key {
	case spanKey:
		return s
	case any(eventKey{}):
		if s.op == event.OpProcess {
			return s
		}
	}
	return s.Context.Value(key)
}

// End implements trace.Span: the span is queued for export if it is
// recording.
func (s *span) End(opts ...trace.SpanEndOption) {
	if s.record == nil {
		return
	}
	end := time.Now()
	if len(opts) > 0 {
		if cfg := trace.NewSpanEndConfig(opts...); !cfg.Timestamp().IsZero() {
			ts := cfg.Timestamp()
			end = ts
		}
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.end = true, end.UnixNano()
	s.mu.Unlock()
	s.a.q.push(entry{own: s})
}

// AddEvent implements trace.Span.
func (s *span) AddEvent(name string, opts ...trace.EventOption) {
	if s.record == nil {
		return
	}
	cfg := trace.NewEventConfig(opts...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		m := s.more()
		m.events = append(m.events, sdktrace.Event{Name: name, Attributes: cfg.Attributes(), Time: cfg.Timestamp()})
	}
}

// AddLink implements trace.Span.
func (s *span) AddLink(l trace.Link) {
	if s.record == nil || !l.SpanContext.IsValid() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		m := s.more()
		m.links = append(m.links, sdktrace.Link{SpanContext: l.SpanContext, Attributes: l.Attributes})
	}
}

// IsRecording implements trace.Span.
func (s *span) IsRecording() bool {
	if s.record == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

// RecordError implements trace.Span: an "exception" event, as the SDK
// records it.
func (s *span) RecordError(err error, opts ...trace.EventOption) {
	if err == nil || s.record == nil {
		return
	}
	opts = append(opts, trace.WithAttributes(exceptionAttrs(err)...))
	s.AddEvent("exception", opts...)
}

// SpanContext implements trace.Span.
func (s *span) SpanContext() trace.SpanContext { return s.sc }

// SetStatus implements trace.Span with the SDK's precedence: Ok is
// final, Error replaces Unset, Unset changes nothing.
func (s *span) SetStatus(code codes.Code, description string) {
	if s.record == nil || code == codes.Unset {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.status.Code == codes.Ok {
		return
	}
	s.status = sdktrace.Status{Code: code}
	if code == codes.Error {
		s.status.Description = description
	}
}

// SetName implements trace.Span.
func (s *span) SetName(name string) {
	if s.record == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.name = name
	}
}

// SetAttributes implements trace.Span: kept beside the agent's own
// attributes.
func (s *span) SetAttributes(kv ...attribute.KeyValue) {
	if s.record == nil || len(kv) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		m := s.more()
		m.attrs = append(m.attrs, kv...)
	}
}

// TracerProvider implements trace.Span.
func (s *span) TracerProvider() trace.TracerProvider { return s.a.tp }

// finish sets how the operation ended (outcome "" leaves it unset) and
// ends the span.
func (s *span) finish(outcome event.Outcome, err error) {
	if s.record != nil {
		s.mu.Lock()
		if !s.ended {
			s.outcome, s.err = outcome, err
			if err != nil && s.status.Code != codes.Ok {
				s.status = sdktrace.Status{Code: codes.Error, Description: err.Error()}
			}
		}
		s.mu.Unlock()
	}
	s.End()
}
