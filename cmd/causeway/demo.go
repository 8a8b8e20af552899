package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/causeway-dev/causeway/demo"
	"github.com/causeway-dev/causeway/store/embedded"
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
	webhook := s.fs.String("webhook", "", "`URL` the example alerts notify: analytics' lag, orders stuck (none: log only)")
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
	log := newLogger(cfg, os.Stderr)
	if cfg.Collector.TLS.Enabled() {
		// The shop and the sidecar run in this process and send plaintext
		// to the in-process receivers.
		return usageError{errors.New("causeway demo does not take collector.tls: its shop and sidecar send to the in-process collector in plaintext (studio.tls is fine)")}
	}

	d, err := demo.Open(demo.Config{KafkaPort: *kafkaPort, NATSPort: *natsPort, DataDir: filepath.Join(*data, "jetstream"),
		OrderEvery: *every, Faults: *faults, Webhook: *webhook}, log)
	if err != nil {
		return err
	}
	defer d.Close()
	d.Configure(&cfg.Collector, &cfg.Studio)
	cfg.Journeys = append(cfg.Journeys, demo.Journeys()...)
	b := d.Brokers()
	fmt.Fprintf(stdout, "causeway demo: Kafka on %s (try: kcat -b %s -L), NATS on %s\n", b.KafkaAddr(), b.KafkaAddr(), b.NATSURL())
	ready := func(srv *server.Server) {
		d.Start("http://" + server.DialAddr(srv.Collector().HTTPAddr()))
		scheme := "http"
		if cfg.Studio.TLS.Enabled() {
			scheme = "https"
		}
		fmt.Fprintf(stdout, "causeway demo: the shop is running; open %s://%s in a browser (data in %s; Ctrl-C stops)\n", scheme, cfg.Studio.Listen, *data)
	}
	return serveStudio(ctx, cfg, stdout, ready, sidecarMetrics{d.SidecarCounters()})
}
