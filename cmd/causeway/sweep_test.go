package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/studio/api"
	"github.com/causeway-dev/causeway/studio/auth"
)

// operation is one operation of the OpenAPI document, as the sweep needs it.
type operation struct {
	method, path  string
	role, runRole string
	codes         []int
	channels      map[string]string
	changesState  bool
}

func documentedOperations(t *testing.T) []operation {
	var doc struct {
		Paths map[string]map[string]struct {
			Role      string                     `json:"x-causeway-role"`
			RunRole   string                     `json:"x-causeway-run-role"`
			Channels  map[string]string          `json:"x-causeway-channels"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for path, byMethod := range doc.Paths {
		for method, o := range byMethod {
			op := operation{method: strings.ToUpper(method), path: path, role: o.Role, runRole: o.RunRole, channels: o.Channels}
			for c := range o.Responses {
				n, err := strconv.Atoi(c)
				if err != nil {
					t.Fatalf("%s %s: response %q", method, path, c)
				}
				op.codes = append(op.codes, n)
			}
			op.changesState = op.method != "GET"
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	return ops
}

// url fills the path's parameters with values that name nothing.
func (o operation) url(base string) string {
	p := strings.ReplaceAll(o.path, "{trace_id}", strings.Repeat("0", 32))
	p = strings.ReplaceAll(p, "{id}", "sweep-none")
	return base + p
}

// body is a request body for the operation; run asks a replay to run.
func (o operation) body(who string, run bool) string {
	switch {
	case o.path == "/api/v1/replays" && run:
		return `{"dlq_ids":["sweep-none"],"reason":"sweep"}`
	case o.path == "/api/v1/replays":
		return `{"dlq_ids":["sweep-none"],"dry_run":true}`
	case strings.HasPrefix(o.path, "/api/v1/alerts/rules") && (o.method == "POST" || o.method == "PUT") && !strings.HasSuffix(o.path, "/test"):
		id := "sweep-" + who
		if o.method == "PUT" {
			id = "sweep-none"
		}
		return fmt.Sprintf(`{"id":%q,"name":"sweep","kind":"lag_messages","threshold":1}`, id)
	}
	return ""
}

// TestRouteSweep drives every operation of the OpenAPI document against
// the real binary: without a token, with each role's token, a dry run and
// a run where the operation has both, from a foreign Origin, as a
// cross-site text/plain POST, and with a non-loopback Host in open mode;
// the live websocket's channels with each role. Each answer must be the
// documented one: 401 without a token, 403 permission_denied below the
// operation's x-causeway-role, else a status the operation documents
// (never 401 or 403); 403 cross_origin, 415 and 421 where documented.
func TestRouteSweep(t *testing.T) {
	ops := documentedOperations(t)
	if len(ops) < 20 {
		t.Fatalf("only %d operations", len(ops))
	}
	tokens := map[string]string{"viewer": "viewer-token-0123456789", "operator": "operator-token-0123456789", "admin": "admin-token-0123456789"}
	listen := startSweepStudio(t, "vic:viewer:"+tokens["viewer"]+",otto:operator:"+tokens["operator"]+",ada:admin:"+tokens["admin"])
	base := "http://" + listen

	do := func(method, url, token, contentType, origin, host, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct{ Error struct{ Code string } }
		json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error.Code
	}
	checks := 0
	check := func(o operation, what string, code int, errCode string, want func(int, string) bool) {
		t.Helper()
		checks++
		if !slices.Contains(o.codes, code) {
			t.Errorf("%s %s %s: %d (%s) is not documented (%v)", o.method, o.path, what, code, errCode, o.codes)
		}
		if !want(code, errCode) {
			t.Errorf("%s %s %s: %d %s", o.method, o.path, what, code, errCode)
		}
	}
	ct := func(o operation) string {
		if o.changesState {
			return "application/json"
		}
		return ""
	}
	for _, o := range ops {
		if o.path == "/api/v1/live" {
			continue // a websocket: below
		}
		need, _ := auth.ParseRole(o.role)
		code, ec := do(o.method, o.url(base), "", ct(o), "", "", o.body("anonymous", false))
		if o.role == "none" {
			check(o, "without a token", code, ec, func(c int, _ string) bool { return c != 401 && c != 403 })
		} else {
			check(o, "without a token", code, ec, func(c int, e string) bool { return c == 401 && e == "unauthenticated" })
		}
		if o.role == "none" {
			continue
		}
		for name, tok := range tokens {
			have, _ := auth.ParseRole(name)
			runs := []bool{false}
			if o.runRole != "" {
				runs = append(runs, true)
			}
			for _, run := range runs {
				least := need
				if run {
					least, _ = auth.ParseRole(o.runRole)
				}
				code, ec := do(o.method, o.url(base), tok, ct(o), "", "", o.body(name, run))
				what := "as " + name
				if run {
					what += " (run)"
				}
				if have < least {
					check(o, what, code, ec, func(c int, e string) bool { return c == 403 && e == "permission_denied" })
				} else {
					check(o, what, code, ec, func(c int, _ string) bool { return c != 401 && c != 403 })
				}
			}
		}
		if o.changesState {
			code, ec := do(o.method, o.url(base), tokens["admin"], "application/json", "https://evil.example", "", o.body("evil", false))
			check(o, "from a foreign Origin", code, ec, func(c int, e string) bool { return c == 403 && e == "cross_origin" })
			code, ec = do(o.method, o.url(base), tokens["admin"], "text/plain", "https://evil.example", "", o.body("evil", false))
			check(o, "as a cross-site text/plain POST", code, ec, func(c int, e string) bool { return c == 403 && e == "cross_origin" })
			code, ec = do(o.method, o.url(base), tokens["admin"], "text/plain", "", "", o.body("plain", false))
			check(o, "as text/plain", code, ec, func(c int, e string) bool { return c == 415 && e == "unsupported_media_type" })
		}
	}

	// 22 operations without a token, 18 with each of 3 roles (and runs), 6 changing state × 3 browser cases.
	if checks < 22+18*3+6*3 {
		t.Fatalf("only %d answers checked", checks)
	}
	t.Logf("%d answers checked", checks)

	// The live websocket and its channels.
	var live operation
	for _, o := range ops {
		if o.path == "/api/v1/live" {
			live = o
		}
	}
	wsURL := "ws://" + listen + "/api/v1/live"
	dial := func(url string, h http.Header) (*websocket.Conn, int) {
		c, resp, err := websocket.DefaultDialer.Dial(url, h)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		return c, http.StatusSwitchingProtocols
	}
	if _, code := dial(wsURL, nil); code != 401 || !slices.Contains(live.codes, code) {
		t.Errorf("live without a token: %d", code)
	}
	if _, code := dial(wsURL+"?access_token="+tokens["viewer"], http.Header{"Origin": {"https://evil.example"}}); code != 403 || !slices.Contains(live.codes, code) {
		t.Errorf("live from a foreign Origin: %d", code)
	}
	if len(live.channels) < 6 {
		t.Fatalf("documented channels: %v", live.channels)
	}
	for name, tok := range tokens {
		have, _ := auth.ParseRole(name)
		c, code := dial(wsURL+"?access_token="+tok, nil)
		if code != 101 {
			t.Fatalf("live as %s: %d", name, code)
		}
		var allowed []string
		for ch, role := range live.channels {
			need, _ := auth.ParseRole(role)
			c.WriteJSON(map[string]string{"op": "subscribe", "channel": ch})
			if have >= need {
				allowed = append(allowed, ch)
			}
		}
		c.WriteJSON(map[string]string{"op": "subscribe", "channel": "sweep-no-such-channel"})
		// Frames come in order: the first error frame must be the unknown
		// channel's, so no documented channel was refused to this role.
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			var f struct{ Channel, Message string }
			if err := c.ReadJSON(&f); err != nil {
				t.Fatalf("live as %s: %v", name, err)
			}
			if f.Channel != "error" {
				continue
			}
			if !strings.Contains(f.Message, "sweep-no-such-channel") {
				t.Errorf("live as %s (allowed %v): %s", name, allowed, f.Message)
			}
			break
		}
		c.Close()
	}

	// Open mode: only loopback Host names.
	open := "http://" + startSweepStudio(t, "")
	for _, o := range ops {
		if o.path == "/api/v1/live" {
			continue
		}
		code, ec := do(o.method, o.url(open), "", ct(o), "", "evil.example:7070", o.body("open", false))
		check(o, "in open mode with Host evil.example", code, ec, func(c int, e string) bool { return c == 421 && e == "misdirected_request" })
	}
	if _, code := dial(strings.Replace(open, "http://", "ws://", 1)+"/api/v1/live", http.Header{"Host": {"evil.example"}}); code != 421 {
		t.Errorf("live in open mode with Host evil.example: %d", code)
	}
}

// startSweepStudio runs `causeway studio` with the tokens (none: open
// mode) and returns its address once it answers.
func startSweepStudio(t *testing.T, tokens string) string {
	dir := t.TempDir()
	listen := freePort(t)
	cmd := exec.Command(causewayBin, "studio", "--listen", listen, "--store", "embedded://"+filepath.ToSlash(filepath.Join(dir, "store")),
		"--spool-dir", filepath.Join(dir, "spool"), "--otlp-http", freePort(t), "--otlp-grpc", freePort(t))
	cmd.Env = append(os.Environ(), "CAUSEWAY_STUDIO_TOKENS="+tokens)
	var log brokertest.LogBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	eventually(t, 60*time.Second, func() string {
		resp, err := http.Get("http://" + listen + "/api/v1/health")
		if err != nil {
			return err.Error() + "\n" + log.String()
		}
		resp.Body.Close()
		return ""
	})
	return listen
}
