// Package agent is Causeway's instrumentation library for Go services on
// Kafka (franz-go, package agent/kafka) and NATS (nats.go, package
// agent/natsagent). An Agent owns an OpenTelemetry tracer that exports spans
// over OTLP to a Causeway collector (or any OTLP endpoint) from a bounded
// queue: it never blocks or slows the application, and counts what it
// drops.
//
// The broker packages use an Agent to put event ids, correlation and
// causation ids and W3C trace context into message headers, and to record
// publish, process, settle and dead-letter operations as spans that follow
// the OpenTelemetry messaging semantic conventions.
package agent

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Option configures an Agent.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	service    string
	endpoint   string
	grpc       bool
	queueSize  int
	batchSize  int
	interval   time.Duration
	timeout    time.Duration
	oldSemconv bool
	exporter   sdktrace.SpanExporter
	tls        *tls.Config
	attrs      []attribute.KeyValue
	token      string
	sampler    sdktrace.Sampler
	metaOnly   bool
	minBackoff time.Duration // the first pause after a failed export
}

// WithService names the service (the `service.name` resource attribute).
func WithService(name string) Option { return optionFunc(func(c *config) { c.service = name }) }

// WithCollector sets the OTLP endpoint: "http://host:4318" (default
// http://127.0.0.1:4318) or, with WithGRPC, "host:4317".
func WithCollector(endpoint string) Option {
	return optionFunc(func(c *config) { c.endpoint = endpoint })
}

// WithTLS sets the TLS configuration of the connection to an https://
// collector: a private CA in RootCAs, a client certificate for a
// collector that requires mutual TLS. Without it an https:// endpoint is
// verified against the system's roots.
func WithTLS(cfg *tls.Config) Option { return optionFunc(func(c *config) { c.tls = cfg }) }

// WithToken sends token as "Authorization: Bearer <token>" with every
// export: the collector's ingest token (collector.tokens).
func WithToken(token string) Option { return optionFunc(func(c *config) { c.token = token }) }

// WithGRPC exports over OTLP/gRPC instead of OTLP/HTTP.
func WithGRPC() Option { return optionFunc(func(c *config) { c.grpc = true }) }

// WithQueueSize bounds the spans waiting for export (default 32768, about
// 22 MiB when full: enough for the bursts in which, on a saturated
// machine, the exporter goroutine gets no processor). When the queue is
// full, new spans are dropped and counted.
func WithQueueSize(n int) Option { return optionFunc(func(c *config) { c.queueSize = n }) }

// WithBatchSize sets how many spans one export carries (default 512).
func WithBatchSize(n int) Option { return optionFunc(func(c *config) { c.batchSize = n }) }

// WithExportTimeout bounds one export attempt (default 5 s). A failed
// export's spans are dropped and counted; they are not retried, so that a
// down collector cannot build up memory.
func WithExportTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithOldSemconv also emits the messaging attribute names used before the
// OpenTelemetry semantic conventions 1.26 (messaging.operation,
// messaging.kafka.consumer.group, messaging.kafka.message.offset, …), for
// backends that only know those.
func WithOldSemconv() Option { return optionFunc(func(c *config) { c.oldSemconv = true }) }

// WithExporter exports through e instead of OTLP (tests, custom pipelines).
func WithExporter(e sdktrace.SpanExporter) Option {
	return optionFunc(func(c *config) { c.exporter = e })
}

// WithResourceAttributes adds resource attributes (deployment, version, …).
func WithResourceAttributes(kv ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) { c.attrs = append(c.attrs, kv...) })
}

// DefaultQueueSize is how many ended spans wait for export at most,
// unless WithQueueSize says otherwise.
const DefaultQueueSize = 32768

// Agent instruments one service. It is safe for concurrent use.
type Agent struct {
	cfg    config
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	q      *queue
	prop   propagation.TextMapPropagator

	// per-record counters, each on its own cache line: the producer's
	// and the consumer's goroutines add to them on different cores.
	published, processed, failed paddedCounter
}

// paddedCounter is a counter alone on its cache line.
type paddedCounter struct {
	atomic.Uint64
	_ [56]byte
}

// New creates an Agent. Nothing is sent until spans end; New does not
// connect, so it succeeds while the collector is down.
func New(ctx context.Context, opts ...Option) (*Agent, error) {
	cfg := config{service: "unknown_service", endpoint: "http://127.0.0.1:4318", queueSize: DefaultQueueSize, batchSize: 512,
		interval: time.Second, timeout: 5 * time.Second, minBackoff: minBackoff}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.queueSize <= 0 || cfg.batchSize <= 0 {
		return nil, errors.New("agent: queue and batch sizes must be positive")
	}
	exp := cfg.exporter
	if exp == nil {
		var err error
		if exp, err = newExporter(ctx, cfg); err != nil {
			return nil, err
		}
	}
	res := resource.NewSchemaless(append([]attribute.KeyValue{attribute.String("service.name", cfg.service)}, cfg.attrs...)...)
	scope := instrumentation.Scope{Name: scopeName}
	q := newQueue(exp, cfg, res, scope)
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSpanProcessor(q)}
	if cfg.sampler != nil {
		tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.ParentBased(cfg.sampler)))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	return &Agent{cfg: cfg, tp: tp, tracer: tp.Tracer(scopeName), q: q, prop: propagation.TraceContext{}}, nil
}

// scopeName is the instrumentation scope of the agent's spans.
const scopeName = "github.com/causeway-dev/causeway/agent"

// headers are the export requests' extra headers: the token, if any.
func (c config) headers() map[string]string {
	if c.token == "" {
		return nil
	}
	return map[string]string{"Authorization": "Bearer " + c.token}
}

// Service is the service name the agent reports.
func (a *Agent) Service() string { return a.cfg.service }

// Tracer is the agent's tracer, for spans of your own.
func (a *Agent) Tracer() trace.Tracer { return a.tracer }

// Propagator is the W3C trace-context propagator for headers the agent
// does not write itself (traceparent and tracestate; baggage is not
// carried). The agent writes and parses traceparent directly, in the
// same format.
func (a *Agent) Propagator() propagation.TextMapPropagator { return a.prop }

// OldSemconv reports whether old messaging attribute names are emitted too.
func (a *Agent) OldSemconv() bool { return a.cfg.oldSemconv }

// Stats are the agent's counters: spans exported and dropped, and
// messages published and handled, counted in every mode (in
// metadata-only mode they are all the agent reports).
type Stats struct {
	Exported uint64 // spans the collector accepted
	Dropped  uint64 // spans dropped: queue full or export failed
	Queued   int    // spans waiting now

	Published uint64 // messages published (StartPublish calls)
	Processed uint64 // handling attempts (StartProcess calls)
	Failed    uint64 // handling attempts that ended in error, retry or dead-lettering
}

// Stats returns the counters.
func (a *Agent) Stats() Stats {
	return Stats{Exported: a.q.exported.Load(), Dropped: a.q.dropped.Load(), Queued: int(a.q.queued.Load()),
		Published: a.published.Load(), Processed: a.processed.Load(), Failed: a.failed.Load()}
}

// Flush exports every queued span, waiting until ctx is done at most.
func (a *Agent) Flush(ctx context.Context) error { return a.tp.ForceFlush(ctx) }

// Close flushes queued spans (until ctx is done) and stops the exporter.
func (a *Agent) Close(ctx context.Context) error { return a.tp.Shutdown(ctx) }

// NewID returns a fresh random event id (32 hex digits). Ids need to be
// unique, not secret: math/rand/v2's generator (ChaCha8, per-thread
// state) makes them without a system call.
func NewID() string {
	var b [32]byte
	return string(appendNewID(b[:0]))
}

// appendNewID appends a fresh event id to b.
func appendNewID(b []byte) []byte {
	var id [16]byte
	binary.LittleEndian.PutUint64(id[:8], mrand.Uint64())
	binary.LittleEndian.PutUint64(id[8:], mrand.Uint64())
	return hex.AppendEncode(b, id[:])
}
