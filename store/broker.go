package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// LagSample is one consumer-group partition's lag at one time, as the
// sidecar measured it.
type LagSample struct {
	// TimeNS is when the sample was taken, Unix nanoseconds.
	TimeNS uint64 `json:"time_ns"`
	// System is "kafka" or "nats".
	System string `json:"system"`
	// Cluster names the broker cluster, if known.
	Cluster string `json:"cluster,omitempty"`
	// Group is the consumer group (Kafka) or durable consumer (NATS).
	Group string `json:"group"`
	// Topic is the topic or stream.
	Topic string `json:"topic"`
	// Partition is the Kafka partition, -1 for NATS.
	Partition int32 `json:"partition"`
	// Committed and End are the committed and end offsets (NATS: acked
	// floor and last sequence), -1 when unknown.
	Committed int64 `json:"committed"`
	End       int64 `json:"end"`
	// Lag is the number of messages not yet consumed (NATS: num_pending).
	Lag int64 `json:"lag"`
	// LagSeconds is the age of the oldest unconsumed message.
	LagSeconds float64 `json:"lag_seconds"`
	// Status is the partition's Burrow-style status (OK, WARN, STALL, STOP, REWIND).
	Status string `json:"status"`
	// GroupStatus is the group's status in the same sample.
	GroupStatus string `json:"group_status"`
}

// Redacted is the value stored for a header the collector redacts.
const Redacted = "[redacted]"

// DLQEntry is a message that arrived on a dead-letter queue, as the
// broker holds it, with what is needed to replay it.
type DLQEntry struct {
	// ID is unique per message: system/source/partition/offset.
	ID string `json:"id"`
	// TimeNS is when the message arrived on the DLQ, Unix nanoseconds.
	TimeNS uint64 `json:"time_ns"`
	// System is "kafka" or "nats".
	System string `json:"system"`
	// Source is the DLQ topic or stream holding the message.
	Source string `json:"source"`
	// SourcePartition and SourceOffset locate it there (NATS: -1 and the stream sequence).
	SourcePartition int32 `json:"source_partition"`
	SourceOffset    int64 `json:"source_offset"`
	// Original is the topic or subject the message was first sent to.
	Original string `json:"original"`
	// OriginalPartition and OriginalOffset locate the first delivery, -1 when unknown.
	OriginalPartition int32 `json:"original_partition"`
	OriginalOffset    int64 `json:"original_offset"`
	// Reason is why the message was dead-lettered (exception message, advisory kind).
	Reason string `json:"reason"`
	// Deliveries is how many delivery attempts were made, 0 when unknown.
	Deliveries int64 `json:"deliveries"`
	// EventID and CorrelationID are the message's ids, when its headers carry them.
	EventID       string `json:"event_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	// Headers are the message headers (redacted per the collector's rules).
	Headers map[string]string `json:"headers,omitempty"`
	// Payload is the message body, at most the collector's cap; PayloadSize is the full size.
	Payload     []byte `json:"payload,omitempty"`
	PayloadSize int64  `json:"payload_size"`
	// Truncated is set when Payload holds less than PayloadSize bytes.
	Truncated bool `json:"truncated"`
	// Trusted is set when the collector could tell that the entry was read
	// from the broker by a sidecar it trusts (its DLQ signature verified
	// with a key of collector.trusted_dlq_sources). Only a trusted entry's
	// stored copy and recorded original destination are used by replays;
	// an untrusted one is re-read from the broker at its DLQ location.
	Trusted bool `json:"trusted"`
}

// LagQuery selects lag samples: every non-empty field narrows.
type LagQuery struct {
	Group, Topic string
	Since, Until time.Time
	// Limit caps the samples returned (newest kept); 0 means MaxLimit.
	Limit int
}

// DLQQuery selects DLQ entries, newest first.
type DLQQuery struct {
	// IDs, when set, selects these entries only (at most MaxLimit).
	IDs                      []string
	Source, Original, Reason string
	// CorrelationID and EventID, when set, select the entries of that
	// correlation or of that event (its DLQEntry.CorrelationID or
	// EventID). Both stores index them, so an entity's dead letters are
	// one read however far back they lie.
	CorrelationID, EventID string
	Since, Until           time.Time
	Limit                  int
	Cursor                 string
}

// DLQPage is one page of DLQ entries.
type DLQPage struct {
	Entries []DLQEntry
	Next    string
}

// DLQID is the id of the DLQ entry at source/partition/offset whose
// message was stored on the DLQ at timeNS: 32 hex digits, stable, so that
// a re-sent entry is stored once. The time keeps apart two messages at the
// same position of a topic or stream that was deleted and created again
// (offsets start over; `causeway demo` restarts its in-memory Kafka).
func DLQID(system, source string, partition int32, offset int64, timeNS uint64) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%d", system, source, partition, offset, timeNS)))
	return hex.EncodeToString(sum[:16])
}
