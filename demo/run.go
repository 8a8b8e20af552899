package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/otlp"
	"github.com/causeway-dev/causeway/sidecar"
	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/server"
)

// SidecarSigner is the name the demo's sidecar signs its DLQ entries with
// (collector.trusted_dlq_sources).
const SidecarSigner = "demo-sidecar"

// Demo is a running demo: the embedded brokers from Open on, the shop and
// the broker sidecar from Start on. `causeway demo` and the desktop app's
// local studio both run the demo through it, around a studio of their own.
type Demo struct {
	cfg     Config
	brokers *Brokers
	log     *slog.Logger
	// dlqKey signs the sidecar's DLQ entries. Only this process knows it,
	// so only they are trusted (replayable from their stored copy); an
	// entry anybody else sends to the OTLP port is not.
	dlqKey string
	// token is the shop's and the sidecar's ingest token, made when the
	// collector requires tokens (Configure).
	token    string
	counters *sidecar.Counters

	stopOnce sync.Once
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// Open starts the embedded brokers (cfg's ports and data directory) and
// makes this run's sidecar signing key.
func Open(cfg Config, log *slog.Logger) (*Demo, error) {
	b, err := StartBrokers(cfg)
	if err != nil {
		return nil, err
	}
	return &Demo{cfg: cfg, brokers: b, log: log, dlqKey: randomHex(), counters: new(sidecar.Counters)}, nil
}

// randomHex is 32 random bytes in hex: a key or token made for one run.
func randomHex() string {
	var key [32]byte
	rand.Read(key[:])
	return hex.EncodeToString(key[:])
}

// Brokers are the demo's embedded Kafka and NATS.
func (d *Demo) Brokers() *Brokers { return d.brokers }

// SidecarCounters are the sidecar's counters, for a /metrics endpoint.
func (d *Demo) SidecarCounters() *sidecar.Counters { return d.counters }

// LagRule is the demo's example alert: the slow analytics consumer falls
// behind by more than 20 messages for 10 s. In the first half of every
// minute its lag passes 20 within about 6 s and stays above until it
// drains after the slow half (about 25 s), so the rule fires within the
// first minute and resolves in the second half of it.
func LagRule() alert.Rule {
	return alert.Rule{ID: "demo-analytics-lag", Name: "analytics is falling behind", Kind: alert.KindLagMessages,
		Group: "analytics", Threshold: 20, For: alert.Duration(10 * time.Second)}
}

// AlertInterval is how often the demo's studio evaluates alert rules: a
// rule's For of 10 s needs evaluations closer than the default 15 s.
const AlertInterval = 5 * time.Second

// Configure adds to a studio's settings what the demo needs: its brokers
// as the replay engine's, its sidecar as a trusted DLQ source, an ingest
// token of its own when the collector requires tokens, and the example
// alerts (analytics' lag, orders stuck; evaluated every AlertInterval),
// notifying cfg.Webhook if set (loopback webhooks allowed: a local demo
// may notify a local receiver). The demo's journeys (Journeys) go in the
// studio's Setup.
func (d *Demo) Configure(col *collector.Config, studio *server.Config) {
	studio.Replay.KafkaBrokers, studio.Replay.NATSURL = []string{d.brokers.KafkaAddr()}, d.brokers.NATSURL()
	col.TrustedDLQSources = append(col.TrustedDLQSources, collector.TrustedDLQSource{Name: SidecarSigner, Key: d.dlqKey})
	if len(col.Tokens) > 0 {
		d.token = randomHex()
		col.Tokens = append(col.Tokens, otlp.Token{Name: "demo", Token: d.token})
	}
	for _, rule := range []alert.Rule{LagRule(), StuckRule()} {
		if d.cfg.Webhook != "" {
			rule.Webhooks = []alert.Webhook{{URL: d.cfg.Webhook}}
		}
		studio.Alerts.Rules = append(studio.Alerts.Rules, rule)
	}
	studio.Alerts.AllowLoopback = true
	studio.Alerts.Interval = min(studio.Alerts.Interval, AlertInterval)
}

// Start runs the shop and the sidecar, both exporting to collectorURL
// (OTLP/HTTP, the studio's collector configured by Configure), until
// Stop or Close.
func (d *Demo) Start(collectorURL string) {
	ctx, stop := context.WithCancel(context.Background())
	d.stop = stop
	cfg := d.cfg
	cfg.Collector, cfg.CollectorToken = collectorURL, d.token
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		if err := Run(ctx, cfg, d.brokers, d.log.With("component", "demo")); err != nil && ctx.Err() == nil {
			d.log.Error("demo shop stopped", "error", err)
		}
	}()
	go func() {
		defer d.wg.Done()
		err := sidecar.Run(ctx, sidecar.Config{KafkaBrokers: []string{d.brokers.KafkaAddr()}, NATSURL: d.brokers.NATSURL(), Collector: collectorURL,
			Interval: 2 * time.Second, Cluster: "demo", Lag: sidecar.LagOptions{StopAfter: time.Minute}, Counters: d.counters,
			DLQSigner: SidecarSigner, DLQSigningKey: d.dlqKey, CollectorToken: d.token}, d.log.With("component", "sidecar"))
		if err != nil && ctx.Err() == nil {
			d.log.Error("sidecar stopped", "error", err)
		}
	}()
}

// Stop stops the shop and the sidecar, waiting 5 s at most for them to
// flush; the brokers keep running (a studio shutting down after it may
// still read from them).
func (d *Demo) Stop() {
	d.stopOnce.Do(func() {
		if d.stop == nil {
			return
		}
		d.stop()
		done := make(chan struct{})
		go func() { d.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			d.log.Warn("the demo services did not stop within 5 s")
		}
	})
}

// Close stops the shop and the sidecar, then the brokers.
func (d *Demo) Close() {
	d.Stop()
	d.brokers.Close()
}
