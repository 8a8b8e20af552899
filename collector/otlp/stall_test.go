package otlp

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

func TestLimiterPeerShare(t *testing.T) {
	lim := NewLimiter(Limits{MaxConcurrentRequests: 8, MaxInflightBytes: 8 << 20, MaxDecodedBytes: 1 << 20, PerPeerShare: 0.25})
	if b, r := lim.PeerLimits(); b != 2<<20 || r != 2 {
		t.Fatalf("peer limits %d bytes, %d requests; want 2 MiB, 2", b, r)
	}
	// Peer A (two connections from one IP) takes its two places…
	a1, a2, a3 := lim.open("10.0.0.1:1000"), lim.open("10.0.0.1:1001"), lim.open("10.0.0.1:1002")
	if a1.admit() != nil || a2.admit() != nil {
		t.Fatal("peer A's first two requests refused")
	}
	// …and no more, while peer B still gets in.
	if le := a3.admit(); le != errPeerReqs {
		t.Fatalf("peer A's third request: %v, want the peer's share", le)
	}
	b := lim.open("10.0.0.2:1000")
	if b.admit() != nil {
		t.Fatal("peer B refused while A holds its share")
	}
	// Bytes likewise: A may hold 2 MiB, B its own 2 MiB beside it.
	if a1.grow(2<<20) != nil {
		t.Fatal("peer A's 2 MiB refused")
	}
	if le := a3.grow(1); le != errPeerBytes {
		t.Fatalf("peer A's byte over its share: %v", le)
	}
	if b.grow(2<<20) != nil {
		t.Fatal("peer B's 2 MiB refused")
	}
	if got := lim.InflightBytes(); got != 4<<20 {
		t.Fatalf("in flight %d bytes, want 4 MiB", got)
	}
	// The limiter's own bounds still hold across peers.
	var others []*ticket
	for i := 3; i < 9; i++ {
		o := lim.open(fmt.Sprintf("10.0.0.%d:1", i))
		others = append(others, o)
		if i < 8 && o.admit() != nil {
			t.Fatalf("peer %d refused with %d requests in flight", i, lim.InflightRequests())
		}
	}
	if le := others[len(others)-1].admit(); le != errBusyReqs {
		t.Fatalf("ninth request: %v, want the limiter's bound", le)
	}
	for _, tk := range append(others, a1, a2, a3, b) {
		tk.release()
		tk.release() // twice does nothing
	}
	if lim.InflightBytes() != 0 || lim.InflightRequests() != 0 || lim.Peers() != 0 {
		t.Fatalf("after release: %d bytes, %d requests, %d peers", lim.InflightBytes(), lim.InflightRequests(), lim.Peers())
	}

	// However small the share, a peer may hold one request of the largest size.
	tiny := NewLimiter(Limits{MaxConcurrentRequests: 8, MaxInflightBytes: 8 << 20, MaxDecodedBytes: 1 << 20, PerPeerShare: 0.01})
	if b, r := tiny.PeerLimits(); b != 1<<20 || r != 1 {
		t.Fatalf("tiny share: %d bytes, %d requests; want 1 MiB, 1", b, r)
	}

	// Keyed by connection, two connections from one IP are two peers.
	byConn := NewLimiter(Limits{MaxConcurrentRequests: 4, PerPeerShare: 0.25, PeerKey: PeerConnection})
	c1, c2 := byConn.open("10.0.0.1:1000"), byConn.open("10.0.0.1:1001")
	if c1.admit() != nil || c2.admit() != nil || byConn.Peers() != 2 {
		t.Fatal("two connections of one IP share one place under PeerConnection")
	}
	if le := byConn.open("10.0.0.1:1000").admit(); le != errPeerReqs {
		t.Fatalf("second request on one connection: %v", le)
	}
}

// rawPost starts an OTLP/HTTP request on its own connection with a body
// of n bytes announced and sends head bytes of it; the caller trickles
// the rest.
func rawPost(t *testing.T, addr string, n int, head []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", TracesPath, ctProtobuf, n)
	c.Write(head)
	return c
}

// TestHTTPSlowBody: a body that trickles in holds next to nothing of the
// budget and no request place while it does, is cut off with 408 once it
// falls behind the minimum rate, and is counted as a timeout; a body that
// keeps up the rate is read however long it takes.
func TestHTTPSlowBody(t *testing.T) {
	counters := &Counters{}
	lim := NewLimiter(Limits{MaxConcurrentRequests: 4, PerPeerShare: 1})
	limits := Limits{BodyTimeout: 400 * time.Millisecond, MinBodyRate: 20 << 10}
	srv := newServer(t, &sink{}, Options{Limiter: lim, Counters: counters, Limits: limits})
	addr := strings.TrimPrefix(srv.URL, "http://")

	// Eight uploads that send one byte every 50 ms, announcing 1 MiB or
	// 100 kB: under 256 KiB, net/http reads what is left of a body before
	// answering, which the deadline must cut short too.
	body := protoBody(t, 1)
	var slow []net.Conn
	for i := 0; i < 8; i++ {
		slow = append(slow, rawPost(t, addr, []int{1 << 20, 100_000}[i%2], body[:1]))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write(body[i%len(body) : i%len(body)+1]); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	if got, reqs := lim.InflightBytes(), lim.InflightRequests(); got > 8*firstChunk || reqs != 0 {
		t.Errorf("eight trickling uploads hold %d bytes and %d places; want at most %d bytes, no place", got, reqs, 8*firstChunk)
	}
	// More requests than there are places get through meanwhile.
	for i := 0; i < 6; i++ {
		if resp, b := post(t, srv.URL+TracesPath, ctProtobuf, "", body); resp.StatusCode != 200 {
			t.Fatalf("request beside the slow uploads: %s %q", resp.Status, b)
		}
	}
	// Then the slow ones are cut off: 408, well before their body arrives.
	for _, c := range slow {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("slow upload: no answer: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow upload answered %s, want 408", resp.Status)
		}
	}
	close(stop)
	wg.Wait()
	if got := counters.Rejected()["timeout"]; got != 8 {
		t.Fatalf("timeouts counted %d, want 8 (%v)", got, counters.Rejected())
	}

	// A body sent at 80 KiB/s (above the minimum) over more than the grace
	// time is read in full.
	full := protoBody(t, 2500)
	if len(full) < 90<<10 {
		t.Fatalf("body of %d bytes: want over 90 KiB", len(full))
	}
	c := rawPost(t, addr, len(full), nil)
	for off := 0; off < len(full); off += 8 << 10 {
		time.Sleep(100 * time.Millisecond)
		c.Write(full[off:min(off+8<<10, len(full))])
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("steady 80 KiB/s body over 1.2 s: %v %v", resp, err)
	}
	resp.Body.Close()
	waitReleased(t, lim)
}

// TestGRPCStalledStreams: streams that send headers and never a message
// hold nothing while other requests go through, and are cancelled after
// the message timeout, counted as timeouts.
func TestGRPCStalledStreams(t *testing.T) {
	counters := &Counters{}
	lim := NewLimiter(Limits{MaxConcurrentRequests: 4, MaxInflightBytes: 1 << 20, MaxDecodedBytes: 1 << 20})
	conn := startGRPC(t, &sink{}, Options{Counters: counters, Limiter: lim,
		Limits: Limits{MaxDecodedBytes: 1 << 20, GRPCMessageTimeout: 700 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/"+traceService+"/Export")
		if err != nil {
			t.Fatal(err)
		}
		go func() { errs <- cs.RecvMsg(&emptypb.Empty{}) }()
	}
	time.Sleep(100 * time.Millisecond)
	client := ptraceotlp.NewGRPCClient(conn)
	for i := 0; i < 10; i++ {
		if lim.InflightBytes() != 0 || lim.InflightRequests() != 0 {
			t.Fatalf("stalled streams hold %d bytes, %d places", lim.InflightBytes(), lim.InflightRequests())
		}
		if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(2))); err != nil {
			t.Fatalf("request beside 8 stalled streams: %v", err)
		}
	}
	for i := 0; i < 8; i++ {
		select {
		case err := <-errs:
			if status.Code(err) != codes.Canceled {
				t.Fatalf("stalled stream ended with %v, want Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("a stalled stream outlived the message timeout by seconds (%v)", counters.Rejected())
		}
	}
	if got := counters.Rejected()["timeout"]; got != 8 {
		t.Fatalf("timeouts counted %d, want 8 (%v)", got, counters.Rejected())
	}
	waitReleased(t, lim)
	if lim.Peers() != 0 {
		t.Fatalf("limiter remembers %d peers after every request ended", lim.Peers())
	}
}

// TestGRPCPeerShare: one peer holding its share of requests gets
// ResourceExhausted (peer_busy); the limiter's other places stay free.
func TestGRPCPeerShare(t *testing.T) {
	s := &sink{hold: make(chan struct{})}
	counters := &Counters{}
	lim := NewLimiter(Limits{MaxConcurrentRequests: 8, PerPeerShare: 0.25})
	conn := startGRPC(t, s, Options{Counters: counters, Limiter: lim})
	client := ptraceotlp.NewGRPCClient(conn)
	ctx := context.Background()
	done := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() {
			_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1)))
			done <- err
		}()
	}
	for lim.InflightRequests() < 2 {
		time.Sleep(time.Millisecond)
	}
	_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1)))
	if status.Code(err) != codes.ResourceExhausted || !hasRetryInfo(err) {
		t.Fatalf("third request of one peer with a share of 2: %v", err)
	}
	close(s.hold)
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := counters.Rejected()["peer_busy"]; got != 1 {
		t.Fatalf("peer_busy %d, want 1", got)
	}
	waitReleased(t, lim)
}

// TestGRPCKeepaliveClosesDeadConnection: a connection that completes the
// HTTP/2 handshake and then answers nothing, as a peer that vanished
// would, is pinged after GRPCKeepaliveTime and closed by the server once
// GRPCKeepaliveTimeout passes without an answer.
func TestGRPCKeepaliveClosesDeadConnection(t *testing.T) {
	srv := NewGRPCServer(&sink{}, Options{Limits: Limits{GRPCKeepaliveTime: time.Second, GRPCKeepaliveTimeout: 500 * time.Millisecond}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	defer func() { srv.Stop(); <-done }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	start := time.Now()
	c.SetReadDeadline(start.Add(10 * time.Second))
	pings := 0
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			break // the server closed the connection (or the deadline passed)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck() // the handshake; nothing after it
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				pings++ // never answered
			}
		}
	}
	if took := time.Since(start); pings == 0 || took > 5*time.Second {
		t.Fatalf("dead connection: %d pings, closed after %s; want a ping and closed in about 1.5 s", pings, took)
	}
}
