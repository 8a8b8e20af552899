package store

import (
	"context"
	"time"
)

// Retention is the optional capability of a store that deletes old data
// (issue #15). Readers that implement it let the studio clamp every query
// window to what is still stored, instead of scanning for rows that are
// gone. A store without retention keeps everything and does not implement
// it; the studio then clamps to its configured maximum window only.
type Retention interface {
	// OldestRetained returns the earliest start time the store still
	// keeps complete: every row newer than it is kept. The zero time
	// means nothing has been deleted yet.
	OldestRetained(ctx context.Context) (time.Time, error)
}

// RetentionPolicy says what one retention pass deletes. A zero time keeps
// that kind of data. Stores delete every row older than a horizon and no
// newer row, or whole days: a store may then keep rows up to a day older
// than the horizon (ClickHouse drops the days before the horizon's UTC day).
type RetentionPolicy struct {
	// EventsBefore: events, spans and causation edges that started before
	// it, with their index and lookup tables and flow aggregates.
	EventsBefore time.Time
	// BrokerBefore: DLQ entries, consumer-lag samples, alert history and
	// replay records (last updated) before it. Never the audit log, which
	// is append-only and kept until an operator archives it.
	BrokerBefore time.Time
}

// RetentionResult is what one retention pass deleted.
type RetentionResult struct {
	// Deleted counts the rows deleted per table (tables with none are
	// absent). A ClickHouse store counts the rows its partition drops and
	// mutations removed, read just before it removed them.
	Deleted map[string]int64
}

// Total is the number of rows deleted in every table.
func (r RetentionResult) Total() int64 {
	var n int64
	for _, v := range r.Deleted {
		n += v
	}
	return n
}

// Retainer is the optional capability of a store that can delete data
// older than a horizon. Stores that implement it also implement Retention:
// after a pass, OldestRetained returns the policy's EventsBefore.
type Retainer interface {
	Retention
	// ApplyRetention deletes what p says, in work bounded per statement
	// so that concurrent writes are not stalled for long (the embedded
	// store deletes in batches between the collector's writes), and
	// returns the rows deleted. A second pass with the same policy
	// deletes nothing. When ctx ends mid-pass it returns what was
	// deleted so far with ctx's error; the next pass continues.
	ApplyRetention(ctx context.Context, p RetentionPolicy) (RetentionResult, error)
	// RetentionTables lists every table ApplyRetention may delete from,
	// the keys of RetentionResult.Deleted (metrics export each from the start).
	RetentionTables() []string
}
