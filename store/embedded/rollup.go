package embedded

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// The flow map reads per-minute aggregates kept on ingest (flow_minute,
// as the ClickHouse store's AggregatingMergeTree view), so that it costs
// the same at 10M events as at 10k: a window's whole minutes come from
// flow_minute, its ragged ends (less than a minute each) from the events
// themselves. Counts and errors are exact; p50 and p99 come from merged
// duration histograms (hist.go), within 1% of the exact nearest rank.

// flowKey is one flow-map row of one minute, by dict ids.
type flowKey struct {
	minute                                  int64
	service, system, destination, group, op int64
}

type flowAgg struct {
	count, errors uint64
	h             hist
}

// upsertFlowSQL merges one minute's aggregate into flow_minute.
const upsertFlowSQL = `INSERT INTO flow_minute (minute_ns, service, system, destination, consumer_group, op, count, errors, hist)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (minute_ns, service, system, destination, consumer_group, op) DO UPDATE SET
	count = count + excluded.count, errors = errors + excluded.errors, hist = ` + histMergeFunc + `(hist, excluded.hist)`

// rollup adds newly inserted events to flow_minute. Events without a
// service or destination are not on a flow map (store.BuildFlowMap).
func (w *rowsWriter) rollup(events []*event.Event) error {
	aggs := map[flowKey]*flowAgg{}
	d := &w.dict
	for _, e := range events {
		if e.Service == "" || e.Destination == "" {
			continue
		}
		k := flowKey{minute: minuteOf(int64(e.StartNS)), service: d.id(e.Service), system: d.id(e.System),
			destination: d.id(e.Destination), group: d.id(e.ConsumerGroup), op: d.id(string(e.Op))}
		a := aggs[k]
		if a == nil {
			a = &flowAgg{h: hist{}}
			aggs[k] = a
		}
		a.count++
		if e.Outcome != event.OutcomeOK {
			a.errors++
		}
		a.h.add(e.DurationNS, 1)
	}
	if len(aggs) == 0 {
		return nil
	}
	st := w.tx.StmtContext(w.ctx, w.s.inserts["flow_minute"])
	for k, a := range aggs {
		if _, err := st.ExecContext(w.ctx, k.minute, k.service, k.system, k.destination, k.group, k.op,
			int64(a.count), int64(a.errors), a.h.encode()); err != nil {
			return fmt.Errorf("flow rollup: %w", err)
		}
	}
	return nil
}

func minuteOf(ns int64) int64 {
	m := ns - ns%int64(time.Minute)
	if ns < 0 && ns%int64(time.Minute) != 0 {
		m -= int64(time.Minute)
	}
	return m
}

// windowNS returns q's window in ns, open ends as the extremes.
func windowNS(q store.FlowQuery) (since, until int64) {
	since, until = math.MinInt64, math.MaxInt64
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixNano()
	}
	return since, until
}

// Flows implements store.Reader.
func (s *Store) Flows(ctx context.Context, q store.FlowQuery) (_ store.FlowMap, err error) {
	defer store.MarkTimeout(ctx, &err)
	since, until := windowNS(q)
	aggs := map[flowKey]*flowAgg{}
	// Whole minutes [m0, m1) from flow_minute, the rest from events.
	m0, m1 := since, until
	if since != math.MinInt64 {
		if m0 = minuteOf(since); m0 < since {
			m0 += int64(time.Minute)
		}
	}
	if until != math.MaxInt64 {
		m1 = minuteOf(until)
	}
	if m0 < m1 {
		if err := s.flowMinutes(ctx, m0, m1, aggs); err != nil {
			return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, err)
		}
		if err := s.flowRaw(ctx, since, m0, aggs); err != nil {
			return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, err)
		}
		if err := s.flowRaw(ctx, m1, until, aggs); err != nil {
			return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, err)
		}
	} else if err := s.flowRaw(ctx, since, until, aggs); err != nil {
		return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, err)
	}
	dr := dictReader{d: s.dict, ctx: ctx, db: s.r}
	rows := make([]store.FlowRow, 0, len(aggs))
	for k, a := range aggs {
		r := store.FlowRow{Service: dr.str(k.service), System: dr.str(k.system), Destination: dr.str(k.destination),
			ConsumerGroup: dr.str(k.group), Op: event.Op(dr.str(k.op)), Count: a.count, Errors: a.errors}
		r.P50NS, r.P99NS = a.h.quantiles()
		if r.Service != "" && r.Destination != "" {
			rows = append(rows, r)
		}
	}
	if dr.err != nil {
		return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, dr.err)
	}
	return store.BuildFlowMap(rows), nil
}

func (a *flowAgg) into(aggs map[flowKey]*flowAgg, k flowKey) {
	k.minute = 0 // rows of every minute merge
	b := aggs[k]
	if b == nil {
		aggs[k] = a
		return
	}
	b.count += a.count
	b.errors += a.errors
	b.h.merge(a.h)
}

// flowMinutesSQL reads the aggregates of whole minutes by the table's key.
const flowMinutesSQL = `SELECT service, system, destination, consumer_group, op, count, errors, hist
	FROM flow_minute WHERE minute_ns >= ? AND minute_ns < ?`

func (s *Store) flowMinutes(ctx context.Context, m0, m1 int64, aggs map[flowKey]*flowAgg) error {
	rows, err := s.r.QueryContext(ctx, flowMinutesSQL, m0, m1)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k flowKey
		var count, errs int64
		var h []byte
		if err := rows.Scan(&k.service, &k.system, &k.destination, &k.group, &k.op, &count, &errs, &h); err != nil {
			return err
		}
		a := &flowAgg{count: uint64(count), errors: uint64(errs), h: hist{}}
		if err := a.h.decode(h); err != nil {
			return err
		}
		a.into(aggs, k)
	}
	return rows.Err()
}

// flowRawSQL reads the events of a window's ragged end through events_start.
const flowRawSQL = `SELECT service, system, destination, consumer_group, op, outcome, body
	FROM events WHERE start_ns >= ? AND start_ns < ?`

func (s *Store) flowRaw(ctx context.Context, since, until int64, aggs map[flowKey]*flowAgg) error {
	if since >= until {
		return nil
	}
	rows, err := s.r.QueryContext(ctx, flowRawSQL, since, until)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k flowKey
		var outcome string
		var body []byte
		if err := rows.Scan(&k.service, &k.system, &k.destination, &k.group, &k.op, &outcome, &body); err != nil {
			return err
		}
		u := unpacker{b: body}
		u.uint()        // flags
		dur := u.uint() // then the duration
		if u.err != nil {
			return u.err
		}
		a := aggs[k]
		if a == nil {
			a = &flowAgg{h: hist{}}
			aggs[k] = a
		}
		a.count++
		if outcome != string(event.OutcomeOK) {
			a.errors++
		}
		a.h.add(dur, 1)
	}
	return rows.Err()
}
