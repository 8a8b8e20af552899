package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/store/storetest"
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/audit"
	"github.com/causeway-dev/causeway/studio/auth"
)

// server is the API over an embedded store holding a two-hop flow, lag
// samples and DLQ entries.
func server(t *testing.T) (*httptest.Server, []event.Event) {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := uint64(time.Now().Add(-time.Minute).UnixNano())
	pub := storetest.Event(1, 1)
	pub.StartNS = now
	proc := storetest.Event(2, 2)
	proc.StartNS, proc.Op, proc.Service, proc.ConsumerGroup = now+1e6, event.OpProcess, "billing", "billing"
	proc.Links = []event.Link{{TraceID: pub.TraceID, SpanID: pub.SpanID}}
	b := &store.Batch{
		Events: []event.Event{pub, proc},
		Spans:  []event.Span{storetest.Span(pub), storetest.Span(proc)},
		Edges:  []event.Edge{{FromTraceID: pub.TraceID, FromSpanID: pub.SpanID, ToTraceID: proc.TraceID, ToSpanID: proc.SpanID, Kind: event.EdgeLink, StartNS: proc.StartNS}},
	}
	for i := 0; i < 3; i++ {
		b.Lag = append(b.Lag, store.LagSample{TimeNS: now + uint64(i)*1e9, System: "kafka", Group: "billing", Topic: "orders.placed",
			Partition: 0, Committed: int64(i), End: 10, Lag: int64(10 - i), LagSeconds: 2, Status: "STALL", GroupStatus: "STALL"})
	}
	b.DLQ = []store.DLQEntry{{ID: store.DLQID("kafka", "orders.placed.dlq", 0, 0, now), TimeNS: now, System: "kafka", Source: "orders.placed.dlq",
		Original: "orders.placed", Reason: "poison", Payload: []byte("bad"), PayloadSize: 3, OriginalPartition: -1, OriginalOffset: -1}}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(st, slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, []event.Event{pub, proc}
}

func get(t *testing.T, srv *httptest.Server, path string, wantStatus int, into any) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, body, wantStatus)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: content type %q", path, resp.Header.Get("Content-Type"))
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
}

func TestEndpoints(t *testing.T) {
	srv, evs := server(t)
	var events struct {
		Events []event.Event `json:"events"`
		Next   string        `json:"next_cursor"`
	}
	get(t, srv, "/api/v1/events?service=billing", 200, &events)
	if len(events.Events) != 1 || events.Events[0].SpanID != evs[1].SpanID {
		t.Fatalf("events = %+v", events)
	}
	get(t, srv, "/api/v1/events?limit=1", 200, &events)
	if len(events.Events) != 1 || events.Next == "" {
		t.Fatalf("first page = %+v", events)
	}
	get(t, srv, "/api/v1/events?limit=1&cursor="+events.Next, 200, &events)
	if len(events.Events) != 1 || events.Events[0].SpanID != evs[0].SpanID || events.Next != "" {
		t.Fatalf("second page = %+v", events)
	}
	var g store.Graph
	get(t, srv, "/api/v1/graph?correlation_id=corr-1", 200, &g)
	if len(g.Nodes) != 2 || len(g.Edges) != 1 || g.Edges[0].Kind != event.EdgeLink {
		t.Fatalf("graph = %+v", g)
	}
	var tr struct{ Spans []event.Span }
	get(t, srv, "/api/v1/traces/"+evs[0].TraceID, 200, &tr)
	if len(tr.Spans) != 1 {
		t.Fatalf("trace = %+v", tr)
	}
	var fm store.FlowMap
	get(t, srv, "/api/v1/flows?since=10m", 200, &fm)
	if len(fm.Nodes) != 3 || len(fm.Edges) != 2 {
		t.Fatalf("flows = %+v", fm)
	}
	var lag struct {
		Groups []groupLag `json:"groups"`
	}
	get(t, srv, "/api/v1/lag", 200, &lag)
	if len(lag.Groups) != 1 || lag.Groups[0].TotalLag != 8 || lag.Groups[0].Status != "STALL" || len(lag.Groups[0].Partitions) != 1 {
		t.Fatalf("lag = %+v", lag)
	}
	var series struct{ Samples []store.LagSample }
	get(t, srv, "/api/v1/lag/series?group=billing&since=1h", 200, &series)
	if len(series.Samples) != 3 {
		t.Fatalf("series = %+v", series)
	}
	var dlq struct {
		Entries []store.DLQEntry
		Groups  []struct {
			Reason string
			Count  int
		}
	}
	get(t, srv, "/api/v1/dlq", 200, &dlq)
	if len(dlq.Entries) != 1 || len(dlq.Groups) != 1 || dlq.Groups[0].Reason != "poison" || dlq.Groups[0].Count != 1 {
		t.Fatalf("dlq = %+v", dlq)
	}
	var entry store.DLQEntry
	get(t, srv, "/api/v1/dlq/"+dlq.Entries[0].ID, 200, &entry)
	if string(entry.Payload) != "bad" {
		t.Fatalf("dlq entry = %+v", entry)
	}
	var health collector.Health
	get(t, srv, "/api/v1/health", 200, &health)
	if health.Status != collector.HealthOK || !health.Ready {
		t.Fatalf("health without a collector: %+v", health)
	}
	get(t, srv, "/api/v1/ready", 200, &health)
	var doc map[string]any
	get(t, srv, "/api/v1/openapi.json", 200, &doc)
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi.json: %v", doc["openapi"])
	}
}

func TestErrors(t *testing.T) {
	srv, _ := server(t)
	for path, status := range map[string]int{
		"/api/v1/events?limit=-1":        400,
		"/api/v1/events?cursor=!!!":      400,
		"/api/v1/events?since=yesterday": 400,
		"/api/v1/events?trace_id=xyz":    400,
		"/api/v1/graph":                  400,
		"/api/v1/graph?trace_id=" + storetest.TraceID(1) + "&event_id=x": 400,
		"/api/v1/graph?max_nodes=50000&event_id=x":                       400,
		"/api/v1/traces/" + storetest.TraceID(99):                        404,
		"/api/v1/flows?since=1h&until=2h":                                400,
		"/api/v1/lag/series":                                             400,
		"/api/v1/dlq/0123":                                               404,
		"/api/v1/nope":                                                   404,
	} {
		var e struct {
			Error Error `json:"error"`
		}
		get(t, srv, path, status, &e)
		if e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("%s: error body %+v", path, e)
		}
	}
}

func TestOpenAPIDocInDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.json")
	if err != nil || !bytes.Equal(b, OpenAPI()) {
		t.Fatal("docs/openapi.json differs from studio/api/openapi.json: copy it over")
	}
}

// FuzzParams feeds arbitrary query strings to every endpoint: the answer
// is 200, 400 or 404, never a 500 or a panic.
func FuzzParams(f *testing.F) {
	for _, s := range []string{"since=1h", "trace_id=00", "limit=5&cursor=abc", "event_id=x&max_nodes=3", "group=g&since=-5m", "id=order-42&limit=2", "id=C0FFEE&correlation_id=c"} {
		f.Add(s)
	}
	st, err := embedded.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	mux := http.NewServeMux()
	New(st, slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	f.Fuzz(func(t *testing.T, raw string) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, p := range []string{"/api/v1/events", "/api/v1/graph", "/api/v1/flows", "/api/v1/lag", "/api/v1/lag/series", "/api/v1/dlq"} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, (&url.URL{Path: p, RawQuery: vals.Encode()}).String(), nil))
			if rec.Code != 200 && rec.Code != 400 && rec.Code != 404 {
				t.Fatalf("%s?%s: %d %s", p, raw, rec.Code, rec.Body)
			}
		}
	})
}

func TestAlertEndpoints(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := alert.NewEngine(st, alert.NewSender(alert.SenderOptions{}), log)
	mux := http.NewServeMux()
	a := New(st, log)
	guard, err := auth.New([]auth.Token{{Name: "ada", Role: "admin", Token: "admin-token-0123456789"},
		{Name: "otto", Role: "operator", Token: "operator-token-0123456789"}, {Name: "vic", Role: "viewer", Token: "viewer-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	a.SetGuard(guard)
	auditLog := audit.New(st, "test-studio")
	a.SetAudit(auditLog)
	a.Register(mux)
	a.RegisterAlerts(mux, eng)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	as := func(token, method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	do := func(method, path, body string) (int, string) { return as("admin-token-0123456789", method, path, body) }
	// Rule changes need an admin; reads a viewer.
	for _, tok := range []string{"viewer-token-0123456789", "operator-token-0123456789"} {
		if code, body := as(tok, "POST", "/api/v1/alerts/rules", `{"id":"z","name":"z","kind":"lag_messages"}`); code != 403 || !strings.Contains(body, "admin") {
			t.Fatalf("create as a non-admin: %d %s", code, body)
		}
	}
	if code, _ := as("viewer-token-0123456789", "GET", "/api/v1/alerts/rules", ""); code != 200 {
		t.Fatalf("list as a viewer: %d", code)
	}
	if code, _ := as("", "GET", "/api/v1/alerts/rules", ""); code != 401 {
		t.Fatalf("list without a token: %d", code)
	}
	rule := `{"id":"lag","name":"lag","kind":"lag_messages","threshold":10,"for":"30s","webhooks":[{"url":"https://hooks.example.com/x","secret":"k"}]}`
	if code, body := do("POST", "/api/v1/alerts/rules", rule); code != 201 || strings.Contains(body, `"k"`) || strings.Contains(body, "hooks.example.com") {
		t.Fatalf("create: %d %s (the URL and secret must not be echoed)", code, body)
	}
	if code, _ := do("POST", "/api/v1/alerts/rules", rule); code != 409 {
		t.Fatalf("create twice: %d", code)
	}
	if code, body := do("POST", "/api/v1/alerts/rules", `{"id":"x","name":"x","kind":"lag_messages","webhooks":[{"url":"http://169.254.169.254/"}]}`); code != 400 || !strings.Contains(body, "forbidden_target") {
		t.Fatalf("metadata target: %d %s", code, body)
	}
	if code, _ := do("POST", "/api/v1/alerts/rules", `{"id":"y","kind":"bogus"}`); code != 400 {
		t.Fatalf("bad rule: %d", code)
	}
	if code, body := do("GET", "/api/v1/alerts/rules", ""); code != 200 || !strings.Contains(body, `"state":"ok"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	if code, _ := do("PUT", "/api/v1/alerts/rules/lag", strings.Replace(rule, `"threshold":10`, `"threshold":20`, 1)); code != 200 {
		t.Fatalf("replace: %d", code)
	}
	if code, _ := do("DELETE", "/api/v1/alerts/rules/lag", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := do("DELETE", "/api/v1/alerts/rules/lag", ""); code != 404 {
		t.Fatalf("delete again: %d", code)
	}
	if code, _ := do("POST", "/api/v1/alerts/rules/nope/test", ""); code != 404 {
		t.Fatalf("test unknown: %d", code)
	}
	if code, body := do("GET", "/api/v1/alerts/events", ""); code != 200 || !strings.Contains(body, `"events"`) {
		t.Fatalf("events: %d %s", code, body)
	}
	// A test send needs an operator; the change and the send are attributed.
	if code, _ := do("POST", "/api/v1/alerts/rules", strings.Replace(rule, `"id":"lag"`, `"id":"lag2"`, 1)); code != 201 {
		t.Fatalf("create lag2: %d", code)
	}
	if code, _ := as("viewer-token-0123456789", "POST", "/api/v1/alerts/rules/lag2/test", ""); code != 403 {
		t.Fatalf("test send as a viewer: %d", code)
	}
	if code, body := as("operator-token-0123456789", "POST", "/api/v1/alerts/rules/lag2/test", ""); code != 200 {
		t.Fatalf("test send as an operator: %d %s", code, body)
	}
	recs, err := st.AuditRecords(context.Background(), store.AuditQuery{Writer: "test-studio"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Actor+" "+r.Action+" "+r.Subject)
		if strings.Contains(r.Detail, "hooks.example.com") || strings.Contains(r.Detail, `"k"`) {
			t.Fatalf("audit detail holds a webhook credential: %s", r.Detail)
		}
	}
	if code, body := do("GET", "/api/v1/alerts/rules/lag2", ""); code != 200 || !strings.Contains(body, `"updated_by":"ada"`) || !strings.Contains(body, `"updated_at":"`) {
		t.Fatalf("rule metadata: %d %s", code, body)
	}
	want := []string{"ada alert_rule.created lag", "ada alert_rule.updated lag", "ada alert_rule.deleted lag",
		"ada alert_rule.created lag2", "otto alert_rule.test lag2"}
	if !slices.Equal(got, want) {
		t.Fatalf("audit records:\n%q\nwant\n%q", got, want)
	}
	if _, err := audit.Verify(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}
