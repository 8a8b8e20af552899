package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/store"
)

const (
	replayCols = `id, idempotency_key, requested_by, reason, request, target, state, total, sent, failed,
		rate_per_sec, created_ns, started_ns, finished_ns, updated_ns, error`
	replayItemCols = `replay_id, seq, dlq_id, event_id, new_event_id, system, destination, status, error, time_ns`
)

// PutReplay implements store.ReplayLog.
func (s *Store) PutReplay(ctx context.Context, r store.Replay) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO replays (`+replayCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, total = excluded.total, sent = excluded.sent,
		failed = excluded.failed, started_ns = excluded.started_ns, finished_ns = excluded.finished_ns,
		updated_ns = excluded.updated_ns, error = excluded.error
		WHERE excluded.updated_ns >= replays.updated_ns`,
		r.ID, r.IdempotencyKey, r.RequestedBy, r.Reason, r.Request, r.Target, r.State, r.Total, r.Sent, r.Failed,
		r.RatePerSec, int64(r.CreatedNS), int64(r.StartedNS), int64(r.FinishedNS), int64(r.UpdatedNS), r.Error)
	if err != nil {
		return fmt.Errorf("embedded store %q: put replay %s: %w", s.dir, r.ID, err)
	}
	return nil
}

// PutReplayItems implements store.ReplayLog.
func (s *Store) PutReplayItems(ctx context.Context, items []store.ReplayItem) error {
	if len(items) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded store %q: begin: %w", s.dir, err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO replay_items (`+replayItemCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("embedded store %q: put replay items: %w", s.dir, err)
	}
	defer st.Close()
	for _, it := range items {
		if _, err := st.ExecContext(ctx, it.ReplayID, it.Seq, it.DLQID, it.EventID, it.NewEventID, it.System,
			it.Destination, it.Status, it.Error, int64(it.TimeNS)); err != nil {
			return fmt.Errorf("embedded store %q: put replay items: %w", s.dir, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded store %q: commit: %w", s.dir, err)
	}
	return nil
}

// Replay implements store.ReplayLog.
func (s *Store) Replay(ctx context.Context, id string) (store.Replay, error) {
	return s.oneReplay(ctx, "id = ?", id)
}

// ReplayByKey implements store.ReplayLog.
func (s *Store) ReplayByKey(ctx context.Context, requestedBy, key string) (store.Replay, error) {
	if key == "" {
		return store.Replay{}, fmt.Errorf("replay with an empty idempotency key: %w", store.ErrNotFound)
	}
	return s.oneReplay(ctx, "idempotency_key = ? AND requested_by = ?", key, requestedBy)
}

func (s *Store) oneReplay(ctx context.Context, where string, args ...any) (store.Replay, error) {
	r, err := scanReplay(s.r.QueryRowContext(ctx, "SELECT "+replayCols+" FROM replays WHERE "+where+" ORDER BY created_ns LIMIT 1", args...))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, fmt.Errorf("replay %q: %w", args[0], store.ErrNotFound)
	case err != nil:
		return r, fmt.Errorf("embedded store %q: replay %q: %w", s.dir, args[0], err)
	}
	return r, nil
}

// Replays implements store.ReplayLog.
func (s *Store) Replays(ctx context.Context, q store.ReplayQuery) (store.ReplayPage, error) {
	limit, err := store.Limit(q.Limit)
	if err != nil {
		return store.ReplayPage{}, fmt.Errorf("embedded store: replays: %w", err)
	}
	cur, err := store.ParseCursor(q.Cursor)
	if err != nil {
		return store.ReplayPage{}, fmt.Errorf("embedded store: replays: %w", err)
	}
	where, args := "1=1", []any{}
	if q.Cursor != "" {
		where, args = "created_ns <= ? AND (created_ns < ? OR id < ?)", []any{int64(cur.StartNS), int64(cur.StartNS), cur.SpanID}
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+replayCols+" FROM replays WHERE "+where+
		" ORDER BY created_ns DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return store.ReplayPage{}, fmt.Errorf("embedded store %q: replays: %w", s.dir, err)
	}
	defer rows.Close()
	page := store.ReplayPage{Replays: []store.Replay{}}
	for rows.Next() {
		r, err := scanReplay(rows)
		if err != nil {
			return store.ReplayPage{}, fmt.Errorf("embedded store %q: replays: %w", s.dir, err)
		}
		page.Replays = append(page.Replays, r)
	}
	if err := rows.Err(); err != nil {
		return store.ReplayPage{}, fmt.Errorf("embedded store %q: replays: %w", s.dir, err)
	}
	page.Next = store.TrimReplayPage(&page.Replays, limit)
	return page, nil
}

// ReplayItems implements store.ReplayLog.
func (s *Store) ReplayItems(ctx context.Context, replayID string, from int64, limit int) ([]store.ReplayItem, error) {
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+replayItemCols+" FROM replay_items WHERE replay_id = ? AND seq > ? ORDER BY seq LIMIT ?",
		replayID, from, limit)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: replay items: %w", s.dir, err)
	}
	defer rows.Close()
	out := []store.ReplayItem{}
	for rows.Next() {
		var it store.ReplayItem
		var t int64
		if err := rows.Scan(&it.ReplayID, &it.Seq, &it.DLQID, &it.EventID, &it.NewEventID, &it.System, &it.Destination,
			&it.Status, &it.Error, &t); err != nil {
			return nil, fmt.Errorf("embedded store %q: replay items: %w", s.dir, err)
		}
		it.TimeNS = uint64(t)
		out = append(out, it)
	}
	return out, rows.Err()
}

func scanReplay(r scanner) (store.Replay, error) {
	var x store.Replay
	var created, started, finished, updated int64
	err := r.Scan(&x.ID, &x.IdempotencyKey, &x.RequestedBy, &x.Reason, &x.Request, &x.Target, &x.State, &x.Total,
		&x.Sent, &x.Failed, &x.RatePerSec, &created, &started, &finished, &updated, &x.Error)
	x.CreatedNS, x.StartedNS, x.FinishedNS, x.UpdatedNS = uint64(created), uint64(started), uint64(finished), uint64(updated)
	return x, err
}
