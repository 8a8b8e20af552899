// Package otlp holds the collector's OpenTelemetry Protocol receivers: an
// HTTP handler for /v1/traces and /v1/metrics (protobuf and JSON, gzip)
// and the gRPC trace and metrics services. They decode and validate
// requests and hand them to a consumer; they never keep a request after
// the consumer returns.
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
package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

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
	// receivers sharing a Limiter at once. A gRPC request reserves
	// MaxDecodedBytes until its size is known, so at most
	// MaxInflightBytes/MaxDecodedBytes gRPC messages are read at a time.
	MaxInflightBytes int64
	// MaxConcurrentRequests bounds the requests being read, decoded or
	// consumed at once.
	MaxConcurrentRequests int
}

// DefaultLimits are the limits used when a field is zero.
var DefaultLimits = Limits{
	MaxBodyBytes:          16 << 20,
	MaxDecodedBytes:       32 << 20,
	MaxInflightBytes:      256 << 20,
	MaxConcurrentRequests: 64,
}

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultLimits.MaxBodyBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = DefaultLimits.MaxDecodedBytes
	}
	if l.MaxInflightBytes <= 0 {
		l.MaxInflightBytes = max(DefaultLimits.MaxInflightBytes, l.MaxDecodedBytes)
	}
	if l.MaxConcurrentRequests <= 0 {
		l.MaxConcurrentRequests = DefaultLimits.MaxConcurrentRequests
	}
	return l
}

// Options configure a receiver. The HTTP and gRPC receivers of one
// collector share the Limiter and the Counters.
type Options struct {
	// Limits bound requests; zero fields take DefaultLimits.
	Limits Limits
	// Limiter admits requests; nil means a new one from Limits.
	Limiter *Limiter
	// Counters count received and rejected requests; nil means a new one.
	Counters *Counters
	// Logger gets a debug line per rejected request; nil discards.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	o.Limits = o.Limits.withDefaults()
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
