package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// retentionData writes, at time at, nEvents events of trace tr with their
// spans and edges, and DLQ entries, lag samples, an alert event and a
// finished replay with two items, all with ids unique to tr.
func retentionData(t *testing.T, s store.Store, tr int, at time.Time, nEvents int) {
	t.Helper()
	ctx := context.Background()
	at0 := uint64(at.UnixNano())
	b := batchOf(tr, 0, nEvents)
	shift := func(ns uint64) uint64 { return ns - base + at0 }
	for i := range b.Events {
		b.Events[i].StartNS = shift(b.Events[i].StartNS)
		b.Spans[i].StartNS = shift(b.Spans[i].StartNS)
	}
	for i := range b.Edges {
		b.Edges[i].StartNS = shift(b.Edges[i].StartNS)
	}
	for i := range 3 {
		d := dlqEntry(tr*100 + i)
		d.TimeNS = at0 + uint64(i)*1e6
		d.ID = store.DLQID(event.SystemKafka, "orders.placed.dlq", int32(tr), int64(i), d.TimeNS)
		b.DLQ = append(b.DLQ, d)
		l := lagSample(i, "billing", int32(tr))
		l.TimeNS = at0 + uint64(i)*1e9
		b.Lag = append(b.Lag, l)
	}
	write(t, s, b)
	must(t, s.PutAlertEvent(ctx, store.AlertEventRecord{TimeNS: at0, RuleID: "lag", Status: "firing", Body: "{}"}))
	id := TraceID(9000 + tr)
	must(t, s.PutReplay(ctx, store.Replay{ID: id, State: store.ReplaySucceeded, Total: 2, Sent: 2,
		CreatedNS: at0, StartedNS: at0, FinishedNS: at0 + 1e6, UpdatedNS: at0 + 1e6}))
	must(t, s.PutReplayItems(ctx, []store.ReplayItem{
		{ReplayID: id, Seq: 0, System: "kafka", Destination: "orders.placed", Status: store.ItemSent, TimeNS: at0},
		{ReplayID: id, Seq: 1, System: "kafka", Destination: "orders.placed", Status: store.ItemSent, TimeNS: at0 + 1},
	}))
}

// testRetention: with simulated time (rows written 40 and 10 days ago,
// 5 days ago and an hour ago; horizons of 7 days for events and 7 days
// for broker data), a pass deletes exactly the rows older than the
// horizon from every table, reports their counts, keeps newer rows
// whole, and a second pass deletes nothing. Stores without the Retainer
// capability skip it.
func testRetention(t *testing.T, h Harness) {
	s := h.New(t)
	rt, ok := s.(store.Retainer)
	if !ok {
		t.Skip("store has no retention")
	}
	ctx := context.Background()
	now := time.Unix(0, int64(base)).Add(time.Hour)
	const n = 30
	ages := map[int]time.Duration{1: 40 * 24 * time.Hour, 2: 10 * 24 * time.Hour, 3: 5 * 24 * time.Hour, 4: time.Hour}
	for tr, age := range ages {
		retentionData(t, s, tr, now.Add(-age), n)
	}
	if o, err := rt.OldestRetained(ctx); err != nil || !o.IsZero() {
		t.Fatalf("OldestRetained before any pass = %v, %v; want zero", o, err)
	}
	horizon := now.Add(-7 * 24 * time.Hour)
	p := store.RetentionPolicy{EventsBefore: horizon, BrokerBefore: horizon}
	res, err := rt.ApplyRetention(ctx, p)
	if err != nil {
		t.Fatalf("ApplyRetention: %v", err)
	}
	// Two of four traces expired: each had n events and spans, n-1
	// edges, 3 DLQ entries and lag samples, an alert event, a replay and 2 items.
	want := map[string]int64{"events": 2 * n, "spans": 2 * n, "edges": 2 * (n - 1), "dlq": 6, "lag": 6,
		"alert_events": 2, "replays": 2, "replay_items": 4}
	for table, w := range want {
		if got := res.Deleted[table]; got != w {
			t.Errorf("deleted from %s: %d, want %d (all: %v)", table, got, w, res.Deleted)
		}
	}
	if o, err := rt.OldestRetained(ctx); err != nil || !o.Equal(horizon) {
		t.Errorf("OldestRetained after a pass = %v, %v; want the horizon %v", o, err, horizon)
	}
	for tr := range ages {
		ev, sp, ed := counts(t, s, TraceID(tr))
		wantEv, wantEd := n, n-1
		if tr <= 2 {
			wantEv, wantEd = 0, 0
		}
		if ev != wantEv || sp != wantEv || ed != wantEd {
			t.Errorf("trace %d after the pass: %d events, %d spans, %d edges; want %d, %d, %d", tr, ev, sp, ed, wantEv, wantEv, wantEd)
		}
	}
	dlq, err := s.DLQ(ctx, store.DLQQuery{Limit: store.MaxLimit})
	must(t, err)
	if len(dlq.Entries) != 6 {
		t.Errorf("DLQ after the pass: %d entries, want 6", len(dlq.Entries))
	}
	for _, d := range dlq.Entries {
		if d.TimeNS < uint64(horizon.UnixNano()) {
			t.Errorf("DLQ entry %s of %v survived", d.ID, time.Unix(0, int64(d.TimeNS)))
		}
	}
	lag, err := s.Lag(ctx, store.LagQuery{Group: "billing", Limit: store.MaxLimit})
	must(t, err)
	if len(lag) != 6 {
		t.Errorf("lag after the pass: %d samples, want 6", len(lag))
	}
	alerts, err := s.AlertEvents(ctx, 100)
	must(t, err)
	if len(alerts) != 2 {
		t.Errorf("alert events after the pass: %d, want 2", len(alerts))
	}
	for tr := range ages {
		_, err := s.Replay(ctx, TraceID(9000+tr))
		items, ierr := s.ReplayItems(ctx, TraceID(9000+tr), 0, 10)
		must(t, ierr)
		if gone := tr <= 2; gone != errors.Is(err, store.ErrNotFound) || gone != (len(items) == 0) {
			t.Errorf("replay of trace %d: %v, %d items; want gone=%v", tr, err, len(items), gone)
		}
	}
	fm, err := s.Flows(ctx, store.FlowQuery{Since: now.Add(-50 * 24 * time.Hour), Until: horizon})
	must(t, err)
	if len(fm.Edges) != 0 {
		t.Errorf("flow map before the horizon: %+v, want empty", fm.Edges)
	}
	res, err = rt.ApplyRetention(ctx, p)
	if err != nil || res.Total() != 0 {
		t.Errorf("second pass: deleted %v, %v; want nothing", res.Deleted, err)
	}
	// A zero horizon keeps that kind of data. (Two days ahead: stores
	// that delete whole days delete today's rows too.)
	res, err = rt.ApplyRetention(ctx, store.RetentionPolicy{BrokerBefore: now.Add(48 * time.Hour)})
	if err != nil || res.Deleted["events"] != 0 || res.Deleted["dlq"] != 6 {
		t.Errorf("broker-only pass: deleted %v, %v; want the 6 newer DLQ entries and no events", res.Deleted, err)
	}
}
