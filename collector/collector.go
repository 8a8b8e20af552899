// Package collector is Causeway's ingest pipeline: OTLP receivers feed a
// disk spool, and one writer takes spooled requests in order, derives
// lineage (events, causation edges, spans) and writes batches to the
// store, committing the spool only after the store confirms.
//
// Guarantees: a request acknowledged with 2xx/OK is on disk (fsync'd); it
// is stored exactly once eventually, across store outages and collector
// crashes, SIGKILL included (batches that may have been written before are
// written with store.Batch.Retry set, and the store deduplicates them),
// unless it is poison: a record that cannot be decoded or derived, or that
// the store keeps refusing while it takes others, is moved to the spool's
// quarantine (kept on disk, see quarantine.go) and the writer moves on.
//
// Memory is bounded: the receivers hold at most MaxConcurrentRequests
// requests and MaxInflightBytes decoded request bytes at once, the writer
// at most about twice BatchSpans spans (one batch being stored while the
// next is derived), and everything else waits on disk. When
// the spool reaches MaxSpoolBytes (the store has been down or slow for
// long enough) receivers answer 429 / RESOURCE_EXHAUSTED with a retry
// delay, which OTLP clients honour. Slow and stalled clients hold next to
// nothing of that budget, and one peer at most PerPeerShare of it (see
// package otlp).
//
// A full or failing disk is answered with 503 and a retry delay, and
// recovers by itself once the spool can write again (probeLoop); Health
// says why the collector is degraded and whether it is ready for data
// (health.go).
package collector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/collector/otlp"
	"github.com/causeway-dev/causeway/collector/spool"
	"github.com/causeway-dev/causeway/store"
)

// Config configures a collector. The zero value of a field means its default.
type Config struct {
	// HTTPAddr is the OTLP/HTTP listen address (default "127.0.0.1:4318"; "" after
	// Validate never happens; use "off" to disable).
	HTTPAddr string `yaml:"http_addr"`
	// GRPCAddr is the OTLP/gRPC listen address (default "127.0.0.1:4317";
	// "off" disables). Any other than loopback needs Tokens or InsecureIngest.
	GRPCAddr string `yaml:"grpc_addr"`
	// SpoolDir is the directory of the disk spool. Required.
	SpoolDir string `yaml:"spool_dir"`
	// MaxSpoolBytes bounds the spool on disk (default 1 GiB); beyond it,
	// requests are refused with 429 until the store catches up.
	MaxSpoolBytes int64 `yaml:"max_spool_bytes"`
	// MaxBodyBytes bounds an OTLP/HTTP request body as sent, compressed or
	// not (default 16 MiB); larger bodies get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxDecodedBytes bounds a request after decompression: the HTTP body
	// after gzip (gzip bombs get 413) and the gRPC message (default 32 MiB).
	MaxDecodedBytes int64 `yaml:"max_decoded_bytes"`
	// MaxInflightBytes bounds the decoded request bytes held by the
	// receivers at once (default 256 MiB); beyond it requests get 429.
	// Bytes count as they arrive: an HTTP body as it is read, a gRPC
	// message once received (a stalled request holds next to nothing).
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// MaxConcurrentRequests bounds requests decoded or spooled at once
	// (default 64; a request takes its place once its body is in); beyond
	// it requests get 429.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
	// BatchSpans is how many spans the writer gathers per store write (default 10000).
	BatchSpans int `yaml:"batch_spans"`
	// FlushInterval is how long the writer waits for a batch to fill (default 200ms).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// DLQPayloadMaxBytes caps the payload stored with a DLQ entry (default 64 KiB).
	DLQPayloadMaxBytes int `yaml:"dlq_payload_max_bytes"`
	// RedactHeaders names the headers whose values are never stored nor
	// spooled, wherever they appear: span attributes recording headers,
	// DLQ entries (default lineage.DefaultRedactHeaders; names containing
	// token, secret, password or session are always redacted). See
	// lineage.Redactor.
	RedactHeaders []string `yaml:"redact_headers"`
	// Tokens are the ingest tokens: with any, every OTLP request must
	// carry one as a bearer token (otlp.Tokens). Without, the receivers
	// may only listen on loopback unless InsecureIngest is set.
	Tokens []otlp.Token `yaml:"tokens"`
	// InsecureIngest lets the receivers listen on a non-loopback address
	// without ingest tokens: anyone who reaches the port can send data.
	InsecureIngest bool `yaml:"insecure_ingest"`
	// TrustedDLQSources are the sidecars whose signed DLQ entries are
	// stored as trusted (trust.go); with none, every entry is untrusted
	// and replays re-read it from the broker.
	TrustedDLQSources []TrustedDLQSource `yaml:"trusted_dlq_sources"`
	// Ingest, when set (kafka://brokers/topic), buffers requests in a Kafka
	// topic instead of the disk spool; see ingest.go.
	Ingest string `yaml:"ingest"`
	// Limits bound the shape of an OTLP request (attribute nesting, counts
	// and sizes, spans per request); a request over one gets 400 /
	// InvalidArgument naming the limit, and nothing is spooled.
	Limits Limits `yaml:"limits"`
	// QuarantineAfter is how many times in a row the store may refuse a
	// spool record, while it accepts others, before the record is moved to
	// the spool's quarantine (default 5; see quarantine.go).
	QuarantineAfter int `yaml:"quarantine_after"`
	// IngestKafka is how the ingest buffer authenticates to Kafka (SASL)
	// and encrypts the connection (TLS); kept out of the Ingest URL so no
	// password is ever in a URL that gets logged.
	IngestKafka brokerconn.Kafka `yaml:"ingest_kafka"`
	// TLS serves both OTLP receivers over TLS, or mutual TLS with
	// client_ca_file (see tls.go).
	TLS TLSConfig `yaml:"tls"`
	// MetricsAddr is where `causeway collector` serves Prometheus /metrics
	// (default "127.0.0.1:8888", the OpenTelemetry Collector's own
	// telemetry port; "off" disables). The collector package does not
	// serve it; a studio running the collector serves /metrics itself.
	MetricsAddr string `yaml:"metrics_addr"`

	// ReadHeaderTimeout bounds the reading of an OTLP/HTTP request's
	// headers (default 10s); connections idle for 2 minutes are closed.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// BodyTimeout is the time any OTLP/HTTP body may take (default 10s);
	// beyond it the body must keep arriving at MinBodyRate on average, or
	// the request is cut off with 408 (rejected, reason "timeout").
	BodyTimeout time.Duration `yaml:"body_timeout"`
	// MinBodyRate is that rate in bytes per second (default 65536).
	MinBodyRate int64 `yaml:"min_body_rate"`
	// GRPCMessageTimeout is the time an OTLP/gRPC stream has, from its
	// headers, to deliver its request message (default 30s); a stream still
	// waiting then is cancelled (rejected, reason "timeout").
	GRPCMessageTimeout time.Duration `yaml:"grpc_message_timeout"`
	// GRPCKeepaliveTime is how long a gRPC connection may be quiet before
	// the server pings it (default 30s); GRPCKeepaliveTimeout how long the
	// server waits for the answer before closing it (default 10s).
	GRPCKeepaliveTime    time.Duration `yaml:"grpc_keepalive_time"`
	GRPCKeepaliveTimeout time.Duration `yaml:"grpc_keepalive_timeout"`
	// GRPCKeepaliveMinTime is the shortest interval between a client's
	// pings the server tolerates (default 10s; pings without streams are
	// allowed); a client pinging more often is disconnected.
	GRPCKeepaliveMinTime time.Duration `yaml:"grpc_keepalive_min_time"`
	// PerPeerShare is the fraction of max_inflight_bytes and of
	// max_concurrent_requests one peer may hold at once (default 0.25; 1
	// turns it off), but never less than one request of max_decoded_bytes:
	// one client cannot take the budget from the others (429, reason
	// "peer_busy").
	PerPeerShare float64 `yaml:"per_peer_share"`
	// PeerKey says what one peer is: "ip" (every connection from a remote
	// address, the default) or "connection" (behind a proxy that hides
	// client addresses).
	PeerKey string `yaml:"peer_key"`
	// Health sets when Health reports the collector degraded.
	Health HealthConfig `yaml:"health"`
	// Lineage configures correlation inheritance at ingest
	// (lineage.InheritConfig). The configuration file sets it as the
	// top-level `lineage:` section, which cmd/causeway copies here.
	Lineage lineage.InheritConfig `yaml:"-"`
}

// Limits bound the shape of OTLP requests; see otlp.RequestLimits for the
// fields and docs/operations.md ("Limits") for the defaults.
type Limits = otlp.RequestLimits

// Off disables a listener when used as its address.
const Off = "off"

// DefaultConfig returns the defaults; SpoolDir is left for the caller.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:              "127.0.0.1:4318",
		GRPCAddr:              "127.0.0.1:4317",
		MaxSpoolBytes:         1 << 30,
		MaxBodyBytes:          otlp.DefaultLimits.MaxBodyBytes,
		MaxDecodedBytes:       otlp.DefaultLimits.MaxDecodedBytes,
		MaxInflightBytes:      otlp.DefaultLimits.MaxInflightBytes,
		MaxConcurrentRequests: otlp.DefaultLimits.MaxConcurrentRequests,
		BatchSpans:            10000,
		FlushInterval:         200 * time.Millisecond,
		DLQPayloadMaxBytes:    64 << 10,
		RedactHeaders:         slices.Clone(lineage.DefaultRedactHeaders),
		Limits:                otlp.DefaultRequestLimits,
		QuarantineAfter:       5,
		MetricsAddr:           "127.0.0.1:8888",
	}.withClientDefaults()
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.HTTPAddr == "" {
		c.HTTPAddr = d.HTTPAddr
	}
	if c.GRPCAddr == "" {
		c.GRPCAddr = d.GRPCAddr
	}
	if c.MaxSpoolBytes == 0 {
		c.MaxSpoolBytes = d.MaxSpoolBytes
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxDecodedBytes == 0 {
		c.MaxDecodedBytes = max(d.MaxDecodedBytes, c.MaxBodyBytes)
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = max(d.MaxInflightBytes, c.MaxDecodedBytes)
	}
	if c.MaxConcurrentRequests == 0 {
		c.MaxConcurrentRequests = d.MaxConcurrentRequests
	}
	if c.BatchSpans == 0 {
		c.BatchSpans = d.BatchSpans
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.DLQPayloadMaxBytes == 0 {
		c.DLQPayloadMaxBytes = d.DLQPayloadMaxBytes
	}
	if c.RedactHeaders == nil {
		c.RedactHeaders = d.RedactHeaders
	}
	c.Limits = c.Limits.WithDefaults()
	if c.QuarantineAfter == 0 {
		c.QuarantineAfter = d.QuarantineAfter
	}
	if c.MetricsAddr == "" {
		c.MetricsAddr = d.MetricsAddr
	}
	c = c.withClientDefaults()
	return c
}

// Validate reports the first invalid setting, after filling zero fields
// with their defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.Tokens) == 0 && !c.InsecureIngest {
		for _, a := range []struct{ key, addr string }{{"http_addr", c.HTTPAddr}, {"grpc_addr", c.GRPCAddr}} {
			if a.addr != Off && !loopbackAddr(a.addr) {
				return fmt.Errorf("%w: collector.%s %q is reachable from other machines, and without ingest tokens anyone there could send data: "+
					"configure collector.tokens (or CAUSEWAY_INGEST_TOKENS=name:token,…), listen on 127.0.0.1, or pass --insecure-ingest",
					ErrExposedIngest, a.key, a.addr)
			}
		}
	}
	if _, err := otlp.NewTokens(c.Tokens); err != nil {
		return err
	}
	if err := validateTrusted(c.TrustedDLQSources); err != nil {
		return err
	}
	if err := c.TLS.Validate(); err != nil {
		return err
	}
	if err := c.validateClients(); err != nil {
		return err
	}
	if err := c.Limits.Validate(); err != nil {
		return err
	}
	if err := c.Lineage.Validate(); err != nil {
		return err
	}
	if c.QuarantineAfter < 0 {
		return errors.New("quarantine_after must be positive")
	}
	switch {
	case c.SpoolDir == "" && c.Ingest == "":
		return errors.New("spool_dir is required")
	case c.HTTPAddr == "" || c.GRPCAddr == "":
		return errors.New(`http_addr and grpc_addr must be set (use "off" to disable one)`)
	case c.MaxSpoolBytes < 1<<20:
		return fmt.Errorf("max_spool_bytes %d is below 1 MiB", c.MaxSpoolBytes)
	case c.MaxBodyBytes <= 0 || c.MaxDecodedBytes < c.MaxBodyBytes:
		return fmt.Errorf("max_body_bytes (%d) must be positive and at most max_decoded_bytes (%d)", c.MaxBodyBytes, c.MaxDecodedBytes)
	case c.MaxInflightBytes < c.MaxDecodedBytes:
		return fmt.Errorf("max_inflight_bytes (%d) must be at least max_decoded_bytes (%d), or the largest request never fits", c.MaxInflightBytes, c.MaxDecodedBytes)
	case c.MaxSpoolBytes < 2*c.MaxDecodedBytes:
		return fmt.Errorf("max_spool_bytes (%d) must be at least twice max_decoded_bytes (%d), or the largest request never fits the spool", c.MaxSpoolBytes, c.MaxDecodedBytes)
	case c.MaxConcurrentRequests <= 0:
		return errors.New("max_concurrent_requests must be positive")
	case c.BatchSpans <= 0:
		return errors.New("batch_spans must be positive")
	case c.FlushInterval <= 0:
		return errors.New("flush_interval must be positive")
	}
	if c.Ingest != "" {
		if _, err := ingestFrom(c); err != nil {
			return err
		}
	}
	if c.MetricsAddr != Off {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("metrics_addr %q: %w (use host:port or \"off\")", c.MetricsAddr, err)
		}
	}
	return nil
}

// Stats are a collector's counters since it started.
type Stats struct {
	SpansReceived  uint64 // spans in requests that decoded, whatever happened next
	SpansAccepted  uint64 // spans acknowledged to clients (spooled)
	SpansRefused   uint64 // spans refused because the spool was full
	SpansWritten   uint64 // spans the store confirmed
	PointsReceived uint64 // metric data points in requests that decoded
	MetricPoints   uint64 // metric data points accepted (spooled)
	// Rejected counts rejected requests by reason: method, media_type,
	// too_large, malformed, invalid (UTF-8, missing ids), limit (over a
	// Config.Limits limit), busy (in-flight limits), full (spool),
	// unavailable (spool error). See otlp.Reason.
	Rejected        map[string]uint64
	WriteErrors     uint64 // failed store writes (each retried)
	SpoolErrors     uint64 // failed spool appends, reads and commits
	SpoolBytes      int64  // bytes in the spool now
	InflightBytes   int64  // decoded request bytes the receivers hold now
	RecoveredOnOpen uint64 // spool records found uncommitted at start

	// SpoolRecords are the records spooled and not yet stored, and
	// SpoolOldest the append time of the oldest of them (zero when none);
	// see spool.Stats.
	SpoolRecords uint64
	SpoolOldest  time.Time
	// Quarantined counts spool records moved to quarantine since start,
	// QuarantinedNow those in the quarantine directory now.
	Quarantined    uint64
	QuarantinedNow uint64
	// Rows the store confirmed, by table (SpansWritten are the spans).
	EventsWritten, EdgesWritten, LagWritten, DLQWritten uint64
}

// Collector is the pipeline. Create it with New, then Start and Shutdown.
type Collector struct {
	cfg    Config
	w      store.Writer
	log    *slog.Logger
	spool  *spool.Spool // nil with an ingest buffer
	ingest *ingest      // nil without

	limiter  *otlp.Limiter
	counters *otlp.Counters
	// dlq is what derivation needs of the configuration (redaction,
	// payload cap, trusted DLQ signers), built once.
	dlq lineage.DLQOptions
	// inherit fills derived events' missing correlation ids.
	inherit *lineage.Inheritor
	// internalToken is the ingest token of this process's own senders
	// ("" without ingest tokens).
	internalToken string

	storeWatch *storeWatch // w, watched for Health

	httpLn, grpcLn net.Listener
	httpSrv        *http.Server
	grpcSrv        *grpc.Server
	mux            *http.ServeMux

	retryUpTo uint64 // spool records below this seq may already be stored
	recovered uint64

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	onStored func(*store.Batch)

	deriveTraces traceDeriver // nil: lineage.Derive (tests inject a panicking one)
	quarantined  atomic.Uint64

	accepted, refused, written, points, writeErrors, spoolErrors atomic.Uint64

	rows          [numTables]atomic.Uint64 // rows stored, by table (metrics.go)
	writeDuration *prometheus.HistogramVec // store write attempts, by result
}

// New opens the spool and prepares the receivers; zero fields of cfg take
// their defaults. Records left in the spool by an earlier run (a crash,
// or a Shutdown before the store took everything) are written again,
// with store.Batch.Retry set, once Start runs.
func New(cfg Config, w store.Writer, log *slog.Logger) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("collector config: %w", err)
	}
	cfg = cfg.withDefaults()
	var sp *spool.Spool
	var in *ingest
	if cfg.Ingest != "" {
		icfg, _ := ingestFrom(cfg) // validated
		var err error
		if in, err = newIngest(context.Background(), icfg, cfg.MaxDecodedBytes); err != nil {
			return nil, fmt.Errorf("collector: %w", err)
		}
	} else {
		var err error
		if sp, err = spool.Open(cfg.SpoolDir, spool.Options{MaxBytes: cfg.MaxSpoolBytes}); err != nil {
			return nil, fmt.Errorf("collector: %w", err)
		}
	}
	limits := cfg.receiverLimits()
	sw := &storeWatch{Writer: w} // for Health: since when writes fail
	c := &Collector{cfg: cfg, w: sw, storeWatch: sw, log: log, spool: sp, ingest: in, mux: http.NewServeMux(),
		limiter: otlp.NewLimiter(limits), counters: new(otlp.Counters), writeDuration: newWriteDuration()}
	if sp != nil {
		c.retryUpTo, c.recovered = sp.RecoveredUpTo, sp.Recovered
		if sp.Recovered > 0 {
			log.Info("spool holds requests not yet confirmed by the store; replaying them", "records", sp.Recovered, "spool_bytes", sp.Bytes())
		}
	}
	c.dlq = cfg.dlqOptions()
	c.inherit = lineage.NewInheritor(cfg.Lineage)
	tokens := cfg.Tokens
	if len(tokens) > 0 {
		// This process's own senders (the studio's replay agent) use a
		// token of their own, made for this run.
		k := make([]byte, 24)
		rand.Read(k)
		c.internalToken = hex.EncodeToString(k)
		tokens = append(slices.Clone(tokens), otlp.Token{Name: "causeway-internal", Token: c.internalToken})
	}
	auth, err := otlp.NewTokens(tokens)
	if err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	opts := otlp.Options{Limits: limits, Request: cfg.Limits, Limiter: c.limiter, Counters: c.counters, Logger: log, Auth: auth}
	otlp.NewHTTP(c, opts).Register(c.mux)
	c.mux.Handle("GET "+HealthPath, c.HealthHandler()) // beside OTLP, where load balancers reach
	c.mux.Handle("GET "+ReadyPath, c.ReadyHandler())
	c.grpcSrv = otlp.NewGRPCServer(c, opts)
	return c, nil
}

// OnStored sets a function called with every batch right after the store
// confirmed it (the studio's live hub). Call it before Start; fn must not
// keep or modify the batch, and should not block.
func (c *Collector) OnStored(fn func(*store.Batch)) { c.onStored = fn }

// Handler is the OTLP/HTTP handler (/v1/traces, /v1/metrics), for a
// server that mounts it itself.
func (c *Collector) Handler() http.Handler { return c.mux }

// Start listens on the configured addresses and starts the writer.
func (c *Collector) Start(ctx context.Context) error {
	var lc net.ListenConfig
	var err error
	if c.cfg.HTTPAddr != Off {
		if c.httpLn, err = lc.Listen(ctx, "tcp", c.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("OTLP/HTTP listen on %s: %w", c.cfg.HTTPAddr, err)
		}
	}
	if c.cfg.GRPCAddr != Off {
		if c.grpcLn, err = lc.Listen(ctx, "tcp", c.cfg.GRPCAddr); err != nil {
			if c.httpLn != nil {
				c.httpLn.Close()
			}
			return fmt.Errorf("OTLP/gRPC listen on %s: %w", c.cfg.GRPCAddr, err)
		}
	}
	if err := c.serveTLS(); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	switch {
	case c.spool != nil:
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.writeLoop(wctx) }()
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.probeLoop(wctx) }()
	case c.ingest.cons != nil:
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.consumeLoop(wctx) }()
	}
	if c.httpLn != nil {
		// No ReadTimeout: each body has its own deadline, moved as it
		// arrives (body_timeout, min_body_rate; otlp.Limits).
		c.httpSrv = &http.Server{Handler: c.mux, ReadHeaderTimeout: c.cfg.ReadHeaderTimeout, IdleTimeout: 2 * time.Minute}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := c.httpSrv.Serve(c.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				c.log.Error("OTLP/HTTP server stopped", "error", err)
			}
		}()
	}
	if c.grpcLn != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if err := c.grpcSrv.Serve(c.grpcLn); err != nil {
				c.log.Error("OTLP/gRPC server stopped", "error", err)
			}
		}()
	}
	return nil
}

// InternalToken is an ingest token for senders in this process (the
// studio's replay agent), made at New; "" when the receivers need none.
func (c *Collector) InternalToken() string { return c.internalToken }

// HTTPAddr is the bound OTLP/HTTP address ("" when off).
func (c *Collector) HTTPAddr() string { return addr(c.httpLn) }

// GRPCAddr is the bound OTLP/gRPC address ("" when off).
func (c *Collector) GRPCAddr() string { return addr(c.grpcLn) }

func addr(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// Shutdown stops accepting requests, lets the writer store what is
// spooled until ctx is done, and closes the spool. What is left in the
// spool is stored after the next start.
func (c *Collector) Shutdown(ctx context.Context) error {
	var errs []error
	if c.httpSrv != nil {
		if err := c.httpSrv.Shutdown(ctx); err != nil {
			// ctx ended with requests still running: cut them off (their
			// clients get no answer and retry; what they spooled is kept).
			errs = append(errs, fmt.Errorf("OTLP/HTTP shutdown: %w", err), c.httpSrv.Close())
		}
	}
	if c.grpcLn != nil {
		stopped := make(chan struct{})
		go func() { c.grpcSrv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			c.grpcSrv.Stop()
			<-stopped
		}
	}
	// Drain: let the writer store and commit everything, until ctx ends.
	for c.cancel != nil && c.spool != nil && !c.spool.Done() && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
	}
	if c.spool != nil {
		errs = append(errs, c.spool.Close())
	}
	if c.ingest != nil {
		c.ingest.close()
	}
	return errors.Join(errs...)
}

// Spool records start with a byte saying what they hold.
const (
	recordTraces  byte = 'T'
	recordMetrics byte = 'M'
)

// ConsumeTraces spools a request; it implements otlp.TracesConsumer.
func (c *Collector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return c.ConsumeTracesRaw(ctx, td, nil)
}

var _ otlp.RawTracesConsumer = (*Collector)(nil)

// ConsumeTracesRaw spools a request; it implements otlp.RawTracesConsumer.
// The request's own protobuf, raw, is spooled as it came when redaction
// changed nothing in it; otherwise (or without raw) td is encoded.
func (c *Collector) ConsumeTracesRaw(_ context.Context, td ptrace.Traces, raw []byte) error {
	n := uint64(td.SpanCount())
	if n == 0 {
		return nil
	}
	b := raw
	// Before anything is written, the spool included.
	if c.dlq.Redact.RedactTraces(td) > 0 || raw == nil {
		var err error
		if b, err = ptraceotlp.NewExportRequestFromTraces(td).MarshalProto(); err != nil {
			return fmt.Errorf("encoding for the spool: %w", err)
		}
	}
	if err := c.append(recordTraces, b, n); err != nil {
		return err
	}
	c.accepted.Add(n)
	return nil
}

// ConsumeMetrics spools a metrics request; consumer-lag gauges in it
// become lag samples (lineage.DeriveMetrics), other metrics are dropped
// by the writer.
func (c *Collector) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	n := uint64(md.DataPointCount())
	if n == 0 {
		return nil
	}
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		return fmt.Errorf("encoding for the spool: %w", err)
	}
	if err := c.append(recordMetrics, b, 0); err != nil {
		return err
	}
	c.points.Add(n)
	return nil
}

func (c *Collector) append(kind byte, b []byte, spans uint64) error {
	if c.ingest != nil {
		if c.ingest.prod == nil {
			return fmt.Errorf("%w: this collector only stores (ingest mode=store); send to a receiving collector", otlp.ErrFull)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		err := c.ingest.produce(ctx, append([]byte{kind}, b...))
		if errors.Is(err, otlp.ErrFull) {
			c.refused.Add(spans)
		}
		return err
	}
	if err := c.spool.Append(append([]byte{kind}, b...)); err != nil {
		switch {
		case errors.Is(err, spool.ErrFull):
			c.refused.Add(spans)
			return fmt.Errorf("%w: the spool is full while the store catches up", otlp.ErrFull)
		case errors.Is(err, spool.ErrTooLarge):
			return fmt.Errorf("%w: %d bytes do not fit a spool of %d", otlp.ErrTooLarge, len(b), c.cfg.MaxSpoolBytes)
		case errors.Is(err, spool.ErrClosed):
			return errors.New("the collector is shutting down")
		}
		// spool.ErrWrite: the disk is full or failing. The client gets 503
		// with Retry-After; probeLoop logs it and finds when it can write
		// again, and Health says "disk" meanwhile.
		c.spoolErrors.Add(1)
		return fmt.Errorf("spooling the request: %w", err)
	}
	return nil
}

// Stats returns the collector's counters.
func (c *Collector) Stats() Stats {
	var sp spool.Stats
	if c.spool != nil {
		sp = c.spool.Stats()
	}
	return Stats{
		SpoolRecords: sp.Records, SpoolOldest: sp.Oldest,
		EventsWritten: c.rows[tableEvents].Load(), EdgesWritten: c.rows[tableEdges].Load(),
		LagWritten: c.rows[tableLag].Load(), DLQWritten: c.rows[tableDLQ].Load(),
		SpansReceived: c.counters.SpansReceived(), SpansAccepted: c.accepted.Load(),
		SpansRefused: c.refused.Load(), SpansWritten: c.written.Load(),
		PointsReceived: c.counters.PointsReceived(), MetricPoints: c.points.Load(),
		Rejected: c.counters.Rejected(), WriteErrors: c.writeErrors.Load(), SpoolErrors: c.spoolErrors.Load(),
		SpoolBytes: c.spoolBytes(), InflightBytes: c.limiter.InflightBytes(), RecoveredOnOpen: c.recovered,
		Quarantined: c.quarantined.Load(), QuarantinedNow: c.quarantinedNow(),
	}
}

func (c *Collector) spoolBytes() int64 {
	if c.spool == nil {
		return 0
	}
	return c.spool.Bytes()
}

// pending is a derived batch on its way from the writer's deriving
// goroutine (gather) to its storing one (storeLoop), with the spool
// records it holds.
type pending struct {
	batch *store.Batch
	// recs are the records derived into batch (quarantined ones are not).
	recs []spool.Record
	// last is the spool position to commit once batch is stored.
	last uint64
}

// writeLoop moves spooled requests to the store until ctx is cancelled.
// Two goroutines share the work, so that decoding and deriving the next
// batch overlaps the store's write of the current one: gather takes
// records from the spool and derives them into a batch, storeLoop writes
// it and commits the spool. They pass two batches back and forth, so the
// writer holds at most two batches (see BatchSpans).
func (c *Collector) writeLoop(ctx context.Context) {
	// Batches are reused for every write: store.Writer and OnStored do
	// not keep them, and growing fresh slices of 368-byte events for every
	// write cost more CPU than decoding and deriving the requests.
	free := make(chan *pending, 2)
	for range 2 {
		free <- &pending{batch: &store.Batch{}}
	}
	full := make(chan *pending)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(full)
		c.gather(ctx, free, full)
	}()
	c.storeLoop(ctx, full, free)
	<-done
}

// gather derives spooled records into batches taken from free and hands
// each one to full, until ctx is cancelled or the spool closes.
func (c *Collector) gather(ctx context.Context, free <-chan *pending, full chan<- *pending) {
	readBackoff := 100 * time.Millisecond
	var p *pending // the batch being filled
	for {
		if p == nil {
			select {
			case p = <-free:
			case <-ctx.Done():
				return
			}
		}
		rec, err := c.spool.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
				return
			}
			// A read error (disk trouble): the records stay in the spool;
			// try again rather than stop writing for good.
			c.spoolErrors.Add(1)
			c.log.Error("reading the spool failed; retrying", "retry_in", readBackoff, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(readBackoff):
			}
			readBackoff = min(readBackoff*2, 5*time.Second)
			continue
		}
		readBackoff = 100 * time.Millisecond
		// Records that cannot be derived are quarantined as they are
		// taken; p.recs are the ones in the batch (see quarantine.go).
		spans, ok := c.take(ctx, p.batch, &p.recs, rec)
		first, last := rec.Seq, rec.Seq
		deadline := time.Now().Add(c.cfg.FlushInterval)
		for ok && spans < c.cfg.BatchSpans {
			wctx, cancel := context.WithDeadline(ctx, deadline)
			rec, err := c.spool.Next(wctx)
			cancel()
			if err != nil {
				break
			}
			var n int
			n, ok = c.take(ctx, p.batch, &p.recs, rec)
			spans += n
			last = rec.Seq
		}
		if !ok {
			return // shutting down before a quarantined record was on disk
		}
		p.batch.Retry = first < c.retryUpTo // holds records that may have been written before the restart
		p.last = last
		select {
		case full <- p:
			p = nil
		case <-ctx.Done():
			return
		}
	}
}

// storeLoop writes the batches gather derives, in order, and commits the
// spool past each one once the store confirms it.
func (c *Collector) storeLoop(ctx context.Context, full <-chan *pending, free chan<- *pending) {
	for {
		var p *pending
		select {
		case p = <-full:
		case <-ctx.Done():
			return
		}
		if p == nil {
			return // gather stopped
		}
		last := p.last
		if len(p.recs) > 0 && !c.writeRecords(ctx, p.batch, p.recs, &last, full, free) {
			return // shutting down: the records stay in the spool
		}
		if err := c.spool.Commit(last); err != nil {
			// The batch is stored but not marked: it will be written again
			// with Retry after a restart, which the store tolerates. The
			// next commit covers it.
			c.spoolErrors.Add(1)
			c.log.Error("spool commit failed", "error", err)
		}
		p.reset()
		free <- p // free has room for every batch there is
	}
}

// reset empties p for reuse, keeping no record data or strings alive while
// it waits in free.
func (p *pending) reset() {
	reset(p.batch)
	clear(p.recs)
	p.recs = p.recs[:0]
}

// reset empties b for reuse, keeping its slices' capacity but none of the
// strings they held.
func reset(b *store.Batch) {
	clear(b.Events)
	clear(b.Edges)
	clear(b.Spans)
	clear(b.Lag)
	clear(b.DLQ)
	*b = store.Batch{Events: b.Events[:0], Edges: b.Edges[:0], Spans: b.Spans[:0], Lag: b.Lag[:0], DLQ: b.DLQ[:0]}
}

// add derives a spooled or enqueued request into batch and returns its
// row count; at is its position (spool sequence or topic offset), for logs.
// A record that cannot be derived is skipped with an error logged (the
// spool's writer quarantines such records instead: writeLoop).
func (c *Collector) add(b *store.Batch, rec []byte, at int64) int {
	n, err := c.derive(b, rec, false) // from other collectors: checked
	if err != nil {
		// Kafka checks its own CRCs: this is a bug or a foreign producer
		// on the ingest topic, not a torn write.
		c.log.Error("skipping an undecodable record", "position", at, "error", err)
	}
	return n
}

// quarantinedNow is the number of records in the spool's quarantine.
func (c *Collector) quarantinedNow() uint64 {
	if c.spool == nil {
		return 0
	}
	return uint64(spool.CountQuarantined(c.cfg.SpoolDir))
}

// write stores b, retrying with backoff until it succeeds or ctx ends (the
// Kafka ingest path; the spool's writer uses writeRecords, which
// quarantines what the store never takes).
func (c *Collector) write(ctx context.Context, b *store.Batch) bool {
	backoff := 100 * time.Millisecond
	for {
		err := c.tryWrite(ctx, b) // a panicking store is an error, not a crash
		if err == nil {
			return true
		}
		c.writeErrors.Add(1)
		b.Retry = true
		c.log.Warn("store write failed; retrying", "rows", b.Len(), "retry_in", backoff, "error", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// ErrExposedIngest is returned by Validate for receivers that would listen
// beyond loopback without ingest tokens.
var ErrExposedIngest = errors.New("unauthenticated ingest on a non-loopback address")

// loopbackAddr reports whether a listen address is reachable only from
// this machine: 127.0.0.0/8, ::1 or localhost. An empty or unspecified
// host (":4318", "0.0.0.0:4318") listens everywhere.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
