package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/store"
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
	"edges": edgeCols, "spans": spanCols, "lag": lagCols, "dlq": dlqCols,
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
	// Events in chunks of eventsPerInsert (eventwrite.go); flow_minute
	// merges a minute's aggregate (rollup.go).
	for name, q := range map[string]string{
		"events":      insertSQL("events", eventCols, eventColCount, eventsPerInsert),
		"flow_minute": upsertFlowSQL,
		// journey_ledger merges ledger updates (ledger.go).
		"journey_ledger": ledgerUpsertSQL(ledgerRowsPerInsert),
	} {
		st, err := s.w.Prepare(q)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", name, err)
		}
		s.inserts[name] = st
	}
	return nil
}

func (in *inserter) sql(rows int) string { return insertSQL(in.table, in.cols, in.ncols, rows) }

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
func (s *Store) Write(ctx context.Context, b *store.Batch) error { return s.write(ctx, b, nil) }

// write is Write, merging a batch's journey ledger updates, when ledger
// is not nil, in the same transaction (WriteLedger, ledger.go): ledger is
// called once b's rows are written.
func (s *Store) write(ctx context.Context, b *store.Batch, ledger func() []store.LedgerUpdate) error {
	var ups []store.LedgerUpdate
	if b.Len() == 0 {
		if ledger != nil {
			ups, ledger = ledger(), nil
		}
		if len(ups) == 0 {
			return nil
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded store %q: begin: %w", s.dir, err)
	}
	defer tx.Rollback()
	rw, err := s.writeRows(ctx, tx, b)
	if err != nil {
		return fmt.Errorf("embedded store %q: write of %d rows: %w", s.dir, b.Len(), err)
	}
	if err := s.writeBroker(ctx, tx, b); err != nil {
		return fmt.Errorf("embedded store %q: write of %d rows: %w", s.dir, b.Len(), err)
	}
	if ledger != nil {
		ups = ledger()
	}
	if err := s.upsertLedger(ctx, tx, ups); err != nil {
		return fmt.Errorf("embedded store %q: update ledger: %w", s.dir, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded store %q: commit: %w", s.dir, err)
	}
	rw.committed()
	return nil
}

// attrsJSON encodes DLQ headers as JSON text; none is the empty string,
// which costs no JSON decode on the way back.
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
