package clickhouse

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestMessagingSpanStoredOnce: the spans of a batch's events are kept in
// the event rows, not the spans table, and come back from Spans()
// unchanged — name, kind, status and the attributes the event lacks;
// spans without an event, and a span its event could not give back (an
// event attribute the span does not have), are span rows. A retried
// batch stores nothing twice.
func TestMessagingSpanStoredOnce(t *testing.T) {
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	s := open(t, srv.DSN(db))
	defer s.Close()
	ctx := context.Background()
	const n = 20
	b := &store.Batch{}
	var want []event.Span
	for i := range n {
		e := storetest.Event(1, i+1)
		e.Attributes = map[string]string{"region": "eu"}
		sp := storetest.Span(e)
		sp.Name, sp.StatusCode, sp.StatusMessage = fmt.Sprintf("orders.placed publish %d", i), "error", "boom"
		sp.Attributes = map[string]string{"region": "eu", "messaging.system": "kafka", "messaging.destination.name": "orders.placed"}
		if i == 3 {
			e.Attributes["only.on.event"] = "x" // the span cannot be rebuilt from this event: a span row
		}
		b.Events, b.Spans = append(b.Events, e), append(b.Spans, sp)
		want = append(want, sp)
	}
	root := event.Span{TraceID: storetest.TraceID(1), SpanID: storetest.SpanID(0), Service: "orders", Name: "POST /orders",
		Kind: "server", StartNS: b.Events[0].StartNS - 1, DurationNS: 5, StatusCode: "ok", Attributes: map[string]string{"http.method": "POST"}}
	b.Spans = append(b.Spans, root)
	want = append([]event.Span{root}, want...)
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		var spanRows, eventSpans uint64
		srv.Query(t, db, "SELECT (SELECT count() FROM spans), (SELECT count() FROM events WHERE span = 1)", &spanRows, &eventSpans)
		if spanRows != 2 || eventSpans != n-1 {
			t.Errorf("%s: %d span rows and %d event rows with their span, want 2 and %d", when, spanRows, eventSpans, n-1)
		}
		if rows, unique := srv.SpanCounts(t, db); rows != n+1 || unique != rows {
			t.Errorf("%s: SpanCounts = %d, %d; want %d once each", when, rows, unique, n+1)
		}
		got, err := s.Spans(ctx, storetest.TraceID(1), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: Spans = %d spans, want %d", when, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%s: span %d\n got  %+v\n want %+v", when, i, got[i], want[i])
			}
		}
		if got, err := s.Spans(ctx, storetest.TraceID(1), 5); err != nil || len(got) != 5 || !reflect.DeepEqual(got[4], want[4]) {
			t.Errorf("%s: Spans(limit 5) = %d spans, %v", when, len(got), err)
		}
	}
	check("after the write")
	b.Retry = true
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	check("after a retry")
}

// TestSpansBeforeSchema9: a store written before schema 009 holds a
// messaging span twice, as a span row and beside its event; Spans()
// shows it once.
func TestSpansBeforeSchema9(t *testing.T) {
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	s := open(t, srv.DSN(db))
	defer s.Close()
	ctx := context.Background()
	e := storetest.Event(1, 1)
	sp := storetest.Span(e)
	if err := s.Write(ctx, &store.Batch{Events: []event.Event{e}, Spans: []event.Span{sp}}); err != nil {
		t.Fatal(err)
	}
	// The span row an older version wrote as well.
	if err := s.insert(ctx, "spans", "date, trace_id, span_id, parent_span_id, service, name, kind, start_ns, duration_ns, status_code", 1,
		func(int) []any {
			return []any{day(sp.StartNS), sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.Service, sp.Name, sp.Kind, sp.StartNS, sp.DurationNS, sp.StatusCode}
		}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Spans(ctx, sp.TraceID, 0)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], sp) {
		t.Fatalf("Spans = %+v, %v; want the span once", got, err)
	}
}
