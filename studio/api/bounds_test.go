package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/store/storetest"
)

// boundedServer serves the API over r with cfg and a fixed now.
func boundedServer(t *testing.T, r store.Reader, cfg QueryConfig, now time.Time) *httptest.Server {
	t.Helper()
	a := New(r, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a.SetQueryConfig(cfg)
	if !now.IsZero() {
		a.now = func() time.Time { return now }
	}
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func openEmbedded(t *testing.T) *embedded.Store {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type windowed struct {
	Window    *Window `json:"window"`
	Truncated bool    `json:"truncated"`
}

// TestWindowClamped: since=0, a since older than max_window, or none at
// all never read more than max_window; the answer says when it clamped.
func TestWindowClamped(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	srv := boundedServer(t, openEmbedded(t), QueryConfig{MaxWindow: 2 * time.Hour}, now)
	for _, c := range []struct {
		path      string
		since     time.Time
		clamped   bool
		clampedBy string
	}{
		{"/api/v1/events?since=0", now.Add(-2 * time.Hour), true, "max_window"},
		{"/api/v1/events?service=billing", now.Add(-2 * time.Hour), false, ""},
		{"/api/v1/events?event_type=x&since=30m", now.Add(-30 * time.Minute), false, ""},
		{"/api/v1/flows?since=0", now.Add(-2 * time.Hour), true, "max_window"},
		{"/api/v1/flows?since=720h", now.Add(-2 * time.Hour), true, "max_window"},
		{"/api/v1/flows", now.Add(-time.Hour), false, ""},
		{"/api/v1/flows?since=2026-11-01T00:00:00Z&until=2026-11-01T05:00:00Z", time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC), true, "max_window"},
		{"/api/v1/lag?since=0", now.Add(-2 * time.Hour), true, "max_window"},
		{"/api/v1/lag/series?group=g&since=0", now.Add(-2 * time.Hour), true, "max_window"},
		{"/api/v1/dlq?since=0", now.Add(-2 * time.Hour), true, "max_window"},
		{"/api/v1/dlq", now.Add(-2 * time.Hour), false, ""},
	} {
		var got windowed
		get(t, srv, c.path, 200, &got)
		if got.Window == nil || !got.Window.Since.Equal(c.since) || got.Window.Clamped != c.clamped || got.Window.ClampedBy != c.clampedBy {
			t.Errorf("%s: window %+v, want since %v clamped %v by %q", c.path, got.Window, c.since, c.clamped, c.clampedBy)
		}
	}
	// A lookup by id is not windowed.
	var byID windowed
	get(t, srv, "/api/v1/events?correlation_id=order-1&since=0", 200, &byID)
	if byID.Window != nil {
		t.Errorf("lookup by id got a window %+v", byID.Window)
	}
}

// retained is a store that deleted what is older than oldest (the hook
// for retention, issue #15).
type retained struct {
	store.Store
	oldest time.Time
}

func (r retained) OldestRetained(context.Context) (time.Time, error) { return r.oldest, nil }

func TestWindowClampedToRetention(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	srv := boundedServer(t, retained{openEmbedded(t), now.Add(-90 * time.Minute)}, QueryConfig{MaxWindow: 2 * time.Hour}, now)
	var got windowed
	get(t, srv, "/api/v1/flows?since=0", 200, &got)
	if !got.Window.Since.Equal(now.Add(-90*time.Minute)) || !got.Window.Clamped || got.Window.ClampedBy != "retention" {
		t.Fatalf("window %+v, want clamped to the oldest retained time", got.Window)
	}
	get(t, srv, "/api/v1/flows?since=1h", 200, &got)
	if got.Window.Clamped {
		t.Fatalf("a window inside retention was clamped: %+v", got.Window)
	}
}

// TestQueryTimeout: a flow map over 200k events (10k under the race
// detector) with a 5 ms query timeout
// answers 504 query_timeout; with the default timeout it answers.
func TestQueryTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200k events")
	}
	n := 200_000
	if raceEnabled {
		n = 10_000
	}
	st := openEmbedded(t)
	start := uint64(time.Now().Add(-30 * time.Minute).UnixNano())
	for from := 0; from < n; from += 10_000 {
		b := &store.Batch{}
		for i := from; i < from+10_000; i++ {
			e := storetest.Event(i/100, i)
			e.StartNS = start + uint64(i)*1000
			e.Service = fmt.Sprint("svc-", i%7)
			b.Events = append(b.Events, e)
		}
		if err := st.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	slow := boundedServer(t, st, QueryConfig{Timeout: 5 * time.Millisecond}, time.Time{})
	var e struct {
		Error Error `json:"error"`
	}
	// A window with no whole minute in it: the embedded store reads its
	// flow map from the events themselves, not from the minute rollups.
	ragged := "/api/v1/flows?since=" + time.Unix(0, int64(start)).Add(-time.Second).UTC().Format(time.RFC3339Nano) +
		"&until=" + time.Unix(0, int64(start)).Add(30*time.Second).UTC().Format(time.RFC3339Nano)
	get(t, slow, ragged, http.StatusGatewayTimeout, &e)
	if e.Error.Code != "query_timeout" || !strings.Contains(e.Error.Message, "5ms") {
		t.Fatalf("error %+v", e.Error)
	}
	get(t, slow, "/api/v1/events?event_type=nope&since=1h", http.StatusGatewayTimeout, &e)
	if e.Error.Code != "query_timeout" {
		t.Fatalf("error %+v", e.Error)
	}
	var fm store.FlowMap
	get(t, boundedServer(t, st, QueryConfig{}, time.Time{}), "/api/v1/flows?since=1h", 200, &fm)
	if len(fm.Edges) != 7 {
		t.Fatalf("flows with the default timeout: %d edges, want 7", len(fm.Edges))
	}
}

// TestTraceCapped: a 50,000-span trace answers at most max_trace_spans
// spans, the earliest, marked truncated, and at most max_trace_bytes of
// spans.
func TestTraceCapped(t *testing.T) {
	st := openEmbedded(t)
	const n = 50_000
	b := &store.Batch{}
	for i := 0; i < n; i++ {
		sp := storetest.Span(storetest.Event(1, i))
		sp.Attributes = map[string]string{"http.route": "/orders/{id}", "pad": strings.Repeat("x", 300)}
		b.Spans = append(b.Spans, sp)
	}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	fetch := func(srv *httptest.Server) (spans []event.Span, truncated bool, size int) {
		resp, err := http.Get(srv.URL + "/api/v1/traces/" + storetest.TraceID(1))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out struct {
			Spans     []event.Span `json:"spans"`
			Truncated bool         `json:"truncated"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
			t.Fatalf("trace: %d %.200s", resp.StatusCode, body)
		}
		return out.Spans, out.Truncated, len(body)
	}
	spans, truncated, size := fetch(boundedServer(t, st, QueryConfig{Timeout: time.Minute}, time.Time{}))
	if len(spans) != 10_000 || !truncated || spans[0].SpanID != storetest.SpanID(0) || spans[9999].SpanID != storetest.SpanID(9999) {
		t.Fatalf("default caps: %d spans, truncated %v; want the earliest 10,000, truncated", len(spans), truncated)
	}
	if size > 16<<20 {
		t.Fatalf("default caps: %d bytes, over max_trace_bytes", size)
	}
	t.Logf("a %d-span trace answers %d spans in %d bytes", n, len(spans), size)
	const maxBytes = 256 << 10
	spans, truncated, size = fetch(boundedServer(t, st, QueryConfig{MaxTraceBytes: maxBytes, Timeout: time.Minute}, time.Time{}))
	if len(spans) == 0 || len(spans) >= 10_000 || !truncated || size > maxBytes+1024 {
		t.Fatalf("max_trace_bytes %d: %d spans in %d bytes, truncated %v", maxBytes, len(spans), size, truncated)
	}
	spans, truncated, _ = fetch(boundedServer(t, st, QueryConfig{MaxTraceSpans: n, MaxTraceBytes: 64 << 20, Timeout: time.Minute}, time.Time{}))
	if len(spans) != n || truncated {
		t.Fatalf("max_trace_spans %d: %d spans, truncated %v", n, len(spans), truncated)
	}
}

// TestListsCapped: events, DLQ and lag lists stop at their caps and say
// truncated; a limit above max_events is lowered to it.
func TestListsCapped(t *testing.T) {
	st := openEmbedded(t)
	now := uint64(time.Now().Add(-time.Minute).UnixNano())
	b := &store.Batch{}
	for i := 0; i < 5; i++ {
		e := storetest.Event(1, i)
		e.StartNS = now + uint64(i)
		b.Events = append(b.Events, e)
		b.DLQ = append(b.DLQ, store.DLQEntry{ID: store.DLQID("kafka", "t.dlq", 0, int64(i), now), TimeNS: now + uint64(i), System: "kafka",
			Source: "t.dlq", Original: "t", Reason: "poison", OriginalPartition: -1, OriginalOffset: -1})
		b.Lag = append(b.Lag, store.LagSample{TimeNS: now + uint64(i)*1e6, System: "kafka", Group: "g", Topic: "t", Lag: int64(i)})
	}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	srv := boundedServer(t, st, QueryConfig{MaxEvents: 3, MaxLagSamples: 2}, time.Time{})
	var events struct {
		Events    []event.Event `json:"events"`
		Truncated bool          `json:"truncated"`
	}
	get(t, srv, "/api/v1/events?limit=100000", 200, &events)
	if len(events.Events) != 3 || !events.Truncated {
		t.Fatalf("events: %d, truncated %v; want 3, truncated", len(events.Events), events.Truncated)
	}
	get(t, srv, "/api/v1/events?limit=10&event_type=order.placed", 200, &events)
	if len(events.Events) != 3 || !events.Truncated {
		t.Fatalf("filtered events: %d, truncated %v", len(events.Events), events.Truncated)
	}
	var dlq struct {
		Entries   []store.DLQEntry `json:"entries"`
		Truncated bool             `json:"truncated"`
	}
	get(t, srv, "/api/v1/dlq?limit=4", 200, &dlq)
	if len(dlq.Entries) != 3 || !dlq.Truncated {
		t.Fatalf("dlq: %d, truncated %v", len(dlq.Entries), dlq.Truncated)
	}
	var series struct {
		Samples   []store.LagSample `json:"samples"`
		Truncated bool              `json:"truncated"`
	}
	get(t, srv, "/api/v1/lag/series?group=g", 200, &series)
	if len(series.Samples) != 2 || !series.Truncated || series.Samples[1].Lag != 4 || series.Samples[0].Lag != 3 {
		t.Fatalf("lag series: %+v, truncated %v; want the newest 2", series.Samples, series.Truncated)
	}
	get(t, boundedServer(t, st, QueryConfig{}, time.Time{}), "/api/v1/lag/series?group=g", 200, &series)
	if len(series.Samples) != 5 || series.Truncated {
		t.Fatalf("lag series under the default cap: %d, truncated %v", len(series.Samples), series.Truncated)
	}
}

func TestQueryConfigValidate(t *testing.T) {
	if err := (QueryConfig{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	for _, c := range []QueryConfig{{MaxWindow: time.Second}, {Timeout: -1}, {MaxEvents: store.MaxLimit + 1}, {MaxLagSamples: -1}, {MaxTraceSpans: -5}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
}
