package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/causeway-dev/causeway/store"
)

const auditCols = `writer, seq, time_ns, actor, action, subject, detail, prev_hash, hash`

// AppendAudit implements store.AuditLog.
func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit (`+auditCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		r.Writer, int64(r.Seq), int64(r.TimeNS), r.Actor, r.Action, r.Subject, r.Detail, r.PrevHash, r.Hash)
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return fmt.Errorf("embedded store %q: audit %s/%d: %w", s.dir, r.Writer, r.Seq, store.ErrAuditExists)
	}
	if err != nil {
		return fmt.Errorf("embedded store %q: append audit record: %w", s.dir, err)
	}
	return nil
}

// AuditWriters implements store.AuditLog.
func (s *Store) AuditWriters(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT writer FROM audit ORDER BY writer`)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: audit writers: %w", s.dir, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, fmt.Errorf("embedded store %q: audit writers: %w", s.dir, err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// AuditRecords implements store.AuditLog.
func (s *Store) AuditRecords(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = store.MaxLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+auditCols+` FROM audit WHERE writer = ? AND seq > ? ORDER BY seq LIMIT ?`,
		q.Writer, int64(q.AfterSeq), limit)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: audit records: %w", s.dir, err)
	}
	defer rows.Close()
	out := []store.AuditRecord{}
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("embedded store %q: audit records: %w", s.dir, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LastAudit implements store.AuditLog.
func (s *Store) LastAudit(ctx context.Context, writer string) (store.AuditRecord, error) {
	r, err := scanAudit(s.r.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit WHERE writer = ? ORDER BY seq DESC LIMIT 1`, writer))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, fmt.Errorf("audit writer %q: %w", writer, store.ErrNotFound)
	case err != nil:
		return r, fmt.Errorf("embedded store %q: last audit record: %w", s.dir, err)
	}
	return r, nil
}

func scanAudit(sc scanner) (store.AuditRecord, error) {
	var r store.AuditRecord
	var seq, t int64
	err := sc.Scan(&r.Writer, &seq, &t, &r.Actor, &r.Action, &r.Subject, &r.Detail, &r.PrevHash, &r.Hash)
	r.Seq, r.TimeNS = uint64(seq), uint64(t)
	return r, err
}
