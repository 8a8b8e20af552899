package otlp

import "sync/atomic"

// Reason says why a request was rejected.
type Reason int

// Rejection reasons, one counter each.
const (
	ReasonMethod          Reason = iota // 405: not POST
	ReasonMediaType                     // 415: content type or content encoding not supported
	ReasonTooLarge                      // 413: body, decompressed body or message over the limit
	ReasonMalformed                     // 400: not decodable (truncated, garbage, bad gzip, bad JSON)
	ReasonInvalid                       // 400: decodable but invalid (UTF-8, missing ids)
	ReasonBusy                          // 429: receivers hold as many requests or bytes as allowed
	ReasonFull                          // 429: the consumer is full (spool)
	ReasonUnavailable                   // 503: the consumer failed
	ReasonTimeout                       // 408: the body (gRPC: the message) did not arrive in time
	ReasonPeerBusy                      // 429: this client holds its share (Limits.PerPeerShare) of the requests or bytes
	ReasonLimit                         // 400: over a RequestLimits limit (nesting depth, attributes, sizes, spans)
	ReasonUnauthenticated               // 401: no known ingest token (Options.Auth)
	numReasons
)

var reasonNames = [numReasons]string{"method", "media_type", "too_large", "malformed", "invalid", "busy", "full", "unavailable", "timeout", "peer_busy", "limit", "unauthenticated"}

// String is the reason's name as used in Stats and logs.
func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return "unknown"
	}
	return reasonNames[r]
}

// Protocol is the transport a request came over.
type Protocol int

// The receivers' protocols.
const (
	ProtocolHTTP Protocol = iota // OTLP/HTTP (protobuf or JSON)
	ProtocolGRPC                 // OTLP/gRPC
	numProtocols
)

var protocolNames = [numProtocols]string{"http", "grpc"}

// String is the protocol's name as used in metrics: "http" or "grpc".
func (p Protocol) String() string {
	if p < 0 || p >= numProtocols {
		return "unknown"
	}
	return protocolNames[p]
}

// protocolCounters count one protocol's requests.
type protocolCounters struct {
	ok       atomic.Uint64 // requests answered 200 / OK
	rejected [numReasons]atomic.Uint64
	bytes    atomic.Uint64 // decoded bytes of requests read in full

	spans, spansAccepted atomic.Uint64
	spansRejected        [numReasons]atomic.Uint64
	points, pointsOK     atomic.Uint64
}

// Counters count what the receivers saw, per protocol. Safe for
// concurrent use; the zero value is ready. It is a Prometheus collector
// too (metrics.go).
type Counters struct {
	p [numProtocols]protocolCounters
}

// ProtocolStats are one protocol's counters since the receivers started.
type ProtocolStats struct {
	// Requests counts requests by result: "ok", or the Reason they were
	// rejected for. Every result is present, zero or not.
	Requests map[string]uint64
	// Bytes counts the decoded bytes (after gzip) of requests read in full.
	Bytes uint64
	// SpansReceived counts spans in trace requests that decoded, whatever
	// happened next; SpansAccepted those the consumer took; SpansRejected
	// those refused afterwards, by Reason (every reason present).
	SpansReceived, SpansAccepted uint64
	SpansRejected                map[string]uint64
	// PointsReceived and PointsAccepted count metric data points likewise.
	PointsReceived, PointsAccepted uint64
}

// Protocol returns p's counters.
func (c *Counters) Protocol(p Protocol) ProtocolStats {
	pc := &c.p[p]
	s := ProtocolStats{Requests: make(map[string]uint64, numReasons+1), SpansRejected: make(map[string]uint64, numReasons),
		Bytes: pc.bytes.Load(), SpansReceived: pc.spans.Load(), SpansAccepted: pc.spansAccepted.Load(),
		PointsReceived: pc.points.Load(), PointsAccepted: pc.pointsOK.Load()}
	s.Requests["ok"] = pc.ok.Load()
	for r := Reason(0); r < numReasons; r++ {
		s.Requests[r.String()] = pc.rejected[r].Load()
		s.SpansRejected[r.String()] = pc.spansRejected[r].Load()
	}
	return s
}

// SpansReceived is the number of spans in requests that decoded, whatever
// happened to them next (accepted, invalid, refused), over both protocols.
func (c *Counters) SpansReceived() uint64 {
	var n uint64
	for p := range c.p {
		n += c.p[p].spans.Load()
	}
	return n
}

// PointsReceived is the number of metric data points in requests that
// decoded, over both protocols.
func (c *Counters) PointsReceived() uint64 {
	var n uint64
	for p := range c.p {
		n += c.p[p].points.Load()
	}
	return n
}

// Rejected returns the number of rejected requests by reason name over
// both protocols; reasons that never happened are absent.
func (c *Counters) Rejected() map[string]uint64 {
	m := map[string]uint64{}
	for r := Reason(0); r < numReasons; r++ {
		var n uint64
		for p := range c.p {
			n += c.p[p].rejected[r].Load()
		}
		if n > 0 {
			m[r.String()] = n
		}
	}
	return m
}

// reject counts a request rejected for r.
func (c *Counters) reject(p Protocol, r Reason) { c.p[p].rejected[r].Add(1) }

// read counts the decoded bytes of a request read in full.
func (c *Counters) read(p Protocol, n int) { c.p[p].bytes.Add(uint64(n)) }
