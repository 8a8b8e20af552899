// Package otlp holds the collector's OpenTelemetry Protocol receivers: an
// HTTP handler for /v1/traces and /v1/metrics (protobuf and JSON, gzip)
// and the gRPC trace and metrics services. They decode and validate
// requests and hand them to a consumer; they never keep a request after
// the consumer returns.
//
// Bad input gets a clear 4xx (gRPC InvalidArgument) and nothing else
// happens; a consumer that is full gets 429 with Retry-After (gRPC
// ResourceExhausted), which OTLP clients retry.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Consumer receives decoded requests. ConsumeTraces returns nil only when
// the data is durably accepted; an error wrapping ErrFull means "retry
// later" and any other error is reported to the client as unavailable.
type Consumer interface {
	ConsumeTraces(ctx context.Context, td ptrace.Traces) error
	ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error
}

// ErrFull is what a consumer returns (wrapped) when it cannot take more now.
var ErrFull = errors.New("collector is at capacity")

// Limits bound what a receiver accepts.
type Limits struct {
	// MaxBodyBytes bounds a request body as sent (compressed or not).
	MaxBodyBytes int64
	// MaxDecodedBytes bounds a body after decompression (gzip bombs).
	MaxDecodedBytes int64
}

// DefaultLimits are the limits used when a field is zero.
var DefaultLimits = Limits{MaxBodyBytes: 16 << 20, MaxDecodedBytes: 64 << 20}

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultLimits.MaxBodyBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = DefaultLimits.MaxDecodedBytes
	}
	return l
}

// invalidError is a request the client must fix.
type invalidError struct{ msg string }

func (e invalidError) Error() string { return e.msg }

func invalid(format string, args ...any) error { return invalidError{fmt.Sprintf(format, args...)} }

// IsInvalid reports whether err is a bad-request error from this package.
func IsInvalid(err error) bool { return errors.As(err, new(invalidError)) }

// validateTraces rejects what the protobuf decoder lets through but the
// OTLP spec forbids: strings that are not UTF-8, and ids of the wrong size
// are impossible by construction. It returns the first problem found.
func validateTraces(td ptrace.Traces) error {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if err := validateAttrs(rs.Resource().Attributes(), "resource"); err != nil {
			return err
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			if !utf8.ValidString(ss.Scope().Name()) {
				return invalid("scope name is not valid UTF-8")
			}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				if !utf8.ValidString(sp.Name()) || !utf8.ValidString(sp.Status().Message()) {
					return invalid("span %d: name or status message is not valid UTF-8", k)
				}
				if err := validateAttrs(sp.Attributes(), "span"); err != nil {
					return err
				}
				evs := sp.Events()
				for e := 0; e < evs.Len(); e++ {
					if !utf8.ValidString(evs.At(e).Name()) {
						return invalid("span event name is not valid UTF-8")
					}
					if err := validateAttrs(evs.At(e).Attributes(), "span event"); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func validateMetrics(md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		if err := validateAttrs(rm.Resource().Attributes(), "resource"); err != nil {
			return err
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				if !utf8.ValidString(ms.At(k).Name()) {
					return invalid("metric name is not valid UTF-8")
				}
			}
		}
	}
	return nil
}

func validateAttrs(m pcommon.Map, where string) error {
	var err error
	m.Range(func(k string, v pcommon.Value) bool {
		if !utf8.ValidString(k) {
			err = invalid("%s attribute key is not valid UTF-8", where)
			return false
		}
		if !validValue(v) {
			err = invalid("%s attribute %q has a value that is not valid UTF-8", where, k)
			return false
		}
		return true
	})
	return err
}

func validValue(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return utf8.ValidString(v.Str())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if !validValue(s.At(i)) {
				return false
			}
		}
	case pcommon.ValueTypeMap:
		ok := true
		v.Map().Range(func(k string, v pcommon.Value) bool {
			ok = utf8.ValidString(k) && validValue(v)
			return ok
		})
		return ok
	}
	return true
}
