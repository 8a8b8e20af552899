package clickhouse

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/store"
)

const (
	replayCols = `id, idempotency_key, requested_by, reason, request, target, state, total, sent, failed,
		rate_per_sec, created_ns, started_ns, finished_ns, updated_ns, error`
	replayItemCols = `replay_id, seq, dlq_id, event_id, new_event_id, system, destination, status, error, time_ns`
)

// PutReplay implements store.ReplayLog: every write is a new row, and
// ReplacingMergeTree(updated_ns) with FINAL reads keeps the latest.
func (s *Store) PutReplay(ctx context.Context, r store.Replay) error {
	return s.insert(ctx, "replays", replayCols, 1, func(int) []any {
		return []any{r.ID, r.IdempotencyKey, r.RequestedBy, r.Reason, r.Request, r.Target, r.State, r.Total, r.Sent,
			r.Failed, r.RatePerSec, r.CreatedNS, r.StartedNS, r.FinishedNS, r.UpdatedNS, r.Error}
	})
}

// PutReplayItems implements store.ReplayLog.
func (s *Store) PutReplayItems(ctx context.Context, items []store.ReplayItem) error {
	if len(items) == 0 {
		return nil
	}
	return s.insert(ctx, "replay_items", replayItemCols, len(items), func(i int) []any {
		it := &items[i]
		return []any{it.ReplayID, it.Seq, it.DLQID, it.EventID, it.NewEventID, it.System, it.Destination, it.Status,
			it.Error, it.TimeNS}
	})
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
	rs, err := s.queryReplays(ctx, "WHERE "+where+" ORDER BY created_ns LIMIT 1", args...)
	if err != nil {
		return store.Replay{}, err
	}
	if len(rs) == 0 {
		return store.Replay{}, fmt.Errorf("replay %q: %w", args[0], store.ErrNotFound)
	}
	return rs[0], nil
}

// Replays implements store.ReplayLog.
func (s *Store) Replays(ctx context.Context, q store.ReplayQuery) (store.ReplayPage, error) {
	limit, err := store.Limit(q.Limit)
	if err != nil {
		return store.ReplayPage{}, fmt.Errorf("clickhouse store: replays: %w", err)
	}
	cur, err := store.ParseCursor(q.Cursor)
	if err != nil {
		return store.ReplayPage{}, fmt.Errorf("clickhouse store: replays: %w", err)
	}
	where, args := "", []any{}
	if q.Cursor != "" {
		where, args = "WHERE (created_ns < ? OR (created_ns = ? AND id < ?))", []any{cur.StartNS, cur.StartNS, cur.SpanID}
	}
	rs, err := s.queryReplays(ctx, where+" ORDER BY created_ns DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return store.ReplayPage{}, err
	}
	page := store.ReplayPage{Replays: rs}
	page.Next = store.TrimReplayPage(&page.Replays, limit)
	return page, nil
}

func (s *Store) queryReplays(ctx context.Context, tail string, args ...any) ([]store.Replay, error) {
	rows, err := s.conn.Query(ctx, "SELECT "+replayCols+" FROM replays FINAL "+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: replays: %w", err)
	}
	defer rows.Close()
	out := []store.Replay{}
	for rows.Next() {
		var r store.Replay
		if err := rows.Scan(&r.ID, &r.IdempotencyKey, &r.RequestedBy, &r.Reason, &r.Request, &r.Target, &r.State,
			&r.Total, &r.Sent, &r.Failed, &r.RatePerSec, &r.CreatedNS, &r.StartedNS, &r.FinishedNS, &r.UpdatedNS, &r.Error); err != nil {
			return nil, fmt.Errorf("clickhouse store: replays: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse store: replays: %w", err)
	}
	return out, nil
}

// ReplayItems implements store.ReplayLog.
func (s *Store) ReplayItems(ctx context.Context, replayID string, from int64, limit int) ([]store.ReplayItem, error) {
	if limit <= 0 || limit > store.MaxLimit {
		limit = store.MaxLimit
	}
	rows, err := s.conn.Query(ctx, "SELECT "+replayItemCols+" FROM replay_items FINAL WHERE replay_id = ? AND seq > ? ORDER BY seq LIMIT ?",
		replayID, from, limit)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: replay items: %w", err)
	}
	defer rows.Close()
	out := []store.ReplayItem{}
	for rows.Next() {
		var it store.ReplayItem
		if err := rows.Scan(&it.ReplayID, &it.Seq, &it.DLQID, &it.EventID, &it.NewEventID, &it.System, &it.Destination,
			&it.Status, &it.Error, &it.TimeNS); err != nil {
			return nil, fmt.Errorf("clickhouse store: replay items: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}
