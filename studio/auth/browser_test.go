package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBrowserGuard(t *testing.T) {
	reached := 0
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ })
	open := Browser(BrowserOptions{Open: true, Origins: []string{"wails://wails", "http://ui.example"}}, next)
	withTokens := Browser(BrowserOptions{Origins: []string{"wails://wails"}}, next)
	for _, c := range []struct {
		name    string
		h       http.Handler
		method  string
		host    string
		headers map[string]string
		want    int
	}{
		{"loopback GET", open, "GET", "127.0.0.1:7070", nil, 200},
		{"localhost GET", open, "GET", "localhost:7070", nil, 200},
		{"[::1] GET", open, "GET", "[::1]:7070", nil, 200},
		{"127.x GET", open, "GET", "127.3.2.1", nil, 200},
		{"rebound name GET", open, "GET", "evil.example:7070", nil, 421},
		{"rebound name websocket", open, "GET", "evil.example", map[string]string{"Upgrade": "websocket"}, 421},
		{"public address GET", open, "GET", "203.0.113.9:7070", nil, 421},
		{"localhost.evil.example", open, "GET", "localhost.evil.example", nil, 421},
		{"any host with tokens", withTokens, "GET", "studio.example.com", nil, 200},
		{"curl JSON POST", open, "POST", "127.0.0.1:7070", map[string]string{"Content-Type": "application/json"}, 200},
		{"same-origin JSON POST", open, "POST", "127.0.0.1:7070", map[string]string{"Content-Type": "application/json; charset=utf-8", "Origin": "http://127.0.0.1:7070"}, 200},
		{"allowed origin PUT", open, "PUT", "127.0.0.1:7070", map[string]string{"Content-Type": "application/json", "Origin": "http://ui.example"}, 200},
		{"desktop DELETE", withTokens, "DELETE", "127.0.0.1:7070", map[string]string{"Content-Type": "application/json", "Origin": "wails://wails"}, 200},
		{"cross-site text/plain POST", open, "POST", "127.0.0.1:7070", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, 403},
		{"cross-site JSON POST", open, "POST", "127.0.0.1:7070", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}, 403},
		{"text/plain POST without Origin", open, "POST", "127.0.0.1:7070", map[string]string{"Content-Type": "text/plain"}, 415},
		{"form POST", withTokens, "POST", "studio.example.com", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"bodyless POST", open, "POST", "127.0.0.1:7070", nil, 415},
		{"Sec-Fetch-Site cross-site", open, "POST", "127.0.0.1:7070", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
		{"null origin", open, "POST", "127.0.0.1:7070", map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403},
	} {
		reached = 0
		req := httptest.NewRequest(c.method, "/api/v1/replays", strings.NewReader("{}"))
		req.Host = c.host
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.name, rec.Code, c.want, rec.Body)
		}
		if (c.want == 200) != (reached == 1) {
			t.Errorf("%s: reached the handler %d times", c.name, reached)
		}
		if c.want != 200 && !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("%s: error body %s", c.name, rec.Body)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	SecurityHeaders(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Error("inline scripts allowed")
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v", rec.Header())
	}
}
