package event

// Metric names the sidecar sends (gauges; one data point per group,
// topic and partition, with the attributes below). The OpenTelemetry
// Collector kafkametrics receiver's names are accepted too.
const (
	MetricLag            = "causeway.consumer.lag"              // messages
	MetricLagSeconds     = "causeway.consumer.lag_seconds"      // seconds
	MetricCommitted      = "causeway.consumer.committed_offset" // offset
	MetricEndOffset      = "causeway.consumer.end_offset"       // offset
	MetricKafkaGroupLag  = "kafka.consumer_group.lag"           // kafkametrics
	MetricKafkaGroupOffs = "kafka.consumer_group.offset"        // kafkametrics

	// AttrLagStatus and AttrLagGroupStatus carry Burrow-style statuses on the lag point.
	AttrLagStatus      = "causeway.lag.status"
	AttrLagGroupStatus = "causeway.lag.group_status"
)

// DLQ entries travel as spans (so they share the traces path and its
// spool) marked with AttrDLQEntry; these attributes carry the entry.
const (
	AttrDLQEntry             = "causeway.dlq.entry"
	AttrDLQSource            = "causeway.dlq.source"
	AttrDLQSourcePartition   = "causeway.dlq.source_partition"
	AttrDLQSourceOffset      = "causeway.dlq.source_offset"
	AttrDLQOriginal          = "causeway.dlq.original"
	AttrDLQOriginalPartition = "causeway.dlq.original_partition"
	AttrDLQOriginalOffset    = "causeway.dlq.original_offset"
	AttrDLQReason            = "causeway.dlq.reason"
	AttrDLQDeliveries        = "causeway.dlq.deliveries"
	AttrDLQPayload           = "causeway.dlq.payload" // bytes
	AttrDLQPayloadSize       = "causeway.dlq.payload_size"
	AttrDLQHeaderPrefix      = "causeway.dlq.header."
)
