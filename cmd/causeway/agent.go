package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/sidecar"
)

// runAgent runs `causeway agent`, the broker sidecar, until ctx is
// cancelled. Its settings are the agent: section of the settings table
// (settings.go), from the file, the environment and the flags.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s := newSettings("agent")
	s.fs.SetOutput(stderr)
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	c, err := s.load()
	if err != nil {
		return err
	}
	cfg := c.Agent
	if err := cfg.Resolve(); err != nil {
		return usageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{fmt.Errorf("agent: %w", err)}
	}
	log := newLogger(c, os.Stderr)
	cfg.Counters = new(sidecar.Counters)
	metrics, err := serveMetrics(cfg.MetricsAddr, log, sidecarMetrics{cfg.Counters})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "causeway agent: watching Kafka %q (%s) and NATS %q (%s), sending to %s, metrics on %s\n",
		strings.Join(cfg.KafkaBrokers, ","), cfg.Kafka, brokerconn.RedactURL(cfg.NATSURL), cfg.NATS, brokerconn.RedactURL(cfg.Collector), metricsURL(metrics))
	err = sidecar.Run(ctx, cfg, log)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, metrics.Shutdown(sctx))
}
