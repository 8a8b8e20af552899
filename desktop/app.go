// Package desktop is the Causeway desktop app's logic, without the GUI
// toolkit: the root main.go (build tag "desktop") runs it in a Wails v2
// window, and everything here is tested without GTK.
//
// The app either runs a studio in its own process (local mode: the
// embedded store in the user's data directory, the collector on the
// standard OTLP ports, optionally the demo shop) or connects to a running
// studio by URL and token (remote mode). The choice is made on a start
// screen and remembered in desktop.json (see Config).
//
// The window shows the same UI as the browser dashboard, loaded from a
// gateway on 127.0.0.1 (see gateway.go) that proxies the API and the live
// websocket to the chosen studio.
//
// Like cmd/causeway it is an application entry: it may import anything,
// the demo included, and nothing but the root main.go imports it.
package desktop

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/frontend"
)

// Window is what the app needs from the native window.
type Window interface {
	// SetTitle sets the window title.
	SetTitle(title string)
	// Navigate loads url in the webview.
	Navigate(url string)
	// Reload reloads the webview's page.
	Reload()
	// Message shows an information dialog.
	Message(title, text string)
	// Show brings the window to the front (unminimised, shown).
	Show()
}

// States of the app, as the start screen shows them.
const (
	StateChoose   = "choose"   // the start screen waits for a choice
	StateStarting = "starting" // a local studio starts, or a remote one is checked
	StateReady    = "ready"    // connected: the UI can be shown
	StateFailed   = "failed"   // the last choice failed: the start screen shows why
)

// App is the desktop app.
type App struct {
	opts    Options
	version string
	log     *slog.Logger
	notify  Notifier
	gw      *gateway

	mu       sync.Mutex
	win      Window
	cfg      Config
	state    string
	err      string
	next     string // the UI path to open once connected
	conn     *connection
	gen      int // counts connection attempts; a superseded attempt gives up
	live     liveReport
	liveSeen time.Time
	closed   bool
	pending  sync.WaitGroup // connection attempts under way
}

// connection is the studio the app is connected to.
type connection struct {
	mode    string
	label   string // for the title: "local studio", "causeway.example.com"
	studio  *url.URL
	local   *localStudio // nil in remote mode
	notices []string
	stop    context.CancelFunc // stops the watchers
	watched sync.WaitGroup     // the alert watcher, and the local studio's

}

// New prepares the app: it reads desktop.json, starts the gateway the
// webview will load and, when the mode is known (flags or desktop.json),
// connects. Call Start once the window exists, and Close at exit.
func New(opts Options, version string, log *slog.Logger) (*App, error) {
	return newApp(opts, version, log, nil)
}

func newApp(opts Options, version string, log *slog.Logger, n Notifier) (*App, error) {
	cfg, err := LoadConfig(opts.ConfigPath)
	if err != nil {
		// A broken file must not lock the user out: start from scratch.
		log.Warn("desktop config ignored", "error", err)
		cfg = Config{}
	}
	a := &App{opts: opts, version: version, log: log, cfg: cfg, state: StateChoose, next: "/", notify: n}
	if opts.Open != "" {
		a.next = opts.Open
	}
	if a.notify == nil {
		a.notify = newDBusNotifier(log)
	}
	a.gw, err = newGateway(cfg.GatewayPort, frontend.Handler(), a.controlHandler(), log)
	if err != nil {
		return nil, err
	}
	if !frontend.Built() {
		log.Warn("this build has no web UI: build it with `make frontend`, then `make desktop`")
	}
	// Connect at once, while the window opens: the start screen shows the
	// progress, or the failure with the forms to choose again.
	if req := a.initialRequest(); req.Mode != "" {
		if err := a.connect(req); err != nil {
			a.mu.Lock()
			a.state, a.err = StateFailed, err.Error()
			a.mu.Unlock()
		}
	}
	return a, nil
}

// initialRequest is the connection to make at launch: --local or
// --remote, else the mode desktop.json remembers, else none (the start
// screen waits for a choice).
func (a *App) initialRequest() connectRequest {
	switch {
	case a.opts.Mode == ModeLocal:
		return connectRequest{Mode: ModeLocal, Demo: a.opts.Demo}
	case a.opts.Mode == ModeRemote:
		return connectRequest{Mode: ModeRemote, URL: a.opts.RemoteURL, Token: a.opts.Token, Insecure: a.opts.Insecure}
	case a.cfg.Mode == ModeLocal:
		return connectRequest{Mode: ModeLocal, Demo: a.cfg.Demo}
	case a.cfg.Mode == ModeRemote:
		return connectRequest{Mode: ModeRemote, URL: a.cfg.Remote.URL, KeepToken: true, Insecure: a.cfg.Remote.Insecure}
	}
	return connectRequest{}
}

// Start hands the app its window. Call it once the window exists.
func (a *App) Start(win Window) {
	a.mu.Lock()
	a.win = win
	a.mu.Unlock()
	a.setTitle()
}

// StartURL is the first page the webview opens: it hands the webview its
// gateway session and shows the start screen.
func (a *App) StartURL() string { return a.gw.SessionURL(controlPrefix + "start") }

// AssetHandler serves the webview's first page (wails://wails/ under
// Wails), which only moves on to the gateway.
func (a *App) AssetHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && r.URL.Path != "/index.html" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		sessionPage.Execute(w, a.StartURL())
	})
}

// Connect shows the start screen (File › Connect…), which stays until
// the user chooses (or goes back to the studio).
func (a *App) Connect() {
	a.mu.Lock()
	win := a.win
	a.mu.Unlock()
	if win != nil {
		win.Navigate(a.gw.URL() + controlPrefix + "start?choose=1")
	}
}

// openView shows the UI at path (a clicked alert notification's view,
// see alertView) in the window, brought to the front.
func (a *App) openView(path string) {
	a.mu.Lock()
	win := a.win
	a.mu.Unlock()
	if win == nil {
		return
	}
	a.log.Info("opening the view of a clicked notification", "path", path)
	win.Show()
	win.Navigate(a.gw.URL() + localPath(path))
}

// Reload reloads the page (View › Reload).
func (a *App) Reload() {
	a.mu.Lock()
	win := a.win
	a.mu.Unlock()
	if win != nil {
		win.Reload()
	}
}

// About shows the version and the connection (Help › About).
func (a *App) About() {
	a.mu.Lock()
	win := a.win
	text := a.aboutText()
	a.mu.Unlock()
	if win != nil {
		win.Message("About Causeway", text)
	}
}

func (a *App) aboutText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Causeway desktop %s\nAn event-flow studio for Kafka and NATS JetStream.\n\n", a.version)
	c := a.conn
	switch {
	case c == nil:
		b.WriteString("Not connected: File › Connect… to choose a studio.\n")
	case c.local != nil:
		col := c.local.srv.Collector()
		fmt.Fprintf(&b, "Local studio: %s\nOTLP/HTTP: %s\nOTLP/gRPC: %s\nData: %s\n", c.studio, col.HTTPAddr(), col.GRPCAddr(), c.local.dataDir)
	default:
		fmt.Fprintf(&b, "Remote studio: %s\n", c.studio)
	}
	if c != nil {
		for _, n := range c.notices {
			b.WriteString("\n" + n + "\n")
		}
	}
	fmt.Fprintf(&b, "\nSettings: %s", a.opts.ConfigPath)
	return b.String()
}

// Close disconnects (stopping a local studio, which flushes it to its
// store) and stops the gateway.
func (a *App) Close(ctx context.Context) error {
	a.mu.Lock()
	a.closed = true
	a.gen++
	a.mu.Unlock()
	// An attempt under way finishes first (a local studio half started
	// cannot be stopped), then sees it was superseded and undoes itself.
	a.pending.Wait()
	a.mu.Lock()
	c := a.conn
	a.conn = nil
	a.mu.Unlock()
	err := a.disconnect(ctx, c)
	if n, ok := a.notify.(io.Closer); ok {
		err = errors.Join(err, n.Close())
	}
	err = errors.Join(err, a.gw.Close(ctx))
	a.log.Info("desktop app stopped")
	return err
}

// connectRequest is the start screen's choice.
type connectRequest struct {
	Mode  string `json:"mode"`
	URL   string `json:"url"`
	Token string `json:"token"`
	// KeepToken uses the saved token when Token is empty.
	KeepToken bool `json:"keep_token"`
	Demo      bool `json:"demo"`
	// Insecure confirms a plain http:// URL to a host that is not
	// loopback (the start screen's checkbox, --insecure).
	Insecure bool `json:"insecure"`
}

// connect starts a connection attempt in the background; the start
// screen follows it through /__causeway/state.
func (a *App) connect(req connectRequest) error {
	var studio *url.URL
	switch req.Mode {
	case ModeLocal:
	case ModeRemote:
		var err error
		if studio, err = ParseStudioURL(req.URL); err != nil {
			return err
		}
		if err := CheckPlaintext(studio, req.Insecure); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown mode %q (local or remote)", req.Mode)
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return errors.New("the app is closing")
	}
	if a.state == StateStarting {
		a.mu.Unlock()
		return errors.New("a connection is being made: wait for it")
	}
	if req.Mode == ModeRemote && req.Token == "" && req.KeepToken && sameStudio(a.cfg.Remote.URL, studio) {
		req.Token = a.cfg.Remote.Token
	}
	a.gen++
	gen := a.gen
	old := a.conn
	a.conn = nil
	a.state, a.err = StateStarting, ""
	a.live = liveReport{}
	a.pending.Add(1)
	a.mu.Unlock()
	a.gw.SetTarget(nil, "")
	a.setTitle()
	go func() {
		defer a.pending.Done()
		// A local studio on the standard ports must stop before another starts.
		if err := a.disconnect(context.Background(), old); err != nil {
			a.log.Warn("closing the previous studio", "error", err)
		}
		c, err := a.open(req, studio)
		a.mu.Lock()
		if gen != a.gen { // closed or superseded meanwhile
			a.mu.Unlock()
			if c != nil {
				a.disconnect(context.Background(), c)
			}
			return
		}
		if err != nil {
			a.state, a.err = StateFailed, err.Error()
			a.mu.Unlock()
			a.log.Error("could not connect", "mode", req.Mode, "error", err)
			a.setTitle()
			return
		}
		token := ""
		if c.local == nil {
			token = req.Token
		}
		a.gw.SetTarget(c.studio, token)
		ctx, stop := context.WithCancel(context.Background())
		c.stop = stop
		c.watched.Go(func() { watchAlerts(ctx, c.studio, token, a.notify, a.openView, a.log) })
		if c.local != nil {
			c.watched.Go(func() { a.watchLocal(ctx, gen, c.local) })
		}
		a.conn, a.state = c, StateReady
		a.cfg.Mode, a.cfg.GatewayPort = req.Mode, a.gw.Port()
		if req.Mode == ModeLocal {
			a.cfg.Demo = req.Demo
		} else {
			a.cfg.Remote = Remote{URL: studio.String(), Token: req.Token, Insecure: req.Insecure && studio.Scheme == "http"}
		}
		// Saved before the lock is released, so that whoever sees "ready"
		// finds the choice remembered.
		if err := SaveConfig(a.opts.ConfigPath, a.cfg); err != nil {
			a.log.Warn("could not remember the choice", "error", err)
		}
		a.mu.Unlock()
		a.log.Info("connected", "mode", c.mode, "studio", c.studio.String(), "gateway", a.gw.URL())
		a.setTitle()
	}()
	return nil
}

// open makes a connection: starts a local studio, or checks a remote one.
func (a *App) open(req connectRequest, studio *url.URL) (*connection, error) {
	if req.Mode == ModeLocal {
		l, err := startLocal(context.Background(), a.opts, req.Demo, a.log)
		if err != nil {
			return nil, err
		}
		u, err := url.Parse(l.URL())
		if err != nil {
			l.Close(context.Background())
			return nil, err
		}
		label := "local studio"
		if req.Demo {
			label = "local studio with the demo"
		}
		return &connection{mode: ModeLocal, label: label, studio: u, local: l, notices: l.notices}, nil
	}
	if err := checkStudio(studio, req.Token); err != nil {
		return nil, err
	}
	return &connection{mode: ModeRemote, label: studio.Host + studio.Path, studio: studio}, nil
}

// disconnect stops c's alert watcher and, in local mode, its studio.
func (a *App) disconnect(ctx context.Context, c *connection) error {
	if c == nil {
		return nil
	}
	if c.stop != nil {
		c.stop()
		c.watched.Wait()
	}
	if c.local != nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return c.local.Close(ctx)
	}
	return nil
}

// watchLocal tells the user when the local studio stops serving on its
// own (not by disconnect, which cancels ctx first).
func (a *App) watchLocal(ctx context.Context, gen int, l *localStudio) {
	select {
	case <-ctx.Done():
		return
	case err := <-l.srv.Done():
		a.mu.Lock()
		if gen != a.gen || ctx.Err() != nil {
			a.mu.Unlock()
			return
		}
		a.state, a.err = StateFailed, fmt.Sprintf("the local studio stopped: %v", err)
		a.mu.Unlock()
		a.log.Error("the local studio stopped", "error", err)
		a.setTitle()
	}
}

// checkStudio asks a remote studio something every token may read, to
// tell the user now, on the start screen, about a wrong URL or token.
func checkStudio(studio *url.URL, token string) error {
	req, err := http.NewRequest(http.MethodGet, studio.String()+"/api/v1/flows?since=1m", nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	cl := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	resp, err := cl.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the studio at %s: %w", studio, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusUnauthorized && token == "":
		return fmt.Errorf("the studio at %s needs an API token", studio)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("the studio at %s refused the token (%s)", studio, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s does not answer as a Causeway studio (GET /api/v1/flows: %s)", studio, resp.Status)
	case !json.Valid(body):
		return fmt.Errorf("%s does not answer as a Causeway studio (GET /api/v1/flows did not return JSON)", studio)
	}
	return nil
}

// sameStudio reports whether saved is the URL u (so its token applies).
func sameStudio(saved string, u *url.URL) bool {
	s, err := ParseStudioURL(saved)
	return err == nil && s.String() == u.String()
}

// setTitle shows the connection and the live channel's state in the title.
func (a *App) setTitle() {
	a.mu.Lock()
	win := a.win
	title := a.title()
	a.mu.Unlock()
	if win != nil {
		win.SetTitle(title)
	}
}

func (a *App) title() string {
	switch a.state {
	case StateStarting:
		return "Causeway — connecting…"
	case StateFailed:
		return "Causeway — not connected"
	case StateReady:
		t := "Causeway — " + a.conn.label
		if a.conn.local != nil {
			t += " · " + a.conn.studio.Host
		}
		if s := a.live.Status; s != "" && a.live.Path != "" && !strings.HasPrefix(a.live.Path, controlPrefix) {
			t += " · " + s
		}
		return t
	}
	return "Causeway"
}

// The start screen and the script added to the UI's pages.
var (
	//go:embed start.html
	startPage []byte
	//go:embed desktop.js
	glueScript []byte
)

// liveReport is what the app's script in the UI's pages reports about
// the live channel as the page sees it: the UI's own status label and the
// frames the page's websockets received. The app logs it (the proof that
// live updates reach the webview) and shows the status in the title.
type liveReport struct {
	Path   string `json:"path"`
	Status string `json:"status"`
	// Frames counts the websocket frames the page received, by channel.
	Frames   int            `json:"frames"`
	Channels map[string]int `json:"channels"`
	// Sockets counts the websockets the page opened.
	Sockets int `json:"sockets"`
	// Elements counts the page's elements by data-testid (what is drawn).
	Elements map[string]int `json:"elements"`
}

// state is the start screen's view of the app.
type state struct {
	State   string   `json:"state"`
	Error   string   `json:"error,omitempty"`
	Notices []string `json:"notices,omitempty"`
	// Next is where the webview goes once connected.
	Next     string `json:"next,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Studio   string `json:"studio,omitempty"`
	URL      string `json:"url,omitempty"`
	HasToken bool   `json:"has_token"`
	Insecure bool   `json:"insecure"`
	Demo     bool   `json:"demo"`
	Version  string `json:"version"`
	UIBuilt  bool   `json:"ui_built"`
	Config   string `json:"config"`
}

func (a *App) snapshot() state {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := state{State: a.state, Error: a.err, Next: a.next, Mode: a.cfg.Mode, URL: a.cfg.Remote.URL, HasToken: a.cfg.Remote.Token != "", Insecure: a.cfg.Remote.Insecure,
		Demo: a.cfg.Demo, Version: a.version, UIBuilt: frontend.Built(), Config: a.opts.ConfigPath}
	if a.conn != nil {
		s.Mode, s.Studio, s.Notices = a.conn.mode, a.conn.studio.String(), a.conn.notices
	}
	return s
}

// controlHandler serves the app's pages under /__causeway/ on the gateway.
func (a *App) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+controlPrefix+"start", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(startPage)
	})
	mux.HandleFunc("GET "+controlPrefix+"desktop.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(glueScript)
	})
	mux.HandleFunc("GET "+controlPrefix+"state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, a.snapshot())
	})
	mux.HandleFunc("POST "+controlPrefix+"connect", func(w http.ResponseWriter, r *http.Request) {
		var req connectRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
			apiError(w, http.StatusBadRequest, "bad_request", "cannot read the request: "+err.Error())
			return
		}
		if err := a.connect(req); err != nil {
			apiError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		writeJSON(w, http.StatusAccepted, a.snapshot())
	})
	mux.HandleFunc("POST "+controlPrefix+"opened", func(w http.ResponseWriter, r *http.Request) {
		// The start screen moved on to the UI: later connections open "/".
		a.mu.Lock()
		a.next = "/"
		a.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+controlPrefix+"live", func(w http.ResponseWriter, r *http.Request) {
		var rep liveReport
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&rep); err != nil {
			apiError(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		a.onLiveReport(rep)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// onLiveReport logs what the page says about its live channel — the
// first frames, every change of status, a summary every 15 s, and every
// report at debug level — and keeps the title current.
func (a *App) onLiveReport(rep liveReport) {
	a.mu.Lock()
	prev := a.live
	a.live = rep
	summary := time.Since(a.liveSeen) >= 15*time.Second
	if summary {
		a.liveSeen = time.Now()
	}
	a.mu.Unlock()
	args := []any{"path", rep.Path, "status", rep.Status, "frames", rep.Frames, "channels", rep.Channels, "sockets", rep.Sockets}
	switch {
	case prev.Frames == 0 && rep.Frames > 0:
		a.log.Info("webview: live updates arriving", args...)
	case prev.Status != rep.Status:
		a.log.Info("webview: live channel "+rep.Status, args...)
	case summary:
		a.log.Info("webview: live updates", args...)
	}
	a.log.Debug("webview report", append(args, "elements", rep.Elements)...)
	if prev.Status != rep.Status {
		a.setTitle()
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
