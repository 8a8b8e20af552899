package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/store"
)

const (
	lagCols = `time_ns, system, cluster, group_name, topic, partition, committed, end_offset, lag, lag_seconds, status, group_status`
	dlqCols = `id, time_ns, system, source, source_partition, source_offset, original, original_partition, original_offset,
		reason, deliveries, event_id, correlation_id, headers, payload, payload_size, truncated, trusted`
)

func (s *Store) writeBroker(ctx context.Context, tx *sql.Tx, b *store.Batch) error {
	if len(b.Lag) > 0 {
		in := s.newInserter("lag", lagCols)
		for _, l := range b.Lag {
			if err := in.add(ctx, tx, int64(l.TimeNS), l.System, l.Cluster, l.Group, l.Topic, l.Partition,
				l.Committed, l.End, l.Lag, l.LagSeconds, l.Status, l.GroupStatus); err != nil {
				return err
			}
		}
		if err := in.flush(ctx, tx); err != nil {
			return err
		}
	}
	if len(b.DLQ) > 0 {
		in := s.newInserter("dlq", dlqCols)
		for _, d := range b.DLQ {
			if err := in.add(ctx, tx, d.ID, int64(d.TimeNS), d.System, d.Source, d.SourcePartition, d.SourceOffset,
				d.Original, d.OriginalPartition, d.OriginalOffset, d.Reason, d.Deliveries, d.EventID, d.CorrelationID,
				attrsJSON(d.Headers), d.Payload, d.PayloadSize, d.Truncated, d.Trusted); err != nil {
				return err
			}
		}
		if err := in.flush(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// Lag implements store.Reader.
func (s *Store) Lag(ctx context.Context, q store.LagQuery) (_ []store.LagSample, err error) {
	defer store.MarkTimeout(ctx, &err)
	limit := q.Limit
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	where, args := []string{"1=1"}, []any{}
	if q.Group != "" {
		where, args = append(where, "group_name = ?"), append(args, q.Group)
	}
	if q.Topic != "" {
		where, args = append(where, "topic = ?"), append(args, q.Topic)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time_ns >= ?"), append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time_ns < ?"), append(args, q.Until.UnixNano())
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+lagCols+" FROM (SELECT * FROM lag WHERE "+strings.Join(where, " AND ")+
		" ORDER BY time_ns DESC, group_name, topic, partition LIMIT ?) ORDER BY time_ns, group_name, topic, partition", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: lag: %w", s.dir, err)
	}
	defer rows.Close()
	out := []store.LagSample{}
	for rows.Next() {
		var l store.LagSample
		var t int64
		if err := rows.Scan(&t, &l.System, &l.Cluster, &l.Group, &l.Topic, &l.Partition, &l.Committed, &l.End,
			&l.Lag, &l.LagSeconds, &l.Status, &l.GroupStatus); err != nil {
			return nil, fmt.Errorf("embedded store %q: lag: %w", s.dir, err)
		}
		l.TimeNS = uint64(t)
		out = append(out, l)
	}
	return out, rows.Err()
}

// DLQ implements store.Reader. Payloads are left out of the page; ask
// DLQEntry for one.
func (s *Store) DLQ(ctx context.Context, q store.DLQQuery) (_ store.DLQPage, err error) {
	defer store.MarkTimeout(ctx, &err)
	query, args, limit, err := dlqSQL(q)
	if err != nil {
		return store.DLQPage{}, fmt.Errorf("embedded store: dlq: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return store.DLQPage{}, fmt.Errorf("embedded store %q: dlq: %w", s.dir, err)
	}
	defer rows.Close()
	page := store.DLQPage{Entries: []store.DLQEntry{}}
	for rows.Next() {
		d, err := scanDLQ(rows)
		if err != nil {
			return store.DLQPage{}, fmt.Errorf("embedded store %q: dlq: %w", s.dir, err)
		}
		page.Entries = append(page.Entries, d)
	}
	if err := rows.Err(); err != nil {
		return store.DLQPage{}, fmt.Errorf("embedded store %q: dlq: %w", s.dir, err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		last := page.Entries[limit-1]
		page.Next = store.Cursor{StartNS: last.TimeNS, SpanID: last.ID}.Encode()
	}
	return page, nil
}

// DLQEntry implements store.Reader.
func (s *Store) DLQEntry(ctx context.Context, id string) (_ store.DLQEntry, err error) {
	defer store.MarkTimeout(ctx, &err)
	row := s.r.QueryRowContext(ctx, "SELECT "+dlqCols+" FROM dlq WHERE id = ?", id)
	d, err := scanDLQ(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return d, fmt.Errorf("dlq entry %q: %w", id, store.ErrNotFound)
	case err != nil:
		return d, fmt.Errorf("embedded store %q: dlq entry %q: %w", s.dir, id, err)
	}
	return d, nil
}

type scanner interface{ Scan(...any) error }

func scanDLQ(r scanner) (store.DLQEntry, error) {
	var d store.DLQEntry
	var t int64
	var headers string
	if err := r.Scan(&d.ID, &t, &d.System, &d.Source, &d.SourcePartition, &d.SourceOffset, &d.Original,
		&d.OriginalPartition, &d.OriginalOffset, &d.Reason, &d.Deliveries, &d.EventID, &d.CorrelationID,
		&headers, &d.Payload, &d.PayloadSize, &d.Truncated, &d.Trusted); err != nil {
		return d, err
	}
	d.TimeNS = uint64(t)
	if err := decodeJSON(headers, &d.Headers); err != nil {
		return d, fmt.Errorf("dlq entry %s headers: %w", d.ID, err)
	}
	return d, nil
}

// dlqSQL is the query of a DLQ page (payloads left out) and its
// arguments: limit+1 rows, newest first.
func dlqSQL(q store.DLQQuery) (query string, args []any, limit int, err error) {
	if limit, err = store.Limit(q.Limit); err != nil {
		return "", nil, 0, err
	}
	cur, err := store.ParseCursor(q.Cursor)
	if err != nil {
		return "", nil, 0, err
	}
	where := []string{"1=1"}
	for _, f := range []struct{ col, v string }{{"source", q.Source}, {"original", q.Original}, {"reason", q.Reason}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	// "col != ''" lets SQLite use the partial indexes of schema 011.
	for _, f := range []struct{ col, v string }{{"correlation_id", q.CorrelationID}, {"event_id", q.EventID}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ? AND "+f.col+" != ''"), append(args, f.v)
		}
	}
	if len(q.IDs) > store.MaxLimit {
		return "", nil, 0, store.Invalid("at most %d ids", store.MaxLimit)
	}
	if len(q.IDs) > 0 {
		where = append(where, "id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.IDs)), ",")+")")
		for _, id := range q.IDs {
			args = append(args, id)
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time_ns >= ?"), append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time_ns < ?"), append(args, q.Until.UnixNano())
	}
	if q.Cursor != "" {
		where = append(where, "time_ns <= ? AND (time_ns < ? OR id < ?)")
		args = append(args, int64(cur.StartNS), int64(cur.StartNS), cur.SpanID)
	}
	return "SELECT " + strings.Replace(dlqCols, "payload,", "NULL,", 1) + " FROM dlq WHERE " +
		strings.Join(where, " AND ") + " ORDER BY time_ns DESC, id DESC LIMIT ?", append(args, limit+1), limit, nil
}
