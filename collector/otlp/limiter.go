package otlp

import (
	"math"
	"net"
	"sync"
)

// Limiter bounds the requests the receivers hold at once, by count and by
// bytes, so that memory stays bounded under any load: a request that does
// not fit is refused at once with 429 / ResourceExhausted, which clients
// retry later. One Limiter is shared by a collector's HTTP and gRPC
// receivers.
//
// Bytes are charged as they arrive (an HTTP body as it is read, a gRPC
// message once it is received), never reserved ahead, so a client that
// opens a request and sends nothing holds nothing. A request takes one of
// the MaxConcurrentRequests places only once its body is in, for decoding
// and spooling. One peer (a remote IP, or one connection: Limits.PeerKey)
// may hold at most Limits.PerPeerShare of the bytes and of the places, so a
// single client cannot take the whole budget from the others.
type Limiter struct {
	maxReqs, peerReqs   int
	maxBytes, peerBytes int64
	key                 PeerKey

	mu    sync.Mutex
	reqs  int
	bytes int64
	peers map[string]*peerUse
}

// peerUse is what one peer holds; it is forgotten when its last ticket is
// released.
type peerUse struct {
	key     string
	tickets int
	reqs    int
	bytes   int64
}

// NewLimiter returns a limiter for l.MaxConcurrentRequests requests and
// l.MaxInflightBytes bytes, l.PerPeerShare of each per peer (DefaultLimits
// where zero). A peer may always hold at least one request of the largest
// size (MaxDecodedBytes), whatever the share.
func NewLimiter(l Limits) *Limiter {
	l = l.withDefaults()
	return &Limiter{
		maxReqs:   l.MaxConcurrentRequests,
		maxBytes:  l.MaxInflightBytes,
		peerReqs:  max(1, int(math.Floor(l.PerPeerShare*float64(l.MaxConcurrentRequests)))),
		peerBytes: min(l.MaxInflightBytes, max(l.MaxDecodedBytes, int64(l.PerPeerShare*float64(l.MaxInflightBytes)))),
		key:       l.PeerKey,
		peers:     map[string]*peerUse{},
	}
}

// InflightBytes is the number of bytes charged to requests now.
func (l *Limiter) InflightBytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes
}

// InflightRequests is the number of requests admitted (bodies read) now.
func (l *Limiter) InflightRequests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reqs
}

// Peers is the number of peers holding a ticket now.
func (l *Limiter) Peers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.peers)
}

// PeerLimits are the most bytes and requests one peer may hold at once.
func (l *Limiter) PeerLimits() (bytes int64, requests int) { return l.peerBytes, l.peerReqs }

// peerOf names the peer of a remote address ("ip:port") by the limiter's key.
func (l *Limiter) peerOf(remote string) string {
	if l.key == PeerConnection {
		return remote
	}
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// ticket is one request's hold on a Limiter: the bytes charged to it and
// whether it has a place. Its fields are guarded by the Limiter's mutex.
type ticket struct {
	l        *Limiter
	peer     *peerUse
	bytes    int64
	admitted bool
	released bool
}

// limitError says which bound a ticket hit.
type limitError struct {
	reason Reason
	msg    string
}

var (
	errBusyBytes = &limitError{ReasonBusy, "too many request bytes in flight: retry later"}
	errBusyReqs  = &limitError{ReasonBusy, "too many requests in flight: retry later"}
	errPeerBytes = &limitError{ReasonPeerBusy, "this client holds its share of the request bytes in flight: retry later"}
	errPeerReqs  = &limitError{ReasonPeerBusy, "this client holds its share of the requests in flight: retry later"}
)

func (e *limitError) reqError() *reqError { return reject(e.reason, "%s", e.msg) }

// open starts a request from the remote address remote; it holds nothing
// yet. Release the ticket when the request ends.
func (l *Limiter) open(remote string) *ticket {
	key := l.peerOf(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.peers[key]
	if p == nil {
		p = &peerUse{key: key}
		l.peers[key] = p
	}
	p.tickets++
	return &ticket{l: l, peer: p}
}

// grow charges n more bytes, if they fit both the limiter and the peer's share.
func (t *ticket) grow(n int64) *limitError {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case t.released || l.bytes+n > l.maxBytes:
		return errBusyBytes
	case t.peer.bytes+n > l.peerBytes:
		return errPeerBytes
	}
	l.bytes += n
	t.peer.bytes += n
	t.bytes += n
	return nil
}

// shrinkTo lowers the charge to m bytes.
func (t *ticket) shrinkTo(m int64) {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !t.released && m < t.bytes {
		d := t.bytes - m
		l.bytes -= d
		t.peer.bytes -= d
		t.bytes = m
	}
}

// admit takes one of the places for requests being decoded and spooled,
// if one is free within the limiter and the peer's share.
func (t *ticket) admit() *limitError {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case t.admitted:
		return nil
	case t.released || l.reqs >= l.maxReqs:
		return errBusyReqs
	case t.peer.reqs >= l.peerReqs:
		return errPeerReqs
	}
	l.reqs++
	t.peer.reqs++
	t.admitted = true
	return nil
}

// release gives the place and the bytes back; later calls do nothing.
func (t *ticket) release() {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.released {
		return
	}
	t.released = true
	l.bytes -= t.bytes
	t.peer.bytes -= t.bytes
	if t.admitted {
		l.reqs--
		t.peer.reqs--
	}
	if t.peer.tickets--; t.peer.tickets == 0 {
		delete(l.peers, t.peer.key)
	}
}
