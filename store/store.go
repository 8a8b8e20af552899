// Package store defines how Causeway keeps what the collector derives: the
// Writer the collector writes batches with, the Reader the studio queries,
// and a registry that opens a store from a URL such as
// "embedded:///var/lib/causeway" or "clickhouse://host:9000/causeway".
//
// Backends live in sub-packages (embedded, clickhouse) and register
// themselves with Register; the conformance suite every backend must pass
// is in storetest. Query logic that can be built from the Reader's
// primitives, such as the causation-graph walk, lives here once.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/causeway-dev/causeway/event"
)

// Batch is one unit of writing: the events, causation edges and spans the
// collector derived from one or more OTLP requests.
type Batch struct {
	// Events are messaging operations; (TraceID, SpanID) is each row's key.
	Events []event.Event
	// Edges are causation edges; (From…, To…, Kind) is each row's key.
	Edges []event.Edge
	// Spans are all received spans, messaging or not; (TraceID, SpanID) is the key.
	Spans []event.Span
	// Lag are consumer-lag samples; (TimeNS, System, Group, Topic, Partition) is the key.
	Lag []LagSample
	// DLQ are dead-letter queue arrivals; ID is the key.
	DLQ []DLQEntry
	// Retry is set when this batch may have been written, wholly or in
	// part, before: after a failed write or when the collector recovers its
	// spool after a restart. A store must then make sure no row is stored
	// twice. Stores whose every write is an upsert may ignore it.
	Retry bool
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int {
	return len(b.Events) + len(b.Edges) + len(b.Spans) + len(b.Lag) + len(b.DLQ)
}

// Writer stores batches.
//
// Write is synchronous and durable: when it returns nil, every row of the
// batch is stored and will be returned by readers, also after a restart of
// the store or of the process. When it returns an error, any part of the
// batch may have been stored; the caller retries with Batch.Retry set and
// the store guarantees that each row ends up stored exactly once.
// A batch written again without Retry (a client that re-sent the same
// spans) is still returned once by every Reader method, but aggregates
// computed at insert time (Flows on ClickHouse) may count it twice.
// Write does not keep b or any slice in it after it returns, and does
// not modify them: others may read b while Write runs (the journey
// ledger's writer classifies a batch's events while it is written).
// Write is safe for concurrent use.
type Writer interface {
	Write(ctx context.Context, b *Batch) error
}

// Reader answers the queries the studio needs. All methods are safe for
// concurrent use. Each result is a fresh value the caller owns.
//
// Optional capabilities return an error wrapping errors.ErrUnsupported.
// A query the caller must fix returns an error wrapping ErrInvalidQuery;
// a query still running when ctx's deadline passes stops (the backend
// interrupts it, it does not run on) and returns an error wrapping
// ErrQueryTimeout; a query a backend's resource bound stopped returns an
// error wrapping ErrQueryLimit. A zero Since or Until leaves that side of
// a window open: callers facing clients (the API) always bound them.
type Reader interface {
	// Events returns the events matching q, newest first (by StartNS, then
	// by SpanID descending), at most q.Limit of them, with a cursor for the
	// next page when there may be more.
	Events(ctx context.Context, q EventQuery) (EventPage, error)
	// Edges returns the causation edges that start or end in one of
	// q.TraceIDs, or whose FromEventID is one of q.FromEventIDs.
	Edges(ctx context.Context, q EdgeQuery) ([]event.Edge, error)
	// Spans returns the spans of a trace ordered by StartNS (then SpanID),
	// at most limit of them, the earliest (0 means every span).
	Spans(ctx context.Context, traceID string, limit int) ([]event.Span, error)
	// Flows aggregates the events that started within [q.Since, q.Until)
	// into a flow map: who publishes to and who processes from which
	// destination, with counts, errors and latency quantiles.
	Flows(ctx context.Context, q FlowQuery) (FlowMap, error)
	// Lag returns the lag samples matching q, oldest first (at most
	// q.Limit of them, the newest kept).
	Lag(ctx context.Context, q LagQuery) ([]LagSample, error)
	// DLQ returns DLQ entries matching q, newest first (by TimeNS, then ID
	// descending), with a cursor when there may be more.
	DLQ(ctx context.Context, q DLQQuery) (DLQPage, error)
	// DLQEntry returns one DLQ entry with its payload, or an error
	// wrapping ErrNotFound.
	DLQEntry(ctx context.Context, id string) (DLQEntry, error)
}

// Store is a backend: a Writer and a Reader over the same data.
type Store interface {
	Writer
	Reader
	ReplayLog
	AlertLog
	AuditLog
	// Close releases the store's resources. It does not lose written data.
	Close() error
}

// DefaultLimit is the page size used when a query's Limit is zero.
const DefaultLimit = 100

// MaxLimit is the largest page size a query may ask for.
const MaxLimit = 10000

// EventQuery filters events. Every non-empty field narrows the result;
// slice fields match any of their values.
type EventQuery struct {
	CorrelationID string
	TraceIDs      []string
	EventIDs      []string
	// MessageKey selects the events of messages with this key (a Kafka
	// record key, a NATS Nats-Msg-Id); backends index it like CorrelationID.
	MessageKey  string
	Service     string
	Destination string
	EventType   string
	Outcome     event.Outcome
	// Since and Until bound StartNS to [Since, Until) when non-zero.
	Since, Until time.Time
	// Limit caps the page; 0 means DefaultLimit, more than MaxLimit is an error.
	Limit int
	// Cursor continues from the page that returned it.
	Cursor string
}

// EventPage is one page of events.
type EventPage struct {
	Events []event.Event
	// Next is the cursor for the next page, empty when this page is the last.
	Next string
}

// EdgeQuery selects causation edges; see Reader.Edges.
type EdgeQuery struct {
	TraceIDs     []string
	FromEventIDs []string
}

// FlowQuery selects the window of a flow map.
type FlowQuery struct {
	Since, Until time.Time
}

// NodeKind is the kind of a flow-map node.
type NodeKind string

// Flow-map node kinds.
const (
	NodeService     NodeKind = "service"
	NodeDestination NodeKind = "destination"
)

// FlowNode is a service or a destination (topic, subject, stream).
type FlowNode struct {
	// ID is unique in the map: kind + ":" + name (+ system for destinations).
	ID     string   `json:"id"`
	Kind   NodeKind `json:"kind"`
	Name   string   `json:"name"`
	System string   `json:"system,omitempty"`
}

// FlowEdge is traffic between a service and a destination: publishes
// (service → destination) or processing (destination → service).
type FlowEdge struct {
	Source string   `json:"source"`
	Target string   `json:"target"`
	Op     event.Op `json:"op"`
	// ConsumerGroup is set on processing edges when the consumers form a group.
	ConsumerGroup string `json:"consumer_group,omitempty"`
	// Count is the number of operations in the window; Errors those whose
	// outcome was not ok (retries, errors and dead-letterings).
	Count  uint64 `json:"count"`
	Errors uint64 `json:"errors"`
	// P50NS and P99NS are operation duration quantiles in nanoseconds.
	// Backends may compute them approximately (a sampled reservoir or digest).
	P50NS uint64 `json:"p50_ns"`
	P99NS uint64 `json:"p99_ns"`
}

// FlowMap is the aggregated topology of a window.
type FlowMap struct {
	Nodes []FlowNode `json:"nodes"`
	Edges []FlowEdge `json:"edges"`
}

// ErrNotFound is returned (wrapped) when a single looked-up item does not exist.
var ErrNotFound = errors.New("not found")
