package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	_ "github.com/causeway-dev/causeway/store/clickhouse"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	_ "github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/studio/audit"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/replay"
	"github.com/causeway-dev/causeway/studio/server"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chtest.StopShared()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goroutine leak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

const (
	viewerToken   = "viewer-token-0123456789"
	operatorToken = "operator-token-0123456789"
)

// TestReplayOverHTTP drives replays through the studio's HTTP API with
// tokens: who may do what, the count confirmation, the idempotency key,
// the audit record and progress on the live websocket.
func TestReplayOverHTTP(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "orders.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	ctx := context.Background()
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", collector.Off, t.TempDir()
	srv, err := server.Start(ctx, server.Setup{Store: "embedded://" + t.TempDir(), Collector: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Studio: server.Config{Listen: "127.0.0.1:0", Replay: replay.Config{KafkaBrokers: kc.ListenAddrs()},
			Tokens: []auth.Token{{Name: "vera", Role: "viewer", Token: viewerToken}, {Name: "otto", Role: "operator", Token: operatorToken}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Error(err)
		}
	}()

	// Two dead-lettered orders on the broker, and their DLQ entries in the store.
	cl, _ := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	defer cl.Close()
	var ids []string
	var entries []store.DLQEntry
	for i, v := range []string{`{"order":1}`, `{"order":2}`} {
		r := &kgo.Record{Topic: "orders.dlq", Value: []byte(v), Headers: []kgo.RecordHeader{{Key: event.HeaderEventID, Value: []byte{'e', byte('1' + i)}}}}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		at := uint64(r.Timestamp.UnixNano())
		id := store.DLQID("kafka", "orders.dlq", r.Partition, r.Offset, at)
		ids = append(ids, id)
		entries = append(entries, store.DLQEntry{ID: id, TimeNS: at, System: "kafka", Source: "orders.dlq",
			SourcePartition: r.Partition, SourceOffset: r.Offset, Original: "orders", OriginalPartition: -1, OriginalOffset: -1,
			Reason: "timeout", EventID: string(r.Headers[0].Value), Payload: r.Value, PayloadSize: int64(len(r.Value))})
	}
	if err := srv.Store().Write(ctx, &store.Batch{DLQ: entries}); err != nil {
		t.Fatal(err)
	}

	call := func(method, path, token, key string, body any, want int, out any) http.Header {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL()+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if method != "GET" {
			req.Header.Set("Content-Type", "application/json")
		}
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, b)
			}
		}
		return resp.Header
	}
	run := map[string]any{"dlq_ids": ids, "reason": "timeouts fixed"}
	dry := map[string]any{"dlq_ids": ids, "dry_run": true}

	call("GET", "/api/v1/replays", "", "", nil, 401, nil)
	call("POST", "/api/v1/replays", "", "", dry, 401, nil)
	if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL(), "http")+"/api/v1/live", nil); err == nil || resp.StatusCode != 401 {
		t.Fatalf("websocket without a token: %v", err)
	}
	hdr := http.Header{"Origin": {"https://evil.example"}}
	if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL(), "http")+"/api/v1/live?access_token="+viewerToken, hdr); err == nil || resp.StatusCode != 403 {
		t.Fatalf("websocket from a foreign origin: %v", err)
	}
	var preview replay.Preview
	call("POST", "/api/v1/replays", viewerToken, "", dry, 200, &preview)
	if preview.Count != 2 || !preview.ConfirmCount || preview.Sample[0].PayloadPreview != "" || preview.Sample[0].PayloadHidden != "payload hidden: needs operator" {
		t.Fatalf("a viewer's preview %+v", preview)
	}
	preview = replay.Preview{}
	call("POST", "/api/v1/replays", operatorToken, "", dry, 200, &preview)
	if preview.Sample[0].PayloadPreview != `{"order":1}` || preview.Sample[0].PayloadHidden != "" {
		t.Fatalf("an operator's preview %+v", preview)
	}
	call("POST", "/api/v1/replays", viewerToken, "", run, 403, nil)
	var e struct{ Error struct{ Code string } }
	call("POST", "/api/v1/replays", operatorToken, "", run, 409, &e)
	if e.Error.Code != "count_mismatch" {
		t.Fatalf("without expected_count: %+v", e)
	}
	call("POST", "/api/v1/replays", operatorToken, "", map[string]any{"dlq_ids": ids}, 400, nil)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL(), "http")+"/api/v1/live?access_token="+operatorToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteJSON(map[string]string{"op": "subscribe", "channel": "replays"})
	time.Sleep(100 * time.Millisecond) // let the hub register the subscription

	run["expected_count"] = 2
	var started, again struct{ ID, State string }
	call("POST", "/api/v1/replays", operatorToken, "double-click", run, 202, &started)
	h := call("POST", "/api/v1/replays", operatorToken, "double-click", run, 200, &again)
	if again.ID != started.ID || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("second click: %+v %v, want replay %s", again, h, started.ID)
	}

	// Progress frames over the websocket, ending in the final state.
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f struct {
			Channel string
			Data    struct{ ID, State string }
		}
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("no final replay frame: %v", err)
		}
		if f.Channel == "replays" && f.Data.ID == started.ID && f.Data.State == store.ReplaySucceeded {
			break
		}
	}
	var got struct {
		State, RequestedBy string
		Sent               int
		CreatedAt          string `json:"created_at"`
		Items              []store.ReplayItem
	}
	call("GET", "/api/v1/replays/"+started.ID, viewerToken, "", nil, 200, &got)
	if got.State != "succeeded" || got.Sent != 2 || len(got.Items) != 2 || got.CreatedAt == "" {
		t.Fatalf("replay record %+v", got)
	}
	var list struct {
		Replays []struct{ ID, RequestedBy string }
	}
	call("GET", "/api/v1/replays", viewerToken, "", nil, 200, &list)
	if len(list.Replays) != 1 || list.Replays[0].ID != started.ID {
		t.Fatalf("replay list %+v", list)
	}
	call("POST", "/api/v1/replays/"+started.ID+"/cancel", viewerToken, "", nil, 403, nil)
	call("POST", "/api/v1/replays/"+started.ID+"/cancel", operatorToken, "", nil, 409, nil)
	call("GET", "/api/v1/replays/nope", viewerToken, "", nil, 404, nil)

	// Exactly two records reached the original topic.
	rc, _ := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.ConsumeTopics("orders"))
	defer rc.Close()
	var recs []*kgo.Record
	for deadline := time.Now().Add(10 * time.Second); len(recs) < 2 && time.Now().Before(deadline); {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		recs = append(recs, rc.PollFetches(pctx).Records()...)
		cancel()
	}
	pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	recs = append(recs, rc.PollFetches(pctx).Records()...)
	cancel()
	if len(recs) != 2 {
		t.Fatalf("%d records on orders, want 2", len(recs))
	}

	// The audit log has the replay, attributed to otto, and verifies.
	sum, err := audit.Verify(ctx, srv.Store())
	if err != nil || sum.Chains != 1 {
		t.Fatalf("audit: %+v, %v", sum, err)
	}
	for w := range sum.Heads {
		rs, err := srv.Store().AuditRecords(ctx, store.AuditQuery{Writer: w})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.Actor+" "+r.Action+" "+r.Subject)
		}
		want := []string{"otto replay.created " + started.ID, "otto replay.started " + started.ID, "otto replay.finished " + started.ID}
		if !slices.Equal(got, want) {
			t.Fatalf("audit records %q, want %q", got, want)
		}
	}
}

// TestCORS: an allowed origin gets its preflight answered without a token
// and CORS headers on the answers; another origin gets neither.
func TestCORS(t *testing.T) {
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", collector.Off, t.TempDir()
	srv, err := server.Start(context.Background(), server.Setup{Store: "embedded://" + t.TempDir(), Collector: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Studio: server.Config{Listen: "127.0.0.1:0", Origins: []string{"https://studio.example"},
			Tokens: []auth.Token{{Name: "vera", Role: "viewer", Token: viewerToken}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	do := func(method, origin, token string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL()+"/api/v1/events", nil)
		req.Header.Set("Origin", origin)
		if method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "authorization")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := do(http.MethodOptions, "https://studio.example", ""); r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "https://studio.example" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight from an allowed origin: %d %v", r.StatusCode, r.Header)
	}
	if r := do(http.MethodGet, "https://studio.example", viewerToken); r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://studio.example" {
		t.Fatalf("GET from an allowed origin: %d %v", r.StatusCode, r.Header)
	}
	for _, method := range []string{http.MethodOptions, http.MethodGet} {
		if r := do(method, "https://evil.example", viewerToken); r.Header.Get("Access-Control-Allow-Origin") != "" || (method == http.MethodOptions && r.StatusCode == 204) {
			t.Fatalf("%s from another origin: %d %v", method, r.StatusCode, r.Header)
		}
	}
}

// TestOpenModeAgainstWebPages: a studio without tokens on loopback, as a
// malicious page would drive it through the user's browser: a rebound
// DNS name gets 421 on the API and the websocket; a cross-site
// text/plain POST creates no alert rule; the UI carries its CSP.
func TestOpenModeAgainstWebPages(t *testing.T) {
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", collector.Off, t.TempDir()
	srv, err := server.Start(context.Background(), server.Setup{Store: "embedded://" + t.TempDir(), Collector: cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Studio: server.Config{Listen: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	do := func(method, path, host string, hdr map[string]string, body string) int {
		req, _ := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := do("GET", "/api/v1/events", "attacker.example:7070", nil, ""); c != http.StatusMisdirectedRequest {
		t.Errorf("rebound Host on the API: %d", c)
	}
	hdr := http.Header{"Host": {"attacker.example"}, "Origin": {"http://attacker.example"}}
	if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL(), "http")+"/api/v1/live", hdr); err == nil || resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebound Host on the websocket: %v %v", resp, err)
	}
	rule := `{"id":"exfil","name":"exfil","kind":"dlq_arrivals","threshold":1,"webhooks":[{"url":"https://attacker.example/hook"}]}`
	if c := do("POST", "/api/v1/alerts/rules", "", map[string]string{"Content-Type": "text/plain", "Origin": "https://attacker.example"}, rule); c != http.StatusForbidden {
		t.Errorf("cross-site text/plain POST: %d", c)
	}
	if c := do("POST", "/api/v1/alerts/rules", "", map[string]string{"Content-Type": "text/plain"}, rule); c != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain POST without an Origin: %d", c)
	}
	if c := do("GET", "/api/v1/alerts/rules/exfil", "", nil, ""); c != http.StatusNotFound {
		t.Errorf("the rule exists after refused POSTs: %d", c)
	}
	req, _ := http.NewRequest("GET", srv.URL()+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("UI without its CSP: %q", csp)
	}
}
