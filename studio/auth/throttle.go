package auth

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Guessing tokens is slowed down per source address: the first
// freeFailures wrong tokens from an address cost nothing; each one after
// that makes the address wait twice as long as the last (1 s, 2 s, 4 s, …
// up to maxBackoff), and while it waits every request from it gets 429
// with Retry-After, whatever token it carries. A right token clears the
// address's record; records of addresses quiet for forgetAfter go.
const (
	freeFailures = 5
	firstBackoff = time.Second
	maxBackoff   = 5 * time.Minute
	forgetAfter  = 15 * time.Minute
	maxSources   = 10000 // addresses tracked at once
)

// throttle keeps the failure records.
type throttle struct {
	mu  sync.Mutex
	src map[netip.Addr]*failures
	now func() time.Time
	// tracked is len(src), read without the lock: with no failures on
	// record (the usual case) a request takes no lock.
	tracked atomic.Int64
}

type failures struct {
	n     int       // wrong tokens in a row
	until time.Time // requests wait until then
	last  time.Time // last wrong token
}

func newThrottle() *throttle {
	return &throttle{src: map[netip.Addr]*failures{}, now: time.Now}
}

// source is the request's peer address (proxies' forwarding headers are
// not trusted: any client can write them).
func source(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// wait returns how long src must still wait (0: not at all).
func (t *throttle) wait(src netip.Addr) time.Duration {
	if t.tracked.Load() == 0 {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.src[src]
	if !ok {
		return 0
	}
	return max(f.until.Sub(t.now()), 0)
}

// fail records a wrong token from src and returns how many in a row it
// has sent and the wait it now has.
func (t *throttle) fail(src netip.Addr) (int, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f, ok := t.src[src]
	if !ok {
		if len(t.src) >= maxSources {
			t.forgetLocked(now)
		}
		f = &failures{}
		t.src[src] = f
		t.tracked.Store(int64(len(t.src)))
	}
	f.n++
	f.last = now
	var wait time.Duration
	if f.n > freeFailures {
		wait = firstBackoff << min(f.n-freeFailures-1, 20)
		wait = min(wait, maxBackoff)
		f.until = now.Add(wait)
	}
	return f.n, wait
}

// succeed clears src's record.
func (t *throttle) succeed(src netip.Addr) {
	if t.tracked.Load() == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.src, src)
	t.tracked.Store(int64(len(t.src)))
}

// forgetLocked drops records of quiet addresses; when that frees nothing
// (an attack from many addresses), the records older than the midpoint
// between the oldest one and now go.
func (t *throttle) forgetLocked(now time.Time) {
	for a, f := range t.src {
		if now.Sub(f.last) > forgetAfter {
			delete(t.src, a)
		}
	}
	defer func() { t.tracked.Store(int64(len(t.src))) }()
	if len(t.src) < maxSources {
		return
	}
	cut := now
	for _, f := range t.src {
		if f.last.Before(cut) {
			cut = f.last
		}
	}
	mid := cut.Add(now.Sub(cut) / 2)
	for a, f := range t.src {
		if !f.last.After(mid) {
			delete(t.src, a)
		}
	}
}
