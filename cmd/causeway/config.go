package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/server"
)

// config is the YAML configuration file (--config). Every setting can also
// come from the environment and from flags: flags override the
// environment, which overrides the file, which overrides the defaults.
type config struct {
	// Store is the store URL: embedded:///dir or clickhouse://host:9000/db.
	Store string `yaml:"store"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// Collector configures the OTLP receivers, the spool and batching.
	Collector collector.Config `yaml:"collector"`
	// Studio configures `causeway studio`.
	Studio server.Config `yaml:"studio"`
}

// defaultConfig is the configuration with nothing set: the embedded store
// and the spool in the per-user data directory, OTLP on the standard ports.
func defaultConfig() config {
	dir := embedded.DefaultDir()
	c := config{
		Store:     "embedded://" + filepath.ToSlash(filepath.Join(dir, "store")),
		LogLevel:  "info",
		Collector: collector.DefaultConfig(),
		Studio:    server.Config{Listen: "127.0.0.1:7070", Alerts: server.AlertsConfig{Interval: 15 * time.Second}},
	}
	c.Collector.SpoolDir = filepath.Join(dir, "spool")
	return c
}

// envVars maps environment variables to the settings they set.
func (c *config) envVars() map[string]*string {
	return map[string]*string{
		"CAUSEWAY_STORE":           &c.Store,
		"CAUSEWAY_LOG_LEVEL":       &c.LogLevel,
		"CAUSEWAY_OTLP_HTTP_ADDR":  &c.Collector.HTTPAddr,
		"CAUSEWAY_OTLP_GRPC_ADDR":  &c.Collector.GRPCAddr,
		"CAUSEWAY_SPOOL_DIR":       &c.Collector.SpoolDir,
		"CAUSEWAY_STUDIO_ADDR":     &c.Studio.Listen,
		"CAUSEWAY_REPLAY_NATS_URL": &c.Studio.Replay.NATSURL,
	}
}

// settings holds a command's flags, bound to a config after loading.
type settings struct {
	fs         *flag.FlagSet
	configPath string
	flagValues map[string]*string
	// defaults, when set, adjusts the defaults before the file, the
	// environment and the flags apply (the demo keeps its data apart).
	defaults func(*config)
}

// newSettings declares the flags shared by the commands that use a store
// and the collector.
func newSettings(name string) *settings {
	s := &settings{fs: flag.NewFlagSet("causeway "+name, flag.ContinueOnError), flagValues: map[string]*string{}}
	s.fs.StringVar(&s.configPath, "config", os.Getenv("CAUSEWAY_CONFIG"), "YAML configuration `file` (env CAUSEWAY_CONFIG)")
	for _, f := range []struct{ name, usage string }{
		{"store", "store `URL`: embedded:///dir or clickhouse://host:9000/db (env CAUSEWAY_STORE)"},
		{"log-level", "log `level`: debug, info, warn, error (env CAUSEWAY_LOG_LEVEL)"},
		{"otlp-http", "OTLP/HTTP listen `address` (env CAUSEWAY_OTLP_HTTP_ADDR, default :4318)"},
		{"otlp-grpc", "OTLP/gRPC listen `address` (env CAUSEWAY_OTLP_GRPC_ADDR, default :4317)"},
		{"spool-dir", "spool `directory` (env CAUSEWAY_SPOOL_DIR)"},
		{"ingest", "Kafka ingest buffer `URL` instead of the spool: kafka://broker:9092/topic[?group=&mode=both|receive|store] (env CAUSEWAY_INGEST)"},
		{"listen", "studio listen `address` (env CAUSEWAY_STUDIO_ADDR, default 127.0.0.1:7070; studio only)"},
		{"replay-kafka-brokers", "Kafka `brokers` replays publish to, comma-separated (env CAUSEWAY_REPLAY_KAFKA_BROKERS; studio only)"},
		{"replay-nats-url", "NATS `URL` replays publish to (env CAUSEWAY_REPLAY_NATS_URL; studio only)"},
	} {
		s.flagValues[f.name] = s.fs.String(f.name, "", f.usage)
	}
	return s
}

// load builds the configuration: defaults, then the file, then the
// environment, then the flags given on the command line.
func (s *settings) load() (config, error) {
	c := defaultConfig()
	if s.defaults != nil {
		s.defaults(&c)
	}
	if s.configPath != "" {
		b, err := os.ReadFile(s.configPath)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return c, usageError{fmt.Errorf("config file %q: %w", s.configPath, err)}
		}
	}
	for name, dst := range c.envVars() {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			*dst = v
		}
	}
	byFlag := map[string]*string{
		"store": &c.Store, "log-level": &c.LogLevel,
		"otlp-http": &c.Collector.HTTPAddr, "otlp-grpc": &c.Collector.GRPCAddr, "spool-dir": &c.Collector.SpoolDir, "ingest": &c.Collector.Ingest,
		"listen": &c.Studio.Listen, "replay-nats-url": &c.Studio.Replay.NATSURL,
	}
	if v := os.Getenv("CAUSEWAY_REPLAY_KAFKA_BROKERS"); v != "" {
		c.Studio.Replay.KafkaBrokers = splitList(v)
	}
	s.fs.Visit(func(f *flag.Flag) {
		if dst, ok := byFlag[f.Name]; ok {
			*dst = *s.flagValues[f.Name]
		}
		if f.Name == "replay-kafka-brokers" {
			c.Studio.Replay.KafkaBrokers = splitList(*s.flagValues[f.Name])
		}
	})
	if v := os.Getenv("CAUSEWAY_STUDIO_TOKENS"); v != "" {
		toks, err := auth.ParseTokens(v)
		if err != nil {
			return c, usageError{fmt.Errorf("CAUSEWAY_STUDIO_TOKENS: %w", err)}
		}
		c.Studio.Tokens = append(c.Studio.Tokens, toks...)
	}
	if _, err := logLevel(c.LogLevel); err != nil {
		return c, usageError{err}
	}
	if err := c.Collector.Validate(); err != nil {
		return c, usageError{fmt.Errorf("collector config: %w", err)}
	}
	return c, nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func logLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(c config, w *os.File) *slog.Logger {
	l, _ := logLevel(c.LogLevel)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
