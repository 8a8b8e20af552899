package clickhouse

import (
	"context"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestSpanIDForms: span ids of every form — W3C hex (stored in binary),
// upper-case and odd-length hex, any other text, and plain text written
// before the binary form — read back as given, through Events (paged one
// by one at a shared start time) and Spans.
func TestSpanIDForms(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv.DSN(chtest.UniqueDB(t.Name())))
	defer s.Close()
	ctx := context.Background()
	ids := []string{"5a00000000000001", "0BCDEF0123456789", "abc", "-span-ü", "\x01not-binary", ""}
	b := &store.Batch{}
	for i, id := range ids {
		e := storetest.Event(1, 0)
		e.SpanID, e.ParentSpanID, e.EventID = id, ids[(i+1)%len(ids)], "evt-"+id
		b.Events = append(b.Events, e)
		b.Spans = append(b.Spans, storetest.Span(e))
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	legacy := storetest.Event(1, 0)
	legacy.SpanID, legacy.ParentSpanID = "5affffffffffffff", "5a00000000000001"
	if err := s.insert(ctx, "events", "date, start_ns, trace_id, span_id, parent_span_id, event_id", 1, func(int) []any {
		return []any{day(legacy.StartNS), legacy.StartNS, legacy.TraceID, legacy.SpanID, legacy.ParentSpanID, "legacy"}
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{legacy.SpanID: legacy.ParentSpanID}
	for _, e := range b.Events {
		want[e.SpanID] = e.ParentSpanID
	}
	got := map[string]string{}
	p, err := s.Events(ctx, store.EventQuery{TraceIDs: []string{storetest.TraceID(1)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Events {
		got[e.SpanID] = e.ParentSpanID
	}
	if len(got) != len(want) {
		t.Fatalf("read %d events %q, want %d", len(got), got, len(want))
	}
	for id, parent := range want {
		if got[id] != parent {
			t.Errorf("event %q: parent %q, want %q", id, got[id], parent)
		}
	}
	// Paging one by one through ties of binary
	// and plain-text ids, up to the first id a cursor cannot hold (not
	// lowercase hex).
	var paged []string
	q := store.EventQuery{TraceIDs: []string{storetest.TraceID(1)}, Limit: 1}
	for range len(want) {
		p, err := s.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			paged = append(paged, e.SpanID)
		}
		if p.Next == "" || len(p.Events) == 0 || !isLowerHex(p.Events[0].SpanID) {
			break
		}
		q.Cursor = p.Next
	}
	if fmt.Sprint(paged) != "[abc 5affffffffffffff 5a00000000000001 0BCDEF0123456789]" {
		t.Errorf("paged %q, want the hex ids newest first by id as text", paged)
	}
	spans, err := s.Spans(ctx, storetest.TraceID(1), 0)
	if err != nil || len(spans) != len(ids) {
		t.Fatalf("Spans = %d, %v; want %d", len(spans), err, len(ids))
	}
	for _, sp := range spans {
		if p, ok := want[sp.SpanID]; !ok || p != sp.ParentSpanID {
			t.Errorf("span %q with parent %q not written so", sp.SpanID, sp.ParentSpanID)
		}
	}
}
