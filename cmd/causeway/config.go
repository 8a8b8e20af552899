package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/sidecar"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/store/retention"
	"github.com/causeway-dev/causeway/studio/journey"
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
	// Retention says how long the store keeps data (the studio and
	// `causeway collector` delete older data from the store they write).
	Retention retention.Config `yaml:"retention"`
	// Lineage configures how the collector fills in correlation ids
	// (copied into Collector.Lineage when the configuration is loaded).
	Lineage lineage.InheritConfig `yaml:"lineage"`
	// Journeys are the business processes whose entities the ledger
	// follows (docs/journeys.md); the studio's API can define more. Both
	// the studio and `causeway collector` keep the ledger on ingest.
	Journeys []journey.Journey `yaml:"journeys"`
	// Agent configures `causeway agent`, the broker sidecar.
	Agent sidecar.Config `yaml:"agent"`
}

// defaultConfig is the configuration with nothing set: the embedded store
// and the spool in the per-user data directory, OTLP on the standard ports.
func defaultConfig() config {
	dir := embedded.DefaultDir()
	c := config{
		Store:     "embedded://" + filepath.ToSlash(filepath.Join(dir, "store")),
		LogLevel:  "info",
		Collector: collector.DefaultConfig(),
		Studio:    server.DefaultConfig(),
		Retention: retention.DefaultConfig(),
		Lineage:   lineage.DefaultInheritConfig(),
		Agent:     sidecar.DefaultConfig(),
	}
	c.Collector.SpoolDir = filepath.Join(dir, "spool")
	c.Studio.SecretKeyFile = filepath.Join(dir, "secret.key")
	return c
}

// settings holds a command's flags, bound to a config after loading.
type settings struct {
	fs         *flag.FlagSet
	configPath string
	flagValues map[string]*flagValue
	// defaults, when set, adjusts the defaults before the file, the
	// environment and the flags apply (the demo keeps its data apart).
	defaults func(*config)
}

// newSettings declares the flags of the settings table that the command
// takes (see settings.go), and --config.
func newSettings(name string) *settings {
	s := &settings{fs: flag.NewFlagSet("causeway "+name, flag.ContinueOnError)}
	s.fs.StringVar(&s.configPath, "config", os.Getenv("CAUSEWAY_CONFIG"), "YAML configuration `file` (env CAUSEWAY_CONFIG)")
	s.flagValues = declare(s.fs, name, defaultConfig())
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
	if err := applyEnv(&c); err != nil {
		return c, err
	}
	if err := applyFlags(&c, s.fs, s.flagValues); err != nil {
		return c, err
	}
	if _, err := logLevel(c.LogLevel); err != nil {
		return c, usageError{err}
	}
	c.Collector.Lineage = c.Lineage
	if err := c.Collector.Validate(); err != nil {
		return c, usageError{fmt.Errorf("collector config: %w", err)}
	}
	if err := c.Retention.Validate(); err != nil {
		return c, usageError{err}
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
