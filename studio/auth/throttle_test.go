package auth

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestWrongTokensAreThrottled: 300 wrong tokens from one address (as
// measured on main, in 0.17 s) meet 429 after the first few, whatever
// token comes next; other addresses are not affected; after the wait a
// right token gets through and clears the record. Failures are logged
// with the source address and never the token.
func TestWrongTokensAreThrottled(t *testing.T) {
	g, err := New([]Token{{Name: "oncall", Role: "operator", Token: "operator-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	g.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	now := time.Unix(1_800_000_000, 0)
	g.throttle.now = func() time.Time { return now }
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	call := func(from, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/v1/events", nil)
		req.RemoteAddr = from + ":40000"
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		g.Require(Viewer, ok).ServeHTTP(rec, req)
		return rec
	}
	codes := map[int]int{}
	for i := range 300 {
		codes[call("10.0.0.9", "guess-"+strings.Repeat("x", 16)+string(rune('a'+i%26))).Code]++
	}
	if codes[401] != freeFailures+1 || codes[429] != 300-freeFailures-1 {
		t.Fatalf("answers to 300 wrong tokens: %v", codes)
	}
	r := call("10.0.0.9", "operator-token-0123456789")
	if r.Code != 429 || r.Header().Get("Retry-After") == "" {
		t.Fatalf("right token while blocked: %d, Retry-After %q", r.Code, r.Header().Get("Retry-After"))
	}
	if r := call("10.0.0.10", "operator-token-0123456789"); r.Code != 200 {
		t.Fatalf("another address: %d", r.Code)
	}
	now = now.Add(2 * time.Second) // the first backoff is 1 s
	if r := call("10.0.0.9", "operator-token-0123456789"); r.Code != 200 {
		t.Fatalf("right token after the wait: %d", r.Code)
	}
	if g.throttle.tracked.Load() != 0 {
		t.Fatalf("a right token left %d records", g.throttle.tracked.Load())
	}
	out := logs.String()
	if !strings.Contains(out, "source=10.0.0.9") || !strings.Contains(out, "path=/api/v1/events") || strings.Contains(out, "guess-") {
		t.Fatalf("logs: %s", out[:min(len(out), 500)])
	}
}

func TestThrottleBackoffAndBounds(t *testing.T) {
	th := newThrottle()
	now := time.Unix(0, 0)
	th.now = func() time.Time { return now }
	a := netip.MustParseAddr("192.0.2.1")
	var waits []time.Duration
	for range freeFailures + 12 {
		_, w := th.fail(a)
		waits = append(waits, w)
	}
	for i, w := range waits[:freeFailures] {
		if w != 0 {
			t.Fatalf("failure %d waits %v", i+1, w)
		}
	}
	if waits[freeFailures] != time.Second || waits[freeFailures+1] != 2*time.Second || waits[len(waits)-1] != maxBackoff {
		t.Fatalf("backoff %v", waits)
	}
	// Many addresses: the table stays bounded.
	for i := range maxSources + 500 {
		now = now.Add(time.Millisecond)
		th.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if n := len(th.src); n > maxSources {
		t.Fatalf("%d addresses tracked, bound %d", n, maxSources)
	}
}
