package sidecar

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/collector"
)

// DefaultConfig is the sidecar's configuration with nothing set: the
// collector on this machine, lag every 5 s, the default DLQ patterns,
// metrics on 127.0.0.1:9464. It names no broker: one must be given.
func DefaultConfig() Config {
	return Config{
		Collector:   "http://127.0.0.1:4318",
		Interval:    5 * time.Second,
		DLQPatterns: DefaultDLQPatterns,
		DLQGroup:    "causeway-dlq-watcher",
		MaxPayload:  64 << 10,
		Lag:         LagOptions{Window: 5, StopAfter: 5 * time.Minute, History: 720, MaxExact: 1000},
		MetricsAddr: "127.0.0.1:9464",
	}
}

// Resolve reads the settings given as files into the values Run uses:
// CollectorTokenFile into CollectorToken, DLQSigningKeyFile into
// DLQSigningKey (each trimmed; a value and its file together are an
// error), and the collector's PEM files into CollectorTLS.
func (c *Config) Resolve() error {
	for _, s := range []struct {
		name       string
		value      *string
		file, what string
	}{
		{"collector_token_file", &c.CollectorToken, c.CollectorTokenFile, "the collector token"},
		{"dlq_signing_key_file", &c.DLQSigningKey, c.DLQSigningKeyFile, "the DLQ signing key"},
	} {
		if s.file == "" {
			continue
		}
		if *s.value != "" {
			return fmt.Errorf("%s: give %s or a file holding it, not both", s.name, s.what)
		}
		b, err := os.ReadFile(s.file)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		*s.value = strings.TrimSpace(string(b))
	}
	if c.CollectorCAFile != "" || c.CollectorCertFile != "" || c.CollectorKeyFile != "" {
		tc, err := brokerconn.ClientTLS(c.CollectorCAFile, c.CollectorCertFile, c.CollectorKeyFile)
		if err != nil {
			return err
		}
		c.CollectorTLS = tc
	}
	return nil
}

// Validate checks the configuration Run would start with: a broker to
// watch, a collector URL, positive intervals and bounds, broker
// connection settings that fit together, and a DLQ signer with a key of
// at least collector.MinDLQKeyLength characters (or neither).
func (c Config) Validate() error {
	var errs []error
	if len(c.KafkaBrokers) == 0 && c.NATSURL == "" {
		errs = append(errs, errors.New("give Kafka brokers (kafka_brokers), a NATS URL (nats_url), or both"))
	}
	if u, err := url.Parse(c.Collector); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("collector %q: want http://host:port or https://host:port", brokerconn.RedactURL(c.Collector)))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval %v: want a positive duration", c.Interval))
	}
	if c.MaxPayload < 0 {
		errs = append(errs, fmt.Errorf("max_payload %d: want 0 (the default) or more", c.MaxPayload))
	}
	if c.Lag.StopAfter < 0 || c.Lag.Window < 0 || c.Lag.History < 0 || c.Lag.MaxExact < 0 {
		errs = append(errs, errors.New("lag: window, stop_after, history and max_exact must not be negative"))
	}
	if len(c.KafkaBrokers) > 0 {
		if err := c.Kafka.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.NATSURL != "" {
		if err := c.NATS.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case c.DLQSigner == "" && c.DLQSigningKey != "":
		errs = append(errs, errors.New("a DLQ signing key needs dlq_signer: the name the collector knows the key by"))
	case c.DLQSigner != "" && len(c.DLQSigningKey) < collector.MinDLQKeyLength:
		errs = append(errs, fmt.Errorf("dlq_signer %s: the signing key (dlq_signing_key or dlq_signing_key_file) must have at least %d characters", c.DLQSigner, collector.MinDLQKeyLength))
	}
	return errors.Join(errs...)
}
