package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Migration 010 renames the schema-1 tables (events_v1, spans_v1,
// edges_v1); upgradeRows copies their rows into the new tables through the
// ordinary write path, upgradeChunk rows at a time, each chunk one
// transaction that also deletes what it copied, so that an upgrade
// interrupted by a crash resumes where it stopped, and the flow rollups
// count every event once. The old tables are dropped when empty.
var upgradeChunk = 5000 // a variable for TestUpgrade

// Schema-1 column lists (events as of migration 008).
const (
	v1EventCols = `trace_id, span_id, event_id, event_type, schema_version, correlation_id, causation_id,
		parent_span_id, links, service, handler, system, cluster, destination, partition, "offset",
		consumer_group, op, outcome, error, attempt, start_ns, duration_ns, payload_size, replay_of, attributes,
		message_key`
	v1SpanCols = `trace_id, span_id, parent_span_id, service, name, kind, start_ns, duration_ns,
		status_code, status_message, links, attributes`
	v1EdgeCols = `from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id, correlation_id, kind, start_ns`
)

// upgradeRows copies what schema-1 tables still hold, if any.
func (s *Store) upgradeRows(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events_v1'`).Scan(&n); err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	if n == 0 {
		return nil
	}
	for _, step := range []func(context.Context, *sql.Tx) (int, error){s.upgradeEvents, s.upgradeSpans, s.upgradeEdges} {
		for {
			tx, err := s.w.BeginTx(ctx, nil)
			if err != nil {
				return fmt.Errorf("upgrade: %w", err)
			}
			moved, err := step(ctx, tx)
			if err == nil {
				err = tx.Commit()
			}
			tx.Rollback()
			if err != nil {
				return fmt.Errorf("upgrade: %w", err)
			}
			if moved < upgradeChunk {
				break
			}
		}
	}
	_, err := s.w.ExecContext(ctx, `DROP TABLE events_v1; DROP TABLE spans_v1; DROP TABLE edges_v1;`)
	if err != nil {
		return fmt.Errorf("upgrade: drop schema-1 tables: %w", err)
	}
	return nil
}

// upgradeEvents moves a chunk of events with their spans and the edges
// into them.
func (s *Store) upgradeEvents(ctx context.Context, tx *sql.Tx) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+v1EventCols+` FROM events_v1 LIMIT ?`, upgradeChunk)
	if err != nil {
		return 0, err
	}
	var b store.Batch
	for rows.Next() {
		var e event.Event
		var links, attrs, op, outcome string
		var start, dur int64
		if err := rows.Scan(&e.TraceID, &e.SpanID, &e.EventID, &e.EventType, &e.SchemaVersion, &e.CorrelationID,
			&e.CausationID, &e.ParentSpanID, &links, &e.Service, &e.Handler, &e.System, &e.Cluster, &e.Destination,
			&e.Partition, &e.Offset, &e.ConsumerGroup, &op, &outcome, &e.Error, &e.Attempt, &start, &dur,
			&e.PayloadSize, &e.ReplayOf, &attrs, &e.MessageKey); err != nil {
			rows.Close()
			return 0, err
		}
		e.Op, e.Outcome, e.StartNS, e.DurationNS = event.Op(op), event.Outcome(outcome), uint64(start), uint64(dur)
		if err := errors.Join(decodeJSON(links, &e.Links), decodeJSON(attrs, &e.Attributes)); err != nil {
			rows.Close()
			return 0, fmt.Errorf("event %s/%s: %w", e.TraceID, e.SpanID, err)
		}
		b.Events = append(b.Events, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, e := range b.Events {
		sps, err := v1Spans(ctx, tx, `WHERE trace_id = ? AND span_id = ?`, e.TraceID, e.SpanID)
		if err != nil {
			return 0, err
		}
		b.Spans = append(b.Spans, sps...)
		eds, err := v1Edges(ctx, tx, `WHERE to_trace_id = ? AND to_span_id = ?`, e.TraceID, e.SpanID)
		if err != nil {
			return 0, err
		}
		b.Edges = append(b.Edges, eds...)
	}
	if _, err := s.writeRows(ctx, tx, &b); err != nil {
		return 0, err
	}
	for _, e := range b.Events {
		for _, del := range []string{
			`DELETE FROM events_v1 WHERE trace_id = ? AND span_id = ?`,
			`DELETE FROM spans_v1 WHERE trace_id = ? AND span_id = ?`,
			`DELETE FROM edges_v1 WHERE to_trace_id = ? AND to_span_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, del, e.TraceID, e.SpanID); err != nil {
				return 0, err
			}
		}
	}
	return len(b.Events), nil
}

// upgradeSpans moves a chunk of the spans left (plain spans).
func (s *Store) upgradeSpans(ctx context.Context, tx *sql.Tx) (int, error) {
	sps, err := v1Spans(ctx, tx, `LIMIT ?`, upgradeChunk)
	if err != nil || len(sps) == 0 {
		return 0, err
	}
	if _, err := s.writeRows(ctx, tx, &store.Batch{Spans: sps}); err != nil {
		return 0, err
	}
	for _, sp := range sps {
		if _, err := tx.ExecContext(ctx, `DELETE FROM spans_v1 WHERE trace_id = ? AND span_id = ?`, sp.TraceID, sp.SpanID); err != nil {
			return 0, err
		}
	}
	return len(sps), nil
}

// upgradeEdges moves a chunk of the edges left (into no stored event).
func (s *Store) upgradeEdges(ctx context.Context, tx *sql.Tx) (int, error) {
	eds, err := v1Edges(ctx, tx, `LIMIT ?`, upgradeChunk)
	if err != nil || len(eds) == 0 {
		return 0, err
	}
	if _, err := s.writeRows(ctx, tx, &store.Batch{Edges: eds}); err != nil {
		return 0, err
	}
	for _, e := range eds {
		if _, err := tx.ExecContext(ctx, `DELETE FROM edges_v1 WHERE to_trace_id = ? AND to_span_id = ? AND from_trace_id = ?
			AND from_span_id = ? AND from_event_id = ? AND kind = ?`, e.ToTraceID, e.ToSpanID, e.FromTraceID, e.FromSpanID,
			e.FromEventID, string(e.Kind)); err != nil {
			return 0, err
		}
	}
	return len(eds), nil
}

func v1Spans(ctx context.Context, tx *sql.Tx, tail string, args ...any) ([]event.Span, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+v1SpanCols+` FROM spans_v1 `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []event.Span
	for rows.Next() {
		var sp event.Span
		var links, attrs string
		var start, dur int64
		if err := rows.Scan(&sp.TraceID, &sp.SpanID, &sp.ParentSpanID, &sp.Service, &sp.Name, &sp.Kind, &start, &dur,
			&sp.StatusCode, &sp.StatusMessage, &links, &attrs); err != nil {
			return nil, err
		}
		sp.StartNS, sp.DurationNS = uint64(start), uint64(dur)
		if err := errors.Join(decodeJSON(links, &sp.Links), decodeJSON(attrs, &sp.Attributes)); err != nil {
			return nil, fmt.Errorf("span %s/%s: %w", sp.TraceID, sp.SpanID, err)
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

func v1Edges(ctx context.Context, tx *sql.Tx, tail string, args ...any) ([]event.Edge, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+v1EdgeCols+` FROM edges_v1 `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []event.Edge
	for rows.Next() {
		var e event.Edge
		var kind string
		var start int64
		if err := rows.Scan(&e.FromTraceID, &e.FromSpanID, &e.FromEventID, &e.ToTraceID, &e.ToSpanID,
			&e.CorrelationID, &kind, &start); err != nil {
			return nil, err
		}
		e.Kind, e.StartNS = event.EdgeKind(kind), uint64(start)
		out = append(out, e)
	}
	return out, rows.Err()
}
