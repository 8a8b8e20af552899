package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

// v1Migrations is the number of migrations of schema 1, the last schema
// before the compact one (010).
const v1Migrations = 9

// schemaV1 creates a database in dir as a build of schema 1 left it:
// migrations 001–009 applied, rows written as that build wrote them
// (b, in the schema-1 columns: ids as hex text, links and attributes as
// JSON).
func schemaV1(t testing.TB, dir string, b *store.Batch) {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(dir, dbFile))+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, m := range ms[:v1Migrations] {
		if _, err := db.Exec(m + fmt.Sprintf("; PRAGMA user_version = %d;", i+1)); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	js := func(v any) string {
		if reflect.ValueOf(v).Len() == 0 {
			return ""
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	for _, e := range b.Events {
		if _, err := db.Exec(`INSERT INTO events (`+v1EventCols+`) VALUES (`+placeholders(27)+`)`,
			e.TraceID, e.SpanID, e.EventID, e.EventType, e.SchemaVersion, e.CorrelationID, e.CausationID,
			e.ParentSpanID, js(e.Links), e.Service, e.Handler, e.System, e.Cluster, e.Destination, e.Partition, e.Offset,
			e.ConsumerGroup, string(e.Op), string(e.Outcome), e.Error, e.Attempt, int64(e.StartNS), int64(e.DurationNS),
			e.PayloadSize, e.ReplayOf, js(e.Attributes), e.MessageKey); err != nil {
			t.Fatal(err)
		}
	}
	for _, sp := range b.Spans {
		if _, err := db.Exec(`INSERT INTO spans (`+v1SpanCols+`) VALUES (`+placeholders(12)+`)`,
			sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.Service, sp.Name, sp.Kind, int64(sp.StartNS), int64(sp.DurationNS),
			sp.StatusCode, sp.StatusMessage, js(sp.Links), js(sp.Attributes)); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range b.Edges {
		if _, err := db.Exec(`INSERT INTO edges (`+v1EdgeCols+`) VALUES (`+placeholders(8)+`)`,
			e.FromTraceID, e.FromSpanID, e.FromEventID, e.ToTraceID, e.ToSpanID, e.CorrelationID, string(e.Kind), int64(e.StartNS)); err != nil {
			t.Fatal(err)
		}
	}
}

// upgradeOrders is the orders upgradeData makes: 1,800 events, moved in
// several chunks of testUpgradeChunk.
const (
	upgradeOrders    = 300
	testUpgradeChunk = 500
)

// upgradeData is what a schema-1 store holds: orders whose events came
// with their spans and edges as lineage derives them, plain spans, an
// edge from another trace, a causation edge whose cause never arrived, and
// events with every field set.
func upgradeData() *store.Batch {
	b := &store.Batch{}
	for tr := 1; tr <= upgradeOrders; tr++ {
		var prev event.Event
		for n := 0; n < 5; n++ {
			e := storetest.Event(tr, tr*10+n)
			e.CorrelationID, e.MessageKey = fmt.Sprintf("order-%d", tr), fmt.Sprintf("key-%d", tr)
			e.Attributes = map[string]string{"host.name": "node-1", "messaging.client.id": "c1"}
			if n%2 == 1 {
				e.Op, e.ConsumerGroup, e.Service = event.OpProcess, "billing", "billing"
			}
			if n > 0 {
				e.ParentSpanID = prev.SpanID
			}
			if n == 4 {
				e.Outcome, e.Error = event.OutcomeError, "declined"
			}
			sp := storetest.Span(e)
			sp.Attributes = map[string]string{"host.name": "node-1", "messaging.client.id": "c1",
				"messaging.system": e.System, "messaging.destination.name": e.Destination}
			b.Events, b.Spans = append(b.Events, e), append(b.Spans, sp)
			if n > 0 {
				b.Edges = append(b.Edges, event.Edge{FromTraceID: e.TraceID, FromSpanID: prev.SpanID, ToTraceID: e.TraceID,
					ToSpanID: e.SpanID, CorrelationID: e.CorrelationID, Kind: event.EdgeParent, StartNS: e.StartNS})
			}
			prev = e
		}
		b.Spans = append(b.Spans, event.Span{TraceID: storetest.TraceID(tr), SpanID: storetest.SpanID(tr*10 + 9),
			ParentSpanID: prev.SpanID, Service: "billing", Name: "db.query", Kind: "internal",
			StartNS: prev.StartNS + 1, DurationNS: 5, StatusCode: "ok", Attributes: map[string]string{"db.system": "postgresql"}})
	}
	b.Edges = append(b.Edges,
		event.Edge{FromTraceID: storetest.TraceID(7000), FromSpanID: storetest.SpanID(1), ToTraceID: storetest.TraceID(1),
			ToSpanID: storetest.SpanID(10), Kind: event.EdgeLink, StartNS: b.Events[0].StartNS},
		event.Edge{FromEventID: "evt-never", ToTraceID: storetest.TraceID(2), ToSpanID: storetest.SpanID(20),
			CorrelationID: "order-2", Kind: event.EdgeCausation, StartNS: b.Events[5].StartNS})
	full := storetest.Event(9000, 1)
	full.EventID, full.CausationID, full.SchemaVersion, full.Handler, full.Cluster = "evt-ü", "evt-0", "2", "On(«m»)", "eu-1"
	full.Links = []event.Link{{TraceID: storetest.TraceID(9001), SpanID: storetest.SpanID(1)}}
	full.Partition, full.Offset, full.Attempt, full.PayloadSize, full.ReplayOf = 7, 1<<40, 3, 512, "evt-old"
	full.Attributes = map[string]string{"": "empty key", "quote\"": "it's", "n": "7"}
	b.Events = append(b.Events, full)
	return b
}

// TestUpgrade: a data directory written by schema 1 opens, its rows are
// moved into schema 2 and read back as they were written (events field
// by field, spans, edges, the flow map's counts), and the old tables are
// gone.
func TestUpgrade(t *testing.T) {
	dir := t.TempDir()
	want := upgradeData()
	schemaV1(t, dir, want)
	defer func(n int) { upgradeChunk = n }(upgradeChunk)
	upgradeChunk = testUpgradeChunk // several chunks, each its own transaction
	s := open(t, dir)
	ctx := context.Background()
	ms, _ := migrations()
	if v := userVersion(t, s); v != len(ms) {
		t.Fatalf("user_version %d, want %d", v, len(ms))
	}
	var old int
	if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v1'`).Scan(&old); err != nil || old != 0 {
		t.Fatalf("%d schema-1 tables left, %v", old, err)
	}
	traces := map[string]bool{}
	for _, e := range want.Events {
		traces[e.TraceID] = true
	}
	var ids []string
	for id := range traces {
		ids = append(ids, id)
	}
	got := map[string]event.Event{}
	for chunk := range slices.Chunk(ids, 500) {
		q := store.EventQuery{TraceIDs: chunk, Limit: store.MaxLimit}
		p, err := s.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			got[store.NodeID(e.TraceID, e.SpanID)] = e
		}
	}
	if len(got) != len(want.Events) {
		t.Fatalf("%d events read back, want %d", len(got), len(want.Events))
	}
	for _, w := range want.Events {
		if g := got[store.NodeID(w.TraceID, w.SpanID)]; !reflect.DeepEqual(g, w) {
			t.Fatalf("event after the upgrade:\n got %+v\nwant %+v", g, w)
		}
	}
	wantSpans := map[string][]event.Span{}
	for _, sp := range want.Spans {
		wantSpans[sp.TraceID] = append(wantSpans[sp.TraceID], sp)
	}
	for tr, ws := range wantSpans {
		gs, err := s.Spans(ctx, tr, 0)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(ws, func(a, b event.Span) int { return int(a.StartNS) - int(b.StartNS) })
		if !reflect.DeepEqual(gs, ws) {
			t.Fatalf("spans of %s after the upgrade:\n got %+v\nwant %+v", tr, gs, ws)
		}
	}
	wantEdges := map[event.Edge]bool{}
	for _, e := range want.Edges {
		wantEdges[e] = true
	}
	gotEdges := map[event.Edge]bool{}
	for chunk := range slices.Chunk(append(ids, storetest.TraceID(7000)), 500) {
		es, err := s.Edges(ctx, store.EdgeQuery{TraceIDs: chunk, FromEventIDs: []string{"evt-never"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			gotEdges[e] = true
		}
	}
	if !reflect.DeepEqual(gotEdges, wantEdges) {
		t.Fatalf("%d edges after the upgrade, want %d", len(gotEdges), len(wantEdges))
	}
	fm, err := s.Flows(ctx, store.FlowQuery{Since: time.Now().Add(-2 * time.Hour), Until: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var n, errs uint64
	for _, e := range fm.Edges {
		n, errs = n+e.Count, errs+e.Errors
	}
	if n != uint64(len(want.Events)) || errs != upgradeOrders {
		t.Fatalf("flow map after the upgrade: %d operations, %d errors; want %d and %d", n, errs, len(want.Events), upgradeOrders)
	}
}

// TestUpgradeConformance: a store opened on a schema-1 directory answers
// the conformance suite.
func TestUpgradeConformance(t *testing.T) {
	storetest.RunAll(t, storetest.Harness{
		New: func(t *testing.T) store.Store {
			dir := t.TempDir()
			schemaV1(t, dir, &store.Batch{})
			return open(t, dir)
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			dir := s.(*Store).Dir()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, dir)
		},
	})
}
