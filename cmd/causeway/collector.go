package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/store"
	_ "github.com/causeway-dev/causeway/store/clickhouse" // registers clickhouse://
	_ "github.com/causeway-dev/causeway/store/embedded"   // registers embedded://
	"github.com/causeway-dev/causeway/store/retention"
	"github.com/causeway-dev/causeway/studio/journey"
)

// runCollector runs `causeway collector` until ctx is cancelled.
func runCollector(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s := newSettings("collector")
	s.fs.SetOutput(stderr)
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if s.fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", s.fs.Args())}
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	log := newLogger(cfg, os.Stderr)
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	// The collector writes through the journey ledger's writer, so the
	// ledger is kept here too (journeys from the file and the store).
	w, _, err := journey.Open(ctx, st, cfg.Journeys, log.With("component", "journeys"))
	if errors.Is(err, journey.ErrInvalid) {
		return usageError{fmt.Errorf("journeys: %w", err)}
	}
	if err != nil {
		return err
	}
	c, err := collector.New(cfg.Collector, w, log)
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	// Retention runs beside the writer, on the store this collector writes.
	ret := retention.New(cfg.Retention, st, log)
	ret.Start(ctx)
	defer ret.Stop()
	metrics, err := serveMetrics(cfg.Collector.MetricsAddr, log, c, ret)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return errors.Join(err, c.Shutdown(sctx))
	}
	log.Info("collector running", "otlp_http", c.HTTPAddr(), "otlp_grpc", c.GRPCAddr(), "metrics", metrics.Addr(), "store", store.Redact(cfg.Store), "spool", cfg.Collector.SpoolDir)
	fmt.Fprintf(stdout, "causeway collector: OTLP/HTTP on %s, OTLP/gRPC on %s, metrics on %s\n", c.HTTPAddr(), c.GRPCAddr(), metricsURL(metrics))
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(metrics.Shutdown(sctx), c.Shutdown(sctx))
}
