package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// The journey ledger (issue #17): one row per (journey, correlation) in
// journey_ledger, upserted on ingest. The upsert keeps the smallest
// first_ns, the largest has_start, and every other column from the update
// of greatest rank (store.LedgerRank); SQLite evaluates each SET
// expression against the row as it was, so the CASE tests see the old
// rank. A row's place (state, step, service, destination, op, reason) is
// a number into journey_places (schema 012); reads go through the view
// journey_entries, which joins the two.

var _ store.Ledger = (*Store)(nil)

const ledgerCols = `journey, correlation_id, first_ns, has_start, rank, done, last_ns, place, event_id`

// ledgerColCount is the number of ledgerCols.
const ledgerColCount = 9

// ledgerUpsert is the ON CONFLICT clause of every ledger insert.
const ledgerUpsert = ` ON CONFLICT (journey, correlation_id) DO UPDATE SET
	first_ns = min(first_ns, excluded.first_ns),
	has_start = max(has_start, excluded.has_start),
	rank = max(rank, excluded.rank),
	done = CASE WHEN excluded.rank > rank THEN excluded.done ELSE done END,
	last_ns = CASE WHEN excluded.rank > rank THEN excluded.last_ns ELSE last_ns END,
	place = CASE WHEN excluded.rank > rank THEN excluded.place ELSE place END,
	event_id = CASE WHEN excluded.rank > rank THEN excluded.event_id ELSE event_id END`

// ledgerRowsPerInsert bounds the rows of one upsert statement.
const ledgerRowsPerInsert = 64

// UpdateLedger implements store.Ledger: the updates are upserted in one
// transaction.
func (s *Store) UpdateLedger(ctx context.Context, updates []store.LedgerUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded store %q: update ledger: %w", s.dir, err)
	}
	defer tx.Rollback()
	if err := s.upsertLedger(ctx, tx, updates); err != nil {
		return fmt.Errorf("embedded store %q: update ledger: %w", s.dir, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded store %q: update ledger: %w", s.dir, err)
	}
	return nil
}

var _ store.LedgerWriter = (*Store)(nil)

// WriteLedger implements store.LedgerWriter: the batch and its ledger
// updates in one transaction (one commit, one fsync of the WAL).
func (s *Store) WriteLedger(ctx context.Context, b *store.Batch, updates func() []store.LedgerUpdate) error {
	return s.write(ctx, b, updates)
}

// ledgerUpsertSQL is the upsert of n ledger rows.
func ledgerUpsertSQL(n int) string {
	row := "(" + placeholders(ledgerColCount) + ")"
	return "INSERT INTO journey_ledger (" + ledgerCols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", n), ",") + ledgerUpsert
}

// upsertLedger merges updates into journey_ledger within tx, in
// statements of ledgerRowsPerInsert rows (prepared once per store).
func (s *Store) upsertLedger(ctx context.Context, tx *sql.Tx, updates []store.LedgerUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	places, err := ledgerPlaces(ctx, tx, updates)
	if err != nil {
		return err
	}
	var full *sql.Stmt
	args := make([]any, 0, ledgerColCount*ledgerRowsPerInsert)
	for i := 0; i < len(updates); {
		n := min(len(updates)-i, ledgerRowsPerInsert)
		args = args[:0]
		for k, u := range updates[i : i+n] {
			args = append(args, u.Journey, u.CorrelationID, int64(u.First()), u.Start, int64(store.LedgerRank(u)), u.State.Terminal(),
				int64(u.AtNS), places[i+k], u.EventID)
		}
		if n == ledgerRowsPerInsert {
			if full == nil {
				full = tx.StmtContext(ctx, s.inserts["journey_ledger"])
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, ledgerUpsertSQL(n), args...)
		}
		if err != nil {
			return err
		}
		i += n
	}
	return nil
}

// ledgerPlace is the place of a ledger update: what journey_places keeps.
type ledgerPlace struct {
	state, step, service, destination, op, reason string
}

// ledgerPlaces returns the journey_places number of each update's place,
// adding the places not stored yet, within tx (a batch has a handful of
// places: one lookup each; no cache outlives tx, so a rolled back number
// is never used).
func ledgerPlaces(ctx context.Context, tx *sql.Tx, updates []store.LedgerUpdate) ([]int64, error) {
	ids := map[ledgerPlace]int64{}
	out := make([]int64, len(updates))
	for i := range updates {
		u := &updates[i]
		p := ledgerPlace{string(u.State), u.Step, u.Service, u.Destination, string(u.Op), u.Reason}
		id, ok := ids[p]
		if !ok {
			var err error
			if id, err = ledgerPlaceID(ctx, tx, p); err != nil {
				return nil, fmt.Errorf("journey place: %w", err)
			}
			ids[p] = id
		}
		out[i] = id
	}
	return out, nil
}

// ledgerPlaceID returns p's number, adding p to journey_places if needed.
func ledgerPlaceID(ctx context.Context, tx *sql.Tx, p ledgerPlace) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM journey_places WHERE step = ? AND service = ? AND destination = ? AND op = ?
		AND state = ? AND reason = ?`, p.step, p.service, p.destination, p.op, p.state, p.reason).Scan(&id)
	if !errors.Is(err, sql.ErrNoRows) {
		return id, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO journey_places (state, step, service, destination, op, reason) VALUES (?,?,?,?,?,?)`,
		p.state, p.step, p.service, p.destination, p.op, p.reason)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// stuckCond selects the stuck entities (done = 0 first: the partial index).
const stuckCond = "done = 0 AND has_start = 1 AND (state = 'dead_lettered' OR first_ns < ?)"

// JourneyStats implements store.Ledger.
func (s *Store) JourneyStats(ctx context.Context, q store.JourneyStatsQuery) (st store.JourneyStats, err error) {
	defer store.MarkTimeout(ctx, &err)
	if err := q.CheckBuckets(); err != nil {
		return st, err
	}
	var lo, hi int64 = 0, -1 // -1: no upper bound
	if !q.Since.IsZero() {
		lo = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		hi = q.Until.UnixNano()
	}
	if st, err = s.windowStats(ctx, q, lo, hi); err != nil {
		return st, err
	}
	for i := range q.Buckets {
		blo, bhi := q.BucketBounds(i)
		b, err := s.windowStats(ctx, q, int64(blo), int64(bhi))
		if err != nil {
			return st, err
		}
		b.Slowest = ""
		st.Series = append(st.Series, b)
	}
	err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM journey_entries WHERE journey = ? AND `+stuckCond,
		q.Journey, q.Now.UnixNano()-q.StuckAfter.Nanoseconds()).Scan(&st.Stuck)
	if err != nil {
		return st, fmt.Errorf("embedded store %q: journey stats: %w", s.dir, err)
	}
	return st, nil
}

// windowStats is JourneyStats without Stuck and Series over the entities
// that started in [lo, hi) (hi -1: no bound).
func (s *Store) windowStats(ctx context.Context, q store.JourneyStatsQuery, lo, hi int64) (st store.JourneyStats, err error) {
	now := q.Now.UnixNano()
	var w where
	w.add("journey = ?", q.Journey)
	w.add("has_start = 1")
	w.add("first_ns >= ?", lo)
	if hi >= 0 {
		w.add("first_ns < ?", hi)
	}
	within := q.Within.Nanoseconds()
	args := append([]any{now - within, within}, w.args...)
	err = s.r.QueryRowContext(ctx, `SELECT count(*),
		coalesce(sum(state = 'in_flight'), 0), coalesce(sum(state = 'completed'), 0), coalesce(sum(state = 'failed'), 0),
		coalesce(sum(state = 'compensated'), 0), coalesce(sum(state = 'dead_lettered'), 0),
		coalesce(sum(done = 1 OR first_ns <= ?), 0), coalesce(sum(done = 1 AND last_ns - first_ns <= ?), 0)
		FROM journey_entries`+w.String(), args...).Scan(&st.Started, &st.InFlight, &st.Completed, &st.Failed,
		&st.Compensated, &st.DeadLettered, &st.Eligible, &st.Good)
	if err != nil {
		return st, fmt.Errorf("embedded store %q: journey stats: %w", s.dir, err)
	}
	// Quantiles by rank, as ClickHouse's quantileExact picks them: the
	// element at floor(level × n) of the sorted durations.
	if terminal := st.Completed + st.Failed + st.Compensated; terminal > 0 {
		for _, qt := range []struct {
			level float64
			out   *uint64
		}{{0.5, &st.P50NS}, {0.99, &st.P99NS}} {
			k := min(uint64(qt.level*float64(terminal)), terminal-1)
			var d int64
			if err = s.r.QueryRowContext(ctx, `SELECT last_ns - first_ns AS d FROM journey_entries`+w.String()+
				` AND done = 1 ORDER BY d LIMIT 1 OFFSET ?`, append(w.args, int64(k))...).Scan(&d); err != nil {
				return st, fmt.Errorf("embedded store %q: journey stats: %w", s.dir, err)
			}
			*qt.out = uint64(d)
		}
		if err = s.r.QueryRowContext(ctx, `SELECT correlation_id FROM journey_entries`+w.String()+
			` AND done = 1 ORDER BY last_ns - first_ns DESC, correlation_id LIMIT 1`, w.args...).Scan(&st.Slowest); err != nil {
			return st, fmt.Errorf("embedded store %q: journey stats: %w", s.dir, err)
		}
	}
	return st, nil
}

// StuckGroups implements store.Ledger.
func (s *Store) StuckGroups(ctx context.Context, q store.StuckQuery) (_ []store.StuckGroup, err error) {
	defer store.MarkTimeout(ctx, &err)
	samples := q.Samples
	if samples <= 0 {
		samples = 5
	}
	if samples > 100 {
		return nil, store.Invalid("%d samples per group, at most 100", samples)
	}
	var w where
	w.add("journey = ? AND "+stuckCond, q.Journey, q.Now.UnixNano()-q.StuckAfter.Nanoseconds())
	w.eq("step", q.Step)
	const key = "step, service, destination, op, state, reason"
	rows, err := s.r.QueryContext(ctx, `SELECT `+key+`, count(*), min(first_ns) FROM journey_entries`+w.String()+
		` GROUP BY `+key+` ORDER BY count(*) DESC, min(first_ns), `+key, w.args...)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: stuck groups: %w", s.dir, err)
	}
	out := []store.StuckGroup{}
	type groupKey struct{ step, service, dest, op, state, reason string }
	at := map[groupKey]int{}
	for rows.Next() {
		var g store.StuckGroup
		var op, state string
		var oldest int64
		if err := rows.Scan(&g.Step, &g.Service, &g.Destination, &op, &state, &g.Reason, &g.Count, &oldest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("embedded store %q: stuck groups: %w", s.dir, err)
		}
		g.Op, g.State, g.OldestNS = event.Op(op), store.JourneyState(state), uint64(oldest)
		at[groupKey{g.Step, g.Service, g.Destination, op, state, g.Reason}] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded store %q: stuck groups: %w", s.dir, err)
	}
	rows, err = s.r.QueryContext(ctx, `SELECT `+key+`, correlation_id FROM (SELECT `+key+`, correlation_id,
		row_number() OVER (PARTITION BY `+key+` ORDER BY first_ns, correlation_id) AS n FROM journey_entries`+w.String()+
		`) WHERE n <= ? ORDER BY n`, append(w.args, samples)...)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: stuck samples: %w", s.dir, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k groupKey
		var id string
		if err := rows.Scan(&k.step, &k.service, &k.dest, &k.op, &k.state, &k.reason, &id); err != nil {
			return nil, fmt.Errorf("embedded store %q: stuck samples: %w", s.dir, err)
		}
		if i, ok := at[k]; ok {
			out[i].Samples = append(out[i].Samples, id)
		}
	}
	return out, rows.Err()
}

// LedgerEntries implements store.Ledger.
func (s *Store) LedgerEntries(ctx context.Context, q store.LedgerQuery) (_ []store.LedgerEntry, err error) {
	defer store.MarkTimeout(ctx, &err)
	limit, err := store.Limit(q.Limit)
	if err != nil {
		return nil, err
	}
	var w where
	order := " ORDER BY first_ns DESC, correlation_id DESC"
	if !q.StuckAt.IsZero() {
		w.add("journey = ? AND "+stuckCond, q.Journey, q.StuckAt.UnixNano()-q.StuckAfter.Nanoseconds())
		order = " ORDER BY first_ns, correlation_id"
	} else {
		w.add("journey = ? AND has_start = 1", q.Journey)
	}
	if !q.Since.IsZero() {
		w.add("first_ns >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		w.add("first_ns < ?", q.Until.UnixNano())
	}
	w.eq("step", q.Step)
	states := make([]string, len(q.States))
	for i, st := range q.States {
		states[i] = string(st)
	}
	w.in("state", states)
	rows, err := s.r.QueryContext(ctx, `SELECT journey, correlation_id, first_ns, last_ns, step, service, destination, op, state, event_id, reason
		FROM journey_entries`+w.String()+order+` LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: ledger entries: %w", s.dir, err)
	}
	defer rows.Close()
	out := []store.LedgerEntry{}
	for rows.Next() {
		var e store.LedgerEntry
		var first, last int64
		var op, state string
		if err := rows.Scan(&e.Journey, &e.CorrelationID, &first, &last, &e.Step, &e.Service, &e.Destination, &op, &state, &e.EventID, &e.Reason); err != nil {
			return nil, fmt.Errorf("embedded store %q: ledger entries: %w", s.dir, err)
		}
		e.StartedNS, e.LastNS, e.Op, e.State = uint64(first), uint64(last), event.Op(op), store.JourneyState(state)
		out = append(out, e)
	}
	return out, rows.Err()
}

// PutJourney implements store.Ledger.
func (s *Store) PutJourney(ctx context.Context, r store.JourneyRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO journeys (name, spec, deleted, updated_ns) VALUES (?,?,?,?)
		ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, deleted = excluded.deleted, updated_ns = excluded.updated_ns
		WHERE excluded.updated_ns >= journeys.updated_ns`, r.Name, r.Spec, r.Deleted, int64(r.UpdatedNS))
	if err != nil {
		return fmt.Errorf("embedded store %q: put journey %s: %w", s.dir, r.Name, err)
	}
	return nil
}

// Journeys implements store.Ledger.
func (s *Store) Journeys(ctx context.Context) ([]store.JourneyRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, spec, deleted, updated_ns FROM journeys WHERE deleted = 0 ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: journeys: %w", s.dir, err)
	}
	defer rows.Close()
	out := []store.JourneyRecord{}
	for rows.Next() {
		var r store.JourneyRecord
		var t int64
		if err := rows.Scan(&r.Name, &r.Spec, &r.Deleted, &t); err != nil {
			return nil, fmt.Errorf("embedded store %q: journeys: %w", s.dir, err)
		}
		r.UpdatedNS = uint64(t)
		out = append(out, r)
	}
	return out, rows.Err()
}
