package lineage

import "github.com/causeway-dev/causeway/event"

// Attribute keys that instrumentations in use still emit, beside the
// current semantic-convention names in package event. Which library sends
// which is in docs/compatibility.md; every key here is exercised by a
// fixture in testdata.
const (
	// keyKafkaMessageKeyOld is the record key before semantic conventions
	// 1.17 (otelsarama, segmentio kafka-go wrappers, Python before 0.40b0).
	keyKafkaMessageKeyOld = "messaging.kafka.message_key"
	// keyKafkaConsumerGroupOld is the consumer group before 1.17.
	keyKafkaConsumerGroupOld = "messaging.kafka.consumer_group"
	// keyKafkaSourcePartition is the consumer-side partition of 1.17–1.20
	// (franz-go kotel, semconv v1.18.0).
	keyKafkaSourcePartition = "messaging.kafka.source.partition"
	// keyMessageIDOld and keyConversationIDOld are the message and
	// conversation ids before 1.17 (aio-pika, amqplib, otelsarama).
	keyMessageIDOld      = "messaging.message_id"
	keyConversationIDOld = "messaging.conversation_id"
	// keyPayloadSize117 is the body size of 1.17–1.23.
	keyPayloadSize117 = "messaging.message.payload_size_bytes"
	// keyNATSQueueGroup is the queue group NATS.Net's own tracing records.
	keyNATSQueueGroup = "messaging.nats.consumer.group"
	// keySubscriptionName is the subscription (JetStream durable, JMS
	// subscriber) of 1.27 and later.
	keySubscriptionName = "messaging.destination.subscription.name"
	// keyRabbitRoutingKey and keyRabbitRoutingKeyOld are RabbitMQ's routing
	// key, the destination when the exchange is the default one ("").
	keyRabbitRoutingKey    = "messaging.rabbitmq.destination.routing_key"
	keyRabbitRoutingKeyOld = "messaging.rabbitmq.routing_key"
	// keyBatchCount is the number of messages a batch span covers.
	keyBatchCount = "messaging.batch.message_count"
)

// Lists of keys read for one field, in order of preference.
var (
	keysEventID       = []string{event.AttrEventID, "cloudevents.event_id", event.AttrMessagingMessageID}
	keysCorrelation   = []string{event.AttrCorrelationID, event.AttrMessagingConversationID, keyConversationIDOld}
	keysCluster       = []string{event.AttrCluster, event.AttrMessagingKafkaClusterID, event.AttrServerAddress, event.AttrNetPeerNameOld}
	keysDestination   = []string{event.AttrMessagingDestinationName, event.AttrMessagingDestinationOld, event.AttrMessagingSourceName}
	keysRoutingKey    = []string{keyRabbitRoutingKey, keyRabbitRoutingKeyOld}
	keysPartition     = []string{event.AttrMessagingDestinationPartID, event.AttrMessagingKafkaDestPartOld, event.AttrMessagingKafkaPartitionOld, keyKafkaSourcePartition}
	keysOffset        = []string{event.AttrMessagingKafkaOffset, event.AttrMessagingKafkaOffsetOld, event.AttrMessagingNATSStreamSequence}
	keysConsumerGroup = []string{event.AttrMessagingConsumerGroupName, event.AttrMessagingKafkaConsumerGrp, keyKafkaConsumerGroupOld, keySubscriptionName, keyNATSQueueGroup}
	keysKafkaKey      = []string{event.AttrMessagingKafkaMessageKey, keyKafkaMessageKeyOld}
	keysPayloadSize   = []string{event.AttrMessagingMessageBodySize, keyPayloadSize117, event.AttrMessagingMessagePayloadSizeOld}
	keysAttempt       = []string{event.AttrAttempt, event.AttrMessagingDeliveryCount}
)
