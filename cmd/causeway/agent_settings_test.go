package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestAgentSettings: causeway agent's flags, variables and file keys are
// rows of the settings table under agent:, with the names the command
// always had; --metrics-addr sets the agent's address for causeway agent
// and the collector's for causeway collector (flags are per command).
func TestAgentSettings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "causeway.yaml")
	if err := os.WriteFile(file, []byte("agent:\n  cluster: east\n  lag:\n    window: 7\n  nats:\n    user: watcher\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CAUSEWAY_NATS_PASSWORD", "from-env")
	t.Setenv("CAUSEWAY_NATS_CREDS", "")
	t.Setenv("CAUSEWAY_AGENT_DLQ_SIGNER", "edge")
	s := newSettings("agent")
	err := s.fs.Parse([]string{"--config", file, "--kafka-brokers", "127.0.0.1:1,127.0.0.1:2", "--kafka-sasl", "scram-sha-512",
		"--nats-url", "nats://127.0.0.1:4222", "--interval", "200ms", "--stop-after", "1m", "--dlq-patterns", "*.dead",
		"--metrics-addr", "127.0.0.1:0", "--collector", "https://collector.example:4318", "--log-level", "debug"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	a := c.Agent
	switch {
	case !reflect.DeepEqual(a.KafkaBrokers, []string{"127.0.0.1:1", "127.0.0.1:2"}):
		t.Errorf("kafka_brokers = %q", a.KafkaBrokers)
	case a.Kafka.SASL != "scram-sha-512":
		t.Errorf("kafka.sasl = %q", a.Kafka.SASL)
	case a.NATSURL != "nats://127.0.0.1:4222" || a.NATS.User != "watcher" || a.NATS.Password != "from-env":
		t.Errorf("nats = %q %+v", a.NATSURL, a.NATS)
	case a.Interval != 200*time.Millisecond || a.Lag.StopAfter != time.Minute || a.Lag.Window != 7:
		t.Errorf("interval %v, lag %+v", a.Interval, a.Lag)
	case !reflect.DeepEqual(a.DLQPatterns, []string{"*.dead"}):
		t.Errorf("dlq_patterns = %q", a.DLQPatterns)
	case a.MetricsAddr != "127.0.0.1:0" || c.Collector.MetricsAddr == "127.0.0.1:0":
		t.Errorf("metrics-addr: agent %q, collector %q", a.MetricsAddr, c.Collector.MetricsAddr)
	case a.Cluster != "east" || a.DLQSigner != "edge" || a.Collector != "https://collector.example:4318" || c.LogLevel != "debug":
		t.Errorf("cluster %q, signer %q, collector %q, log level %q", a.Cluster, a.DLQSigner, a.Collector, c.LogLevel)
	}
	// The collector's --metrics-addr is the collector's.
	s = newSettings("collector")
	if err := s.fs.Parse([]string{"--metrics-addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if c, err = s.load(); err != nil || c.Collector.MetricsAddr != "127.0.0.1:0" || c.Agent.MetricsAddr == "127.0.0.1:0" {
		t.Errorf("causeway collector --metrics-addr: collector %q, agent %q, %v", c.Collector.MetricsAddr, c.Agent.MetricsAddr, err)
	}
	// Agent settings are no other command's flags.
	if newSettings("studio").fs.Lookup("kafka-brokers") != nil {
		t.Error("causeway studio takes --kafka-brokers")
	}
}
