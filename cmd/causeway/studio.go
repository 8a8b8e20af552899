package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/causeway-dev/causeway/studio/server"
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
// until ctx is done; ready, when set, is called with the running studio
// once everything listens.
// metrics are served on /metrics beside the studio's own.
func serveStudio(ctx context.Context, cfg config, stdout io.Writer, ready func(*server.Server), metrics ...prometheus.Collector) error {
	log := newLogger(cfg, os.Stderr)
	srv, err := server.Start(ctx, server.Setup{Store: cfg.Store, Collector: cfg.Collector, Studio: cfg.Studio, Log: log, Metrics: metrics,
		Retention: cfg.Retention, Journeys: cfg.Journeys})
	if err != nil {
		return err
	}
	col := srv.Collector()
	fmt.Fprintf(stdout, "causeway studio: %s (API on %s/api/v1), OTLP/HTTP on %s, OTLP/gRPC on %s\n", srv.URL(), srv.URL(), col.HTTPAddr(), col.GRPCAddr())
	if ready != nil {
		ready(srv)
	}
	select {
	case <-ctx.Done():
	case err = <-srv.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	return errors.Join(err, srv.Shutdown(sctx))
}
