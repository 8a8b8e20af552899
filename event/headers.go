package event

// Message header names the agent writes into Kafka record headers and NATS
// message headers, and the collector and sidecar read back.
const (
	// HeaderTraceparent and HeaderTracestate carry W3C trace context.
	HeaderTraceparent = "traceparent"
	// HeaderTracestate carries W3C vendor trace state.
	HeaderTracestate = "tracestate"

	// HeaderEventID is the CloudEvents binary-mode id (Kafka protocol binding name).
	HeaderEventID = "ce_id"
	// HeaderEventType is the CloudEvents type, Causeway's EventType.
	HeaderEventType = "ce_type"
	// HeaderEventSource is the CloudEvents source, the producing service.
	HeaderEventSource = "ce_source"
	// HeaderEventTime is the CloudEvents time, RFC 3339.
	HeaderEventTime = "ce_time"

	// HeaderCorrelationID carries the correlation id of the business flow.
	HeaderCorrelationID = "causeway-correlation-id"
	// HeaderCausationID carries the event id of the event that caused this one.
	HeaderCausationID = "causeway-causation-id"
	// HeaderSchemaVersion carries the payload schema version.
	HeaderSchemaVersion = "causeway-schema-version"
	// HeaderReplayOf carries, on a replayed message, the event id it replays.
	HeaderReplayOf = "causeway-replay-of"
	// HeaderReplayID carries, on a replayed message, the id of the replay job.
	HeaderReplayID = "causeway-replay-id"
)

// Dead-letter header conventions the sidecar understands besides its own.
const (
	// Spring Kafka's DeadLetterPublishingRecoverer headers.
	HeaderSpringDLTOriginalTopic     = "kafka_dlt-original-topic"
	HeaderSpringDLTOriginalPartition = "kafka_dlt-original-partition"
	HeaderSpringDLTOriginalOffset    = "kafka_dlt-original-offset"
	HeaderSpringDLTExceptionMessage  = "kafka_dlt-exception-message"
	// HeaderOriginalTopic is the generic "x-original-topic" convention.
	HeaderOriginalTopic = "x-original-topic"
)
