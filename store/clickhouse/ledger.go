package clickhouse

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// The journey ledger (issue #17, schema/007_journeys.sql and
// 012_journey_ledger_one_table.sql): updates go into journey_ledger_in,
// whose materialized view folds them into aggregate states in
// journey_open (minimum first time, maximum start flag and rank, and the
// place hash, event id and time of the greatest rank); journey_places
// names each place hash. Reads merge each correlation's states in
// ledgerEntities, then filter and count the merged entities.

var _ store.Ledger = (*Store)(nil)

// UpdateLedger implements store.Ledger: the places not stored yet, then
// one insert of every update, built column by column (insertColumns).
func (s *Store) UpdateLedger(ctx context.Context, updates []store.LedgerUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	n := len(updates)
	var (
		dates                     = make([]time.Time, n)
		journeys, cids, pls, eids = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ats, firsts, ords         = make([]uint64, n), make([]uint64, n), make([]uint64, n)
		starts                    = make([]uint8, n)
		places                    []placeKey
		packed                    = map[place]string{}
		seen                      = map[placeKey]bool{}
	)
	for i := range updates {
		u := &updates[i]
		p := place{u.State, u.Step, u.Service, u.Destination, u.Op, u.Reason}
		pl, ok := packed[p]
		if !ok {
			pl = packPlace(u.State, u.Step, u.Service, u.Destination, u.Op, u.Reason)
			packed[p] = pl
		}
		if k := placeKeyOf(u.AtNS, u.Journey, pl); !seen[k] {
			seen[k] = true
			places = append(places, k)
		}
		dates[i], journeys[i], cids[i], pls[i], eids[i] = day(u.AtNS), u.Journey, u.CorrelationID, pl, u.EventID
		ats[i], firsts[i], ords[i] = u.AtNS, u.First(), store.LedgerRank(*u)
		if u.Start {
			starts[i] = 1
		}
	}
	// Names first: a stuck list never meets a place hash it cannot name.
	if err := s.writePlaces(ctx, places); err != nil {
		return err
	}
	return s.insertColumns(ctx, "journey_ledger_in", "date, journey, correlation_id, at_ns, first_at, start, ord, pl, eid",
		dates, journeys, cids, ats, firsts, starts, ords, pls, eids)
}

// place is the fields of a ledger update that packPlace joins.
type place struct {
	state                      store.JourneyState
	step, service, destination string
	op                         event.Op
	reason                     string
}

// placeSep joins the fields of a ledger entry's place: the state, step,
// service, destination, op and reason of the update it shows, one String
// so that the merge is argMax's fast path and the stuck groups group by
// one key.
const placeSep = "\x1f"

// packPlace joins a place's fields (the separator never inside one).
func packPlace(st store.JourneyState, step, service, dest string, op event.Op, reason string) string {
	clean := func(s string) string { return strings.ReplaceAll(s, placeSep, " ") }
	return strings.Join([]string{string(st), clean(step), clean(service), clean(dest), clean(string(op)), clean(reason)}, placeSep)
}

// unpackPlace splits a packed place.
func unpackPlace(pl string) (st store.JourneyState, step, service, dest string, op event.Op, reason string) {
	f := strings.SplitN(pl, placeSep, 6)
	for len(f) < 6 {
		f = append(f, "")
	}
	return store.JourneyState(f[0]), f[1], f[2], f[3], event.Op(f[4]), f[5]
}

// ledgerEntities is the subquery of a journey's merged entities (its two
// parameters are the journey, twice): cid, first, hs (a start was seen),
// done (the greatest rank is terminal), pl (the packed place of the
// update of greatest rank, named through journey_places), eid and lns
// (that update's event id and time), st and step (from pl). Each
// correlation's rows are merged by GROUP BY, not FINAL: rows of one
// correlation on two days lie in two partitions, which FINAL keeps apart.
const ledgerEntities = `(SELECT cid, first, hs, done, pl, eid, lns, splitByChar('\x1F', pl) AS f, f[1] AS st, f[2] AS step FROM
	(SELECT correlation_id AS cid, minMerge(first_ns) AS first, maxMerge(has_start) AS hs,
	maxMerge(rank) >= 4611686018427387904 AS done, argMaxMerge(place) AS ph,
	argMaxMerge(event_id) AS eid, argMaxMerge(last_ns) AS lns FROM journey_open WHERE journey = ? GROUP BY correlation_id)
	ANY LEFT JOIN (SELECT ph, any(pl) AS pl FROM journey_places WHERE journey = ? GROUP BY ph) USING ph)`

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
	if err := q.CheckBuckets(); err != nil {
		return st, err
	}
	lo, hi := nsBounds(q.Since, q.Until)
	within := uint64(max(0, q.Within.Nanoseconds()))
	var qs []uint64
	row := s.conn.QueryRow(s.readContext(ctx), `SELECT countIf(w), countIf(w AND st = 'in_flight'), countIf(w AND st = 'completed'),
		countIf(w AND st = 'failed'), countIf(w AND st = 'compensated'), countIf(w AND st = 'dead_lettered'),
		countIf(w AND (done = 1 OR first <= ?)), countIf(w AND done = 1 AND lns - first <= ?),
		quantilesExactIf(0.5, 0.99)(lns - first, w AND done = 1), argMaxIf(cid, lns - first, w AND done = 1),
		countIf(`+stuckWhere+`)
		FROM (SELECT *, first >= ? AND first < ? AS w FROM `+ledgerEntities+` WHERE hs = 1)`,
		horizon(q.Now, q.Within), within, horizon(q.Now, q.StuckAfter), lo, hi, q.Journey, q.Journey)
	if err = row.Scan(&st.Started, &st.InFlight, &st.Completed, &st.Failed, &st.Compensated, &st.DeadLettered,
		&st.Eligible, &st.Good, &qs, &st.Slowest, &st.Stuck); err != nil {
		return st, fmt.Errorf("clickhouse store: journey stats: %w", err)
	}
	if st.Completed+st.Failed+st.Compensated > 0 && len(qs) == 2 {
		st.P50NS, st.P99NS = qs[0], qs[1]
	} else {
		st.Slowest = ""
	}
	if q.Buckets > 0 {
		st.Series, err = s.journeySeries(ctx, q, lo, hi)
	}
	return st, err
}

// journeySeries is JourneyStats.Series in one pass: the window's entities
// grouped by slice (store.JourneyStatsQuery.BucketOf).
func (s *Store) journeySeries(ctx context.Context, q store.JourneyStatsQuery, lo, hi uint64) ([]store.JourneyStats, error) {
	within := uint64(max(0, q.Within.Nanoseconds()))
	rows, err := s.conn.Query(s.readContext(ctx), `SELECT toUInt64(intDiv((first - ?) * ?, ?)) AS b, count(), countIf(st = 'in_flight'),
		countIf(st = 'completed'), countIf(st = 'failed'), countIf(st = 'compensated'), countIf(st = 'dead_lettered'),
		countIf(done = 1 OR first <= ?), countIf(done = 1 AND lns - first <= ?), quantilesExactIf(0.5, 0.99)(lns - first, done = 1)
		FROM `+ledgerEntities+` WHERE hs = 1 AND first >= ? AND first < ? GROUP BY b`,
		lo, uint64(q.Buckets), hi-lo, horizon(q.Now, q.Within), within, q.Journey, q.Journey, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: journey series: %w", err)
	}
	defer rows.Close()
	out := make([]store.JourneyStats, q.Buckets)
	for rows.Next() {
		var b uint64
		var st store.JourneyStats
		var qs []uint64
		if err := rows.Scan(&b, &st.Started, &st.InFlight, &st.Completed, &st.Failed, &st.Compensated, &st.DeadLettered,
			&st.Eligible, &st.Good, &qs); err != nil {
			return nil, fmt.Errorf("clickhouse store: journey series: %w", err)
		}
		if st.Completed+st.Failed+st.Compensated > 0 && len(qs) == 2 {
			st.P50NS, st.P99NS = qs[0], qs[1]
		}
		if b < uint64(len(out)) {
			out[b] = st
		}
	}
	return out, rows.Err()
}

// openEntities is the subquery of a journey's entities for the stuck list
// (its one parameter is the journey), from journey_open (schema
// 010_journey_open.sql) read with FINAL: each correlation's rows merged in
// sort order, four numeric states each. cid, first, hs (a start was
// seen), done (the greatest rank is terminal), ph (the place's hash, bit
// 0 set when dead-lettered).
const openEntities = `(SELECT correlation_id AS cid, finalizeAggregation(first_ns) AS first, finalizeAggregation(has_start) AS hs,
	finalizeAggregation(rank) >= 4611686018427387904 AS done, finalizeAggregation(place) AS ph
	FROM journey_open FINAL WHERE journey = ?)`

// openStuckWhere selects the stuck entities of openEntities; its
// parameter is the stuck horizon (ns).
const openStuckWhere = `hs = 1 AND done = 0 AND (bitAnd(ph, 1) = 1 OR first < ?)`

// StuckGroups implements store.Ledger: one pass over journey_open groups
// the stuck entities by place hash (count, oldest, the oldest samples),
// then journey_places names the places.
func (s *Store) StuckGroups(ctx context.Context, q store.StuckQuery) (_ []store.StuckGroup, err error) {
	defer classify(ctx, &err)
	samples := q.Samples
	if samples <= 0 {
		samples = 5
	}
	if samples > 100 {
		return nil, store.Invalid("%d samples per group, at most 100", samples)
	}
	rows, err := s.conn.Query(s.readContext(ctx), `SELECT ph, count() AS n, min(first) AS oldest,
		arrayMap(t -> tupleElement(t, 2), arraySlice(arraySort(groupArray((first, cid))), 1, ?))
		FROM `+openEntities+` WHERE `+openStuckWhere+` GROUP BY ph`, samples, q.Journey, horizon(q.Now, q.StuckAfter))
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: stuck groups: %w", err)
	}
	defer rows.Close()
	out := []store.StuckGroup{}
	var hashes []uint64
	for rows.Next() {
		var g store.StuckGroup
		var ph uint64
		if err := rows.Scan(&ph, &g.Count, &g.OldestNS, &g.Samples); err != nil {
			return nil, fmt.Errorf("clickhouse store: stuck groups: %w", err)
		}
		hashes = append(hashes, ph)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse store: stuck groups: %w", err)
	}
	places, err := s.placeNames(ctx, q.Journey, hashes)
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for i, g := range out {
		pl, ok := places[hashes[i]]
		if !ok {
			return nil, fmt.Errorf("clickhouse store: stuck groups: place %d of journey %q has no name", hashes[i], q.Journey)
		}
		g.State, g.Step, g.Service, g.Destination, g.Op, g.Reason = unpackPlace(pl)
		if q.Step == "" || g.Step == q.Step {
			kept = append(kept, g)
		}
	}
	out = kept
	// The largest first, then the oldest, then by place (as the embedded store).
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count || a.OldestNS != b.OldestNS {
			return a.Count > b.Count || a.Count == b.Count && a.OldestNS < b.OldestNS
		}
		ka := []string{a.Step, a.Service, a.Destination, string(a.Op), string(a.State), a.Reason}
		kb := []string{b.Step, b.Service, b.Destination, string(b.Op), string(b.State), b.Reason}
		return slices.Compare(ka, kb) < 0
	})
	return out, nil
}

// placeNames returns the packed places (packPlace) of a journey's place
// hashes from journey_places.
func (s *Store) placeNames(ctx context.Context, journey string, hashes []uint64) (map[uint64]string, error) {
	out := make(map[uint64]string, len(hashes))
	if len(hashes) == 0 {
		return out, nil
	}
	rows, err := s.conn.Query(s.readContext(ctx), `SELECT ph, any(pl) FROM journey_places WHERE journey = ? AND has(?, ph) GROUP BY ph`,
		journey, hashes)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: stuck places: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ph uint64
		var pl string
		if err := rows.Scan(&ph, &pl); err != nil {
			return nil, fmt.Errorf("clickhouse store: stuck places: %w", err)
		}
		out[ph] = pl
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
	args := []any{q.Journey, q.Journey}
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
	rows, err := s.conn.Query(s.readContext(ctx), `SELECT cid, first, lns, pl, eid
		FROM `+ledgerEntities+` WHERE `+where+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: ledger entries: %w", err)
	}
	defer rows.Close()
	out := []store.LedgerEntry{}
	for rows.Next() {
		e := store.LedgerEntry{Journey: q.Journey}
		var pl string
		if err := rows.Scan(&e.CorrelationID, &e.StartedNS, &e.LastNS, &pl, &e.EventID); err != nil {
			return nil, fmt.Errorf("clickhouse store: ledger entries: %w", err)
		}
		e.State, e.Step, e.Service, e.Destination, e.Op, e.Reason = unpackPlace(pl)
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
