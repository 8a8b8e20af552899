package sidecar

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/event"
)

// Config configures the sidecar.
type Config struct {
	// KafkaBrokers are the seed brokers of the Kafka cluster to watch.
	KafkaBrokers []string `yaml:"kafka_brokers"`
	// Kafka is how the sidecar authenticates to Kafka and encrypts the
	// connection (SASL, TLS); the zero value is plaintext.
	Kafka brokerconn.Kafka `yaml:"kafka"`
	// NATSURL is the NATS server whose JetStream consumers and advisories are watched.
	NATSURL string `yaml:"nats_url"`
	// NATS is how the sidecar authenticates to NATS (credentials file,
	// nkey, user and password, token) and encrypts the connection.
	NATS brokerconn.NATS `yaml:"nats"`
	// Cluster names the cluster in what is reported.
	Cluster string `yaml:"cluster"`
	// Collector is the OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318.
	Collector string `yaml:"collector"`
	// CollectorToken is the collector's ingest token, sent as a bearer
	// token with every request (collector.tokens); empty sends none.
	// Prefer CollectorTokenFile.
	CollectorToken string `yaml:"collector_token"`
	// CollectorTokenFile names a file holding the token; Resolve reads it.
	CollectorTokenFile string `yaml:"collector_token_file"`
	// CollectorCAFile, CollectorCertFile and CollectorKeyFile are PEM files
	// for an https:// collector: the CAs that sign its certificate, and a
	// client certificate and key for mutual TLS. Resolve builds
	// CollectorTLS from them.
	CollectorCAFile   string `yaml:"collector_ca_file"`
	CollectorCertFile string `yaml:"collector_cert_file"`
	CollectorKeyFile  string `yaml:"collector_key_file"`
	// CollectorTLS, when set, is the TLS configuration for an https://
	// collector: its CA, and a client certificate for mutual TLS
	// (brokerconn.ClientTLS builds one). Nil uses the system's roots.
	CollectorTLS *tls.Config `yaml:"-"`
	// Interval is how often lag is sampled (default 5 s).
	Interval time.Duration `yaml:"interval"`
	// DLQPatterns are topic globs watched as dead-letter queues (default
	// "*.dlq", "*.DLT", "*-dlq").
	DLQPatterns []string `yaml:"dlq_patterns"`
	// DLQGroup is the consumer group the DLQ watcher reads with (default
	// "causeway-dlq-watcher"); its own lag is not reported.
	DLQGroup string `yaml:"dlq_group"`
	// MaxPayload caps the DLQ payload sent to the collector (default 64 KiB).
	MaxPayload int `yaml:"max_payload"`
	// Lag tunes the status evaluation.
	Lag LagOptions `yaml:"lag"`
	// Counters, when set, count polls and poll errors by system.
	Counters *Counters `yaml:"-"`
	// DLQSigner and DLQSigningKey sign every DLQ entry (event.SignDLQ), so
	// that a collector listing this name and key in
	// collector.trusted_dlq_sources marks the entries trusted: read from
	// the broker, their stored copies and original destinations fit for
	// replays. Without a key the entries are sent unsigned (untrusted).
	// Prefer DLQSigningKeyFile to the key itself.
	DLQSigner     string `yaml:"dlq_signer"`
	DLQSigningKey string `yaml:"dlq_signing_key"`
	// DLQSigningKeyFile names a file holding the signing key; Resolve
	// reads it.
	DLQSigningKeyFile string `yaml:"dlq_signing_key_file"`
	// MetricsAddr is where `causeway agent` serves Prometheus /metrics
	// from Counters ("off": nowhere). Run itself serves nothing.
	MetricsAddr string `yaml:"metrics_addr"`
}

// DefaultDLQPatterns are the dead-letter topic names watched by default.
var DefaultDLQPatterns = []string{"*.dlq", "*.DLT", "*-dlq"}

// Run watches the brokers until ctx is done. Kafka: consumer-group lag
// every Interval, sent as OTLP gauges, and every record arriving on a DLQ
// topic, sent as a DLQ-entry span. NATS: every durable JetStream
// consumer's pending messages as lag, and MAX_DELIVERIES and
// MSG_TERMINATED advisories as DLQ entries with the message fetched by
// its stream sequence.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if len(cfg.KafkaBrokers) == 0 && cfg.NATSURL == "" {
		return errors.New("sidecar: give Kafka brokers, a NATS URL, or both")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if len(cfg.DLQPatterns) == 0 {
		cfg.DLQPatterns = DefaultDLQPatterns
	}
	if cfg.DLQGroup == "" {
		cfg.DLQGroup = "causeway-dlq-watcher"
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 64 << 10
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if cfg.CollectorTLS != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.CollectorTLS
		client.Transport = tr
	}
	exp := &Exporter{Endpoint: strings.TrimSuffix(cfg.Collector, "/"), Client: client, Token: cfg.CollectorToken,
		Signer: cfg.DLQSigner, SigningKey: []byte(cfg.DLQSigningKey)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	n := 0
	if cfg.NATSURL != "" {
		n++
		go func() { errs <- runNATS(ctx, cfg, exp, log) }()
	}
	if len(cfg.KafkaBrokers) > 0 {
		n++
		go func() { errs <- runKafka(ctx, cfg, exp, log) }()
	}
	var err error
	for i := 0; i < n; i++ {
		if e := <-errs; e != nil && err == nil {
			err = e
			cancel() // one side failed: stop the other too
		}
	}
	return err
}

func runKafka(ctx context.Context, cfg Config, exp *Exporter, log *slog.Logger) error {
	conn, err := cfg.Kafka.Opts()
	if err != nil {
		return fmt.Errorf("sidecar: kafka: %w", err)
	}
	admCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.KafkaBrokers...)}, conn...)...)
	if err != nil {
		return fmt.Errorf("sidecar: kafka admin client: %w", err)
	}
	defer admCl.Close()
	// A refused login is told at once and ends the sidecar, instead of
	// every sample failing for ever; a broker that is down may come back.
	if cfg.Kafka.SASL != "" {
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = brokerconn.PingKafka(pctx, admCl)
		cancel()
	}
	if errors.Is(err, brokerconn.ErrKafkaAuth) {
		return fmt.Errorf("sidecar: kafka %v (%s): %w", cfg.KafkaBrokers, cfg.Kafka, err)
	}
	if err != nil && ctx.Err() == nil {
		log.Warn("kafka not reachable yet; retrying", "brokers", cfg.KafkaBrokers, "conn", cfg.Kafka.String(), "error", err)
	}
	dlqCl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.KafkaBrokers...), kgo.ConsumerGroup(cfg.DLQGroup),
		kgo.ConsumeRegex(), kgo.ConsumeTopics(globsToRegexps(cfg.DLQPatterns)...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(time.Second)}, conn...)...)
	if err != nil {
		return fmt.Errorf("sidecar: kafka DLQ consumer: %w", err)
	}
	defer dlqCl.Close()

	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fs := dlqCl.PollFetches(ctx)
			var entries []DLQMessage
			fs.EachRecord(func(r *kgo.Record) { entries = append(entries, FromKafkaRecord(r, cfg.Cluster)) })
			if len(entries) == 0 {
				continue
			}
			for ctx.Err() == nil {
				err := exp.DLQ(ctx, entries, cfg.MaxPayload)
				if err == nil {
					dlqCl.CommitRecords(ctx, fs.Records()...)
					break
				}
				log.Warn("sending DLQ entries failed; retrying", "entries", len(entries), "error", err)
				sleep(ctx, time.Second)
			}
		}
	}()

	if len(cfg.Lag.Brokers) == 0 {
		cfg.Lag.Brokers = cfg.KafkaBrokers // exact lag seconds from produce timestamps
		cfg.Lag.ClientOpts = conn
	}
	mon := NewLagMonitor(kadm.NewClient(admCl), cfg.Lag)
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		groups, err := mon.Sample(ctx, time.Now())
		failed := err != nil
		if err != nil && ctx.Err() == nil {
			log.Warn("sampling consumer lag failed", "error", err)
		}
		var report []GroupLag
		for _, g := range groups {
			if g.Group != cfg.DLQGroup {
				report = append(report, g)
			}
		}
		if len(report) > 0 {
			if err := exp.Lag(ctx, report, event.SystemKafka, cfg.Cluster); err != nil && ctx.Err() == nil {
				failed = true
				log.Warn("sending lag failed (this sample is lost)", "error", err)
			}
		}
		if ctx.Err() == nil {
			cfg.Counters.poll(event.SystemKafka, failed)
		}
		select {
		case <-ctx.Done():
			<-done
			return nil
		case <-tick.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// globsToRegexps turns topic globs ("*" any run of characters) into
// anchored regular expressions.
func globsToRegexps(globs []string) []string {
	out := make([]string, len(globs))
	for i, g := range globs {
		out[i] = "^" + strings.ReplaceAll(regexp.QuoteMeta(g), `\*`, ".*") + "$"
	}
	return out
}

// DLQMessage is a message found on a dead-letter queue.
type DLQMessage struct {
	Time              time.Time
	System, Cluster   string
	Source            string
	SourcePartition   int32
	SourceOffset      int64
	Original          string
	OriginalPartition int32
	OriginalOffset    int64
	Reason            string
	Deliveries        int64
	Headers           map[string]string
	Payload           []byte
}

// FromKafkaRecord reads a DLQ record, understanding Causeway's headers,
// Spring Kafka's kafka_dlt-* headers (binary or decimal numbers) and
// x-original-topic.
func FromKafkaRecord(r *kgo.Record, cluster string) DLQMessage {
	m := DLQMessage{Time: r.Timestamp, System: event.SystemKafka, Cluster: cluster, Source: r.Topic,
		SourcePartition: r.Partition, SourceOffset: r.Offset, OriginalPartition: -1, OriginalOffset: -1,
		Headers: map[string]string{}, Payload: r.Value}
	raw := map[string][]byte{}
	for _, h := range r.Headers {
		raw[h.Key] = h.Value
		m.Headers[h.Key] = string(h.Value)
	}
	m.Original = firstHeader(m.Headers, event.HeaderSpringDLTOriginalTopic, event.HeaderOriginalTopic)
	if m.Original == "" {
		m.Original = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(r.Topic, ".dlq"), ".DLT"), "-dlq")
	}
	if v, ok := raw[event.HeaderSpringDLTOriginalPartition]; ok {
		m.OriginalPartition = int32(number(v))
		m.Headers[event.HeaderSpringDLTOriginalPartition] = strconv.FormatInt(number(v), 10)
	}
	if v, ok := raw[event.HeaderSpringDLTOriginalOffset]; ok {
		m.OriginalOffset = number(v)
		m.Headers[event.HeaderSpringDLTOriginalOffset] = strconv.FormatInt(number(v), 10)
	}
	m.Reason = firstHeader(m.Headers, event.HeaderSpringDLTExceptionMessage, "x-exception-message", "kafka_dlt-exception-fqcn")
	if m.Reason == "" {
		m.Reason = "unknown"
	}
	return m
}

// number reads a Spring header number: 4 or 8 bytes big-endian, or decimal text.
func number(b []byte) int64 {
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n
	}
	switch len(b) {
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b)))
	case 8:
		return int64(binary.BigEndian.Uint64(b))
	}
	return -1
}

func firstHeader(h map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := h[k]; v != "" {
			return v
		}
	}
	return ""
}

// Exporter sends the sidecar's findings to a collector over OTLP/HTTP.
type Exporter struct {
	Endpoint string
	Client   *http.Client
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
	// Signer and SigningKey, when the key is set, sign DLQ entries (see Config.DLQSigner).
	Signer     string
	SigningKey []byte
}

// Lag sends lag samples as OTLP gauges (event.MetricLag and friends).
func (e *Exporter) Lag(ctx context.Context, groups []GroupLag, system, cluster string) error {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(event.AttrServiceName, "causeway-agent")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	gauge := func(name, unit string) pmetric.NumberDataPointSlice {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		return m.SetEmptyGauge().DataPoints()
	}
	lag, secs, committed, end := gauge(event.MetricLag, "{message}"), gauge(event.MetricLagSeconds, "s"),
		gauge(event.MetricCommitted, "{offset}"), gauge(event.MetricEndOffset, "{offset}")
	for _, g := range groups {
		ts := pcommon.NewTimestampFromTime(g.Time)
		for _, p := range g.Partitions {
			point := func(s pmetric.NumberDataPointSlice) pmetric.NumberDataPoint {
				dp := s.AppendEmpty()
				dp.SetTimestamp(ts)
				a := dp.Attributes()
				a.PutStr(event.AttrMessagingSystem, system)
				a.PutStr(event.AttrMessagingConsumerGroupName, g.Group)
				a.PutStr(event.AttrMessagingDestinationName, p.Topic)
				a.PutStr(event.AttrMessagingDestinationPartID, strconv.Itoa(int(p.Partition)))
				if cluster != "" {
					a.PutStr(event.AttrCluster, cluster)
				}
				return dp
			}
			dp := point(lag)
			dp.SetIntValue(p.Lag)
			dp.Attributes().PutStr(event.AttrLagStatus, string(p.Status))
			dp.Attributes().PutStr(event.AttrLagGroupStatus, string(g.Status))
			point(secs).SetDoubleValue(p.Seconds)
			point(committed).SetIntValue(p.Committed)
			point(end).SetIntValue(p.End)
		}
	}
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		return err
	}
	return e.post(ctx, "/v1/metrics", b)
}

// DLQ sends DLQ messages as spans marked event.AttrDLQEntry, payloads
// capped at maxPayload bytes (the full size is sent too).
func (e *Exporter) DLQ(ctx context.Context, msgs []DLQMessage, maxPayload int) error {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr(event.AttrServiceName, "causeway-agent")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for _, m := range msgs {
		sp := spans.AppendEmpty()
		var tid pcommon.TraceID
		var sid pcommon.SpanID
		copy(tid[:], randomBytes(16))
		copy(sid[:], randomBytes(8))
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetName(m.Source + " dlq entry")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(m.Time))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(m.Time))
		a := sp.Attributes()
		a.PutBool(event.AttrDLQEntry, true)
		a.PutStr(event.AttrMessagingSystem, m.System)
		a.PutStr(event.AttrDLQSource, m.Source)
		a.PutInt(event.AttrDLQSourcePartition, int64(m.SourcePartition))
		a.PutInt(event.AttrDLQSourceOffset, m.SourceOffset)
		a.PutStr(event.AttrDLQOriginal, m.Original)
		a.PutInt(event.AttrDLQOriginalPartition, int64(m.OriginalPartition))
		a.PutInt(event.AttrDLQOriginalOffset, m.OriginalOffset)
		a.PutStr(event.AttrDLQReason, m.Reason)
		a.PutInt(event.AttrDLQDeliveries, m.Deliveries)
		a.PutInt(event.AttrDLQPayloadSize, int64(len(m.Payload)))
		p := m.Payload
		if len(p) > maxPayload {
			p = p[:maxPayload]
		}
		a.PutEmptyBytes(event.AttrDLQPayload).FromRaw(p)
		for k, v := range m.Headers {
			a.PutStr(event.AttrDLQHeaderPrefix+k, v)
		}
		if len(e.SigningKey) > 0 {
			a.PutStr(event.AttrDLQSigner, e.Signer)
			a.PutStr(event.AttrDLQSignature, event.SignDLQ(e.SigningKey, event.DLQSigned{System: m.System, Source: m.Source,
				SourcePartition: m.SourcePartition, SourceOffset: m.SourceOffset, Original: m.Original,
				TimeNS: uint64(sp.StartTimestamp()), PayloadSize: int64(len(m.Payload)), Payload: p, Headers: m.Headers}))
		}
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return err
	}
	return e.post(ctx, "/v1/traces", b)
}

func (e *Exporter) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.Token != "" {
		req.Header.Set("Authorization", "Bearer "+e.Token)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("collector answered %s: %q", resp.Status, msg)
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
