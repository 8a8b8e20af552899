package desktop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The gateway is what the webview loads the studio from: an HTTP server
// on 127.0.0.1 that serves the UI (the same embedded frontend build as the
// browser dashboard), proxies /api/ (REST and the live websocket) to the
// studio the user chose — local or remote — and serves the app's own
// pages under /__causeway/.
//
// Going through it, rather than loading the studio directly, makes REST
// and the websocket same-origin for the page in both modes, keeps the
// remote studio's token out of the page (the gateway adds it to every
// request), and works whether or not the remote studio serves a UI.
//
// The gateway holds the token, so nothing but the app's webview may use
// it: every request needs the session cookie that only the webview gets
// (through a one-time key the app passes it), a Host naming the gateway
// (DNS rebinding), and no foreign Origin (cross-site requests).
type gateway struct {
	log     *slog.Logger
	ln      net.Listener
	srv     *http.Server
	key     string
	ui      http.Handler
	control http.Handler // /__causeway/
	served  chan error
	// transport carries the proxied requests (its idle connections are
	// closed with the gateway, and when the target changes).
	transport *http.Transport

	mu     sync.RWMutex
	target *url.URL
	proxy  *httputil.ReverseProxy
}

const (
	cookieName = "causeway_desktop"
	// controlPrefix is the app's own part of the gateway's paths.
	controlPrefix = "/__causeway/"
)

// newGateway listens on 127.0.0.1:port (0, or a port that is taken: any
// free port) and serves ui and control.
func newGateway(port int, ui, control http.Handler, log *slog.Logger) (*gateway, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil && port != 0 {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, fmt.Errorf("desktop gateway: %w", err)
	}
	k := make([]byte, 32)
	rand.Read(k)
	g := &gateway{log: log, ln: ln, key: hex.EncodeToString(k), ui: ui, control: control, served: make(chan error, 1),
		transport: http.DefaultTransport.(*http.Transport).Clone()}
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { g.served <- g.srv.Serve(ln) }()
	return g, nil
}

// URL is the gateway's base URL, e.g. http://127.0.0.1:41234.
func (g *gateway) URL() string { return "http://" + g.ln.Addr().String() }

// Port is the gateway's port.
func (g *gateway) Port() int { return g.ln.Addr().(*net.TCPAddr).Port }

// SessionURL is the URL that hands the webview its session cookie, then
// opens next (a path).
func (g *gateway) SessionURL(next string) string {
	return g.URL() + controlPrefix + "session?" + url.Values{"key": {g.key}, "next": {next}}.Encode()
}

// SetTarget points /api/ at the studio at base (nil: none), adding token
// as a bearer token to every request when set.
func (g *gateway) SetTarget(base *url.URL, token string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.transport.CloseIdleConnections()
	if base == nil {
		g.target, g.proxy = nil, nil
		return
	}
	target := *base
	origin := target.Scheme + "://" + target.Host
	g.target = &target
	g.proxy = &httputil.ReverseProxy{
		Transport: g.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&target)
			// The gateway's cookie is for the gateway only.
			pr.Out.Header.Del("Cookie")
			if token != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+token)
			}
			// The studio checks a websocket's Origin against its own host:
			// the gateway, which checked the page's Origin, is the client.
			if pr.In.Header.Get("Origin") != "" {
				pr.Out.Header.Set("Origin", origin)
			}
		},
		// Live frames must not wait in a buffer.
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.log.Warn("studio unreachable", "url", target.String(), "path", r.URL.Path, "error", err)
			apiError(w, http.StatusBadGateway, "studio_unreachable", fmt.Sprintf("the studio at %s did not answer: %v", target.String(), err))
		},
	}
}

// Close stops the gateway, closing its connections (live websockets included).
func (g *gateway) Close(ctx context.Context) error {
	err := g.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = g.srv.Close()
	}
	g.transport.CloseIdleConnections()
	return err
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Host != g.ln.Addr().String() {
		http.Error(w, "wrong host", http.StatusMisdirectedRequest)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && o != g.URL() {
		http.Error(w, "cross-origin requests are refused", http.StatusForbidden)
		return
	}
	if r.URL.Path == controlPrefix+"session" {
		g.session(w, r)
		return
	}
	c, err := r.Cookie(cookieName)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(g.key)) != 1 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<!doctype html><meta charset="utf-8"><title>Causeway</title><p style="font:16px system-ui;margin:3em">This is the Causeway desktop app's private address: open the app instead.</p>`)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, controlPrefix):
		g.control.ServeHTTP(w, r)
	case r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/"):
		g.mu.RLock()
		p := g.proxy
		g.mu.RUnlock()
		if p == nil {
			apiError(w, http.StatusServiceUnavailable, "not_connected", "the desktop app is not connected to a studio: File › Connect…")
			return
		}
		p.ServeHTTP(w, r)
	default:
		g.mu.RLock()
		connected := g.proxy != nil
		g.mu.RUnlock()
		if !connected {
			http.Redirect(w, r, controlPrefix+"start", http.StatusSeeOther)
			return
		}
		g.serveUI(w, r)
	}
}

// session sets the session cookie when the key is right, then opens next
// from a page of the gateway's own origin (a cookie set while a redirect
// chain started at wails:// would be withheld as cross-site).
func (g *gateway) session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("key")), []byte(g.key)) != 1 {
		http.Error(w, "wrong key", http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: g.key, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	sessionPage.Execute(w, localPath(q.Get("next")))
}

var sessionPage = template.Must(template.New("session").Parse(`<!doctype html><meta charset="utf-8"><title>Causeway</title>
<script>location.replace({{.}})</script>`))

// localPath returns p when it is a path on this origin, else "/".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// glueTag loads the app's script into the UI's pages before the UI's own
// (module scripts run after classic ones).
const glueTag = `<script src="` + controlPrefix + `desktop.js"></script>`

// serveUI serves the UI, with the app's script added to its HTML pages.
func (g *gateway) serveUI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/assets/") || r.Method != http.MethodGet {
		g.ui.ServeHTTP(w, r)
		return
	}
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	g.ui.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	if strings.HasPrefix(rec.header.Get("Content-Type"), "text/html") {
		body = injectScript(body, glueTag)
		rec.header.Del("Content-Length")
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.code)
	w.Write(body)
}

// recorder keeps a response (the UI's small HTML pages) to edit it.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

// injectScript puts tag right after <head> (or at the start, without one).
func injectScript(page []byte, tag string) []byte {
	i := bytes.Index(bytes.ToLower(page), []byte("<head>"))
	if i < 0 {
		return append([]byte(tag), page...)
	}
	i += len("<head>")
	out := make([]byte, 0, len(page)+len(tag))
	out = append(out, page[:i]...)
	out = append(out, tag...)
	return append(out, page[i:]...)
}

// apiError answers as the studio's API does.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
