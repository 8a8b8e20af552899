package desktop

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/server"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// The tests' own clients keep idle connections in the default transport.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goroutine leak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// fakeWindow records what the app asks of the window.
type fakeWindow struct {
	mu       sync.Mutex
	titles   []string
	navigate []string
	reloads  int
	shown    int
	messages []string
}

func (w *fakeWindow) SetTitle(t string) { w.mu.Lock(); w.titles = append(w.titles, t); w.mu.Unlock() }
func (w *fakeWindow) Navigate(u string) {
	w.mu.Lock()
	w.navigate = append(w.navigate, u)
	w.mu.Unlock()
}
func (w *fakeWindow) Reload() { w.mu.Lock(); w.reloads++; w.mu.Unlock() }
func (w *fakeWindow) Show()   { w.mu.Lock(); w.shown++; w.mu.Unlock() }
func (w *fakeWindow) Message(title, text string) {
	w.mu.Lock()
	w.messages = append(w.messages, title+"\n"+text)
	w.mu.Unlock()
}

func (w *fakeWindow) title() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.titles) == 0 {
		return ""
	}
	return w.titles[len(w.titles)-1]
}

// fakeNotifier records notifications.
type fakeNotifier struct{ got chan [2]string }

func (n *fakeNotifier) Notify(note Notification) error {
	select {
	case n.got <- [2]string{note.Title, note.Body}:
	default:
	}
	return nil
}

// webview is a client holding the gateway's session, as the webview does.
func webview(t *testing.T, a *App) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	resp, err := c.Get(a.StartURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c
}

// waitState polls the start screen's state until it leaves "starting".
func waitState(t *testing.T, a *App, c *http.Client) state {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.Get(a.gw.URL() + controlPrefix + "state")
		if err != nil {
			t.Fatal(err)
		}
		var s state
		json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if s.State != StateStarting {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("still starting after 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLocalModeFallsBackFromTakenPorts(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	opts := Options{Mode: ModeLocal, ConfigPath: filepath.Join(dir, "config", "desktop.json"), DataDir: filepath.Join(dir, "data"),
		Listen: taken.Addr().String(), OTLPHTTP: taken.Addr().String(), OTLPGRPC: collector.Off}
	a, err := newApp(opts, "v-test", quiet, &fakeNotifier{got: make(chan [2]string, 1)})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			a.Close(context.Background())
		}
	}()
	win := &fakeWindow{}
	a.Start(win)
	c := webview(t, a)
	s := waitState(t, a, c)
	if s.State != StateReady || s.Mode != ModeLocal {
		t.Fatalf("state %+v", s)
	}
	if strings.Contains(s.Studio, taken.Addr().String()) {
		t.Errorf("the studio took the taken address %s", s.Studio)
	}
	notices := strings.Join(s.Notices, "\n")
	if len(s.Notices) != 2 || !strings.Contains(notices, "causeway studio") || !strings.Contains(notices, "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Errorf("notices: %q; want one for the API port and one for OTLP/HTTP", s.Notices)
	}
	resp, err := c.Get(a.gw.URL() + "/api/v1/flows?since=5m")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the local studio's API through the gateway: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if ti := win.title(); !strings.HasPrefix(ti, "Causeway — local studio · 127.0.0.1:") {
		t.Errorf("title %q", ti)
	}
	if _, err := os.Stat(filepath.Join(opts.DataDir, "store")); err != nil {
		t.Errorf("the store is not in the data directory: %v", err)
	}
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil || cfg.Mode != ModeLocal || cfg.GatewayPort != a.gw.Port() {
		t.Errorf("remembered %+v, %v", cfg, err)
	}

	a.About()
	a.Connect()
	a.Reload()
	win.mu.Lock()
	if len(win.messages) != 1 || !strings.Contains(win.messages[0], "Causeway desktop v-test") || !strings.Contains(win.messages[0], "OTLP/HTTP: 127.0.0.1:") || !strings.Contains(win.messages[0], opts.DataDir) {
		t.Errorf("About: %q", win.messages)
	}
	if len(win.navigate) != 1 || win.navigate[0] != a.gw.URL()+controlPrefix+"start?choose=1" || win.reloads != 1 {
		t.Errorf("Connect… navigated to %q, reloads %d", win.navigate, win.reloads)
	}
	win.mu.Unlock()

	// The webview's report of its live channel shows in the title.
	req, _ := http.NewRequest("POST", a.gw.URL()+controlPrefix+"live", strings.NewReader(`{"path":"/flows","status":"reconnecting…","frames":3}`))
	resp, err = c.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("live report: %v %v", resp, err)
	}
	resp.Body.Close()
	if ti := win.title(); !strings.HasSuffix(ti, " · reconnecting…") {
		t.Errorf("title after a live report: %q", ti)
	}

	studioURL := s.Studio
	closed = true
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(studioURL + "/api/v1/health"); err == nil {
		t.Errorf("the local studio still answers after Close")
	}
}

func TestRemoteModeTokenAndAlertNotifications(t *testing.T) {
	const viewer, operator = "viewer-token-0123456789", "operator-token-0123456789"
	col := collector.DefaultConfig()
	col.HTTPAddr, col.GRPCAddr, col.SpoolDir = collector.Off, collector.Off, t.TempDir()
	srv, err := server.Start(context.Background(), server.Setup{
		Store: "embedded://" + filepath.ToSlash(t.TempDir()), Collector: col, Log: quiet,
		Studio: server.Config{Listen: "127.0.0.1:0",
			Tokens: []auth.Token{{Name: "v", Token: viewer, Role: "viewer"}, {Name: "o", Token: operator, Role: "operator"}},
			Alerts: server.AlertsConfig{Interval: time.Hour, Rules: []alert.Rule{{ID: "lag", Name: "payments behind", Kind: alert.KindLagMessages, Threshold: 50}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	dir := t.TempDir()
	notes := &fakeNotifier{got: make(chan [2]string, 1)}
	opts := Options{Mode: ModeRemote, RemoteURL: srv.URL() + "/", Token: "wrong-token-0123456789", ConfigPath: filepath.Join(dir, "desktop.json")}
	a, err := newApp(opts, "v-test", quiet, notes)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	win := &fakeWindow{}
	a.Start(win)
	c := webview(t, a)
	if s := waitState(t, a, c); s.State != StateFailed || !strings.Contains(s.Error, "refused the token") {
		t.Fatalf("a wrong token: %+v", s)
	}
	if _, err := os.Stat(opts.ConfigPath); err == nil {
		t.Errorf("a failed connection was remembered")
	}

	// The start screen's form, as the webview posts it.
	connect := func(body string) *http.Response {
		req, _ := http.NewRequest("POST", a.gw.URL()+controlPrefix+"connect", strings.NewReader(body))
		req.Header.Set("Origin", a.gw.URL())
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := connect(`{"mode":"remote","url":"` + srv.URL() + `","token":"` + operator + `"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("connect: %s", resp.Status)
	}
	s := waitState(t, a, c)
	if s.State != StateReady || s.Studio != srv.URL() || !s.HasToken {
		t.Fatalf("state %+v", s)
	}
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil || cfg.Mode != ModeRemote || cfg.Remote.Token != operator || cfg.Remote.URL != srv.URL() {
		t.Fatalf("remembered %+v, %v", cfg, err)
	}
	if ti := win.title(); ti != "Causeway — "+strings.TrimPrefix(srv.URL(), "http://") {
		t.Errorf("title %q", ti)
	}

	// The page calls the API without a token: the gateway adds it. A
	// test notification of a rule reaches the desktop over the live channel.
	deadline := time.After(20 * time.Second)
	for got := false; !got; {
		req, _ := http.NewRequest("POST", a.gw.URL()+"/api/v1/alerts/rules/lag/test", nil)
		req.Header.Set("Origin", a.gw.URL())
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("test notification through the gateway: %v %v", resp.Status, err)
		}
		resp.Body.Close()
		select {
		case n := <-notes.got:
			if n[0] != "Causeway test alert: payments behind" || n[1] != "test notification from Causeway" {
				t.Errorf("notification %q", n)
			}
			got = true
		case <-time.After(500 * time.Millisecond): // the watcher may not have subscribed yet
		case <-deadline:
			t.Fatal("no desktop notification for the alert within 20 s")
		}
	}

	// Reconnecting to the same studio with an empty token keeps the saved one.
	if resp := connect(`{"mode":"remote","url":"` + srv.URL() + `/","token":"","keep_token":true}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("reconnect: %s", resp.Status)
	}
	if s := waitState(t, a, c); s.State != StateReady {
		t.Fatalf("reconnect with the saved token: %+v", s)
	}
	// A bad URL is refused at once.
	if resp := connect(`{"mode":"remote","url":"ftp://x"}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad URL: %s", resp.Status)
	}
}
