package desktop

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/causeway-dev/causeway/store/embedded"
)

// Options are the command line of causeway-desktop. Without any, the app
// opens what desktop.json remembers, or the start screen.
type Options struct {
	// Mode, when set by --local or --remote, skips the start screen for
	// this run (and is remembered like a choice made on it).
	Mode string
	// RemoteURL and Token go with --remote (the token also from
	// CAUSEWAY_TOKEN, so that it stays out of the process list).
	RemoteURL, Token string
	// Insecure allows a --remote http:// URL to a host that is not
	// loopback (--insecure): the token then crosses the network unencrypted.
	Insecure bool
	// Demo runs the demo shop with the local studio (--demo).
	Demo bool
	// Open is the UI path to show first, e.g. /graph?correlation_id=order-42.
	Open string
	// ConfigPath is desktop.json (default: ConfigPath()).
	ConfigPath string
	// DataDir holds the local studio's store and spool (default: the
	// embedded store's data directory + /desktop, or /desktop-demo with the demo).
	DataDir string
	// Listen, OTLPHTTP and OTLPGRPC are the local studio's addresses
	// (defaults 127.0.0.1:7070, :4318, :4317; a taken default falls back
	// to a free port, with a notice).
	Listen, OTLPHTTP, OTLPGRPC string
	// KafkaPort and NATSPort are the demo brokers' ports (defaults 19092,
	// 14222; taken ones fall back to free ports).
	KafkaPort, NATSPort int
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
}

// Defaults of the local studio's addresses, the same as `causeway demo`'s.
const (
	DefaultListen    = "127.0.0.1:7070"
	DefaultOTLPHTTP  = "127.0.0.1:4318"
	DefaultOTLPGRPC  = "127.0.0.1:4317"
	DefaultKafkaPort = 19092
	DefaultNATSPort  = 14222
)

// ParseArgs reads the command line; getenv supplies the CAUSEWAY_*
// variables the CLI also reads (CAUSEWAY_STUDIO_ADDR,
// CAUSEWAY_OTLP_HTTP_ADDR, CAUSEWAY_OTLP_GRPC_ADDR, CAUSEWAY_LOG_LEVEL)
// and CAUSEWAY_TOKEN. Flags override the environment.
func ParseArgs(args []string, getenv func(string) string, stderr io.Writer) (Options, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	o := Options{}
	fs := flag.NewFlagSet("causeway-desktop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	local := fs.Bool("local", false, "run a local studio (skips the start screen)")
	fs.StringVar(&o.RemoteURL, "remote", "", "connect to the studio at `URL` (skips the start screen; token from CAUSEWAY_TOKEN)")
	fs.BoolVar(&o.Insecure, "insecure", false, "with --remote: allow a plain http:// URL to a host that is not this machine (the token is sent unencrypted)")
	fs.BoolVar(&o.Demo, "demo", false, "with --local: run the demo shop too")
	fs.StringVar(&o.Open, "open", "", "UI `path` to open first, e.g. '/graph?correlation_id=order-42'")
	fs.StringVar(&o.ConfigPath, "config", "", "desktop config `file` (default: the user config dir's causeway/desktop.json)")
	fs.StringVar(&o.DataDir, "data", "", "local studio data `directory` (default: "+filepath.Join(embedded.DefaultDir(), "desktop")+")")
	fs.StringVar(&o.Listen, "listen", env("CAUSEWAY_STUDIO_ADDR", DefaultListen), "local studio API `address` (env CAUSEWAY_STUDIO_ADDR)")
	fs.StringVar(&o.OTLPHTTP, "otlp-http", env("CAUSEWAY_OTLP_HTTP_ADDR", DefaultOTLPHTTP), "local collector OTLP/HTTP `address` (env CAUSEWAY_OTLP_HTTP_ADDR)")
	fs.StringVar(&o.OTLPGRPC, "otlp-grpc", env("CAUSEWAY_OTLP_GRPC_ADDR", DefaultOTLPGRPC), "local collector OTLP/gRPC `address` (env CAUSEWAY_OTLP_GRPC_ADDR)")
	fs.IntVar(&o.KafkaPort, "kafka-port", DefaultKafkaPort, "demo Kafka `port`")
	fs.IntVar(&o.NATSPort, "nats-port", DefaultNATSPort, "demo NATS `port`")
	level := fs.String("log-level", env("CAUSEWAY_LOG_LEVEL", "info"), "log `level`: debug, info, warn, error (env CAUSEWAY_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := o.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return Options{}, fmt.Errorf("--log-level %q: %w", *level, err)
	}
	switch {
	case *local && o.RemoteURL != "":
		return Options{}, errors.New("--local and --remote exclude each other")
	case *local:
		o.Mode = ModeLocal
	case o.RemoteURL != "":
		u, err := ParseStudioURL(o.RemoteURL)
		if err != nil {
			return Options{}, fmt.Errorf("--remote: %w", err)
		}
		if err := CheckPlaintext(u, o.Insecure); err != nil {
			return Options{}, fmt.Errorf("--remote: %w (or add --insecure)", err)
		}
		o.Mode = ModeRemote
		o.Token = getenv("CAUSEWAY_TOKEN")
	case o.Demo:
		return Options{}, errors.New("--demo goes with --local")
	}
	if o.Open != "" && !strings.HasPrefix(o.Open, "/") {
		return Options{}, fmt.Errorf("--open %q: a path of the UI starts with /", o.Open)
	}
	if o.ConfigPath == "" {
		p, err := ConfigPath()
		if err != nil {
			return Options{}, err
		}
		o.ConfigPath = p
	}
	return o, nil
}

// dataDir is where the local studio keeps its store and spool: apart from
// `causeway studio`'s and `causeway demo`'s, so that the app can run while
// they do, and the demo's synthetic data apart from real data.
func (o Options) dataDir(demo bool) string {
	if o.DataDir != "" {
		return o.DataDir
	}
	if demo {
		return filepath.Join(embedded.DefaultDir(), "desktop-demo")
	}
	return filepath.Join(embedded.DefaultDir(), "desktop")
}
