package clickhouse

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/store"
)

const auditCols = `writer, seq, time_ns, actor, action, subject, detail, prev_hash, hash`

// AppendAudit implements store.AuditLog. Every append is a new row of a
// plain MergeTree (nothing collapses): a record stored twice at one Seq
// stays visible to AuditRecords and fails verification.
func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) error {
	return s.insert(ctx, "audit", auditCols, 1, func(int) []any {
		return []any{r.Writer, r.Seq, r.TimeNS, r.Actor, r.Action, r.Subject, r.Detail, r.PrevHash, r.Hash}
	})
}

// AuditWriters implements store.AuditLog.
func (s *Store) AuditWriters(ctx context.Context) ([]string, error) {
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT writer FROM audit ORDER BY writer`)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: audit writers: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, fmt.Errorf("clickhouse store: audit writers: %w", err)
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
	return s.queryAudit(ctx, `WHERE writer = ? AND seq > ? ORDER BY seq, hash LIMIT ?`, q.Writer, q.AfterSeq, limit)
}

// LastAudit implements store.AuditLog.
func (s *Store) LastAudit(ctx context.Context, writer string) (store.AuditRecord, error) {
	rs, err := s.queryAudit(ctx, `WHERE writer = ? ORDER BY seq DESC LIMIT 1`, writer)
	if err != nil {
		return store.AuditRecord{}, err
	}
	if len(rs) == 0 {
		return store.AuditRecord{}, fmt.Errorf("audit writer %q: %w", writer, store.ErrNotFound)
	}
	return rs[0], nil
}

func (s *Store) queryAudit(ctx context.Context, tail string, args ...any) ([]store.AuditRecord, error) {
	rows, err := s.conn.Query(ctx, `SELECT `+auditCols+` FROM audit `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: audit: %w", err)
	}
	defer rows.Close()
	out := []store.AuditRecord{}
	for rows.Next() {
		var r store.AuditRecord
		if err := rows.Scan(&r.Writer, &r.Seq, &r.TimeNS, &r.Actor, &r.Action, &r.Subject, &r.Detail, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("clickhouse store: audit: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
