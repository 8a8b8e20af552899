package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/frontend"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/api"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/live"
)

// runStudio runs `causeway studio`: the API on --listen and, in the same
// process, the collector writing to the same store.
func runStudio(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s := newSettings("studio")
	s.fs.SetOutput(stderr)
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	return serveStudio(ctx, cfg, stdout, nil)
}

// serveStudio runs the studio (store, collector, API, live hub, alerts)
// until ctx is done; ready, when set, is called once everything listens.
func serveStudio(ctx context.Context, cfg config, stdout io.Writer, ready func()) error {
	guard, err := auth.New(cfg.Studio.Tokens)
	if err != nil {
		return usageError{fmt.Errorf("studio tokens: %w", err)}
	}
	listen := &cfg.Studio.Listen
	if guard.Open() {
		if err := loopbackOnly(*listen); err != nil {
			return usageError{err}
		}
	}
	log := newLogger(cfg, os.Stderr)
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	col, err := collector.New(cfg.Collector, st, log)
	if err != nil {
		return err
	}
	hub := live.NewHub(live.Options{AllowedOrigins: []string{"wails://wails"}}, log)
	col.OnStored(hub.Publish)
	if err := col.Start(ctx); err != nil {
		return err
	}
	alerts := alert.NewEngine(st, alert.NewSender(alert.SenderOptions{AllowLoopback: cfg.Studio.Alerts.AllowLoopback,
		AllowPrivate: cfg.Studio.Alerts.AllowPrivate}), log)
	for _, r := range cfg.Studio.Alerts.Rules {
		if err := alerts.Put(r); err != nil {
			col.Shutdown(context.Background())
			return usageError{fmt.Errorf("alert rule from the config file: %w", err)}
		}
	}
	actx, stopAlerts := context.WithCancel(ctx)
	alertsDone := make(chan struct{})
	go func() { defer close(alertsDone); alerts.Run(actx, max(cfg.Studio.Alerts.Interval, time.Second)) }()
	defer func() { stopAlerts(); <-alertsDone }()
	apiMux := http.NewServeMux()
	a := api.New(st, log)
	a.Register(apiMux)
	a.RegisterAlerts(apiMux, alerts, func(h http.Handler) http.Handler { return guard.Require(auth.Operator, h) })
	apiMux.Handle("GET /api/v1/live", hub)
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/health", apiMux) // open, for load balancers
	mux.Handle("/api/v1/", guard.Require(auth.Viewer, apiMux))
	mux.Handle("/", frontend.Handler()) // static files only; every API call checks its token
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		col.Shutdown(context.Background())
		return fmt.Errorf("studio listen on %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("studio running", "api", "http://"+ln.Addr().String()+"/api/v1", "otlp_http", col.HTTPAddr(), "otlp_grpc", col.GRPCAddr(), "store", store.Redact(cfg.Store))
	fmt.Fprintf(stdout, "causeway studio: API on http://%s/api/v1, OTLP/HTTP on %s, OTLP/gRPC on %s\n", ln.Addr(), col.HTTPAddr(), col.GRPCAddr())
	if ready != nil {
		ready()
	}
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	return errors.Join(err, hub.Close(sctx), srv.Shutdown(sctx), col.Shutdown(sctx))
}

// loopbackOnly refuses addresses other machines can reach, for a studio
// without API tokens.
func loopbackOnly(addr string) error {
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
