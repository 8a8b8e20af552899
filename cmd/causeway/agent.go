package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/agent/sidecar"
)

// runAgent runs `causeway agent`, the broker sidecar, until ctx is cancelled.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("causeway agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("kafka-brokers", os.Getenv("CAUSEWAY_KAFKA_BROKERS"), "comma-separated Kafka seed `brokers` (env CAUSEWAY_KAFKA_BROKERS)")
	natsURL := fs.String("nats-url", os.Getenv("CAUSEWAY_NATS_URL"), "NATS server `URL` whose JetStream consumers and advisories to watch (env CAUSEWAY_NATS_URL)")
	coll := fs.String("collector", envOr("CAUSEWAY_COLLECTOR", "http://127.0.0.1:4318"), "collector OTLP/HTTP `URL` (env CAUSEWAY_COLLECTOR)")
	cluster := fs.String("cluster", "", "cluster `name` to report")
	interval := fs.Duration("interval", 5*time.Second, "lag sampling `interval`")
	patterns := fs.String("dlq-patterns", strings.Join(sidecar.DefaultDLQPatterns, ","), "comma-separated dead-letter topic `globs`")
	stopAfter := fs.Duration("stop-after", 5*time.Minute, "how long a stalled partition takes to become STOP")
	level := fs.String("log-level", "info", "log `level`")
	metricsAddr := fs.String("metrics-addr", envOr("CAUSEWAY_AGENT_METRICS_ADDR", "127.0.0.1:9464"), `address where Prometheus /metrics are served ("off" disables; env CAUSEWAY_AGENT_METRICS_ADDR)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *brokers == "" && *natsURL == "" {
		return usageError{fmt.Errorf("give --kafka-brokers, --nats-url, or both")}
	}
	l, err := logLevel(*level)
	if err != nil {
		return usageError{err}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
	var kafka []string
	if *brokers != "" {
		kafka = strings.Split(*brokers, ",")
	}
	counters := new(sidecar.Counters)
	cfg := sidecar.Config{KafkaBrokers: kafka, NATSURL: *natsURL, Cluster: *cluster, Collector: *coll,
		Interval: *interval, DLQPatterns: strings.Split(*patterns, ","), Lag: sidecar.LagOptions{StopAfter: *stopAfter},
		Counters: counters}
	metrics, err := serveMetrics(*metricsAddr, log, sidecarMetrics{counters})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "causeway agent: watching Kafka %q and NATS %q, sending to %s, metrics on %s\n", *brokers, *natsURL, *coll, metricsURL(metrics))
	err = sidecar.Run(ctx, cfg, log)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, metrics.Shutdown(sctx))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
