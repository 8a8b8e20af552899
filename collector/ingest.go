package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/collector/otlp"
	"github.com/causeway-dev/causeway/store"
)

// Ingest buffer: with Config.Ingest set (kafka://broker1:9092,broker2:9092/topic),
// the receivers do not spool to disk; they produce each accepted request
// to the Kafka topic and answer once Kafka acknowledged it (acks=all).
// Every collector of the consumer group (default "causeway-collectors")
// consumes the topic, writes what it derives to the store and commits the
// offsets only after the store confirmed the write. A collector that dies
// with uncommitted records leaves them to the group: another member gets
// its partitions after the session timeout and writes them again, with
// store.Batch.Retry set, so nothing is lost and nothing stored twice.
//
// URL parameters: group=NAME; mode=both (default: receive and store),
// receive (an OTLP endpoint that only enqueues) or store (consume only);
// partitions=N (when the collector creates the topic, default 12).
// SASL and TLS come from Config.IngestKafka (collector.ingest_kafka.*),
// never from the URL, so a password never sits in a URL that is logged.

// IngestConfig is a parsed ingest URL.
type IngestConfig struct {
	Brokers    []string
	Topic      string
	Group      string
	Receive    bool // the receivers produce to the topic
	Store      bool // the collector consumes the topic into the store
	Partitions int32
	// Conn is how every client of the buffer connects (SASL, TLS).
	Conn brokerconn.Kafka
}

// ingestFrom parses cfg's ingest URL and adds its connection settings.
func ingestFrom(cfg Config) (IngestConfig, error) {
	c, err := ParseIngest(cfg.Ingest)
	if err != nil {
		return c, err
	}
	if err := cfg.IngestKafka.Validate(); err != nil {
		return c, fmt.Errorf("ingest_kafka: %w", err)
	}
	c.Conn = cfg.IngestKafka
	return c, nil
}

// ParseIngest parses an ingest URL.
func ParseIngest(s string) (IngestConfig, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return IngestConfig{}, fmt.Errorf("ingest URL: %w", err)
	}
	const want = "want kafka://broker1:9092,broker2:9092/topic"
	if u.User != nil {
		// Not printed: the user part may hold a password.
		return IngestConfig{}, errors.New("ingest URL: credentials do not go in the URL; use collector.ingest_kafka.user and .password_file (or CAUSEWAY_COLLECTOR_INGEST_KAFKA_PASSWORD)")
	}
	if u.Scheme != "kafka" || u.Host == "" {
		return IngestConfig{}, fmt.Errorf("ingest URL %q: %s", s, want)
	}
	c := IngestConfig{Topic: strings.Trim(u.Path, "/"), Group: "causeway-collectors", Receive: true, Store: true, Partitions: 12}
	if c.Topic == "" || strings.Contains(c.Topic, "/") {
		return IngestConfig{}, fmt.Errorf("ingest URL %q: one topic name after the brokers (%s)", s, want)
	}
	for _, b := range strings.Split(u.Host, ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.Brokers = append(c.Brokers, b)
		}
	}
	if len(c.Brokers) == 0 {
		return IngestConfig{}, fmt.Errorf("ingest URL %q: no broker (%s)", s, want)
	}
	q := u.Query()
	if g := q.Get("group"); g != "" {
		c.Group = g
	}
	switch m := q.Get("mode"); m {
	case "", "both":
	case "receive":
		c.Store = false
	case "store":
		c.Receive = false
	default:
		return IngestConfig{}, fmt.Errorf("ingest URL %q: mode %q: want both, receive or store", s, m)
	}
	if p := q.Get("partitions"); p != "" {
		var n int32
		if _, err := fmt.Sscan(p, &n); err != nil || n <= 0 {
			return IngestConfig{}, fmt.Errorf("ingest URL %q: partitions %q: want a positive number", s, p)
		}
		c.Partitions = n
	}
	return c, nil
}

// ingest is a collector's Kafka side.
type ingest struct {
	cfg  IngestConfig
	prod *kgo.Client // nil when not receiving
	cons *kgo.Client // nil when not storing

	mu    sync.Mutex
	dirty map[int32]bool // partitions (re)assigned since their last commit: their records may be stored already
}

func newIngest(ctx context.Context, cfg IngestConfig, maxRecord int64) (*ingest, error) {
	in := &ingest{cfg: cfg, dirty: map[int32]bool{}}
	conn, err := cfg.Conn.Opts()
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	client := func(opts ...kgo.Opt) (*kgo.Client, error) {
		return kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...)}, opts...), conn...)...)
	}
	admin, err := client()
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	defer admin.Close()
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := brokerconn.PingKafka(cctx, admin); errors.Is(err, brokerconn.ErrKafkaAuth) {
		return nil, fmt.Errorf("ingest: kafka %v (%s): %w", cfg.Brokers, cfg.Conn, err)
	}
	resp, err := kadm.NewClient(admin).CreateTopic(cctx, cfg.Partitions, -1, map[string]*string{"max.message.bytes": ptr(fmt.Sprint(maxRecord + 1024))}, cfg.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return nil, fmt.Errorf("ingest topic %s on %v: %w", cfg.Topic, cfg.Brokers, err)
	}
	if cfg.Receive {
		in.prod, err = client(kgo.DefaultProduceTopic(cfg.Topic),
			kgo.ProducerBatchMaxBytes(int32(maxRecord+1024)), kgo.RecordDeliveryTimeout(10*time.Second), kgo.ProducerLinger(0))
		if err != nil {
			return nil, fmt.Errorf("ingest producer: %w", err)
		}
	}
	if cfg.Store {
		in.cons, err = client(kgo.ConsumerGroup(cfg.Group), kgo.ConsumeTopics(cfg.Topic),
			kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(), kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(time.Second),
			kgo.FetchMaxBytes(int32(2*maxRecord)), kgo.FetchMaxPartitionBytes(int32(maxRecord+1024)), kgo.BrokerMaxReadBytes(int32(2*maxRecord+1<<20)),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				in.mu.Lock()
				for _, p := range m[cfg.Topic] {
					in.dirty[p] = true
				}
				in.mu.Unlock()
			}))
		if err != nil {
			in.close()
			return nil, fmt.Errorf("ingest consumer: %w", err)
		}
	}
	return in, nil
}

func ptr[T any](v T) *T { return &v }

// discardLogger drops what Tail's derivation would log (its collector
// logs the same records).
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// produce enqueues one request, waiting for Kafka's acknowledgement.
func (in *ingest) produce(ctx context.Context, rec []byte) error {
	err := in.prod.ProduceSync(ctx, &kgo.Record{Value: rec}).FirstErr()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.MessageTooLarge):
		return fmt.Errorf("%w: %d bytes exceed the ingest topic's message size", otlp.ErrTooLarge, len(rec))
	}
	return fmt.Errorf("%w: the ingest topic did not take the request: %v", otlp.ErrFull, err)
}

func (in *ingest) close() {
	if in.prod != nil {
		in.prod.Close()
	}
	if in.cons != nil {
		in.cons.Close() // leaves the group, so its partitions move at once
	}
}

// consumeLoop writes the topic's records to the store, committing after
// each confirmed write, until ctx is cancelled.
func (c *Collector) consumeLoop(ctx context.Context) {
	in := c.ingest
	// Closing the client leaves the group, which waits for the rebalance
	// that polling blocks until allowed.
	defer in.cons.AllowRebalance()
	batch := &store.Batch{}
	for {
		fs := in.cons.PollRecords(ctx, 256)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			c.log.Warn("ingest fetch failed", "topic", t, "partition", p, "error", err)
		})
		recs := fs.Records()
		if len(recs) == 0 {
			in.cons.AllowRebalance()
			continue
		}
		reset(batch)
		in.mu.Lock()
		for _, r := range recs {
			batch.Retry = batch.Retry || in.dirty[r.Partition]
		}
		in.mu.Unlock()
		for _, r := range recs {
			c.add(batch, r.Value, r.Offset)
		}
		if !c.write(ctx, batch) {
			return // shutting down: uncommitted, another collector or the next start takes them
		}
		c.written.Add(uint64(len(batch.Spans)))
		if c.onStored != nil {
			c.onStored(batch)
		}
		if err := in.cons.CommitRecords(ctx, recs...); err != nil {
			// Stored but not committed: they come again (to us or another
			// member) after a rebalance, which marks them as a retry.
			c.log.Error("ingest commit failed", "error", err)
		} else {
			in.mu.Lock()
			for _, r := range recs {
				delete(in.dirty, r.Partition)
			}
			in.mu.Unlock()
		}
		in.cons.AllowRebalance()
	}
}

// Tail follows the ingest topic of cfg from its end, outside any consumer
// group, and calls fn with what each record derives to, until ctx is done.
// Every studio behind a load balancer tails the topic this way, so each
// one's live stream shows every collector's events (as they are received,
// a moment before the store has them).
func Tail(ctx context.Context, cfg Config, fn func(*store.Batch)) error {
	icfg, err := ingestFrom(cfg.withDefaults())
	if err != nil {
		return err
	}
	conn, err := icfg.Conn.Opts()
	if err != nil {
		return fmt.Errorf("ingest tail: %w", err)
	}
	cfg = cfg.withDefaults()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(icfg.Brokers...), kgo.ConsumeTopics(icfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.BrokerMaxReadBytes(int32(2*cfg.MaxDecodedBytes + 1<<20)),
		kgo.FetchMaxBytes(int32(2 * cfg.MaxDecodedBytes)), kgo.FetchMaxPartitionBytes(int32(cfg.MaxDecodedBytes + 1024))}, conn...)...)
	if err != nil {
		return fmt.Errorf("ingest tail: %w", err)
	}
	defer cl.Close()
	c := &Collector{cfg: cfg, log: discardLogger, dlq: cfg.dlqOptions()}
	batch := &store.Batch{}
	for {
		fs := cl.PollRecords(ctx, 256)
		if ctx.Err() != nil {
			return nil
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		reset(batch)
		for _, r := range recs {
			c.add(batch, r.Value, r.Offset)
		}
		fn(batch)
	}
}
