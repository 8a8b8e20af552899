package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/sidecar"
)

// runAgent runs `causeway agent`, the broker sidecar, until ctx is cancelled.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("causeway agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("kafka-brokers", os.Getenv("CAUSEWAY_KAFKA_BROKERS"), "comma-separated Kafka seed `brokers` (env CAUSEWAY_KAFKA_BROKERS)")
	natsURL := fs.String("nats-url", os.Getenv("CAUSEWAY_NATS_URL"), "NATS server `URL` whose JetStream consumers and advisories to watch (env CAUSEWAY_NATS_URL)")
	coll := fs.String("collector", envOr("CAUSEWAY_COLLECTOR", "http://127.0.0.1:4318"), "collector OTLP/HTTP `URL` (env CAUSEWAY_COLLECTOR)")
	cluster := fs.String("cluster", "", "cluster `name` to report")
	interval := fs.Duration("interval", 5*time.Second, "lag sampling `interval`")
	patterns := fs.String("dlq-patterns", strings.Join(sidecar.DefaultDLQPatterns, ","), "comma-separated dead-letter topic `globs`")
	stopAfter := fs.Duration("stop-after", 5*time.Minute, "how long a stalled partition takes to become STOP")
	level := fs.String("log-level", "info", "log `level`")
	metricsAddr := fs.String("metrics-addr", envOr("CAUSEWAY_AGENT_METRICS_ADDR", "127.0.0.1:9464"), `address where Prometheus /metrics are served ("off" disables; env CAUSEWAY_AGENT_METRICS_ADDR)`)
	kconn, nconn := brokerFlags(fs)
	collectorTLS := collectorTLSFlags(fs)
	tokenFile := fs.String("collector-token-file", os.Getenv("CAUSEWAY_COLLECTOR_TOKEN_FILE"), "`file` holding the collector's ingest token (or the token itself in env CAUSEWAY_COLLECTOR_TOKEN; env CAUSEWAY_COLLECTOR_TOKEN_FILE)")
	signer := fs.String("dlq-signer", os.Getenv("CAUSEWAY_AGENT_DLQ_SIGNER"), "`name` the DLQ entries are signed as, listed with the key in the collector's collector.trusted_dlq_sources (env CAUSEWAY_AGENT_DLQ_SIGNER)")
	keyFile := fs.String("dlq-signing-key-file", os.Getenv("CAUSEWAY_AGENT_DLQ_SIGNING_KEY_FILE"), "`file` holding the DLQ signing key (or the key itself in env CAUSEWAY_AGENT_DLQ_SIGNING_KEY; env CAUSEWAY_AGENT_DLQ_SIGNING_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	signingKey, err := dlqSigningKey(*signer, *keyFile)
	if err != nil {
		return usageError{err}
	}
	token, err := secretFromEnvOrFile("CAUSEWAY_COLLECTOR_TOKEN", *tokenFile)
	if err != nil {
		return usageError{fmt.Errorf("--collector-token-file: %w", err)}
	}
	if *brokers == "" && *natsURL == "" {
		return usageError{fmt.Errorf("give --kafka-brokers, --nats-url, or both")}
	}
	l, err := logLevel(*level)
	if err != nil {
		return usageError{err}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
	var kafka []string
	if *brokers != "" {
		kafka = strings.Split(*brokers, ",")
	}
	counters := new(sidecar.Counters)
	if err := kconn.Validate(); err != nil {
		return usageError{err}
	}
	if err := nconn.Validate(); err != nil {
		return usageError{err}
	}
	cfg := sidecar.Config{KafkaBrokers: kafka, Kafka: *kconn, NATSURL: *natsURL, NATS: *nconn, Cluster: *cluster, Collector: *coll,
		Interval: *interval, DLQPatterns: strings.Split(*patterns, ","), Lag: sidecar.LagOptions{StopAfter: *stopAfter},
		Counters: counters, DLQSigner: *signer, DLQSigningKey: signingKey, CollectorToken: token}
	if cfg.CollectorTLS, err = collectorTLS(); err != nil {
		return usageError{err}
	}
	metrics, err := serveMetrics(*metricsAddr, log, sidecarMetrics{counters})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "causeway agent: watching Kafka %q (%s) and NATS %q (%s), sending to %s, metrics on %s\n",
		*brokers, kconn, brokerconn.RedactURL(*natsURL), nconn, brokerconn.RedactURL(*coll), metricsURL(metrics))
	err = sidecar.Run(ctx, cfg, log)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(err, metrics.Shutdown(sctx))
}

// dlqSigningKey reads the DLQ signing key from the file, else the
// environment (never a flag: flags show in the process list); a signer
// needs a key of at least collector.MinDLQKeyLength characters and a key a
// signer. Neither means unsigned (untrusted) DLQ entries.
func dlqSigningKey(signer, file string) ([]byte, error) {
	key := os.Getenv("CAUSEWAY_AGENT_DLQ_SIGNING_KEY")
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--dlq-signing-key-file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	switch {
	case signer == "" && key == "":
		return nil, nil
	case signer == "":
		return nil, errors.New("a DLQ signing key needs --dlq-signer: the name the collector knows the key by")
	case len(key) < collector.MinDLQKeyLength:
		return nil, fmt.Errorf("--dlq-signer %s: the signing key (CAUSEWAY_AGENT_DLQ_SIGNING_KEY or --dlq-signing-key-file) must have at least %d characters", signer, collector.MinDLQKeyLength)
	}
	return []byte(key), nil
}

// collectorTLSFlags declares the flags of the sidecar's TLS to an https://
// collector; the function it returns builds the configuration after
// parsing (nil when none is given: the system's roots).
func collectorTLSFlags(fs *flag.FlagSet) func() (*tls.Config, error) {
	ca := fs.String("collector-ca-file", os.Getenv("CAUSEWAY_COLLECTOR_CA_FILE"), "PEM `file` of the CAs that sign an https:// collector's certificate (env CAUSEWAY_COLLECTOR_CA_FILE)")
	cert := fs.String("collector-cert-file", os.Getenv("CAUSEWAY_COLLECTOR_CERT_FILE"), "PEM client certificate `file` for a collector that requires mutual TLS (env CAUSEWAY_COLLECTOR_CERT_FILE)")
	key := fs.String("collector-key-file", os.Getenv("CAUSEWAY_COLLECTOR_KEY_FILE"), "PEM client key `file` for mutual TLS (env CAUSEWAY_COLLECTOR_KEY_FILE)")
	return func() (*tls.Config, error) {
		if *ca == "" && *cert == "" && *key == "" {
			return nil, nil
		}
		return brokerconn.ClientTLS(*ca, *cert, *key)
	}
}

// brokerFlags declares the sidecar's Kafka and NATS connection flags,
// each with its environment variable. Passwords and tokens come from the
// environment or a file only: a flag's value shows in the process list.
func brokerFlags(fs *flag.FlagSet) (*brokerconn.Kafka, *brokerconn.NATS) {
	k, n := new(brokerconn.Kafka), new(brokerconn.NATS)
	str := func(p *string, name, env, help string) {
		fs.StringVar(p, name, os.Getenv(env), help+" (env "+env+")")
	}
	boolean := func(p *bool, name, env, help string) {
		v, _ := strconv.ParseBool(os.Getenv(env))
		fs.BoolVar(p, name, v, help+" (env "+env+")")
	}
	str(&k.SASL, "kafka-sasl", "CAUSEWAY_KAFKA_SASL", "Kafka SASL `mechanism`: plain, scram-sha-256 or scram-sha-512")
	str(&k.User, "kafka-user", "CAUSEWAY_KAFKA_USER", "Kafka SASL `user`")
	k.Password = os.Getenv("CAUSEWAY_KAFKA_PASSWORD") // environment only
	str(&k.PasswordFile, "kafka-password-file", "CAUSEWAY_KAFKA_PASSWORD_FILE", "`file` holding the Kafka SASL password (or set CAUSEWAY_KAFKA_PASSWORD)")
	boolean(&k.TLS, "kafka-tls", "CAUSEWAY_KAFKA_TLS", "connect to Kafka over TLS")
	str(&k.CAFile, "kafka-ca-file", "CAUSEWAY_KAFKA_CA_FILE", "PEM `file` of the CAs that sign the Kafka brokers' certificates (default: the system's)")
	str(&k.CertFile, "kafka-cert-file", "CAUSEWAY_KAFKA_CERT_FILE", "PEM client certificate `file` for Kafka mutual TLS")
	str(&k.KeyFile, "kafka-key-file", "CAUSEWAY_KAFKA_KEY_FILE", "PEM client key `file` for Kafka mutual TLS")
	str(&n.CredsFile, "nats-creds", "CAUSEWAY_NATS_CREDS", "NATS credentials `file` (.creds: user JWT and nkey seed)")
	str(&n.NkeyFile, "nats-nkey-file", "CAUSEWAY_NATS_NKEY_FILE", "`file` holding a NATS nkey user seed")
	str(&n.User, "nats-user", "CAUSEWAY_NATS_USER", "NATS `user` (password from CAUSEWAY_NATS_PASSWORD or --nats-password-file)")
	n.Password = os.Getenv("CAUSEWAY_NATS_PASSWORD") // environment only
	str(&n.PasswordFile, "nats-password-file", "CAUSEWAY_NATS_PASSWORD_FILE", "`file` holding the NATS password")
	n.Token = os.Getenv("CAUSEWAY_NATS_TOKEN") // environment only
	str(&n.TokenFile, "nats-token-file", "CAUSEWAY_NATS_TOKEN_FILE", "`file` holding a NATS token (or set CAUSEWAY_NATS_TOKEN)")
	boolean(&n.TLS, "nats-tls", "CAUSEWAY_NATS_TLS", "connect to NATS over TLS (implied by a tls:// URL or a CA or client certificate)")
	str(&n.CAFile, "nats-ca-file", "CAUSEWAY_NATS_CA_FILE", "PEM `file` of the CAs that sign the NATS server's certificate (default: the system's)")
	str(&n.CertFile, "nats-cert-file", "CAUSEWAY_NATS_CERT_FILE", "PEM client certificate `file` for NATS mutual TLS")
	str(&n.KeyFile, "nats-key-file", "CAUSEWAY_NATS_KEY_FILE", "PEM client key `file` for NATS mutual TLS")
	return k, n
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// secretFromEnvOrFile reads a secret from the environment variable env,
// else from file (trimmed); neither gives "".
func secretFromEnvOrFile(env, file string) (string, error) {
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
