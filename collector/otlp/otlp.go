// Package otlp holds the collector's OpenTelemetry Protocol receivers: an
// HTTP handler for /v1/traces and /v1/metrics (protobuf and JSON, gzip)
// and the gRPC trace and metrics services. They decode and validate
// requests and hand them to a consumer; they never keep a request after
// the consumer returns.
//
// Slow and stalled clients cannot take the budget from others: request
// bytes are charged as they arrive, not reserved ahead; an HTTP body must
// arrive within Limits.BodyTimeout and at Limits.MinBodyRate after that
// (else 408), a gRPC message within Limits.GRPCMessageTimeout (else
// DeadlineExceeded); gRPC connections are kept alive with pings and dead
// ones closed; and one peer may hold only Limits.PerPeerShare of the
// in-flight bytes and requests (else 429, reason peer_busy).
//
// Bad input gets a clear 4xx (gRPC InvalidArgument) as a google.rpc.Status
// in the request's encoding, and nothing else happens. A consumer that is
// full, or receivers that already hold as many requests or bytes as their
// Limits allow, get 429 with Retry-After (gRPC ResourceExhausted with
// RetryInfo, without which OTel SDKs drop the data instead of retrying).
// Any other consumer error is 503 (gRPC Unavailable), which clients retry.
//
// Strings must be valid UTF-8 (as protobuf requires of string fields) and
// every span needs a trace id and a span id: pdata's decoders check
// neither, so the receivers do, and reject the request rather than store
// something the store or the UI could choke on.
//
// Requests are bounded in shape by RequestLimits (attribute nesting depth,
// attribute counts, events and links per span, key and value sizes, array
// length, spans per request): one over a limit is refused whole with a
// *LimitError naming the limit and its setting (400 / InvalidArgument,
// reason "limit"). Nesting is checked on the raw bytes before pdata's
// recursive decoders see them (prescan.go).
package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TracesConsumer receives decoded, validated trace requests.
//
// ConsumeTraces returns nil only when the data is durably accepted; an
// error wrapping ErrFull means "retry later", one wrapping ErrTooLarge
// means the request can never be accepted, and any other error is
// reported to the client as unavailable (retryable). td is only valid
// until ConsumeTraces returns.
type TracesConsumer interface {
	ConsumeTraces(ctx context.Context, td ptrace.Traces) error
}

// RawTracesConsumer is a TracesConsumer that also takes a protobuf
// request's own bytes, from which td was decoded, so that it need not
// encode td again when it keeps it unchanged. raw, like td, is only valid
// until the call returns.
type RawTracesConsumer interface {
	TracesConsumer
	ConsumeTracesRaw(ctx context.Context, td ptrace.Traces, raw []byte) error
}

// MetricsConsumer receives decoded, validated metrics requests, with the
// same contract as TracesConsumer.
type MetricsConsumer interface {
	ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error
}

// Consumer takes both signals.
type Consumer interface {
	TracesConsumer
	MetricsConsumer
}

// ErrFull is what a consumer returns (wrapped) when it cannot take more now.
var ErrFull = errors.New("collector is at capacity")

// ErrTooLarge is what a consumer returns (wrapped) for a request it could
// never take, however long the client waits.
var ErrTooLarge = errors.New("request is too large")

// Limits bound what the receivers accept.
type Limits struct {
	// MaxBodyBytes bounds an HTTP request body as sent (compressed or not).
	MaxBodyBytes int64
	// MaxDecodedBytes bounds a request after decompression (gzip bombs):
	// the HTTP body after gzip, the gRPC message (gRPC's max receive size).
	MaxDecodedBytes int64
	// MaxInflightBytes bounds the decoded request bytes held by all
	// receivers sharing a Limiter at once. Bytes are charged as they
	// arrive: an HTTP body as it is read, a gRPC message once received.
	MaxInflightBytes int64
	// MaxConcurrentRequests bounds the requests being decoded or consumed
	// at once (a request takes its place once its body is read).
	MaxConcurrentRequests int
	// PerPeerShare is the fraction (0 < share ≤ 1) of MaxInflightBytes and
	// of MaxConcurrentRequests that one peer may hold at once, but never
	// less than one request of MaxDecodedBytes. 1 turns the share off.
	PerPeerShare float64
	// PeerKey says what one peer is: PeerIP (the default) or PeerConnection.
	PeerKey PeerKey
	// BodyTimeout is the time any HTTP body may take to arrive; beyond it
	// the body must keep up MinBodyRate on average (the deadline is
	// BodyTimeout + bytes read / MinBodyRate after the headers). A body
	// that falls behind is cut off with 408.
	BodyTimeout time.Duration
	// MinBodyRate is the slowest average rate, in bytes per second, an
	// HTTP body may arrive at once BodyTimeout has passed.
	MinBodyRate int64
	// GRPCMessageTimeout is the time a gRPC stream has, from its headers,
	// to deliver its request message; a stream still waiting then is
	// cancelled with DeadlineExceeded.
	GRPCMessageTimeout time.Duration
	// GRPCKeepaliveTime is how long a gRPC connection may be quiet before
	// the server pings it; GRPCKeepaliveTimeout how long it waits for the
	// answer before closing the connection.
	GRPCKeepaliveTime, GRPCKeepaliveTimeout time.Duration
	// GRPCKeepaliveMinTime is the shortest interval between a client's
	// keepalive pings the server tolerates; a client that pings more often
	// is disconnected (GOAWAY "too_many_pings"). Pings without active
	// streams are allowed.
	GRPCKeepaliveMinTime time.Duration
}

// PeerKey says what the Limiter counts as one peer.
type PeerKey string

// Peer keys.
const (
	PeerIP         PeerKey = "ip"         // every connection from one remote IP address
	PeerConnection PeerKey = "connection" // one TCP connection (remote IP and port)
)

// DefaultLimits are the limits used when a field is zero.
var DefaultLimits = Limits{
	MaxBodyBytes:          16 << 20,
	MaxDecodedBytes:       32 << 20,
	MaxInflightBytes:      256 << 20,
	MaxConcurrentRequests: 64,
	PerPeerShare:          0.25,
	PeerKey:               PeerIP,
	BodyTimeout:           10 * time.Second,
	MinBodyRate:           64 << 10,
	GRPCMessageTimeout:    30 * time.Second,
	GRPCKeepaliveTime:     30 * time.Second,
	GRPCKeepaliveTimeout:  10 * time.Second,
	GRPCKeepaliveMinTime:  10 * time.Second,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = d.MaxDecodedBytes
	}
	if l.MaxInflightBytes <= 0 {
		l.MaxInflightBytes = max(d.MaxInflightBytes, l.MaxDecodedBytes)
	}
	if l.MaxConcurrentRequests <= 0 {
		l.MaxConcurrentRequests = d.MaxConcurrentRequests
	}
	if l.PerPeerShare <= 0 || l.PerPeerShare > 1 {
		l.PerPeerShare = d.PerPeerShare
	}
	if l.PeerKey != PeerConnection {
		l.PeerKey = PeerIP
	}
	for _, p := range []struct{ v, d *time.Duration }{
		{&l.BodyTimeout, &d.BodyTimeout}, {&l.GRPCMessageTimeout, &d.GRPCMessageTimeout},
		{&l.GRPCKeepaliveTime, &d.GRPCKeepaliveTime}, {&l.GRPCKeepaliveTimeout, &d.GRPCKeepaliveTimeout},
		{&l.GRPCKeepaliveMinTime, &d.GRPCKeepaliveMinTime},
	} {
		if *p.v <= 0 {
			*p.v = *p.d
		}
	}
	if l.MinBodyRate <= 0 {
		l.MinBodyRate = d.MinBodyRate
	}
	return l
}

// Options configure a receiver. The HTTP and gRPC receivers of one
// collector share the Limiter and the Counters.
type Options struct {
	// Limits bound requests; zero fields take DefaultLimits.
	Limits Limits
	// Request bounds the shape of a request (nesting, attributes, sizes,
	// spans); zero fields take DefaultRequestLimits.
	Request RequestLimits
	// Limiter admits requests; nil means a new one from Limits.
	Limiter *Limiter
	// Counters count received and rejected requests; nil means a new one.
	Counters *Counters
	// Logger gets a debug line per rejected request; nil discards.
	Logger *slog.Logger
	// Auth, when set, requires a known bearer token on every request.
	Auth *Tokens
}

// refusedLogin logs a request refused for its token, at most once a
// second (a client retrying with a wrong token would flood the log).
func (o Options) refusedLogin(p Protocol, remote string) {
	if o.Auth.shouldLog() {
		o.Logger.Warn("OTLP request refused: no valid ingest token", "protocol", p, "source", remote)
	}
}

func (o Options) withDefaults() Options {
	o.Limits = o.Limits.withDefaults()
	o.Request = o.Request.WithDefaults()
	if o.Limiter == nil {
		o.Limiter = NewLimiter(o.Limits)
	}
	if o.Counters == nil {
		o.Counters = new(Counters)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// invalidError is a request the client must fix.
type invalidError struct{ msg string }

// Error says what is invalid and where.
func (e invalidError) Error() string { return e.msg }

func invalid(format string, args ...any) error { return invalidError{fmt.Sprintf(format, args...)} }

// IsInvalid reports whether err is a bad-request error from this package.
func IsInvalid(err error) bool { return errors.As(err, new(invalidError)) }
