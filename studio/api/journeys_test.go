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
	"github.com/causeway-dev/causeway/studio/audit"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/journey"
)

// TestJourneyEndpoints: viewers read journeys, their stuck lists and
// entities; admins define, replace and delete journeys made through the
// API (a configuration file's are read-only); bad input is a 400, an
// unknown journey a 404.
func TestJourneyEndpoints(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	order := journey.Journey{Name: "order", Start: journey.Step{EventType: "order.placed"}, Success: []journey.Step{{EventType: "order.shipped"}},
		SLO: journey.SLO{StuckAfter: journey.Duration(time.Minute)}}
	w, reg, err := journey.Open(ctx, st, []journey.Journey{order}, log)
	if err != nil {
		t.Fatal(err)
	}
	// Two orders placed ten minutes ago, one dead-lettered: both stuck.
	t0 := uint64(time.Now().Add(-10 * time.Minute).UnixNano())
	var evs []event.Event
	for i, outcome := range []event.Outcome{event.OutcomeOK, event.OutcomeDeadLettered} {
		corr := fmt.Sprintf("o-%d", i)
		evs = append(evs, event.Event{EventID: corr, EventType: "order.placed", CorrelationID: corr, TraceID: fmt.Sprintf("%032x", 2*i+1),
			SpanID: fmt.Sprintf("%016x", 2*i+1), Service: "shop", Destination: "orders", Op: event.OpPublish, Outcome: event.OutcomeOK,
			StartNS: t0 + uint64(i), Partition: -1, Offset: -1, PayloadSize: -1})
		if outcome == event.OutcomeDeadLettered {
			evs = append(evs, event.Event{EventID: corr, EventType: "order.placed", CorrelationID: corr, TraceID: fmt.Sprintf("%032x", 2*i+1),
				SpanID: fmt.Sprintf("%016x", 2*i+2), Service: "payments", Destination: "orders", Op: event.OpProcess, Outcome: outcome,
				Error: "card declined", StartNS: t0 + uint64(i) + 1000, Partition: -1, Offset: -1, PayloadSize: -1})
		}
	}
	if err := w.Write(ctx, &store.Batch{Events: evs}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a := New(st, log)
	guard, err := auth.New([]auth.Token{{Name: "ada", Role: "admin", Token: "admin-token-0123456789"},
		{Name: "vic", Role: "viewer", Token: "viewer-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	a.SetGuard(guard)
	a.SetAudit(audit.New(st, "test-studio"))
	a.Register(mux)
	svc := journey.NewService(reg, w.Ledger(), st)
	defer svc.Close() // the backfills a PUT starts
	a.RegisterJourneys(mux, svc)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	as := func(token, method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	viewer := func(method, path, body string) (int, string) {
		return as("viewer-token-0123456789", method, path, body)
	}
	admin := func(method, path, body string) (int, string) { return as("admin-token-0123456789", method, path, body) }

	code, body := viewer("GET", "/api/v1/journeys?buckets=4", "")
	var list struct {
		Journeys []journey.Summary `json:"journeys"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Journeys) != 1 || list.Journeys[0].Stats.Stuck != 2 ||
		len(list.Journeys[0].Series) != 4 || list.Journeys[0].Source != journey.SourceConfig {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = viewer("GET", "/api/v1/journeys/order/stuck", "")
	var stuck journey.Stuck
	if code != 200 || json.Unmarshal([]byte(body), &stuck) != nil || stuck.Total != 2 || len(stuck.Steps) != 1 ||
		stuck.Steps[0].DeadLettered != 1 || stuck.Steps[0].Reasons[0].Reason != "card declined" {
		t.Fatalf("stuck: %d %s", code, body)
	}
	if code, body := viewer("GET", "/api/v1/journeys/order/entities?state=stuck&step=order.placed", ""); code != 200 || !strings.Contains(body, `"o-1"`) {
		t.Fatalf("entities: %d %s", code, body)
	}
	if code, body := viewer("GET", "/api/v1/journeys/order", ""); code != 200 || !strings.Contains(body, `"breakdown"`) {
		t.Fatalf("detail: %d %s", code, body)
	}
	for path, want := range map[string]int{
		"/api/v1/journeys/nope":                           404,
		"/api/v1/journeys/nope/stuck":                     404,
		"/api/v1/journeys/order/entities?state=bogus":     400,
		"/api/v1/journeys?buckets=1000":                   400,
		"/api/v1/journeys/order?since=yesterday":          400,
		"/api/v1/journeys/suggestions?since=1h":           200,
		"/api/v1/journeys/order/entities?state=completed": 200,
	} {
		if code, body := viewer("GET", path, ""); code != want {
			t.Errorf("GET %s: %d, want %d: %s", path, code, want, body)
		}
	}

	refund := `{"name":"refund","start":{"event_type":"refund.requested"},"compensated":[{"event_type":"refund.paid"}]}`
	if code, _ := viewer("POST", "/api/v1/journeys", refund); code != 403 {
		t.Fatalf("a viewer defines a journey: %d", code)
	}
	if code, body := admin("POST", "/api/v1/journeys", refund); code != 201 || !strings.Contains(body, `"stuck_after":"5m0s"`) {
		t.Fatalf("define: %d %s", code, body)
	}
	if code, _ := admin("POST", "/api/v1/journeys", refund); code != 409 {
		t.Fatalf("define twice: %d", code)
	}
	if code, body := admin("POST", "/api/v1/journeys", `{"name":"x","start":{}}`); code != 400 {
		t.Fatalf("invalid: %d %s", code, body)
	}
	if code, body := admin("PUT", "/api/v1/journeys/order", `{"start":{"event_type":"a"},"success":[{"event_type":"b"}]}`); code != 409 || !strings.Contains(body, "read_only") {
		t.Fatalf("replace a config journey: %d %s", code, body)
	}
	if code, _ := admin("PUT", "/api/v1/journeys/refund", strings.Replace(refund, "refund.paid", "refund.done", 1)); code != 200 {
		t.Fatalf("replace: %d", code)
	}
	if _, body := viewer("GET", "/api/v1/journeys", ""); !strings.Contains(body, "refund.done") || !strings.Contains(body, `"source":"api"`) {
		t.Fatalf("after replacing: %s", body)
	}
	if code, _ := admin("DELETE", "/api/v1/journeys/order", ""); code != 409 {
		t.Fatalf("delete a config journey: %d", code)
	}
	if code, _ := admin("DELETE", "/api/v1/journeys/refund", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := admin("DELETE", "/api/v1/journeys/refund", ""); code != 404 {
		t.Fatalf("delete again: %d", code)
	}

	// A journey defined now is backfilled from the stored events: both
	// orders, placed ten minutes ago, are stuck in it.
	placed := `{"name":"placed","start":{"event_type":"order.placed"},"success":[{"event_type":"order.shipped"}],"slo":{"stuck_after":"1m"}}`
	if code, body := admin("POST", "/api/v1/journeys", placed); code != 201 {
		t.Fatalf("define: %d %s", code, body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, body := viewer("GET", "/api/v1/journeys/placed/stuck", "")
		if strings.Contains(body, `"total":2`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not backfilled: %s", body)
		}
	}
}
