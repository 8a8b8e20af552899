package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Column lists, in the order rows are bound and scanned.
const (
	eventCols = `trace_id, span_id, event_id, event_type, schema_version, correlation_id, causation_id,
		parent_span_id, links, service, handler, system, cluster, destination, partition, "offset",
		consumer_group, op, outcome, error, attempt, start_ns, duration_ns, payload_size, replay_of, attributes,
		message_key`
	edgeCols = `from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id, correlation_id, kind, start_ns`
	spanCols = `trace_id, span_id, parent_span_id, service, name, kind, start_ns, duration_ns,
		status_code, status_message, links, attributes`
)

// maxVariables is SQLite's default bound on the parameters of one
// statement (SQLITE_MAX_VARIABLE_NUMBER).
const maxVariables = 32766

// rowsPerInsert bounds the rows of one multi-row INSERT: fewer statement
// executions per batch, well under maxVariables.
const rowsPerInsert = 128

// inserter writes rows of one table in multi-row INSERT OR IGNORE
// statements of rowsPerInsert rows, prepared once per store, and one
// statement for the rest.
type inserter struct {
	s           *Store
	table, cols string
	ncols       int
	full        *sql.Stmt // rowsPerInsert rows, within the transaction
	args        []any
	rows        int
}

func (s *Store) newInserter(table, cols string) *inserter {
	n := strings.Count(cols, ",") + 1
	if n*rowsPerInsert > maxVariables {
		panic("embedded: rowsPerInsert too large for " + table)
	}
	return &inserter{s: s, table: table, cols: cols, ncols: n}
}

// insertTables are the tables written through an inserter, with their
// columns; Open prepares each one's rowsPerInsert-row statement once,
// since parsing a statement with thousands of placeholders costs more
// than binding them.
var insertTables = map[string]string{
	"events": eventCols, "edges": edgeCols, "spans": spanCols, "lag": lagCols, "dlq": dlqCols,
}

// prepareInserts prepares the full-size insert of every table on the
// writer. It runs before any transaction holds the writer's only connection.
func (s *Store) prepareInserts() error {
	s.inserts = map[string]*sql.Stmt{}
	for table, cols := range insertTables {
		st, err := s.w.Prepare(s.newInserter(table, cols).sql(rowsPerInsert))
		if err != nil {
			return fmt.Errorf("prepare insert into %s: %w", table, err)
		}
		s.inserts[table] = st
	}
	return nil
}

func (in *inserter) sql(rows int) string {
	row := "(" + placeholders(in.ncols) + ")"
	return "INSERT OR IGNORE INTO " + in.table + " (" + in.cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
}

// add queues one row's values and writes a full statement's worth.
func (in *inserter) add(ctx context.Context, tx *sql.Tx, vals ...any) error {
	in.args = append(in.args, vals...)
	in.rows++
	if in.rows < rowsPerInsert {
		return nil
	}
	if in.full == nil {
		in.full = tx.StmtContext(ctx, in.s.inserts[in.table])
	}
	if _, err := in.full.ExecContext(ctx, in.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", in.table, err)
	}
	in.args, in.rows = in.args[:0], 0
	return nil
}

// flush writes the queued rows.
func (in *inserter) flush(ctx context.Context, tx *sql.Tx) error {
	if in.rows == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, in.sql(in.rows), in.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", in.table, err)
	}
	in.args, in.rows = in.args[:0], 0
	return nil
}

// Write implements store.Writer: the whole batch in one transaction, so
// that it is stored entirely or not at all. Every row is INSERT OR IGNORE
// on its key, so b.Retry needs no special handling.
func (s *Store) Write(ctx context.Context, b *store.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded store %q: begin: %w", s.dir, err)
	}
	defer tx.Rollback()
	if err := s.writeRows(ctx, tx, b); err != nil {
		return fmt.Errorf("embedded store %q: write of %d rows: %w", s.dir, b.Len(), err)
	}
	if err := s.writeBroker(ctx, tx, b); err != nil {
		return fmt.Errorf("embedded store %q: write of %d rows: %w", s.dir, b.Len(), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded store %q: commit: %w", s.dir, err)
	}
	return nil
}

func (s *Store) writeRows(ctx context.Context, tx *sql.Tx, b *store.Batch) error {
	if len(b.Events) > 0 {
		in := s.newInserter("events", eventCols)
		for i := range b.Events {
			e := &b.Events[i]
			if err := in.add(ctx, tx, e.TraceID, e.SpanID, e.EventID, e.EventType, e.SchemaVersion,
				e.CorrelationID, e.CausationID, e.ParentSpanID, linksJSON(e.Links), e.Service, e.Handler,
				e.System, e.Cluster, e.Destination, e.Partition, e.Offset, e.ConsumerGroup, string(e.Op),
				string(e.Outcome), e.Error, e.Attempt, int64(e.StartNS), int64(e.DurationNS), e.PayloadSize,
				e.ReplayOf, attrsJSON(e.Attributes), e.MessageKey); err != nil {
				return err
			}
		}
		if err := in.flush(ctx, tx); err != nil {
			return err
		}
	}
	if len(b.Edges) > 0 {
		in := s.newInserter("edges", edgeCols)
		for i := range b.Edges {
			e := &b.Edges[i]
			if err := in.add(ctx, tx, e.FromTraceID, e.FromSpanID, e.FromEventID, e.ToTraceID, e.ToSpanID,
				e.CorrelationID, string(e.Kind), int64(e.StartNS)); err != nil {
				return err
			}
		}
		if err := in.flush(ctx, tx); err != nil {
			return err
		}
	}
	if len(b.Spans) > 0 {
		in := s.newInserter("spans", spanCols)
		for i := range b.Spans {
			sp := &b.Spans[i]
			if err := in.add(ctx, tx, sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.Service, sp.Name, sp.Kind,
				int64(sp.StartNS), int64(sp.DurationNS), sp.StatusCode, sp.StatusMessage, linksJSON(sp.Links),
				attrsJSON(sp.Attributes)); err != nil {
				return err
			}
		}
		if err := in.flush(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// linksJSON and attrsJSON encode links and attributes as JSON text; none
// is the empty string, which costs no JSON decode on the way back.
func linksJSON(l []event.Link) string {
	if len(l) == 0 {
		return ""
	}
	b, _ := json.Marshal(l) // a slice of string pairs always encodes
	return string(b)
}

func attrsJSON(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m) // a map of strings always encodes
	return string(b)
}

// decodeJSON decodes links, attributes or headers written by the
// functions above; "" leaves dst nil.
func decodeJSON[T any](s string, dst *T) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

// placeholders returns "?,?,…" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
