package desktop

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeStudio answers /api/v1/ping with what it received, and upgrades
// /api/v1/live with the studio's Origin rule (no Origin, or its own host).
func fakeStudio(t *testing.T) *httptest.Server {
	up := websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == "http://"+r.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/live":
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(websocket.TextMessage, []byte(`{"channel":"echo","data":`+string(msg)+`,"message":"`+r.Header.Get("Authorization")+`"}`))
		default:
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, r.Method+" "+r.URL.RequestURI()+"\nauth="+r.Header.Get("Authorization")+"\ncookie="+r.Header.Get("Cookie"))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// session returns a client holding the gateway's session cookie.
func session(t *testing.T, g *gateway) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(g.SessionURL("/flows?since=5m"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `location.replace("/flows?since=5m")`) {
		t.Fatalf("session page: %d %s", resp.StatusCode, body)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGatewayProxiesWithTheTokenOnlyForTheWebview(t *testing.T) {
	studio := fakeStudio(t)
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			w.Header().Set("Content-Type", "text/javascript")
			io.WriteString(w, "// <head> not touched")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>ui</title></head><body></body></html>`)
	})
	control := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "control "+r.URL.Path) })
	g, err := newGateway(0, ui, control, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(context.Background())

	anon := &http.Client{Timeout: 10 * time.Second}
	if code, _ := get(t, anon, g.URL()+"/api/v1/ping"); code != http.StatusForbidden {
		t.Errorf("without the session cookie: %d, want 403", code)
	}
	if code, _ := get(t, anon, g.URL()+controlPrefix+"session?key=wrong&next=/"); code != http.StatusForbidden {
		t.Errorf("a wrong session key: %d, want 403", code)
	}
	c := session(t, g)
	if code, body := get(t, c, g.URL()+"/"); code != 200 || !strings.Contains(body, "control "+controlPrefix+"start") {
		t.Errorf("not connected, the UI sends to the start screen: %d %s", code, body)
	}
	if code, body := get(t, c, g.URL()+"/api/v1/ping"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"not_connected"`) {
		t.Errorf("not connected, the API: %d %s", code, body)
	}

	u, _ := url.Parse(studio.URL)
	g.SetTarget(u, "tok")
	code, body := get(t, c, g.URL()+"/api/v1/ping?x=1")
	if code != 200 || !strings.Contains(body, "GET /api/v1/ping?x=1") || !strings.Contains(body, "auth=Bearer tok") || !strings.HasSuffix(body, "\ncookie=") {
		t.Errorf("proxied: %d %q (want the bearer token added and the gateway's cookie removed)", code, body)
	}
	if code, _ := get(t, c, g.URL()+"/api/v1/ping", "Origin", "https://evil.example.com"); code != http.StatusForbidden {
		t.Errorf("a foreign Origin: %d, want 403", code)
	}
	if code, _ := get(t, c, g.URL()+"/api/v1/ping", "Origin", g.URL()); code != 200 {
		t.Errorf("the gateway's own Origin: %d, want 200", code)
	}
	req, _ := http.NewRequest("GET", g.URL()+"/api/v1/ping", nil)
	req.Host = "attacker.example.com:80" // DNS rebinding
	if resp, err := c.Do(req); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("a foreign Host: %v, want 421", resp.Status)
	}

	code, body = get(t, c, g.URL()+"/graph?id=order-1")
	if code != 200 || !strings.Contains(body, "<head>"+glueTag+"<title>") {
		t.Errorf("UI page without the app's script: %d %s", code, body)
	}
	if _, body := get(t, c, g.URL()+"/assets/x.js"); strings.Contains(body, glueTag) {
		t.Errorf("an asset was changed: %s", body)
	}

	// The live websocket goes through, with the token, its Origin the studio's.
	d := websocket.Dialer{Jar: c.Jar, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(strings.Replace(g.URL(), "http", "ws", 1)+"/api/v1/live", http.Header{"Origin": {g.URL()}})
	if err != nil {
		t.Fatalf("websocket through the gateway: %v (%v)", err, resp)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","channel":"events"}`))
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := ws.ReadMessage()
	if err != nil || !strings.Contains(string(msg), `"data":{"op":"subscribe"`) || !strings.Contains(string(msg), "Bearer tok") {
		t.Fatalf("websocket frame: %s, %v", msg, err)
	}
	if _, resp, err := (&websocket.Dialer{}).Dial(strings.Replace(g.URL(), "http", "ws", 1)+"/api/v1/live", nil); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a websocket without the session cookie was not refused: %v", err)
	}

	// A studio that went away is a clear 502 in the API's error format.
	studio.Close()
	if code, body := get(t, c, g.URL()+"/api/v1/ping"); code != http.StatusBadGateway || !strings.Contains(body, "studio_unreachable") {
		t.Errorf("studio down: %d %s", code, body)
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{"/graph?id=1": "/graph?id=1", "//evil.com": "/", "https://evil.com": "/", "/\\evil.com": "/", "": "/"} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
