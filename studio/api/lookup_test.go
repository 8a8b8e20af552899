package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/store/storetest"
)

// lookupServer is the API over a store holding a chain in which only
// the first producer sets a correlation id (flow-1) and the record key
// order-42 travels with the first message: publish m-0 (checkout) → link
// → process m-0 (shipper) → parent → publish m-1 (shipper). An unrelated
// event m-9 has the id "order-7" as its event id.
func lookupServer(t *testing.T) (*httptest.Server, []event.Event) {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := uint64(time.Now().Add(-time.Minute).UnixNano())
	mk := func(tr, n int, id string, op event.Op, svc string) event.Event {
		e := storetest.Event(tr, n)
		e.StartNS, e.EventID, e.Op, e.Service, e.CorrelationID = now+uint64(n)*1e6, id, op, svc, ""
		return e
	}
	pub0 := mk(1, 1, "m-0", event.OpPublish, "checkout")
	pub0.CorrelationID, pub0.MessageKey = "flow-1", "order-42"
	proc0 := mk(2, 2, "m-0", event.OpProcess, "shipper")
	proc0.MessageKey, proc0.Links = "order-42", []event.Link{{TraceID: pub0.TraceID, SpanID: pub0.SpanID}}
	pub1 := mk(2, 3, "m-1", event.OpPublish, "shipper")
	pub1.ParentSpanID = proc0.SpanID
	other := mk(3, 4, "order-7", event.OpPublish, "checkout")
	chain := []event.Event{pub0, proc0, pub1}
	b := &store.Batch{
		Events: append(append([]event.Event{}, chain...), other),
		Edges: []event.Edge{
			{FromTraceID: pub0.TraceID, FromSpanID: pub0.SpanID, ToTraceID: proc0.TraceID, ToSpanID: proc0.SpanID, Kind: event.EdgeLink, StartNS: proc0.StartNS},
			{FromTraceID: proc0.TraceID, FromSpanID: proc0.SpanID, ToTraceID: pub1.TraceID, ToSpanID: pub1.SpanID, Kind: event.EdgeParent, StartNS: pub1.StartNS},
		},
	}
	for _, e := range b.Events {
		b.Spans = append(b.Spans, storetest.Span(e))
	}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(st, slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, append(chain, other)
}

func spanIDs(es []event.Event) string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.SpanID)
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// TestGraphByID: /graph?id= finds the graph whatever kind of id was
// typed and says which kind matched; an unknown id is an empty graph
// matched "none".
func TestGraphByID(t *testing.T) {
	srv, es := lookupServer(t)
	pub1, other := es[2], es[3]
	chain := es[:3]
	for _, c := range []struct {
		id      string
		matched store.IDKind
		nodes   []event.Event
	}{
		{"order-42", store.IDMessageKey, chain},
		{"flow-1", store.IDCorrelation, chain},
		{"m-1", store.IDEvent, chain},
		{strings.ToUpper(pub1.TraceID), store.IDTrace, chain},
		{"order-7", store.IDEvent, []event.Event{other}},
		{"order-43", store.NoMatch, nil},
	} {
		var g struct {
			Nodes     []event.Event     `json:"nodes"`
			Edges     []store.GraphEdge `json:"edges"`
			Truncated *bool             `json:"truncated"`
			Matched   store.IDKind      `json:"matched"`
		}
		get(t, srv, "/api/v1/graph?id="+url.QueryEscape(c.id), 200, &g)
		if g.Matched != c.matched || g.Nodes == nil || g.Edges == nil || g.Truncated == nil || *g.Truncated {
			t.Errorf("graph?id=%s: matched %q, nodes %v, edges %v, truncated %v; want matched %q, arrays, not truncated",
				c.id, g.Matched, g.Nodes, g.Edges, g.Truncated, c.matched)
			continue
		}
		if spanIDs(g.Nodes) != spanIDs(c.nodes) {
			t.Errorf("graph?id=%s: nodes %s, want %s", c.id, spanIDs(g.Nodes), spanIDs(c.nodes))
		}
		if len(c.nodes) == 3 && len(g.Edges) != 2 {
			t.Errorf("graph?id=%s: %d edges, want 2 (%v)", c.id, len(g.Edges), g.Edges)
		}
	}
}

// TestEventsByID: /events?id= pages the events of whatever the id is,
// says which kind matched, narrows with the other filters, and a
// correlation id (by id= or correlation_id=) brings the events that
// inherit it.
func TestEventsByID(t *testing.T) {
	srv, es := lookupServer(t)
	chain := es[:3]
	type page struct {
		Events             []event.Event `json:"events"`
		Next               string        `json:"next_cursor"`
		Truncated          bool          `json:"truncated"`
		Matched            store.IDKind  `json:"matched"`
		InheritedTruncated *bool         `json:"inherited_truncated"`
	}
	// every reads all pages of path (limit 1) and returns the events and
	// the first page's matched.
	every := func(path string) ([]event.Event, page) {
		t.Helper()
		var out []event.Event
		var first page
		cursor := ""
		for i := 0; ; i++ {
			var p page
			get(t, srv, path+"&limit=1&cursor="+url.QueryEscape(cursor), 200, &p)
			if i == 0 {
				first = p
			}
			if p.Matched != first.Matched {
				t.Fatalf("%s: matched %q on page %d, %q on the first", path, p.Matched, i, first.Matched)
			}
			out = append(out, p.Events...)
			if p.Next == "" || i > 10 {
				return out, first
			}
			cursor = p.Next
		}
	}
	for _, c := range []struct {
		query   string
		matched store.IDKind
		want    []event.Event
	}{
		{"id=flow-1", store.IDCorrelation, chain}, // two of them inherit it
		{"correlation_id=flow-1", "", chain},
		{"id=order-42", store.IDMessageKey, chain[:2]},
		{"id=order-42&service=shipper", store.IDMessageKey, chain[1:2]},
		{"id=flow-1&service=shipper", store.IDCorrelation, chain[1:]},
		{"id=" + strings.ToUpper(chain[2].TraceID), store.IDTrace, chain[1:]},
		{"id=m-0", store.IDEvent, chain[:2]},
		{"id=order-43", store.NoMatch, nil},
	} {
		got, first := every("/api/v1/events?" + c.query)
		if first.Matched != c.matched {
			t.Errorf("events?%s: matched %q, want %q", c.query, first.Matched, c.matched)
		}
		if spanIDs(got) != spanIDs(c.want) {
			t.Errorf("events?%s: %s, want %s", c.query, spanIDs(got), spanIDs(c.want))
		}
		if first.Events == nil {
			t.Errorf("events?%s: events is not an array", c.query)
		}
		if isCorr := strings.Contains(c.query, "flow-1"); isCorr != (first.InheritedTruncated != nil) ||
			isCorr && *first.InheritedTruncated {
			t.Errorf("events?%s: inherited_truncated %v", c.query, first.InheritedTruncated)
		}
	}
	for _, bad := range []string{
		"/api/v1/events?id=",
		"/api/v1/events?id=m-0&event_id=m-0",
		"/api/v1/events?id=m-0&correlation_id=flow-1",
		"/api/v1/graph?id=m-0&trace_id=" + chain[0].TraceID,
		"/api/v1/graph?id=",
		"/api/v1/graph?id=" + strings.Repeat("x", store.MaxIDLen+1),
	} {
		var e struct {
			Error Error `json:"error"`
		}
		get(t, srv, bad, 400, &e)
		if e.Error.Code != "invalid_argument" {
			t.Errorf("%s: code %q, want invalid_argument", bad, e.Error.Code)
		}
	}
}
