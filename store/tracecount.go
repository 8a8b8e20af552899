package store

import "context"

// TraceCounter is implemented by Readers that count the events of traces
// more cheaply than they read them (the ClickHouse store counts an index
// table's rows). Walk asks it before reloading the seed's traces: a trace
// whose stored events it already holds all of (a walk from a correlation
// id usually has every event of the correlation's traces) is not read
// again.
type TraceCounter interface {
	// TraceEventCounts returns how many events are stored in each of
	// traceIDs that has any. A count may exceed the events Events returns
	// for the trace (an event stored twice is counted twice), never fall
	// short of them.
	TraceEventCounts(ctx context.Context, traceIDs []string) (map[string]uint64, error)
}
