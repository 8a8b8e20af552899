package main

import (
	"encoding"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/otlp"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/studio/auth"
)

// setting is one row of the settings table: a key of the YAML file and
// the flag and environment variable that can set it too. Defaults are not
// listed here: they are the values defaultConfig holds, so the table, the
// flags' help, and docs/configuration.md cannot disagree with the code.
type setting struct {
	// key is the setting's path in the YAML file, e.g. "collector.http_addr".
	key string
	// flag is the flag's name without dashes; "" derives it from key
	// ("collector.max_body_bytes" → --collector.max-body-bytes); "-" means none.
	flag string
	// env is the environment variable; "" derives it from key
	// (CAUSEWAY_COLLECTOR_MAX_BODY_BYTES); "-" means none.
	env string
	// help says what the setting does. A word in backquotes names the
	// flag's argument in --help.
	help string
	// set parses a value given by flag or environment when the field is not
	// a plain scalar or list of strings; nil uses the field's type.
	set func(c *config, v string) error
}

// settingsTable lists every setting. TestSettingsTableComplete checks that
// each key of the configuration file has a row; TestSettingsDoc keeps the
// table in docs/configuration.md in step with it.
var settingsTable = slices.Concat([]setting{
	{key: "store", flag: "store", env: "CAUSEWAY_STORE", help: "store `URL`: embedded:///dir or clickhouse://host:9000/db"},
	{key: "log_level", flag: "log-level", env: "CAUSEWAY_LOG_LEVEL", help: "log `level`: debug, info, warn, error"},

	{key: "collector.http_addr", flag: "otlp-http", env: "CAUSEWAY_OTLP_HTTP_ADDR", help: `OTLP/HTTP listen ` + "`address`" + ` ("off" disables)`},
	{key: "collector.grpc_addr", flag: "otlp-grpc", env: "CAUSEWAY_OTLP_GRPC_ADDR", help: `OTLP/gRPC listen ` + "`address`" + ` ("off" disables)`},
	{key: "collector.spool_dir", flag: "spool-dir", env: "CAUSEWAY_SPOOL_DIR", help: "spool `directory`: accepted requests wait here until the store has them"},
	{key: "collector.ingest", flag: "ingest", env: "CAUSEWAY_INGEST", help: "Kafka ingest buffer `URL` instead of the spool: kafka://broker:9092/topic[?group=&mode=both|receive|store]"},
	{key: "collector.max_spool_bytes", help: "disk bound of the spool (`bytes`, KiB/MiB/GiB suffixes); beyond it requests get 429"},
	{key: "collector.max_body_bytes", help: "largest OTLP/HTTP body as sent (`bytes`); larger get 413"},
	{key: "collector.max_decoded_bytes", help: "largest request after decompression (`bytes`); larger get 413"},
	{key: "collector.max_inflight_bytes", help: "decoded request `bytes` the receivers hold at once; beyond it requests get 429"},
	{key: "collector.max_concurrent_requests", help: "requests read, decoded or spooled at once (`n`); beyond it requests get 429"},
	{key: "collector.batch_spans", help: "spans per store write (`n`)"},
	{key: "collector.flush_interval", help: "how long a store batch waits to fill (`duration`)"},
	{key: "collector.dlq_payload_max_bytes", help: "payload `bytes` stored with a DLQ entry"},
	{key: "collector.redact_headers", help: "`headers` whose values are never spooled or stored (span attributes, DLQ entries), comma-separated; names with token, secret, password or session always are"},
	{key: "collector.tokens", flag: "-", env: "CAUSEWAY_INGEST_TOKENS", help: "ingest tokens as name:token, comma-separated, added to the file's: every OTLP request must then carry one (Authorization: Bearer <token>)",
		set: func(c *config, v string) error {
			toks, err := otlp.ParseTokens(v)
			c.Collector.Tokens = append(c.Collector.Tokens, toks...)
			return err
		}},
	{key: "collector.insecure_ingest", flag: "insecure-ingest", help: "let the OTLP receivers listen beyond loopback without ingest tokens (anyone who reaches them can send data)"},
	{key: "collector.trusted_dlq_sources", flag: "-", env: "CAUSEWAY_TRUSTED_DLQ_SOURCES", help: "sidecars whose signed DLQ entries are stored as trusted (replayable from their stored copy), as name:key, comma-separated (the sidecar's --dlq-signer and --dlq-signing-key)",
		set: func(c *config, v string) error {
			ts, err := collector.ParseTrustedDLQSources(v)
			c.Collector.TrustedDLQSources = append(c.Collector.TrustedDLQSources, ts...)
			return err
		}},
	{key: "collector.limits.max_attr_depth", help: "deepest nesting of arrays and key-value lists in an attribute value (`n`); deeper requests get 400"},
	{key: "collector.limits.max_attributes", help: "most attributes per span, resource, scope, event, link or data point, and entries per key-value list (`n`); more get 400"},
	{key: "collector.limits.max_events_per_span", help: "most events per span (`n`); more get 400"},
	{key: "collector.limits.max_links_per_span", help: "most links per span (`n`); more get 400"},
	{key: "collector.limits.max_key_bytes", help: "longest attribute key (`bytes`); longer get 400"},
	{key: "collector.limits.max_value_bytes", help: "longest string or bytes attribute value (`bytes`); longer get 400"},
	{key: "collector.limits.max_array_len", help: "most elements of an array attribute value (`n`); more get 400"},
	{key: "collector.limits.max_spans_per_request", help: "most spans in one trace request (`n`); more get 400"},
	{key: "collector.quarantine_after", help: "store refusals of one spool record, while the store takes others, before it is quarantined (`n`)"},
}, kafkaConnRows("collector.ingest_kafka", "the ingest buffer's clients"),
	serverTLSRows("collector.tls", "both OTLP receivers", "they serve TLS only", "the OTLP receivers require"), []setting{
		{key: "collector.metrics_addr", flag: "metrics-addr", env: "CAUSEWAY_COLLECTOR_METRICS_ADDR", help: "`address` where causeway collector serves Prometheus /metrics (\"off\" disables; the studio serves /metrics on its own listen address)"},
		{key: "collector.read_header_timeout", help: "time to read an OTLP/HTTP request's headers (`duration`)"},
		{key: "collector.body_timeout", help: "time any OTLP/HTTP body may take (`duration`); after it the body must keep up min_body_rate or gets 408"},
		{key: "collector.min_body_rate", help: "slowest average rate of an OTLP/HTTP body after body_timeout (`bytes` per second)"},
		{key: "collector.grpc_message_timeout", help: "time an OTLP/gRPC stream has to deliver its request message (`duration`); then it is cancelled"},
		{key: "collector.grpc_keepalive_time", help: "quiet time after which the server pings a gRPC connection (`duration`)"},
		{key: "collector.grpc_keepalive_timeout", help: "time the server waits for a ping's answer before closing the gRPC connection (`duration`)"},
		{key: "collector.grpc_keepalive_min_time", help: "shortest interval between a client's keepalive pings the server tolerates (`duration`)"},
		{key: "collector.per_peer_share", help: "fraction of max_inflight_bytes and max_concurrent_requests one peer may hold (`share`, 0 to 1; 1: off); beyond it 429"},
		{key: "collector.peer_key", help: "what one peer is for per_peer_share: ip or connection (`key`)"},
		{key: "collector.health.store_failing_after", help: "how long store writes may fail before health says store (`duration`)"},
		{key: "collector.health.backlog_max_age", help: "age of the oldest spooled record beyond which health says backlog_age (`duration`)"},
		{key: "collector.health.backlog_max_fill", help: "fraction of max_spool_bytes beyond which health says backlog_full and readiness fails (`share`)"},

		{key: "studio.listen", flag: "listen", env: "CAUSEWAY_STUDIO_ADDR", help: "studio (UI and API) listen `address`; a non-loopback address needs tokens"},
		{key: "studio.tokens", flag: "-", env: "CAUSEWAY_STUDIO_TOKENS", help: "API tokens as name:role:token, comma-separated, added to the file's (roles: viewer, operator, admin)",
			set: func(c *config, v string) error {
				toks, err := auth.ParseTokens(v)
				c.Studio.Tokens = append(c.Studio.Tokens, toks...)
				return err
			}},
		{key: "studio.secret_key", flag: "-", help: "key (32 bytes, base64) that encrypts stored alert rules and their webhook URLs and secrets; studios sharing a store need the same"},
		{key: "studio.secret_key_file", help: "`file` holding the secret key, created (0600) when missing"},
		{key: "studio.public_url", help: "`URL` people reach the studio at (behind a proxy, say); alert notifications link into the UI with it (empty: the listen address)"},
		{key: "studio.payloads_min_role", help: "least `role` that sees message payloads (DLQ payloads, dry-run previews): viewer, operator or admin"},
	}, serverTLSRows("studio.tls", "the studio", "it serves HTTPS only", "the studio requires"), []setting{
		{key: "studio.origins", help: "browser `origins` besides the studio's own allowed to use the API and websocket, comma-separated"},
		{key: "studio.alerts.interval", help: "how often alert rules are evaluated (`duration`)"},
		{key: "studio.alerts.allow_loopback", help: "let webhooks target loopback addresses"},
		{key: "studio.alerts.allow_private", help: "let webhooks target private addresses"},
		{key: "studio.alerts.rules", flag: "-", env: "-", help: "alert rules loaded at start (file only; see Alerts below)"},
		{key: "studio.replay.kafka_brokers", flag: "replay-kafka-brokers", env: "CAUSEWAY_REPLAY_KAFKA_BROKERS", help: "Kafka `brokers` replays publish to, comma-separated"},
	}, kafkaConnRows("studio.replay.kafka", "replays"), []setting{
		{key: "studio.replay.nats_url", flag: "replay-nats-url", env: "CAUSEWAY_REPLAY_NATS_URL", help: "NATS `URL` replays publish to"},
	}, natsConnRows("studio.replay.nats", "replays"), []setting{
		{key: "studio.replay.default_rate", help: "replay publish rate when a request gives none (`msgs/s`)"},
		{key: "studio.replay.max_rate", help: "highest replay rate a request may ask for (`msgs/s`)"},
		{key: "studio.replay.max_messages", help: "most messages one replay may publish (`n`)"},
		{key: "studio.replay.allowed_targets", help: "destinations (names or globs such as orders.*) replays may send to besides each message's original destination, comma-separated"},
		{key: "studio.query.max_window", help: "longest time window an API read covers (`duration`); older since values are clamped"},
		{key: "studio.query.timeout", help: "time bound of each API read (`duration`); beyond it the answer is 504 query_timeout"},
		{key: "studio.query.max_events", help: "largest page of events or DLQ entries (`n`); larger limits are lowered to it"},
		{key: "studio.query.max_trace_spans", help: "most spans the trace endpoint returns (`n`), then truncated"},
		{key: "studio.query.max_trace_bytes", help: "most JSON `bytes` of spans the trace endpoint returns, then truncated"},
		{key: "studio.query.max_graph_nodes", help: "largest max_nodes a causation graph may ask for (`n`)"},
		{key: "studio.query.max_lag_samples", help: "most lag samples one answer reads (`n`), then truncated"},
		{key: "studio.live.max_connections", help: "websocket clients served at once (`n`); beyond it the upgrade gets 503"},
		{key: "studio.live.queue_frames", help: "frames queued per websocket client (`n`) before it is dropped as lagging"},
		{key: "studio.live.queue_bytes", help: "`bytes` queued per websocket client before it is dropped as lagging"},
		{key: "studio.live.write_timeout", help: "time bound of one websocket frame's write (`duration`)"},

		{key: "journeys", flag: "-", env: "-", help: "business processes the journey ledger follows: start, steps, outcomes, SLO (file only; see docs/journeys.md)"},

		{key: "retention.events", help: "how long events, spans and causation edges are kept (`duration`, e.g. 7d, 168h; 0 keeps them forever)"},
		{key: "retention.broker", help: "how long DLQ entries, lag samples, alert history and replay records are kept (`duration`, e.g. 30d; 0 keeps them forever)"},
		{key: "retention.interval", help: "time between retention passes (`duration`); the first runs 30s after start"},
		{key: "retention.min_free", help: "free-space watermark of the embedded store's disk (`share`, 0 to under 0.5; 0: off); below it the events retention shortens by a quarter per check and the oldest events go"},
		{key: "retention.disk_check_interval", help: "how often the embedded store's free disk space is measured (`duration`)"},

		{key: "lineage.correlation_from_key", help: "an event with no correlation id and none to inherit takes its message key (Kafka record key, NATS message id) as correlation id, and its effects inherit it; all destinations (see docs/compatibility.md)"},
		{key: "lineage.correlation_from_key_destinations", help: "the same for these `destinations` only (topics, subjects), comma-separated"},
		{key: "lineage.inherit_cache_entries", help: "recent events whose correlation ids later batches inherit (`n`; -1: causes in the same batch only)"},

		{key: "agent.kafka_brokers", flag: "kafka-brokers", env: "CAUSEWAY_KAFKA_BROKERS", help: "Kafka seed `brokers` the sidecar watches, comma-separated"},
	}, sidecarConnRows(kafkaConnRows("agent.kafka", "the sidecar's clients"), "kafka-", "CAUSEWAY_KAFKA_"), []setting{
		{key: "agent.nats_url", flag: "nats-url", env: "CAUSEWAY_NATS_URL", help: "NATS server `URL` whose JetStream consumers and advisories the sidecar watches"},
	}, sidecarConnRows(natsConnRows("agent.nats", "the sidecar's clients"), "nats-", "CAUSEWAY_NATS_"), []setting{
		{key: "agent.cluster", flag: "cluster", help: "cluster `name` the sidecar reports"},
		{key: "agent.collector", flag: "collector", env: "CAUSEWAY_COLLECTOR", help: "collector OTLP/HTTP `URL` the sidecar sends to"},
		{key: "agent.collector_token", flag: "-", env: "CAUSEWAY_COLLECTOR_TOKEN", help: "the collector's ingest `token` (environment or file only; prefer collector_token_file)"},
		{key: "agent.collector_token_file", flag: "collector-token-file", env: "CAUSEWAY_COLLECTOR_TOKEN_FILE", help: "`file` holding the collector's ingest token"},
		{key: "agent.collector_ca_file", flag: "collector-ca-file", env: "CAUSEWAY_COLLECTOR_CA_FILE", help: "PEM `file` of the CAs that sign an https:// collector's certificate (default: the system's)"},
		{key: "agent.collector_cert_file", flag: "collector-cert-file", env: "CAUSEWAY_COLLECTOR_CERT_FILE", help: "PEM client certificate `file` for a collector that requires mutual TLS"},
		{key: "agent.collector_key_file", flag: "collector-key-file", env: "CAUSEWAY_COLLECTOR_KEY_FILE", help: "PEM client key `file` for mutual TLS with the collector"},
		{key: "agent.interval", flag: "interval", help: "how often the sidecar samples lag (`duration`)"},
		{key: "agent.dlq_patterns", flag: "dlq-patterns", help: "dead-letter topic `globs` the sidecar watches, comma-separated"},
		{key: "agent.dlq_group", flag: "dlq-group", help: "consumer `group` the DLQ watcher reads with (its own lag is not reported)"},
		{key: "agent.max_payload", flag: "max-payload", help: "payload `bytes` sent with a DLQ entry"},
		{key: "agent.lag.window", flag: "lag-window", help: "lag samples a group's status looks at (`n`)"},
		{key: "agent.lag.stop_after", flag: "stop-after", help: "how long a stalled partition takes to become STOP (`duration`)"},
		{key: "agent.lag.history", flag: "lag-history", help: "end-offset samples kept per partition for lag in seconds (`n`)"},
		{key: "agent.lag.max_exact", flag: "lag-max-exact", help: "lagging partitions whose produce timestamps one sample reads for exact lag seconds (`n`); the rest are interpolated"},
		{key: "agent.dlq_signer", flag: "dlq-signer", help: "`name` the sidecar signs DLQ entries as, listed with the key in the collector's collector.trusted_dlq_sources"},
		{key: "agent.dlq_signing_key", flag: "-", help: "DLQ signing `key`, at least 16 characters (environment or file only; prefer dlq_signing_key_file)"},
		{key: "agent.dlq_signing_key_file", flag: "dlq-signing-key-file", help: "`file` holding the DLQ signing key"},
		{key: "agent.metrics_addr", flag: "metrics-addr", help: "`address` where causeway agent serves Prometheus /metrics (\"off\" disables)"},
	})

// flagName is the row's flag ("" when it has none).
func (s setting) flagName() string {
	switch s.flag {
	case "-":
		return ""
	case "":
		return strings.ReplaceAll(s.key, "_", "-")
	}
	return s.flag
}

// envName is the row's environment variable ("" when it has none).
func (s setting) envName() string {
	switch s.env {
	case "-":
		return ""
	case "":
		return "CAUSEWAY_" + strings.ToUpper(strings.ReplaceAll(s.key, ".", "_"))
	}
	return s.env
}

// commands says which commands take the row's flag: collector settings
// serve every command that runs a collector, studio settings the studio
// and the demo.
func (s setting) commands() []string {
	switch {
	case s.key == "store": // causeway audit reads it
		return []string{"collector", "studio", "demo", "audit"}
	case s.key == "log_level":
		return []string{"collector", "studio", "demo", "agent"}
	case strings.HasPrefix(s.key, "agent."):
		return []string{"agent"}
	case strings.HasPrefix(s.key, "studio."):
		return []string{"studio", "demo"}
	case s.key == "collector.metrics_addr": // a studio serves /metrics on studio.listen
		return []string{"collector"}
	case s.key == "collector.spool_dir" || s.key == "collector.max_spool_bytes": // causeway spool works on it
		return []string{"collector", "studio", "demo", "spool"}
	default:
		return []string{"collector", "studio", "demo"}
	}
}

// apply sets the row's field in c from a flag's or variable's text.
func (s setting) apply(c *config, v string) error {
	if s.set != nil {
		return s.set(c, v)
	}
	f, err := c.field(s.key)
	if err != nil {
		return err
	}
	return setField(f, s.key, v)
}

// field finds the value a YAML key path names in c.
func (c *config) field(key string) (reflect.Value, error) {
	v := reflect.ValueOf(c).Elem()
next:
	for _, name := range strings.Split(key, ".") {
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, fmt.Errorf("setting %q: %q is not a section", key, name)
		}
		for i := 0; i < v.NumField(); i++ {
			if yamlName(v.Type().Field(i)) == name {
				v = v.Field(i)
				continue next
			}
		}
		return reflect.Value{}, fmt.Errorf("setting %q: no key %q", key, name)
	}
	return v, nil
}

// yamlName is a struct field's key in the YAML file ("" when it has none).
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// setField parses text into a field of the configuration by its type.
func setField(f reflect.Value, key, text string) error {
	bad := func(err error) error { return fmt.Errorf("%s: %q: %w", key, text, err) }
	if f.Addr().Type().Implements(textUnmarshalerType) {
		if err := f.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			return bad(err)
		}
		return nil
	}
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(text)
		if err != nil {
			return bad(err)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(text)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return bad(err)
		}
		f.SetBool(b)
	case f.CanInt():
		n, err := parseSize(text)
		if err != nil {
			return bad(err)
		}
		if f.OverflowInt(n) {
			return bad(strconv.ErrRange)
		}
		f.SetInt(n)
	case f.CanFloat():
		x, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return bad(err)
		}
		f.SetFloat(x)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		f.Set(reflect.ValueOf(splitList(text)).Convert(f.Type()))
	default:
		return fmt.Errorf("%s: set it in the configuration file (a flag or variable cannot give a %s)", key, f.Type())
	}
	return nil
}

// sizeUnits are the suffixes parseSize accepts.
var sizeUnits = []struct {
	suffix string
	n      int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}}

// parseSize reads an integer, with an optional binary size suffix.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil {
				return 0, err
			}
			return n * u.n, nil
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// formatValue shows a configuration value the way a flag takes it.
func formatValue(f reflect.Value) string {
	if m, ok := f.Interface().(encoding.TextMarshaler); ok {
		b, err := m.MarshalText()
		if err == nil {
			return string(b)
		}
	}
	switch {
	case f.Type() == durationType:
		if f.Int() == 0 {
			return ""
		}
		return time.Duration(f.Int()).String()
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		return strings.Join(f.Interface().([]string), ",")
	case f.Kind() == reflect.Slice:
		return ""
	case f.CanInt():
		n := f.Int()
		for i := len(sizeUnits) - 1; i >= 0; i-- {
			if n >= sizeUnits[i].n && n%sizeUnits[i].n == 0 {
				return strconv.FormatInt(n/sizeUnits[i].n, 10) + sizeUnits[i].suffix
			}
		}
		return strconv.FormatInt(n, 10)
	case f.Kind() == reflect.Bool:
		return strconv.FormatBool(f.Bool())
	case f.IsZero():
		return ""
	}
	return fmt.Sprint(f.Interface())
}

// flagValue is a flag of the table: it keeps the text given, which load
// applies after the file and the environment.
type flagValue struct {
	text   string
	isBool bool
	row    setting // the row the flag sets (flags are unique per command, not overall)
}

func (v *flagValue) String() string     { return v.text }
func (v *flagValue) Set(s string) error { v.text = s; return nil }

// IsBoolFlag lets a boolean setting's flag stand alone (--x means --x=true).
func (v *flagValue) IsBoolFlag() bool { return v.isBool }

// declare adds the table's flags for a command to fs, with the default
// (from defaults) and the environment variable in each flag's help.
func declare(fs *flag.FlagSet, command string, defaults config) map[string]*flagValue {
	out := map[string]*flagValue{}
	for _, s := range settingsTable {
		name := s.flagName()
		if name == "" || !slices.Contains(s.commands(), command) {
			continue
		}
		f, err := defaults.field(s.key)
		if err != nil {
			panic(err) // TestSettingsTableComplete catches a bad key
		}
		v := &flagValue{isBool: f.Kind() == reflect.Bool, row: s}
		usage := s.help
		var notes []string
		if env := s.envName(); env != "" {
			notes = append(notes, "env "+env)
		}
		if d := formatValue(f); d != "" && !v.isBool {
			notes = append(notes, "default "+d)
		}
		if len(notes) > 0 {
			usage += " (" + strings.Join(notes, "; ") + ")"
		}
		fs.Var(v, name, usage)
		out[name] = v
	}
	return out
}

// applyEnv sets what the environment gives, row by row.
func applyEnv(c *config) error {
	for _, s := range settingsTable {
		env := s.envName()
		if env == "" {
			continue
		}
		if v, ok := os.LookupEnv(env); ok && v != "" {
			if err := s.apply(c, v); err != nil {
				return usageError{fmt.Errorf("%s: %w", env, err)}
			}
		}
	}
	return nil
}

// applyFlags sets what the command line gave.
func applyFlags(c *config, fs *flag.FlagSet, values map[string]*flagValue) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		v, ok := values[f.Name]
		if !ok || err != nil {
			return
		}
		if e := v.row.apply(c, v.text); e != nil {
			err = usageError{fmt.Errorf("--%s: %w", f.Name, e)}
		}
	})
	return err
}

// settingsDoc renders the table as docs/configuration.md shows it.
func settingsDoc() string {
	var b strings.Builder
	d := defaultConfig()
	b.WriteString("| key | flag | env | default | what |\n|---|---|---|---|---|\n")
	code := func(s string) string {
		if s == "" {
			return ""
		}
		return "`" + s + "`"
	}
	for _, s := range settingsTable {
		f, _ := d.field(s.key)
		def := formatValue(f)
		// Paths under this user's data directory read the same for everyone.
		def = strings.ReplaceAll(def, filepath.ToSlash(embedded.DefaultDir()), "<data dir>")
		def = strings.ReplaceAll(def, embedded.DefaultDir(), "<data dir>")
		fl := s.flagName()
		if fl != "" {
			fl = "--" + fl
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.key, code(fl), code(s.envName()), code(def), strings.NewReplacer("`", "", "|", `\|`).Replace(s.help))
	}
	return b.String()
}

// kafkaConnRows are the rows of a Kafka connection section
// (brokerconn.Kafka) under prefix; who names its clients in the help.
func kafkaConnRows(prefix, who string) []setting {
	return []setting{
		{key: prefix + ".sasl", help: "SASL `mechanism` " + who + " authenticate with: plain, scram-sha-256 or scram-sha-512 (none when empty)"},
		{key: prefix + ".user", help: "SASL `user` " + who + " authenticate as"},
		{key: prefix + ".password", flag: "-", help: "SASL `password` (environment or file only; prefer password_file)"},
		{key: prefix + ".password_file", help: "`file` holding the SASL password"},
		{key: prefix + ".tls", help: "connect to Kafka over TLS, verifying the brokers' certificates"},
		{key: prefix + ".ca_file", help: "PEM `file` of the CAs that sign the brokers' certificates (default: the system's)"},
		{key: prefix + ".cert_file", help: "PEM client certificate `file` for brokers that require mutual TLS"},
		{key: prefix + ".key_file", help: "PEM client key `file` for mutual TLS"},
	}
}

// natsConnRows are the rows of a NATS connection section
// (brokerconn.NATS) under prefix; who names its clients in the help.
func natsConnRows(prefix, who string) []setting {
	return []setting{
		{key: prefix + ".creds_file", help: "NATS credentials `file` (.creds: user JWT and nkey seed) " + who + " connect with"},
		{key: prefix + ".nkey_file", help: "`file` holding the NATS nkey user seed " + who + " connect with"},
		{key: prefix + ".user", help: "NATS `user` " + who + " connect as"},
		{key: prefix + ".password", flag: "-", help: "NATS `password` (environment or file only; prefer password_file)"},
		{key: prefix + ".password_file", help: "`file` holding the NATS password"},
		{key: prefix + ".token", flag: "-", help: "NATS `token` (environment or file only; prefer token_file)"},
		{key: prefix + ".token_file", help: "`file` holding the NATS token"},
		{key: prefix + ".tls", help: "connect to NATS over TLS (implied by a tls:// URL, a CA or a client certificate)"},
		{key: prefix + ".ca_file", help: "PEM `file` of the CAs that sign the NATS server's certificate (default: the system's)"},
		{key: prefix + ".cert_file", help: "PEM client certificate `file` for NATS mutual TLS"},
		{key: prefix + ".key_file", help: "PEM client key `file` for NATS mutual TLS"},
	}
}

// sidecarConnRows gives the rows of the sidecar's broker connection
// sections the flags and variables `causeway agent` has always had: the
// prefixes before the key's last part (agent.kafka.ca_file →
// --kafka-ca-file, CAUSEWAY_KAFKA_CA_FILE; a credentials file is
// --nats-creds, CAUSEWAY_NATS_CREDS).
func sidecarConnRows(rows []setting, flagPrefix, envPrefix string) []setting {
	for i := range rows {
		last := rows[i].key[strings.LastIndex(rows[i].key, ".")+1:]
		if last == "creds_file" {
			last = "creds"
		}
		if rows[i].flag != "-" {
			rows[i].flag = flagPrefix + strings.ReplaceAll(last, "_", "-")
		}
		if rows[i].env != "-" {
			rows[i].env = envPrefix + strings.ToUpper(last)
		}
	}
	return rows
}

// serverTLSRows are the rows of a server's TLS section
// (collector.TLSConfig) under prefix.
func serverTLSRows(prefix, server, serves, requires string) []setting {
	return []setting{
		{key: prefix + ".cert_file", help: "PEM certificate `file` of " + server + "; with key_file " + serves},
		{key: prefix + ".key_file", help: "PEM private key `file` of " + prefix + ".cert_file"},
		{key: prefix + ".client_ca_file", help: "PEM `file` of the CAs whose client certificates " + requires + " (mutual TLS)"},
	}
}
