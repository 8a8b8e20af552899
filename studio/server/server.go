// Package server assembles a running studio: the store, the collector
// writing to it, the REST API, the live websocket hub, the alert engine,
// the replay engine and the embedded UI, behind token auth. `causeway
// studio`, `causeway demo` and the desktop app all run one.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/frontend"
	"github.com/causeway-dev/causeway/store"
	_ "github.com/causeway-dev/causeway/store/clickhouse" // registers clickhouse://
	_ "github.com/causeway-dev/causeway/store/embedded"   // registers embedded://
	"github.com/causeway-dev/causeway/store/retention"
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/api"
	"github.com/causeway-dev/causeway/studio/audit"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/flowmetrics"
	"github.com/causeway-dev/causeway/studio/journey"
	"github.com/causeway-dev/causeway/studio/live"
	"github.com/causeway-dev/causeway/studio/replay"
)

// Config is the studio's part of the configuration (YAML key "studio").
type Config struct {
	// Listen is the API's address (default 127.0.0.1:7070).
	Listen string `yaml:"listen"`
	// Tokens are the API tokens; without any, the studio only listens on loopback.
	Tokens []auth.Token `yaml:"tokens"`
	// Origins are the browser origins, besides the studio's own, allowed
	// to use the API (CORS) and the websocket: another studio's UI pointed
	// here in its Settings, say. "wails://wails" (the desktop app) is
	// always accepted on the websocket.
	Origins []string `yaml:"origins"`
	// TLS serves the studio over HTTPS, or mutual TLS with client_ca_file.
	TLS collector.TLSConfig `yaml:"tls"`
	// Alerts configures the alert engine.
	Alerts AlertsConfig `yaml:"alerts"`
	// Replay configures the replay engine's broker connections and limits.
	Replay replay.Config `yaml:"replay"`
	// Query bounds every API read: window, timeout, page and trace sizes.
	Query api.QueryConfig `yaml:"query"`
	// Live bounds the websocket hub: connections and per-client queues.
	Live live.Config `yaml:"live"`
	// SecretKey (base64, 32 bytes) encrypts alert rules at rest: their
	// webhook URLs and secrets are credentials. Studios sharing a store
	// need the same key. Empty: the key in SecretKeyFile.
	SecretKey string `yaml:"secret_key"`
	// SecretKeyFile holds the key; it is created (0600) when missing.
	// With neither set, a key is made for this run only, and rules saved
	// now cannot be read after a restart.
	SecretKeyFile string `yaml:"secret_key_file"`
	// PayloadsMinRole is the least role that sees message payloads: DLQ
	// entry payloads and dry-run payload previews (default operator;
	// viewer shows them to every token).
	PayloadsMinRole string `yaml:"payloads_min_role"`
	// PublicURL is the studio's address as people reach it (behind a
	// proxy, say): alert notifications link into the UI with it. Empty:
	// the listen address (http://127.0.0.1:7070 by default).
	PublicURL string `yaml:"public_url"`
}

// DefaultConfig returns the studio's defaults: loopback, no tokens, rules
// evaluated every 15 s, the replay engine's limits.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:7070", Alerts: AlertsConfig{Interval: 15 * time.Second}, Replay: replay.DefaultConfig(),
		Query: api.DefaultQueryConfig(), Live: live.DefaultConfig(), PayloadsMinRole: auth.Operator.String()}
}

// AlertsConfig is the alert engine's part of the configuration.
type AlertsConfig struct {
	// Interval is how often rules are evaluated (default 15s).
	Interval time.Duration `yaml:"interval"`
	// AllowLoopback and AllowPrivate let webhooks target loopback or
	// private addresses (link-local and metadata addresses never).
	AllowLoopback bool `yaml:"allow_loopback"`
	AllowPrivate  bool `yaml:"allow_private"`
	// Rules are loaded at start; the API can add more.
	Rules []alert.Rule `yaml:"rules"`
}

// Setup is everything a studio needs to start.
type Setup struct {
	// Store is the store URL (store.Open).
	Store string
	// Collector configures the in-process collector.
	Collector collector.Config
	// Studio configures the API, auth and alerts.
	Studio Config
	// Log receives the studio's logs.
	Log *slog.Logger
	// Metrics are more Prometheus collectors to serve on /metrics beside
	// the studio's own (the demo's sidecar, say).
	Metrics []prometheus.Collector
	// Retention says how long the store keeps data; the zero value keeps
	// everything.
	Retention retention.Config
	// Journeys are the journeys of the configuration file; more can be
	// defined through the API.
	Journeys []journey.Journey
}

// Server is a running studio.
type Server struct {
	log    *slog.Logger
	st     store.Store
	col    *collector.Collector
	hub    *live.Hub
	srv    *http.Server
	ln     net.Listener
	served chan error
	stop   context.CancelFunc
	alerts chan struct{}

	replayAgent *agent.Agent
	replays     *replay.Engine
	stopTail    context.CancelFunc
	tailDone    chan struct{}
	https       bool // served over TLS
	retention   *retention.Runner
	journeys    *journey.Service
}

// cors answers cross-origin requests from the allowed origins: their
// preflights before auth (they carry no token), and the CORS headers on
// every answer. Other origins get no CORS headers, so browsers keep them out.
func cors(origins []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (slices.Contains(origins, origin) || slices.Contains(origins, "*")) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
			h.Set("Access-Control-Expose-Headers", "Idempotent-Replayed, Location")
			h.Set("Access-Control-Max-Age", "600")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// UsageError is a configuration mistake the user must fix (as opposed to
// a failure at run time).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Start opens the store, starts the collector and serves the studio on
// s.Studio.Listen. Stop it with Shutdown.
func Start(ctx context.Context, s Setup) (_ *Server, err error) {
	guard, err := auth.New(s.Studio.Tokens)
	if err != nil {
		return nil, UsageError{fmt.Errorf("studio tokens: %w", err)}
	}
	if err := errors.Join(s.Studio.Query.Validate(), s.Studio.Live.Validate(), s.Studio.Replay.Validate()); err != nil {
		return nil, UsageError{err}
	}
	if err := s.Retention.Validate(); !s.Retention.Off() && err != nil {
		return nil, UsageError{err}
	}
	payloadsMin := auth.Operator
	if s.Studio.PayloadsMinRole != "" {
		if payloadsMin, err = auth.ParseRole(s.Studio.PayloadsMinRole); err != nil {
			return nil, UsageError{fmt.Errorf("studio.payloads_min_role: %w", err)}
		}
	}
	if guard.Open() {
		if err := LoopbackOnly(s.Studio.Listen); err != nil {
			return nil, UsageError{err}
		}
	}
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	guard.SetLogger(log.With("component", "auth"))
	st, err := store.Open(ctx, s.Store)
	if err != nil {
		return nil, err
	}
	srv := &Server{log: log, st: st, served: make(chan error, 1), alerts: make(chan struct{})}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	undo = append(undo, func() { st.Close() })
	// The collector writes through the journey ledger's writer: every
	// stored batch's events update the ledger (studio/journey).
	ledgerWriter, journeys, err := journey.Open(ctx, st, s.Journeys, log.With("component", "journeys"))
	if errors.Is(err, journey.ErrInvalid) {
		return nil, UsageError{fmt.Errorf("journeys: %w", err)}
	}
	if err != nil {
		return nil, err
	}
	ledgerWriter.OnUpdate(func(ups []store.LedgerUpdate) {
		for _, f := range journey.Frames(ups) {
			srv.hub.Broadcast(live.ChannelJourneys, f, func(fl live.Filter) bool { return fl.Journey == "" || fl.Journey == f.Journey })
		}
	})
	journeySvc := journey.NewService(journeys, ledgerWriter.Ledger(), st)
	srv.journeys = journeySvc
	undo = append(undo, journeySvc.Close)
	srv.col, err = collector.New(s.Collector, ledgerWriter, log)
	if err != nil {
		return nil, err
	}
	srv.hub = live.NewHub(live.Options{AllowedOrigins: append([]string{"wails://wails"}, s.Studio.Origins...), Config: s.Studio.Live,
		Authorize: api.AuthorizeChannel}, log)
	// The flow metrics see what the live stream sees.
	flow := flowmetrics.New(flowmetrics.Options{})
	publish := func(b *store.Batch) { srv.hub.Publish(b); flow.Observe(b) }
	tctx, stopTail := context.WithCancel(context.WithoutCancel(ctx))
	srv.stopTail, srv.tailDone = stopTail, make(chan struct{})
	if s.Collector.Ingest != "" {
		// Behind a load balancer: every studio's live stream follows the
		// ingest topic, which carries what every collector receives.
		go func() {
			defer close(srv.tailDone)
			if err := collector.Tail(tctx, s.Collector, publish); err != nil {
				log.Error("live stream from the ingest topic stopped", "error", err)
			}
		}()
	} else {
		close(srv.tailDone)
		srv.col.OnStored(publish)
	}
	undo = append(undo, func() { stopTail(); <-srv.tailDone })
	if err := srv.col.Start(ctx); err != nil {
		return nil, err
	}
	undo = append(undo, func() { srv.col.Shutdown(context.Background()) })
	// Retention runs beside the writer, on the store the studio opened.
	srv.retention = retention.New(s.Retention, st, log)
	srv.retention.Start(ctx)
	undo = append(undo, srv.retention.Stop)
	alerts := alert.NewEngine(st, alert.NewSender(alert.SenderOptions{AllowLoopback: s.Studio.Alerts.AllowLoopback,
		AllowPrivate: s.Studio.Alerts.AllowPrivate}), log)
	sealer, err := rulesSealer(s.Studio, log)
	if err != nil {
		return nil, UsageError{err}
	}
	alerts.SetSealer(sealer)
	if err := alerts.Load(ctx); err != nil {
		return nil, err
	}
	for _, r := range s.Studio.Alerts.Rules {
		if err := alerts.Put(r); err != nil {
			return nil, UsageError{fmt.Errorf("alert rule from the config file: %w", err)}
		}
	}
	alerts.OnEvent(func(ev alert.Event) { srv.hub.Broadcast(live.ChannelAlerts, ev, nil) })
	srv.replayAgent, err = replayAgent(ctx, srv.col)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { srv.replayAgent.Close(context.Background()) })
	srv.replays, err = replay.New(ctx, s.Studio.Replay, st, srv.replayAgent,
		func(r store.Replay) { srv.hub.PublishReplay(r.ID, api.NewReplayView(r)) }, log.With("component", "replay"))
	if err != nil {
		return nil, err
	}
	undo = append(undo, srv.replays.Close)
	// This process's own audit chain: studios sharing a store never fork one.
	auditLog := audit.New(st, audit.NewWriter())
	srv.replays.SetAudit(auditLog)
	if err := srv.replays.Recover(ctx); err != nil {
		return nil, err
	}
	tlsCfg, err := s.Studio.TLS.ServerConfig("http/1.1") // HTTP/1.1: the websocket upgrades over it
	if err != nil {
		return nil, UsageError{fmt.Errorf("studio: %w", err)}
	}
	srv.ln, err = net.Listen("tcp", s.Studio.Listen)
	if err != nil {
		return nil, fmt.Errorf("studio listen on %s: %w", s.Studio.Listen, err)
	}
	if tlsCfg != nil {
		srv.ln, srv.https = tls.NewListener(srv.ln, tlsCfg), true
	}
	undo = append(undo, func() { srv.ln.Close() })

	actx, stopAlerts := context.WithCancel(context.WithoutCancel(ctx))
	srv.stop = stopAlerts
	interval := s.Studio.Alerts.Interval
	if interval <= 0 {
		interval = 15 * time.Second
	}
	// Notifications link into the UI at the public URL, by default where
	// the studio listens.
	publicURL := s.Studio.PublicURL
	if publicURL == "" {
		scheme := "http://"
		if srv.https {
			scheme = "https://"
		}
		publicURL = scheme + DialAddr(srv.ln.Addr().String())
	}
	if err := alerts.SetPublicURL(publicURL); err != nil {
		stopAlerts()
		return nil, UsageError{fmt.Errorf("studio.public_url: %w", err)}
	}
	alerts.SetJourneys(journeySvc)
	go func() { defer close(srv.alerts); alerts.Run(actx, max(interval, time.Second)) }()

	apiMux := http.NewServeMux()
	a := api.New(st, log)
	a.SetQueryConfig(s.Studio.Query)
	// Every route checks its own role, from api's route table (roles.go).
	a.SetGuard(guard)
	a.SetPayloadsMinRole(payloadsMin)
	a.SetAudit(auditLog)
	a.SetHealth(srv.col.Health) // /api/v1/health and /api/v1/ready
	a.Register(apiMux)
	a.RegisterAlerts(apiMux, alerts)
	a.RegisterReplays(apiMux, srv.replays)
	a.RegisterJourneys(apiMux, journeySvc)
	a.Mount(apiMux, "GET /api/v1/live", srv.hub)
	guard.AllowQueryToken("/api/v1/live")
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", apiMux)
	// Prometheus scrapes with any valid token (its authorization config),
	// or none in open mode.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		srv.col, a, alerts, srv.replays, srv.hub, flow, srv.retention)
	reg.MustRegister(s.Metrics...)
	mux.Handle("GET /metrics", guard.Require(auth.Viewer, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError), ErrorHandling: promhttp.ContinueOnError})))
	mux.Handle("/", auth.SecurityHeaders(frontend.Handler())) // static files only; every API call checks its token
	handler := auth.Browser(auth.BrowserOptions{Open: guard.Open(), Origins: append([]string{"wails://wails"}, s.Studio.Origins...)},
		cors(s.Studio.Origins, mux))
	srv.srv = &http.Server{Handler: handler, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, IdleTimeout: idleTimeout}
	go func() { srv.served <- srv.srv.Serve(srv.ln) }()
	log.Info("studio running", "url", srv.URL(), "otlp_http", srv.col.HTTPAddr(), "otlp_grpc", srv.col.GRPCAddr(), "store", store.Redact(s.Store))
	return srv, nil
}

// URL is the studio's base URL, e.g. http://127.0.0.1:7070, or https://
// with studio.tls.
func (s *Server) URL() string {
	if s.https {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Collector is the in-process collector (its OTLP addresses).
func (s *Server) Collector() *collector.Collector { return s.col }

// Store is the store the studio reads and the collector writes.
func (s *Server) Store() store.Store { return s.st }

// Done is closed when the HTTP server stopped on its own (Err says why).
func (s *Server) Done() <-chan error { return s.served }

// Shutdown stops serving, lets the collector flush to the store and closes it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	<-s.alerts
	s.retention.Stop()
	err := s.srv.Shutdown(ctx)
	s.replays.Close()
	s.journeys.Close() // backfills, before the store closes
	s.stopTail()
	<-s.tailDone
	err = errors.Join(err, s.replayAgent.Close(ctx), s.hub.Close(ctx), s.col.Shutdown(ctx))
	return errors.Join(err, s.st.Close())
}

// rulesSealer returns the sealer of stored alert rules, with the key the
// configuration gives.
func rulesSealer(c Config, log *slog.Logger) (*alert.Sealer, error) {
	var key []byte
	var err error
	switch {
	case c.SecretKey != "":
		key, err = alert.ParseKey(c.SecretKey)
	case c.SecretKeyFile != "":
		key, err = alert.LoadOrCreateKey(c.SecretKeyFile)
	default:
		log.Warn("no studio.secret_key_file: alert rules saved now are sealed with a key for this run only")
		key = make([]byte, alert.KeySize)
		rand.Read(key)
	}
	if err != nil {
		return nil, fmt.Errorf("studio secret key: %w", err)
	}
	return alert.NewSealer(key)
}

// replayAgent is the agent the replay engine publishes through, exporting
// to this studio's own collector (nowhere when its OTLP/HTTP receiver is
// off: replays then leave no trace in the graph).
func replayAgent(ctx context.Context, col *collector.Collector) (*agent.Agent, error) {
	opts := []agent.Option{agent.WithService("causeway-replay")}
	// Not dialled when the receivers want a client certificate or a token:
	// the spans go straight to the OTLP/HTTP handler, with this process's
	// own token.
	if (col.TLS() || col.InternalToken() != "") && col.HTTPAddr() != "" {
		exp, err := inProcessExporter(ctx, col.Handler(), col.InternalToken())
		if err != nil {
			return nil, err
		}
		return agent.New(ctx, append(opts, agent.WithExporter(exp))...)
	}
	if addr := col.HTTPAddr(); addr != "" {
		opts = append(opts, agent.WithCollector("http://"+DialAddr(addr)))
	} else {
		opts = append(opts, agent.WithExporter(discard{}))
	}
	return agent.New(ctx, opts...)
}

// DialAddr turns a listen address into one to connect to: an unspecified
// host (":4318", "0.0.0.0:4318", "[::]:4318") becomes 127.0.0.1.
func DialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// discard is a span exporter that drops everything.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// LoopbackOnly refuses addresses other machines can reach, for a studio
// without API tokens.
func LoopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %q: without API tokens the studio only listens on a loopback address; configure studio.tokens or CAUSEWAY_STUDIO_TOKENS (name:role:token)", addr)
}
