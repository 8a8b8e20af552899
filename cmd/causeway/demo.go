package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/agent/sidecar"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/otlp"
	"github.com/causeway-dev/causeway/demo"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/server"
)

// runDemo runs `causeway demo`: embedded Kafka and NATS, the demo shop,
// the sidecar and the studio, all in this process.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s := newSettings("demo")
	s.fs.SetOutput(stderr)
	data := s.fs.String("data", filepath.Join(embedded.DefaultDir(), "demo"), "data `directory` (store, spool, JetStream)")
	reset := s.fs.Bool("reset", false, "delete the data directory first")
	kafkaPort := s.fs.Int("kafka-port", 19092, "embedded Kafka `port`")
	natsPort := s.fs.Int("nats-port", 14222, "embedded NATS `port`")
	webhook := s.fs.String("webhook", "", "`URL` the example lag alert notifies (none: log only)")
	faults := s.fs.Bool("faults", true, "poison messages, errors, duplicates and a slow consumer")
	every := s.fs.Duration("order-every", 200*time.Millisecond, "pause between orders")
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if *reset {
		if err := os.RemoveAll(*data); err != nil {
			return fmt.Errorf("--reset: %w", err)
		}
	}
	// The demo's defaults: everything under --data, unless given explicitly.
	s.defaults = func(c *config) {
		c.Store = "embedded://" + filepath.ToSlash(filepath.Join(*data, "store"))
		c.Collector.SpoolDir = filepath.Join(*data, "spool")
		c.Studio.SecretKeyFile = filepath.Join(*data, "secret.key")
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	rule := alert.Rule{ID: "demo-analytics-lag", Name: "analytics is falling behind", Kind: alert.KindLagMessages,
		Group: "analytics", Threshold: 50, For: alert.Duration(30 * time.Second)}
	if *webhook != "" {
		rule.Webhooks = []alert.Webhook{{URL: *webhook}}
	}
	cfg.Studio.Alerts.Rules = append(cfg.Studio.Alerts.Rules, rule)
	cfg.Studio.Alerts.AllowLoopback = true // a local demo may notify a local receiver
	log := newLogger(cfg, os.Stderr)
	if cfg.Collector.TLS.Enabled() {
		// The shop and the sidecar run in this process and send plaintext
		// to the in-process receivers.
		return usageError{errors.New("causeway demo does not take collector.tls: its shop and sidecar send to the in-process collector in plaintext (studio.tls is fine)")}
	}

	b, err := demo.StartBrokers(demo.Config{KafkaPort: *kafkaPort, NATSPort: *natsPort, DataDir: filepath.Join(*data, "jetstream")})
	if err != nil {
		return err
	}
	defer b.Close()
	cfg.Studio.Replay.KafkaBrokers, cfg.Studio.Replay.NATSURL = []string{b.KafkaAddr()}, b.NATSURL()
	fmt.Fprintf(stdout, "causeway demo: Kafka on %s (try: kcat -b %s -L), NATS on %s\n", b.KafkaAddr(), b.KafkaAddr(), b.NATSURL())

	collectorURL := "http://" + server.DialAddr(cfg.Collector.HTTPAddr)
	// The in-process sidecar signs its DLQ entries with a key made for this
	// run, which only this process knows: its entries are trusted, an
	// entry anybody else sends to the OTLP port is not.
	var key [32]byte
	rand.Read(key[:])
	signingKey := hex.EncodeToString(key[:])
	cfg.Collector.TrustedDLQSources = append(cfg.Collector.TrustedDLQSources, collector.TrustedDLQSource{Name: "demo-sidecar", Key: signingKey})
	sidecarCounters := new(sidecar.Counters) // served on the studio's /metrics
	// With ingest tokens configured, the shop and the sidecar send with a
	// token of their own, made for this run.
	var demoToken string
	if len(cfg.Collector.Tokens) > 0 {
		rand.Read(key[:])
		demoToken = hex.EncodeToString(key[:])
		cfg.Collector.Tokens = append(cfg.Collector.Tokens, otlp.Token{Name: "demo", Token: demoToken})
	}
	var wg sync.WaitGroup
	ready := func() {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := demo.Run(ctx, demo.Config{Collector: collectorURL, CollectorToken: demoToken, OrderEvery: *every, Faults: *faults}, b, log); err != nil {
				log.Error("demo shop stopped", "error", err)
			}
		}()
		go func() {
			defer wg.Done()
			err := sidecar.Run(ctx, sidecar.Config{KafkaBrokers: []string{b.KafkaAddr()}, NATSURL: b.NATSURL(), Collector: collectorURL,
				Interval: 2 * time.Second, Cluster: "demo", Lag: sidecar.LagOptions{StopAfter: time.Minute}, Counters: sidecarCounters,
				DLQSigner: "demo-sidecar", DLQSigningKey: []byte(signingKey), CollectorToken: demoToken},
				log.With("component", "sidecar"))
			if err != nil && ctx.Err() == nil {
				log.Error("sidecar stopped", "error", err)
			}
		}()
		scheme := "http"
		if cfg.Studio.TLS.Enabled() {
			scheme = "https"
		}
		fmt.Fprintf(stdout, "causeway demo: the shop is running; open %s://%s in a browser (data in %s; Ctrl-C stops)\n", scheme, cfg.Studio.Listen, *data)
	}
	err = serveStudio(ctx, cfg, stdout, ready, sidecarMetrics{sidecarCounters})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(4 * time.Second):
		slog.Warn("demo services did not stop within 4 s")
	}
	return err
}
