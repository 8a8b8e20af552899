package otlp

import "sync"

// Limiter bounds the requests the receivers hold at once, by count and by
// bytes, so that memory stays bounded under any load: a request that does
// not fit is refused at once with 429 / ResourceExhausted, which clients
// retry later. One Limiter is shared by a collector's HTTP and gRPC
// receivers.
type Limiter struct {
	maxReqs  int
	maxBytes int64

	mu    sync.Mutex
	reqs  int
	bytes int64
}

// NewLimiter returns a limiter for l.MaxConcurrentRequests requests and
// l.MaxInflightBytes bytes (DefaultLimits where zero).
func NewLimiter(l Limits) *Limiter {
	l = l.withDefaults()
	return &Limiter{maxReqs: l.MaxConcurrentRequests, maxBytes: l.MaxInflightBytes}
}

// InflightBytes is the number of bytes reserved by requests now.
func (l *Limiter) InflightBytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes
}

// InflightRequests is the number of requests admitted now.
func (l *Limiter) InflightRequests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reqs
}

// ticket is one admitted request's hold on a Limiter. Its fields are
// guarded by the Limiter's mutex, so a gRPC stream's context ending can
// release it while the handler is still running.
type ticket struct {
	l        *Limiter
	reserved int64
	released bool
}

// admit takes a request's place and reserves n bytes for it, or returns
// nil (and takes nothing) when either does not fit.
func (l *Limiter) admit(n int64) *ticket {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reqs >= l.maxReqs || l.bytes+n > l.maxBytes {
		return nil
	}
	l.reqs++
	l.bytes += n
	return &ticket{l: l, reserved: n}
}

// grow reserves n more bytes, if they fit.
func (t *ticket) grow(n int64) bool {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.released || l.bytes+n > l.maxBytes {
		return false
	}
	l.bytes += n
	t.reserved += n
	return true
}

// shrinkTo lowers the reservation to m bytes once the request's real size
// is known.
func (t *ticket) shrinkTo(m int64) {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !t.released && m < t.reserved {
		l.bytes -= t.reserved - m
		t.reserved = m
	}
}

// release gives the place and the bytes back; later calls do nothing.
func (t *ticket) release() {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !t.released {
		t.released = true
		l.reqs--
		l.bytes -= t.reserved
	}
}
