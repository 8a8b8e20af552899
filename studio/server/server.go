// Package server assembles a running studio: the store, the collector
// writing to it, the REST API, the live websocket hub, the alert engine,
// the replay engine and the embedded UI, behind token auth. `causeway
// studio`, `causeway demo` and the desktop app all run one.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/frontend"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/api"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/live"
)

// Config is the studio's part of the configuration (YAML key "studio").
type Config struct {
	// Listen is the API's address (default 127.0.0.1:7070).
	Listen string `yaml:"listen"`
	// Tokens are the API tokens; without any, the studio only listens on loopback.
	Tokens []auth.Token `yaml:"tokens"`
	// Origins are websocket Origins accepted besides the studio's own
	// ("wails://wails", the desktop app, is always accepted).
	Origins []string `yaml:"origins"`
	// Alerts configures the alert engine.
	Alerts AlertsConfig `yaml:"alerts"`
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
	if guard.Open() {
		if err := LoopbackOnly(s.Studio.Listen); err != nil {
			return nil, UsageError{err}
		}
	}
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
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
	srv.col, err = collector.New(s.Collector, st, log)
	if err != nil {
		return nil, err
	}
	srv.hub = live.NewHub(live.Options{AllowedOrigins: append([]string{"wails://wails"}, s.Studio.Origins...)}, log)
	srv.col.OnStored(srv.hub.Publish)
	if err := srv.col.Start(ctx); err != nil {
		return nil, err
	}
	undo = append(undo, func() { srv.col.Shutdown(context.Background()) })
	alerts := alert.NewEngine(st, alert.NewSender(alert.SenderOptions{AllowLoopback: s.Studio.Alerts.AllowLoopback,
		AllowPrivate: s.Studio.Alerts.AllowPrivate}), log)
	for _, r := range s.Studio.Alerts.Rules {
		if err := alerts.Put(r); err != nil {
			return nil, UsageError{fmt.Errorf("alert rule from the config file: %w", err)}
		}
	}
	srv.ln, err = net.Listen("tcp", s.Studio.Listen)
	if err != nil {
		return nil, fmt.Errorf("studio listen on %s: %w", s.Studio.Listen, err)
	}
	undo = append(undo, func() { srv.ln.Close() })

	actx, stopAlerts := context.WithCancel(context.WithoutCancel(ctx))
	srv.stop = stopAlerts
	interval := s.Studio.Alerts.Interval
	if interval <= 0 {
		interval = 15 * time.Second
	}
	go func() { defer close(srv.alerts); alerts.Run(actx, max(interval, time.Second)) }()

	apiMux := http.NewServeMux()
	a := api.New(st, log)
	a.Register(apiMux)
	a.RegisterAlerts(apiMux, alerts, func(h http.Handler) http.Handler { return guard.Require(auth.Operator, h) })
	apiMux.Handle("GET /api/v1/live", srv.hub)
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/health", apiMux) // open, for load balancers
	mux.Handle("/api/v1/", guard.Require(auth.Viewer, apiMux))
	mux.Handle("/", frontend.Handler()) // static files only; every API call checks its token
	srv.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { srv.served <- srv.srv.Serve(srv.ln) }()
	log.Info("studio running", "url", srv.URL(), "otlp_http", srv.col.HTTPAddr(), "otlp_grpc", srv.col.GRPCAddr(), "store", store.Redact(s.Store))
	return srv, nil
}

// URL is the studio's base URL, e.g. http://127.0.0.1:7070.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

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
	err := errors.Join(s.hub.Close(ctx), s.srv.Shutdown(ctx), s.col.Shutdown(ctx))
	return errors.Join(err, s.st.Close())
}

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
