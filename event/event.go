// Package event holds Causeway's shared data model: the Event that every
// messaging operation becomes, the causation Edge between two events, the
// plain Span kept for trace waterfalls, and the names of the message headers
// and OpenTelemetry attributes that carry them across the wire.
//
// The package depends on the standard library only, so the agent library,
// the collector, the stores and the studio can all share it.
package event

// System names the messaging system an event travelled through.
const (
	SystemKafka = "kafka"
	SystemNATS  = "nats"
)

// Op is the messaging operation an event records.
type Op string

// Operations, following the OpenTelemetry messaging operation types plus the
// two that Causeway adds (dead_letter and replay).
const (
	OpPublish    Op = "publish"     // a producer sent a message
	OpReceive    Op = "receive"     // a consumer pulled a message off the broker
	OpProcess    Op = "process"     // a handler processed a message
	OpSettle     Op = "settle"      // a consumer acked, nacked or terminated a message
	OpDeadLetter Op = "dead_letter" // a message was moved to a dead-letter queue
	OpReplay     Op = "replay"      // Causeway re-published a message
)

// Outcome is how a handler or an operation ended.
type Outcome string

// Outcomes an event can record.
const (
	OutcomeOK               Outcome = "ok"                // the operation succeeded
	OutcomeError            Outcome = "error"             // it failed and will not be retried
	OutcomeRetry            Outcome = "retry"             // it failed and will be retried
	OutcomeDeadLettered     Outcome = "dead_lettered"     // it failed and the message went to a DLQ
	OutcomeDuplicateSkipped Outcome = "duplicate_skipped" // the message had been processed before
)

// Event is one messaging operation: a publish, a receive, a handler run, a
// settle, a dead-lettering or a replay. The collector derives one Event from
// every messaging span it receives.
type Event struct {
	// EventID identifies the message the operation acted on (the CloudEvents
	// `ce_id` header or `messaging.message.id`). When neither is known the
	// collector uses the span id, so that EventID is never empty. Several
	// events (the publish and every process of the same message) share an
	// EventID; the pair (TraceID, SpanID) is the unique key of a row.
	EventID string `json:"event_id"`
	// EventType is the kind of fact the message states, e.g. "order.placed".
	EventType string `json:"event_type,omitempty"`
	// SchemaVersion is the version of the payload's schema, if known.
	SchemaVersion string `json:"schema_version,omitempty"`
	// CorrelationID groups every event of one business flow (an order, say).
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the EventID of the event that caused this one.
	CausationID string `json:"causation_id,omitempty"`
	// MessageKey is the message's business key when the instrumentation
	// records one: the Kafka record key (`messaging.kafka.message.key`) or a
	// NATS message's `Nats-Msg-Id`. Users search by it (an order id, say)
	// when no span carries a correlation id.
	MessageKey string `json:"message_key,omitempty"`
	// TraceID is the W3C trace id, 32 lowercase hex digits.
	TraceID string `json:"trace_id"`
	// SpanID is the id of the span the event was derived from, 16 hex digits.
	SpanID string `json:"span_id"`
	// ParentSpanID is the span's parent, empty for a root span.
	ParentSpanID string `json:"parent_span_id,omitempty"`
	// Links are the span's links, typically the producer span of the message
	// a consumer processed.
	Links []Link `json:"links,omitempty"`
	// Service is the emitting service's `service.name` resource attribute.
	Service string `json:"service"`
	// Handler names the consumer handler function or span, if any.
	Handler string `json:"handler,omitempty"`
	// System is the messaging system: "kafka", "nats" or another
	// `messaging.system` value.
	System string `json:"system,omitempty"`
	// Cluster identifies the broker cluster, if known.
	Cluster string `json:"cluster,omitempty"`
	// Destination is the topic, subject or stream the message went to or came from.
	Destination string `json:"destination,omitempty"`
	// Partition is the Kafka partition, -1 when not applicable or unknown.
	Partition int32 `json:"partition"`
	// Offset is the Kafka offset or the JetStream stream sequence, -1 when unknown.
	Offset int64 `json:"offset"`
	// ConsumerGroup is the Kafka consumer group or JetStream durable consumer.
	ConsumerGroup string `json:"consumer_group,omitempty"`
	// Op is the operation recorded.
	Op Op `json:"op"`
	// Outcome is how the operation ended.
	Outcome Outcome `json:"outcome"`
	// Error is the error message when Outcome is not ok.
	Error string `json:"error,omitempty"`
	// Attempt is the delivery attempt, starting at 1; 0 when unknown.
	Attempt int32 `json:"attempt"`
	// StartNS is the operation's start, in Unix nanoseconds.
	StartNS uint64 `json:"start_ns"`
	// DurationNS is the operation's duration in nanoseconds.
	DurationNS uint64 `json:"duration_ns"`
	// PayloadSize is the message body size in bytes, -1 when unknown.
	PayloadSize int64 `json:"payload_size"`
	// ReplayOf is the EventID of the message this one replays, if it is a replay.
	ReplayOf string `json:"replay_of,omitempty"`
	// Attributes holds the span's remaining attributes as strings.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Link is a span link: a reference from one span to another, usually from a
// consumer's process span to the producer span of the message it handled.
type Link struct {
	// TraceID of the linked span.
	TraceID string `json:"trace_id"`
	// SpanID of the linked span.
	SpanID string `json:"span_id"`
}

// EdgeKind says how a causation edge was learned.
type EdgeKind string

// Edge kinds, in the order the collector prefers them.
const (
	EdgeLink      EdgeKind = "link"      // a span link from the child span to the parent span
	EdgeParent    EdgeKind = "parent"    // the child span's parent span is the parent event's span
	EdgeCausation EdgeKind = "causation" // the child's causation id names the parent's event id
)

// Edge is a causation edge: the event at From caused the event at To. Both
// ends are span references (TraceID, SpanID), because span ids are unique
// while several events may share an EventID. Edges point from cause to
// effect: publish → process → the publishes the handler made.
type Edge struct {
	// FromTraceID and FromSpanID identify the causing span.
	FromTraceID string `json:"from_trace_id"`
	// FromSpanID is the causing span's id.
	FromSpanID string `json:"from_span_id"`
	// ToTraceID and ToSpanID identify the caused span.
	ToTraceID string `json:"to_trace_id"`
	// ToSpanID is the caused span's id.
	ToSpanID string `json:"to_span_id"`
	// FromEventID is the causing event's EventID, kept so that an edge
	// learned from a causation header can be resolved when the causing
	// span arrives later; FromSpanID may then be empty.
	FromEventID string `json:"from_event_id,omitempty"`
	// CorrelationID is the correlation id of the caused event, used to
	// keep graph walks on one shard.
	CorrelationID string `json:"correlation_id,omitempty"`
	// Kind says how the edge was learned.
	Kind EdgeKind `json:"kind"`
	// StartNS is the caused event's start, in Unix nanoseconds.
	StartNS uint64 `json:"start_ns"`
}

// Span is an OpenTelemetry span as Causeway keeps it for trace waterfalls.
// Every received span is kept as a Span, messaging or not.
type Span struct {
	// TraceID is the W3C trace id, 32 lowercase hex digits.
	TraceID string `json:"trace_id"`
	// SpanID is the span id, 16 lowercase hex digits.
	SpanID string `json:"span_id"`
	// ParentSpanID is the parent span id, empty for a root span.
	ParentSpanID string `json:"parent_span_id,omitempty"`
	// Service is the `service.name` resource attribute.
	Service string `json:"service"`
	// Name is the span name.
	Name string `json:"name"`
	// Kind is the span kind: internal, server, client, producer or consumer.
	Kind string `json:"kind"`
	// StartNS is the span start, in Unix nanoseconds.
	StartNS uint64 `json:"start_ns"`
	// DurationNS is the span duration in nanoseconds.
	DurationNS uint64 `json:"duration_ns"`
	// StatusCode is "unset", "ok" or "error".
	StatusCode string `json:"status_code"`
	// StatusMessage is the status description, usually the error.
	StatusMessage string `json:"status_message,omitempty"`
	// Links are the span's links.
	Links []Link `json:"links,omitempty"`
	// Attributes holds the span and resource attributes as strings.
	Attributes map[string]string `json:"attributes,omitempty"`
}
