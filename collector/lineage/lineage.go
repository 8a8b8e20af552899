// Package lineage turns OpenTelemetry spans into Causeway's model: every
// span is kept as an event.Span for waterfalls, every messaging span also
// becomes an event.Event, and the ways one messaging span can name its
// cause — a span link, its parent span, a causation-id attribute — become
// event.Edges.
//
// Spans are recognised as messaging spans by the OpenTelemetry messaging
// semantic conventions (old and new attribute names), by Causeway's own
// `causeway.*` attributes, or by a PRODUCER/CONSUMER span kind, so spans
// from any OTel SDK in any language show up, not only our agent's.
package lineage

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Derive normalises OTLP traces into events, causation edges and spans,
// with DefaultRedactor's redaction. Spans without a valid trace id or
// span id are skipped (OTLP requires both). Derive does not keep td.
func Derive(td ptrace.Traces) *store.Batch { return DeriveRedacted(td, DefaultRedactor) }

// DeriveRedacted is Derive with r deciding which attribute values are
// stored as store.Redacted. DLQ payloads (event.AttrDLQPayload) are never
// kept in span or event attributes: only in the DLQ entry (DeriveDLQ).
func DeriveRedacted(td ptrace.Traces, r *Redactor) *store.Batch {
	b := &store.Batch{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service := "unknown_service"
		if v, ok := rs.Resource().Attributes().Get(event.AttrServiceName); ok && v.AsString() != "" {
			service = v.AsString()
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				derive(b, service, spans.At(k), r)
			}
		}
	}
	return b
}

func derive(b *store.Batch, service string, sp ptrace.Span, r *Redactor) {
	if sp.TraceID().IsEmpty() || sp.SpanID().IsEmpty() {
		return
	}
	traceID, spanID := sp.TraceID().String(), sp.SpanID().String()
	parent := ""
	if !sp.ParentSpanID().IsEmpty() {
		parent = sp.ParentSpanID().String()
	}
	start, end := uint64(sp.StartTimestamp()), uint64(sp.EndTimestamp())
	dur := uint64(0)
	if end > start {
		dur = end - start
	}
	var links []event.Link
	for l := 0; l < sp.Links().Len(); l++ {
		ln := sp.Links().At(l)
		if ln.TraceID().IsEmpty() || ln.SpanID().IsEmpty() {
			continue
		}
		links = append(links, event.Link{TraceID: ln.TraceID().String(), SpanID: ln.SpanID().String()})
	}
	attrs := sp.Attributes()
	errMsg := errorMessage(sp)
	s := event.Span{
		TraceID:       traceID,
		SpanID:        spanID,
		ParentSpanID:  parent,
		Service:       service,
		Name:          sp.Name(),
		Kind:          spanKind(sp.Kind()),
		StartNS:       start,
		DurationNS:    dur,
		StatusCode:    statusCode(sp.Status().Code()),
		StatusMessage: errMsg,
		Links:         links,
		Attributes:    stringMap(attrs, r),
	}
	b.Spans = append(b.Spans, s)

	op, ok := messagingOp(sp, attrs)
	if !ok {
		return
	}
	system := first(attrs, event.AttrMessagingSystem)
	e := event.Event{
		EventID:       first(attrs, keysEventID...),
		EventType:     first(attrs, event.AttrEventType, "cloudevents.event_type"),
		SchemaVersion: first(attrs, event.AttrSchemaVersion),
		CorrelationID: first(attrs, keysCorrelation...),
		CausationID:   first(attrs, event.AttrCausationID),
		MessageKey:    first(attrs, keysKafkaKey...),
		TraceID:       traceID,
		SpanID:        spanID,
		ParentSpanID:  parent,
		Links:         links,
		Service:       service,
		Handler:       first(attrs, event.AttrHandler),
		System:        system,
		Cluster:       first(attrs, keysCluster...),
		Destination:   first(attrs, keysDestination...),
		Partition:     int32(firstInt(attrs, -1, keysPartition...)),
		Offset:        firstInt(attrs, -1, keysOffset...),
		ConsumerGroup: first(attrs, keysConsumerGroup...),
		Op:            op,
		Error:         errMsg,
		Attempt:       int32(firstInt(attrs, 0, keysAttempt...)),
		StartNS:       start,
		DurationNS:    dur,
		PayloadSize:   firstInt(attrs, -1, keysPayloadSize...),
		ReplayOf:      first(attrs, event.AttrReplayOf),
		Attributes:    without(s.Attributes, mapped),
	}
	quirks(&e, attrs)
	if e.EventID == "" {
		e.EventID = spanID
	}
	e.Outcome = outcome(attrs, sp.Status().Code())
	if e.Outcome == event.OutcomeOK {
		e.Error = ""
	}
	b.Events = append(b.Events, e)

	edge := func(fromTrace, fromSpan, fromEvent string, kind event.EdgeKind) {
		b.Edges = append(b.Edges, event.Edge{
			FromTraceID: fromTrace, FromSpanID: fromSpan, FromEventID: fromEvent,
			ToTraceID: traceID, ToSpanID: spanID,
			CorrelationID: e.CorrelationID, Kind: kind, StartNS: start,
		})
	}
	for _, l := range links {
		edge(l.TraceID, l.SpanID, "", event.EdgeLink)
	}
	if parent != "" && parentIsCause(op, len(links)) {
		edge(traceID, parent, "", event.EdgeParent)
	}
	if e.CausationID != "" {
		edge("", "", e.CausationID, event.EdgeCausation)
	}
}

// parentIsCause says whether an event's parent span is one of its causes.
// A receive or process span with links names its causes by them (the
// producer spans of the records it handles); its parent is the consumer's
// own context — the batch's receive or poll span (kafkajs eachBatch, the
// Java agent with receive telemetry, confluent-kafka's recv) — which, taken
// as a cause, would tie every record of a batch to every other.
func parentIsCause(op event.Op, links int) bool {
	return links == 0 || (op != event.OpReceive && op != event.OpProcess)
}

// fromAgent says the span was recorded by Causeway's agent, which always
// records a correlation id attribute (empty when the flow has none).
func fromAgent(attrs pcommon.Map) bool {
	_, ok := attrs.Get(event.AttrCorrelationID)
	if !ok {
		_, ok = attrs.Get(event.AttrEventID)
	}
	return ok
}

// messagingOp decides whether a span is a messaging operation and which.
//
// The operation attribute decides, except that a PRODUCER span is always
// a publish: Python's confluent-kafka instrumentation marks its produce
// spans "receive". A PRODUCER or CONSUMER span with neither a messaging
// or Causeway attribute nor a link is not an event: confluent-kafka's
// bare "recv" wrapper span around each poll, say, which names no topic.
func messagingOp(sp ptrace.Span, attrs pcommon.Map) (event.Op, bool) {
	if v := first(attrs, event.AttrOp); v != "" {
		return event.Op(v), true
	}
	if sp.Kind() == ptrace.SpanKindProducer {
		return event.OpPublish, hasMessagingAttr(attrs) || sp.Links().Len() > 0
	}
	_, hasSystem := attrs.Get(event.AttrMessagingSystem)
	switch strings.ToLower(first(attrs, event.AttrMessagingOperationType, event.AttrMessagingOperation)) {
	case "publish", "create", "send":
		return event.OpPublish, true
	case "receive":
		return event.OpReceive, true
	case "process", "deliver":
		return event.OpProcess, true
	case "settle":
		return event.OpSettle, true
	}
	if sp.Kind() == ptrace.SpanKindConsumer {
		return event.OpProcess, hasMessagingAttr(attrs) || sp.Links().Len() > 0
	}
	if hasSystem {
		// A messaging span of another kind (a client span of a broker
		// client, say): keep it, as the operation it most likely is.
		if sp.Kind() == ptrace.SpanKindClient {
			return event.OpPublish, true
		}
		return event.OpProcess, true
	}
	return "", false
}

// hasMessagingAttr says a span has a `messaging.*` or `causeway.*` attribute.
func hasMessagingAttr(attrs pcommon.Map) bool {
	found := false
	attrs.Range(func(k string, _ pcommon.Value) bool {
		found = strings.HasPrefix(k, "messaging.") || strings.HasPrefix(k, "causeway.")
		return !found
	})
	return found
}

func outcome(attrs pcommon.Map, code ptrace.StatusCode) event.Outcome {
	switch o := event.Outcome(first(attrs, event.AttrOutcome)); o {
	case event.OutcomeOK, event.OutcomeError, event.OutcomeRetry, event.OutcomeDeadLettered, event.OutcomeDuplicateSkipped:
		return o
	}
	if code == ptrace.StatusCodeError {
		return event.OutcomeError
	}
	return event.OutcomeOK
}

// errorMessage is the span status message, else the first exception
// event's message, else error.type.
func errorMessage(sp ptrace.Span) string {
	if m := sp.Status().Message(); m != "" {
		return m
	}
	evs := sp.Events()
	for i := 0; i < evs.Len(); i++ {
		if v, ok := evs.At(i).Attributes().Get(event.AttrExceptionMessage); ok {
			return v.AsString()
		}
	}
	if sp.Status().Code() == ptrace.StatusCodeError {
		return first(sp.Attributes(), event.AttrErrorType)
	}
	return ""
}

// mapped lists the attributes that become Event fields and are not
// repeated in Event.Attributes (server.address and net.peer.name stay:
// they name a broker, the cluster only when nothing better does).
var mapped = func() map[string]bool {
	m := map[string]bool{}
	for _, keys := range [][]string{
		{event.AttrOp, event.AttrEventType, "cloudevents.event_type", event.AttrSchemaVersion, event.AttrCausationID, event.AttrHandler,
			event.AttrMessagingSystem, event.AttrMessagingOperationType, event.AttrMessagingOperation, event.AttrReplayOf, event.AttrOutcome, keyMessageIDOld},
		keysEventID, keysCorrelation, {event.AttrCluster, event.AttrMessagingKafkaClusterID}, keysDestination, keysPartition, keysOffset, keysConsumerGroup,
		keysKafkaKey, keysPayloadSize, keysAttempt,
	} {
		for _, k := range keys {
			m[k] = true
		}
	}
	return m
}()

func first(attrs pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if v, ok := attrs.Get(k); ok {
			if s := v.AsString(); s != "" {
				return s
			}
		}
	}
	return ""
}

func firstInt(attrs pcommon.Map, def int64, keys ...string) int64 {
	for _, k := range keys {
		v, ok := attrs.Get(k)
		if !ok {
			continue
		}
		switch v.Type() {
		case pcommon.ValueTypeInt:
			return v.Int()
		case pcommon.ValueTypeDouble:
			return int64(v.Double())
		case pcommon.ValueTypeStr:
			if n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64); err == nil {
				return n
			}
		}
	}
	return def
}

// stringMap copies attributes as strings, leaving out the DLQ payload,
// with the values r denies replaced by store.Redacted.
func stringMap(attrs pcommon.Map, r *Redactor) map[string]string {
	if attrs.Len() == 0 {
		return nil
	}
	m := make(map[string]string, attrs.Len())
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch {
		case k == event.AttrDLQPayload:
		case r.Attr(k):
			m[k] = store.Redacted
		default:
			m[k] = v.AsString()
		}
		return true
	})
	if len(m) == 0 {
		return nil
	}
	return m
}

// without copies m leaving out the keys in skip: an event's attributes
// are its span's (already converted and redacted) less those that became
// event fields.
func without(m map[string]string, skip map[string]bool) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !skip[k] {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func spanKind(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindServer:
		return "server"
	case ptrace.SpanKindClient:
		return "client"
	case ptrace.SpanKindProducer:
		return "producer"
	case ptrace.SpanKindConsumer:
		return "consumer"
	case ptrace.SpanKindInternal:
		return "internal"
	}
	return "unspecified"
}

func statusCode(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "ok"
	case ptrace.StatusCodeError:
		return "error"
	}
	return "unset"
}
