package event

// OpenTelemetry attribute keys Causeway emits and accepts. The messaging
// semantic conventions renamed several keys; both the current names and the
// older ones are listed and the collector reads either.
const (
	// AttrServiceName is the resource attribute naming the service.
	AttrServiceName = "service.name"

	AttrMessagingSystem = "messaging.system"
	// AttrMessagingOperationType is the current key for the operation
	// (publish/create/send/receive/process/settle); AttrMessagingOperation
	// is the older one, and AttrMessagingOperationName is a free-form name.
	AttrMessagingOperationType = "messaging.operation.type"
	AttrMessagingOperation     = "messaging.operation"
	AttrMessagingOperationName = "messaging.operation.name"

	AttrMessagingDestinationName = "messaging.destination.name"
	// AttrMessagingDestinationOld is the pre-1.17 destination key.
	AttrMessagingDestinationOld = "messaging.destination"
	// AttrMessagingSourceName is the pre-1.20 consumer-side destination key.
	AttrMessagingSourceName        = "messaging.source.name"
	AttrMessagingDestinationPartID = "messaging.destination.partition.id"
	AttrMessagingKafkaPartitionOld = "messaging.kafka.partition"
	AttrMessagingKafkaDestPartOld  = "messaging.kafka.destination.partition"

	AttrMessagingConsumerGroupName = "messaging.consumer.group.name"
	AttrMessagingKafkaConsumerGrp  = "messaging.kafka.consumer.group"
	AttrMessagingKafkaOffset       = "messaging.kafka.offset"
	AttrMessagingKafkaOffsetOld    = "messaging.kafka.message.offset"
	AttrMessagingKafkaMessageKey   = "messaging.kafka.message.key"
	// AttrMessagingKafkaClusterID is the Kafka cluster id some
	// instrumentations record (OpenTelemetry JS kafkajs).
	AttrMessagingKafkaClusterID = "messaging.kafka.cluster.id"

	AttrMessagingMessageID             = "messaging.message.id"
	AttrMessagingConversationID        = "messaging.message.conversation_id"
	AttrMessagingMessageBodySize       = "messaging.message.body.size"
	AttrMessagingMessagePayloadSizeOld = "messaging.message_payload_size_bytes"
	AttrMessagingDeliveryCount         = "messaging.message.delivery_count"
	AttrMessagingNATSStreamSequence    = "messaging.nats.stream.sequence"

	AttrErrorType         = "error.type"
	AttrExceptionMessage  = "exception.message"
	AttrServerAddress     = "server.address"
	AttrNetPeerNameOld    = "net.peer.name"
	AttrMessagingClientID = "messaging.client.id"
)

// Causeway's own span attributes, for what the conventions do not cover.
const (
	AttrEventID       = "causeway.event.id"
	AttrEventType     = "causeway.event.type"
	AttrCorrelationID = "causeway.correlation.id"
	AttrCausationID   = "causeway.causation.id"
	AttrSchemaVersion = "causeway.schema.version"
	AttrOutcome       = "causeway.outcome"
	AttrAttempt       = "causeway.attempt"
	AttrHandler       = "causeway.handler"
	AttrCluster       = "causeway.cluster"
	AttrReplayOf      = "causeway.replay.of"
	AttrReplayID      = "causeway.replay.id"
	// AttrOp names Causeway's operation (event.Op) when it is not one of the
	// conventions' operation types, e.g. "dead_letter" or "replay".
	AttrOp = "causeway.op"
)
