package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/store"
)

const (
	lagCols = `date, time_ns, system, cluster, group_name, topic, partition, committed, end_offset, lag, lag_seconds, status, group_status`
	dlqCols = `date, id, time_ns, system, source, source_partition, source_offset, original, original_partition, original_offset,
		reason, deliveries, event_id, correlation_id, header_keys, header_values, payload, payload_size, truncated, trusted`
)

func lagKey(l store.LagSample) string {
	return fmt.Sprintf("%s|%s|%d|%d|%s", l.Group, l.Topic, l.Partition, l.TimeNS, l.System)
}

// writeBroker inserts lag samples and DLQ entries; with retry, those
// already stored are left out.
func (s *Store) writeBroker(ctx context.Context, b *store.Batch) error {
	lag, dlq := b.Lag, b.DLQ
	if b.Retry && (len(lag) > 0 || len(dlq) > 0) {
		var err error
		if lag, dlq, err = s.missingBroker(ctx, lag, dlq); err != nil {
			return fmt.Errorf("clickhouse store: checking a retried batch: %w", err)
		}
	}
	if len(lag) > 0 {
		if err := s.insert(ctx, "lag", lagCols, len(lag), func(i int) []any {
			l := &lag[i]
			return []any{day(l.TimeNS), l.TimeNS, l.System, l.Cluster, l.Group, l.Topic, l.Partition, l.Committed, l.End,
				l.Lag, l.LagSeconds, l.Status, l.GroupStatus}
		}); err != nil {
			return err
		}
	}
	if len(dlq) > 0 {
		if err := s.insert(ctx, "dlq", dlqCols, len(dlq), func(i int) []any {
			d := &dlq[i]
			k, v := attrs(d.Headers)
			var trunc, trusted uint8
			if d.Truncated {
				trunc = 1
			}
			if d.Trusted {
				trusted = 1
			}
			return []any{day(d.TimeNS), d.ID, d.TimeNS, d.System, d.Source, d.SourcePartition, d.SourceOffset, d.Original,
				d.OriginalPartition, d.OriginalOffset, d.Reason, d.Deliveries, d.EventID, d.CorrelationID, k, v,
				string(d.Payload), d.PayloadSize, trunc, trusted}
		}); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) missingBroker(ctx context.Context, lag []store.LagSample, dlq []store.DLQEntry) ([]store.LagSample, []store.DLQEntry, error) {
	have := map[string]bool{}
	if len(lag) > 0 {
		groups := map[string]bool{}
		var lo, hi uint64 = ^uint64(0), 0
		for _, l := range lag {
			groups[l.Group] = true
			lo, hi = min(lo, l.TimeNS), max(hi, l.TimeNS)
		}
		var gs []string
		for g := range groups {
			gs = append(gs, g)
		}
		if err := chunks(gs, func(ids []string) error {
			in, args := inList("group_name", ids)
			rows, err := s.conn.Query(ctx, "SELECT concat(group_name, '|', topic, '|', toString(partition), '|', toString(time_ns)), system FROM lag WHERE time_ns >= ? AND time_ns <= ? AND "+in,
				append([]any{lo, hi}, args...)...)
			if err != nil {
				return err
			}
			return scanKeys(rows, have, func(a, b string) string { return a + "|" + b })
		}); err != nil {
			return nil, nil, err
		}
	}
	var ids []string
	for _, d := range dlq {
		ids = append(ids, d.ID)
	}
	if err := chunks(ids, func(ids []string) error {
		in, args := inList("id", ids)
		rows, err := s.conn.Query(ctx, "SELECT 'dlq', id FROM dlq WHERE "+in, args...)
		if err != nil {
			return err
		}
		return scanKeys(rows, have, func(a, b string) string { return a + "|" + b })
	}); err != nil {
		return nil, nil, err
	}
	var outLag []store.LagSample
	for _, l := range lag {
		if k := lagKey(l); !have[k] {
			have[k] = true
			outLag = append(outLag, l)
		}
	}
	var outDLQ []store.DLQEntry
	for _, d := range dlq {
		if k := "dlq|" + d.ID; !have[k] {
			have[k] = true
			outDLQ = append(outDLQ, d)
		}
	}
	return outLag, outDLQ, nil
}

// Lag implements store.Reader.
func (s *Store) Lag(ctx context.Context, q store.LagQuery) (_ []store.LagSample, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	limit := q.Limit
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	where, args := []string{"1 = 1"}, []any{}
	if q.Group != "" {
		where, args = append(where, "group_name = ?"), append(args, q.Group)
	}
	if q.Topic != "" {
		where, args = append(where, "topic = ?"), append(args, q.Topic)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time_ns >= ?"), append(args, uint64(q.Since.UnixNano()))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time_ns < ?"), append(args, uint64(q.Until.UnixNano()))
	}
	rows, err := s.conn.Query(ctx, "SELECT time_ns, system, cluster, group_name, topic, partition, committed, end_offset, lag, lag_seconds, status, group_status FROM "+
		"(SELECT * FROM lag WHERE "+strings.Join(where, " AND ")+" ORDER BY time_ns DESC, group_name, topic, partition LIMIT 1 BY group_name, topic, partition, time_ns, system LIMIT ?)"+
		" ORDER BY time_ns, group_name, topic, partition", append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: lag: %w", err)
	}
	defer rows.Close()
	out := []store.LagSample{}
	for rows.Next() {
		var l store.LagSample
		if err := rows.Scan(&l.TimeNS, &l.System, &l.Cluster, &l.Group, &l.Topic, &l.Partition, &l.Committed, &l.End,
			&l.Lag, &l.LagSeconds, &l.Status, &l.GroupStatus); err != nil {
			return nil, fmt.Errorf("clickhouse store: lag: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

const dlqSelect = `SELECT id, time_ns, system, source, source_partition, source_offset, original, original_partition,
	original_offset, reason, deliveries, event_id, correlation_id, header_keys, header_values, %s, payload_size, truncated, trusted FROM dlq`

// DLQ implements store.Reader; payloads are left out of pages.
func (s *Store) DLQ(ctx context.Context, q store.DLQQuery) (_ store.DLQPage, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	limit, err := store.Limit(q.Limit)
	if err != nil {
		return store.DLQPage{}, err
	}
	cur, err := store.ParseCursor(q.Cursor)
	if err != nil {
		return store.DLQPage{}, err
	}
	where, args := []string{"1 = 1"}, []any{}
	for _, f := range []struct{ col, v string }{{"source", q.Source}, {"original", q.Original}, {"reason", q.Reason}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	// An entity's entries: their ids from the index tables of schema 011,
	// then dlq read by its sorting key.
	for _, f := range []struct{ table, col, v string }{
		{"dlq_by_correlation", "correlation_id", q.CorrelationID}, {"dlq_by_event_id", "event_id", q.EventID},
	} {
		if f.v == "" {
			continue
		}
		cond, a, none, err := s.dlqIndexed(ctx, f.table, f.col, f.v)
		if err != nil {
			return store.DLQPage{}, err
		}
		if none {
			return store.DLQPage{Entries: []store.DLQEntry{}}, nil
		}
		where, args = append(where, cond+" AND "+f.col+" = ?"), append(append(args, a...), f.v)
	}
	if len(q.IDs) > store.MaxLimit {
		return store.DLQPage{}, fmt.Errorf("clickhouse store: dlq: %w", store.Invalid("at most %d ids", store.MaxLimit))
	}
	if len(q.IDs) > 0 {
		in, ids := inList("id", q.IDs)
		where, args = append(where, in), append(args, ids...)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time_ns >= ?"), append(args, uint64(q.Since.UnixNano()))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time_ns < ?"), append(args, uint64(q.Until.UnixNano()))
	}
	if q.Cursor != "" {
		where = append(where, "(time_ns < ? OR (time_ns = ? AND id < ?))")
		args = append(args, cur.StartNS, cur.StartNS, cur.SpanID)
	}
	entries, err := s.queryDLQ(ctx, fmt.Sprintf(dlqSelect, "''")+" WHERE "+strings.Join(where, " AND ")+
		" ORDER BY time_ns DESC, id DESC LIMIT 1 BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return store.DLQPage{}, err
	}
	page := store.DLQPage{Entries: entries}
	if len(entries) > limit {
		page.Entries = entries[:limit]
		last := page.Entries[limit-1]
		page.Next = store.Cursor{StartNS: last.TimeNS, SpanID: last.ID}.Encode()
	}
	return page, nil
}

// dlqIndexed is the condition on dlq.id that selects the entries whose
// col is v, through its index table: on one server an IN subquery, which
// 18.16 turns into a set read by dlq's primary key (GLOBAL IN there reads
// the whole table). In cluster mode the index table is Distributed and a
// subquery would run again on each shard, so the ids are asked first and
// bound as a list (GLOBAL IN, correct but read in full on every shard,
// only beyond maxIn of them); none says there are no such entries.
func (s *Store) dlqIndexed(ctx context.Context, table, col, v string) (cond string, args []any, none bool, err error) {
	sub := fmt.Sprintf("SELECT id FROM %s WHERE %s = ?", table, col)
	if s.cluster == "" {
		return "id IN (" + sub + ")", []any{v}, false, nil
	}
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT id FROM "+table+" WHERE "+col+" = ? LIMIT ?", v, maxIn+1)
	if err != nil {
		return "", nil, false, fmt.Errorf("clickhouse store: dlq: %s: %w", table, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", nil, false, fmt.Errorf("clickhouse store: dlq: %s: %w", table, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", nil, false, fmt.Errorf("clickhouse store: dlq: %s: %w", table, err)
	}
	switch {
	case len(ids) == 0:
		return "", nil, true, nil
	case len(ids) > maxIn:
		return "id GLOBAL IN (" + sub + ")", []any{v}, false, nil
	}
	cond, args = inList("id", ids)
	return cond, args, false, nil
}

// DLQEntry implements store.Reader.
func (s *Store) DLQEntry(ctx context.Context, id string) (_ store.DLQEntry, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	es, err := s.queryDLQ(ctx, fmt.Sprintf(dlqSelect, "payload")+" WHERE id = ? LIMIT 1", id)
	if err != nil {
		return store.DLQEntry{}, err
	}
	if len(es) == 0 {
		return store.DLQEntry{}, fmt.Errorf("dlq entry %q: %w", id, store.ErrNotFound)
	}
	return es[0], nil
}

func (s *Store) queryDLQ(ctx context.Context, query string, args ...any) ([]store.DLQEntry, error) {
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: dlq: %w", err)
	}
	defer rows.Close()
	out := []store.DLQEntry{}
	for rows.Next() {
		var d store.DLQEntry
		var hk, hv []string
		var payload string
		var trunc, trusted uint8
		if err := rows.Scan(&d.ID, &d.TimeNS, &d.System, &d.Source, &d.SourcePartition, &d.SourceOffset, &d.Original,
			&d.OriginalPartition, &d.OriginalOffset, &d.Reason, &d.Deliveries, &d.EventID, &d.CorrelationID, &hk, &hv,
			&payload, &d.PayloadSize, &trunc, &trusted); err != nil {
			return nil, fmt.Errorf("clickhouse store: dlq: %w", err)
		}
		d.Headers, d.Truncated, d.Trusted = toMap(hk, hv), trunc == 1, trusted == 1
		if payload != "" {
			d.Payload = []byte(payload)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, errors.Join(fmt.Errorf("clickhouse store: dlq"), err)
	}
	return out, nil
}
