package agent

import (
	"context"
	"encoding/binary"
	mrand "math/rand/v2"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// WithSampler samples flows, not spans: s decides only where a flow
// starts here, that is for a publish with no span in its context and for
// the process span of a message that carries no trace context. Every
// other span follows: a publish its parent (the handler's process span),
// a process span the producer's decision, read from the sampled flag of
// the message's traceparent, and written into the traceparent of what it
// publishes in turn. So a flow is kept or dropped whole across services
// and brokers, although each process span starts a new trace (linked to
// the producer's, as the messaging conventions say), where a plain
// ParentBased sampler would decide again at every hop and split flows.
//
// Use a sampler that decides by trace id alone, such as
// sdktrace.TraceIDRatioBased(0.1). The name it is given is the
// destination's. Spans of Agent.Tracer are sampled with
// sdktrace.ParentBased(s). Unsampled spans cost ids and headers only:
// nothing is recorded or queued for them.
func WithSampler(s sdktrace.Sampler) Option { return optionFunc(func(c *config) { c.sampler = s }) }

// WithMetadataOnly records no spans for messages, for the hottest paths:
// the agent still writes ids, correlation, causation and trace context
// into headers (so the flow stays connected for services downstream that
// record spans, and their sampling follows this one's decisions) and
// counts what is published and handled (Stats), but StartPublish,
// StartProcess and RecordSettle return spans that record nothing. Spans
// of Agent.Tracer are still recorded.
func WithMetadataOnly() Option { return optionFunc(func(c *config) { c.metaOnly = true }) }

// newTraceID returns a random trace id: math/rand/v2's per-thread
// ChaCha8 generator, as NewID, without a system call.
func newTraceID() trace.TraceID {
	var t trace.TraceID
	binary.LittleEndian.PutUint64(t[:8], mrand.Uint64())
	binary.LittleEndian.PutUint64(t[8:], mrand.Uint64())
	return t
}

// newSpanID returns a random, non-zero span id.
func newSpanID() trace.SpanID {
	var s trace.SpanID
	binary.LittleEndian.PutUint64(s[:], mrand.Uint64()|1)
	return s
}

// sampleRoot is the sampler's decision for a span that starts a flow.
func (a *Agent) sampleRoot(ctx context.Context, tid trace.TraceID, name string, kind trace.SpanKind) bool {
	if a.cfg.sampler == nil {
		return true
	}
	r := a.cfg.sampler.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: tid, Name: name, Kind: kind})
	return r.Decision == sdktrace.RecordAndSample
}

// flags is the trace flags of a decision.
func flags(sampled bool) trace.TraceFlags {
	if sampled {
		return trace.FlagsSampled
	}
	return 0
}
