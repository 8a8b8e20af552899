package sidecar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
)

// TestConfigValidate: the defaults with a broker pass; each mistake is
// reported, and all of them at once.
func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.KafkaBrokers = []string{"127.0.0.1:9092"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults with a broker: %v", err)
	}
	for name, c := range map[string]struct {
		mod  func(*Config)
		want string
	}{
		"no broker":        {func(c *Config) { c.KafkaBrokers = nil }, "nats_url"},
		"collector":        {func(c *Config) { c.Collector = "127.0.0.1:4318" }, "collector"},
		"interval":         {func(c *Config) { c.Interval = 0 }, "interval"},
		"key, no signer":   {func(c *Config) { c.DLQSigningKey = strings.Repeat("k", 32) }, "dlq_signer"},
		"short key":        {func(c *Config) { c.DLQSigner, c.DLQSigningKey = "edge", "short" }, "at least"},
		"kafka conn":       {func(c *Config) { c.Kafka.SASL = "scram-sha-512" }, "SASL"},
		"negative lag opt": {func(c *Config) { c.Lag.Window = -1 }, "lag"},
	} {
		cfg := ok
		c.mod(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", name, err, c.want)
		}
	}
}

// TestConfigResolve: the token and key files are read (trimmed), a value
// and its file together are refused, and the collector's PEM files make
// CollectorTLS.
func TestConfigResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pki := certtest.New(t)
	c := DefaultConfig()
	c.CollectorTokenFile, c.DLQSigningKeyFile = write("token", "tok-123\n"), write("key", " 0123456789abcdef0123 \n")
	c.CollectorCAFile, c.CollectorCertFile, c.CollectorKeyFile = pki.CAFile, pki.ClientCert, pki.ClientKey
	if err := c.Resolve(); err != nil {
		t.Fatal(err)
	}
	if c.CollectorToken != "tok-123" || c.DLQSigningKey != "0123456789abcdef0123" {
		t.Errorf("token %q, key %q", c.CollectorToken, c.DLQSigningKey)
	}
	if c.CollectorTLS == nil || c.CollectorTLS.RootCAs == nil || len(c.CollectorTLS.Certificates) != 1 {
		t.Errorf("collector TLS %+v", c.CollectorTLS)
	}
	both := DefaultConfig()
	both.CollectorToken, both.CollectorTokenFile = "tok", c.CollectorTokenFile
	if err := both.Resolve(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("a token and a token file: %v", err)
	}
	missing := DefaultConfig()
	missing.DLQSigningKeyFile = filepath.Join(dir, "nope")
	if err := missing.Resolve(); err == nil || !strings.Contains(err.Error(), "dlq_signing_key_file") {
		t.Errorf("a missing key file: %v", err)
	}
}
