package clickhouse

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// The journey ledger (issue #17, schema/007_journeys.sql): updates go into
// journey_ledger_in, whose materialized view folds them into aggregate
// states in journey_ledger (minimum first time, maximum start flag and
// rank, the arg-max row by rank). Reads merge each correlation's states
// in ledgerEntities, then filter and count the merged entities.

var _ store.Ledger = (*Store)(nil)

// UpdateLedger implements store.Ledger: one insert of every update.
func (s *Store) UpdateLedger(ctx context.Context, updates []store.LedgerUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	return s.insert(ctx, "journey_ledger_in", "date, journey, correlation_id, at_ns, start, ord, step, service, destination, op, state, event_id, reason",
		len(updates), func(i int) []any {
			u := &updates[i]
			var start uint8
			if u.Start {
				start = 1
			}
			return []any{time.Unix(0, int64(u.AtNS)).UTC(), u.Journey, u.CorrelationID, u.AtNS, start, store.LedgerRank(*u),
				u.Step, u.Service, u.Destination, string(u.Op), string(u.State), u.EventID, u.Reason}
		})
}

// ledgerEntities is the subquery of a journey's merged entities (its one
// parameter is the journey): cid, first, hs (a start was seen), lns (the
// shown update's time), step, service, dest, op, st, eid, reason, and done
// (st is terminal).
const ledgerEntities = `(SELECT correlation_id AS cid, minMerge(first_ns) AS first, maxMerge(has_start) AS hs,
	argMaxMerge(last) AS l, tupleElement(l, 1) AS lns, tupleElement(l, 2) AS step, tupleElement(l, 3) AS service,
	tupleElement(l, 4) AS dest, tupleElement(l, 5) AS op, tupleElement(l, 6) AS st, tupleElement(l, 7) AS eid,
	tupleElement(l, 8) AS reason, st IN ('completed', 'failed', 'compensated') AS done
	FROM journey_ledger WHERE journey = ? GROUP BY correlation_id)`

// stuckWhere selects the stuck entities of ledgerEntities; its parameter
// is the stuck horizon (ns).
const stuckWhere = `hs = 1 AND done = 0 AND (st = 'dead_lettered' OR first < ?)`

// nsBounds turns a window into [since, until) in ns, open sides widest.
func nsBounds(since, until time.Time) (uint64, uint64) {
	lo, hi := uint64(0), uint64(math.MaxUint64)
	if !since.IsZero() {
		lo = uint64(max(0, since.UnixNano()))
	}
	if !until.IsZero() {
		hi = uint64(max(0, until.UnixNano()))
	}
	return lo, hi
}

// horizon is now minus d in ns (0 before the epoch).
func horizon(now time.Time, d time.Duration) uint64 {
	return uint64(max(0, now.Add(-d).UnixNano()))
}

// JourneyStats implements store.Ledger in one pass over the journey's entities.
func (s *Store) JourneyStats(ctx context.Context, q store.JourneyStatsQuery) (st store.JourneyStats, err error) {
	defer classify(ctx, &err)
	lo, hi := nsBounds(q.Since, q.Until)
	within := uint64(max(0, q.Within.Nanoseconds()))
	var qs []uint64
	row := s.conn.QueryRow(s.readContext(ctx), `SELECT countIf(w), countIf(w AND st = 'in_flight'), countIf(w AND st = 'completed'),
		countIf(w AND st = 'failed'), countIf(w AND st = 'compensated'), countIf(w AND st = 'dead_lettered'),
		countIf(w AND (done = 1 OR first <= ?)), countIf(w AND done = 1 AND lns - first <= ?),
		quantilesExactIf(0.5, 0.99)(lns - first, w AND done = 1), argMaxIf(cid, lns - first, w AND done = 1),
		countIf(`+stuckWhere+`)
		FROM (SELECT *, first >= ? AND first < ? AS w FROM `+ledgerEntities+` WHERE hs = 1)`,
		horizon(q.Now, q.Within), within, horizon(q.Now, q.StuckAfter), lo, hi, q.Journey)
	if err = row.Scan(&st.Started, &st.InFlight, &st.Completed, &st.Failed, &st.Compensated, &st.DeadLettered,
		&st.Eligible, &st.Good, &qs, &st.Slowest, &st.Stuck); err != nil {
		return st, fmt.Errorf("clickhouse store: journey stats: %w", err)
	}
	if st.Completed+st.Failed+st.Compensated > 0 && len(qs) == 2 {
		st.P50NS, st.P99NS = qs[0], qs[1]
	} else {
		st.Slowest = ""
	}
	return st, nil
}

// StuckGroups implements store.Ledger.
func (s *Store) StuckGroups(ctx context.Context, q store.StuckQuery) (_ []store.StuckGroup, err error) {
	defer classify(ctx, &err)
	samples := q.Samples
	if samples <= 0 {
		samples = 5
	}
	if samples > 100 {
		return nil, store.Invalid("%d samples per group, at most 100", samples)
	}
	stepCond := ""
	args := []any{samples, q.Journey, horizon(q.Now, q.StuckAfter)}
	if q.Step != "" {
		stepCond = " AND step = ?"
		args = append(args, q.Step)
	}
	rows, err := s.conn.Query(s.readContext(ctx), `SELECT step, service, dest, op, st, reason, count() AS n, min(first) AS oldest,
		arrayMap(x -> tupleElement(x, 2), arraySlice(arraySort(groupArray((first, cid))), 1, ?))
		FROM `+ledgerEntities+` WHERE `+stuckWhere+stepCond+`
		GROUP BY step, service, dest, op, st, reason
		ORDER BY n DESC, oldest, step, service, dest, op, st, reason`, args...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: stuck groups: %w", err)
	}
	defer rows.Close()
	out := []store.StuckGroup{}
	for rows.Next() {
		var g store.StuckGroup
		var op, state string
		if err := rows.Scan(&g.Step, &g.Service, &g.Destination, &op, &state, &g.Reason, &g.Count, &g.OldestNS, &g.Samples); err != nil {
			return nil, fmt.Errorf("clickhouse store: stuck groups: %w", err)
		}
		g.Op, g.State = event.Op(op), store.JourneyState(state)
		out = append(out, g)
	}
	return out, rows.Err()
}

// LedgerEntries implements store.Ledger.
func (s *Store) LedgerEntries(ctx context.Context, q store.LedgerQuery) (_ []store.LedgerEntry, err error) {
	defer classify(ctx, &err)
	limit, err := store.Limit(q.Limit)
	if err != nil {
		return nil, err
	}
	lo, hi := nsBounds(q.Since, q.Until)
	args := []any{q.Journey}
	where := "hs = 1"
	order := " ORDER BY first DESC, cid DESC"
	if !q.StuckAt.IsZero() {
		where = stuckWhere
		args = append(args, horizon(q.StuckAt, q.StuckAfter))
		order = " ORDER BY first, cid"
	}
	where += " AND first >= ? AND first < ?"
	args = append(args, lo, hi)
	if q.Step != "" {
		where += " AND step = ?"
		args = append(args, q.Step)
	}
	if len(q.States) > 0 {
		states := make([]string, len(q.States))
		for i, st := range q.States {
			states[i] = string(st)
		}
		where += " AND has(?, st)"
		args = append(args, states)
	}
	rows, err := s.conn.Query(s.readContext(ctx), `SELECT cid, first, lns, step, service, dest, op, st, eid, reason
		FROM `+ledgerEntities+` WHERE `+where+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: ledger entries: %w", err)
	}
	defer rows.Close()
	out := []store.LedgerEntry{}
	for rows.Next() {
		e := store.LedgerEntry{Journey: q.Journey}
		var op, state string
		if err := rows.Scan(&e.CorrelationID, &e.StartedNS, &e.LastNS, &e.Step, &e.Service, &e.Destination, &op, &state, &e.EventID, &e.Reason); err != nil {
			return nil, fmt.Errorf("clickhouse store: ledger entries: %w", err)
		}
		e.Op, e.State = event.Op(op), store.JourneyState(state)
		out = append(out, e)
	}
	return out, rows.Err()
}

// PutJourney implements store.Ledger.
func (s *Store) PutJourney(ctx context.Context, r store.JourneyRecord) error {
	var deleted uint8
	if r.Deleted {
		deleted = 1
	}
	return s.insert(ctx, "journeys", "name, spec, deleted, updated_ns", 1, func(int) []any {
		return []any{r.Name, r.Spec, deleted, r.UpdatedNS}
	})
}

// Journeys implements store.Ledger.
func (s *Store) Journeys(ctx context.Context) ([]store.JourneyRecord, error) {
	rows, err := s.conn.Query(ctx, "SELECT name, spec, updated_ns FROM journeys FINAL WHERE deleted = 0 ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: journeys: %w", err)
	}
	defer rows.Close()
	out := []store.JourneyRecord{}
	for rows.Next() {
		var r store.JourneyRecord
		if err := rows.Scan(&r.Name, &r.Spec, &r.UpdatedNS); err != nil {
			return nil, fmt.Errorf("clickhouse store: journeys: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
