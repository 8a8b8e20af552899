package otlp

import "sync/atomic"

// Reason says why a request was rejected.
type Reason int

// Rejection reasons, one counter each.
const (
	ReasonMethod      Reason = iota // 405: not POST
	ReasonMediaType                 // 415: content type or content encoding not supported
	ReasonTooLarge                  // 413: body, decompressed body or message over the limit
	ReasonMalformed                 // 400: not decodable (truncated, garbage, bad gzip, bad JSON)
	ReasonInvalid                   // 400: decodable but invalid (UTF-8, missing ids)
	ReasonBusy                      // 429: receivers hold as many requests or bytes as allowed
	ReasonFull                      // 429: the consumer is full (spool)
	ReasonUnavailable               // 503: the consumer failed
	numReasons
)

var reasonNames = [numReasons]string{"method", "media_type", "too_large", "malformed", "invalid", "busy", "full", "unavailable"}

// String is the reason's name as used in Stats and logs.
func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return "unknown"
	}
	return reasonNames[r]
}

// Counters count what the receivers saw. Safe for concurrent use; the zero
// value is ready.
type Counters struct {
	spans, points atomic.Uint64
	rejected      [numReasons]atomic.Uint64
}

// SpansReceived is the number of spans in requests that decoded, whatever
// happened to them next (accepted, invalid, refused).
func (c *Counters) SpansReceived() uint64 { return c.spans.Load() }

// PointsReceived is the number of metric data points in requests that decoded.
func (c *Counters) PointsReceived() uint64 { return c.points.Load() }

// Rejected returns the number of rejected requests by reason name; reasons
// that never happened are absent.
func (c *Counters) Rejected() map[string]uint64 {
	m := map[string]uint64{}
	for r := Reason(0); r < numReasons; r++ {
		if n := c.rejected[r].Load(); n > 0 {
			m[r.String()] = n
		}
	}
	return m
}

func (c *Counters) reject(r Reason) { c.rejected[r].Add(1) }
