package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/causeway-dev/causeway/store"
)

// Retention deletes in batches of retentionBatch rows, one short
// transaction each, so the collector's writes (on the same single writer
// connection) wait at most one batch. Space is given back with
// PRAGMA incremental_vacuum in steps of vacuumPages pages when the
// database was created in auto_vacuum=INCREMENTAL mode (every store
// created by this version); an older database reuses the freed pages for
// new rows instead, so its file stops growing but does not shrink.
const (
	retentionBatch = 5000
	vacuumPages    = 256
)

// retentionTarget is one table's batched delete: key selects the rows'
// keys, oldest first, at most ? of them, older than ?.
type retentionTarget struct {
	table  string
	broker bool // BrokerBefore applies, else EventsBefore
	// del deletes one batch; its parameters are the horizon in ns and the batch size.
	del string
	// spans: del returns one row per deleted row, true when it held a span.
	spans bool
}

func batchDelete(table, key, timeCol string) string {
	return fmt.Sprintf(`DELETE FROM %[1]s WHERE (%[2]s) IN (SELECT %[2]s FROM %[1]s WHERE %[3]s < ? ORDER BY %[3]s LIMIT ?)`, table, key, timeCol)
}

// retentionTargets lists every table retention deletes from. The audit
// log is not one: it is append-only and kept until an operator archives it.
var retentionTargets = []retentionTarget{
	// An event row that keeps its span (flags first in body, flagSpan set)
	// is a deleted span too.
	{table: "events", del: batchDelete("events", "id", "start_ns") + " RETURNING substr(body, 1, 1) IN (" + flagsSpanSQL + ")", spans: true},
	{table: "flow_minute", del: batchDelete("flow_minute", "minute_ns, service, system, destination, consumer_group, op", "minute_ns")},
	{table: "spans", del: batchDelete("spans", "trace_id, span_id", "start_ns")},
	{table: "edges", del: batchDelete("edges", "to_trace_id, to_span_id, from_trace_id, from_span_id, from_event_id, kind", "start_ns")},
	{table: "journey_ledger", del: batchDelete("journey_ledger", "journey, correlation_id", "first_ns")},
	// The journey places no ledger row holds any more (their reasons are
	// error texts: unbounded otherwise); one scan of journey_ledger.
	{table: "journey_places", del: `DELETE FROM journey_places WHERE id IN (SELECT id FROM journey_places
		WHERE ? IS NOT NULL AND id NOT IN (SELECT place FROM journey_ledger) LIMIT ?)`},
	{table: "dlq", broker: true, del: batchDelete("dlq", "id", "time_ns")},
	{table: "lag", broker: true, del: batchDelete("lag", "group_name, topic, partition, time_ns, system", "time_ns")},
	{table: "alert_events", broker: true, del: batchDelete("alert_events", "rowid", "time_ns")},
	{table: "replay_items", broker: true, del: batchDelete("replay_items", "replay_id, seq", "time_ns")},
	{table: "replays", broker: true, del: batchDelete("replays", "id", "updated_ns")},
}

// RetentionTables lists the tables retention deletes from.
func (s *Store) RetentionTables() []string {
	out := make([]string, len(retentionTargets))
	for i, t := range retentionTargets {
		out[i] = t.table
	}
	return out
}

// oldestRetained holds the EventsBefore of the last completed pass, in ns.
type oldestRetained struct{ ns atomic.Int64 }

// OldestRetained returns the events horizon of the last completed
// retention pass of this process (zero before the first).
func (s *Store) OldestRetained(context.Context) (time.Time, error) {
	ns := s.oldest.ns.Load()
	if ns == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, ns).UTC(), nil
}

// ApplyRetention deletes what p says in batches of retentionBatch rows,
// each its own transaction, then returns the freed pages to the file
// system (incremental vacuum) when the database allows it.
func (s *Store) ApplyRetention(ctx context.Context, p store.RetentionPolicy) (store.RetentionResult, error) {
	res := store.RetentionResult{Deleted: map[string]int64{}}
	for _, t := range retentionTargets {
		before := p.EventsBefore
		if t.broker {
			before = p.BrokerBefore
		}
		if before.IsZero() {
			continue
		}
		for {
			n, spans, err := s.deleteBatch(ctx, t, before)
			if err != nil {
				return res, fmt.Errorf("embedded store: retention of %s: %w", t.table, err)
			}
			if spans > 0 {
				res.Deleted["spans"] += spans
			}
			if n > 0 {
				res.Deleted[t.table] += n
			}
			if n < retentionBatch {
				break
			}
		}
	}
	if res.Total() > 0 {
		if err := s.vacuum(ctx); err != nil {
			return res, err
		}
	}
	if !p.EventsBefore.IsZero() {
		s.oldest.ns.Store(p.EventsBefore.UnixNano())
	}
	return res, nil
}

// deleteBatch deletes one batch of t older than before: the rows deleted
// and, for events, how many of them kept their span.
func (s *Store) deleteBatch(ctx context.Context, t retentionTarget, before time.Time) (n, spans int64, err error) {
	if !t.spans {
		r, err := s.w.ExecContext(ctx, t.del, before.UnixNano(), retentionBatch)
		if err != nil {
			return 0, 0, err
		}
		n, err = r.RowsAffected()
		return n, 0, err
	}
	rows, err := s.w.QueryContext(ctx, t.del, before.UnixNano(), retentionBatch)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var span bool
		if err := rows.Scan(&span); err != nil {
			return 0, 0, err
		}
		if n++; span {
			spans++
		}
	}
	return n, spans, rows.Err()
}

// vacuum gives free pages back to the file system in steps of vacuumPages
// (each a short write transaction, then a checkpoint, so that the WAL
// holding the moved pages stays small and the file shrinks now) when the
// database is in auto_vacuum=INCREMENTAL mode; otherwise the free pages
// stay for new rows. On a disk too full for the WAL to take a step it
// stops without an error: the free pages are still taken by new rows
// before the file grows.
func (s *Store) vacuum(ctx context.Context) error {
	var mode int
	if err := s.w.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return fmt.Errorf("embedded store: auto_vacuum mode: %w", err)
	}
	if mode != 2 { // 2 is INCREMENTAL
		return nil
	}
	for {
		var free int
		if err := s.w.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
			return fmt.Errorf("embedded store: freelist: %w", err)
		}
		if free == 0 {
			break
		}
		// PRAGMA takes no bound parameters; vacuumPages is our constant.
		if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, vacuumPages)); err != nil {
			if diskFull(err) {
				return nil
			}
			return fmt.Errorf("embedded store: incremental vacuum: %w", err)
		}
		if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
			return fmt.Errorf("embedded store: checkpoint: %w", err)
		}
	}
	return nil
}

// diskFull reports whether err is SQLite's SQLITE_FULL.
func diskFull(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

// ReusableBytes is the space inside the database file that new rows take
// before the file grows: its free pages (deleted rows' space not yet
// given back, or never, on a store created before auto_vacuum=INCREMENTAL).
func (s *Store) ReusableBytes(ctx context.Context) (int64, error) {
	var free, size int64
	if err := s.r.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
		return 0, fmt.Errorf("embedded store: freelist: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size); err != nil {
		return 0, fmt.Errorf("embedded store: page size: %w", err)
	}
	return free * size, nil
}
