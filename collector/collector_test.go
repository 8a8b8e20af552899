package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chtest.StopShared() // started by BenchmarkIngestClickHouse
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goroutine leak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// flakyStore is a store.Writer that fails while down is set and counts
// every span it is given by id, so loss and duplication both show.
type flakyStore struct {
	mu      sync.Mutex
	down    bool
	spans   map[string]int
	retries int
	// ackLost stores the batch and then fails, as when a connection
	// drops after the server committed an insert.
	ackLost bool
}

func (f *flakyStore) Write(_ context.Context, b *store.Batch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("store unavailable")
	}
	if b.Retry {
		f.retries++
	}
	for _, s := range b.Spans {
		if !b.Retry || f.spans[s.TraceID+s.SpanID] == 0 {
			f.spans[s.TraceID+s.SpanID]++
		}
	}
	if f.ackLost {
		return errors.New("connection reset after the insert")
	}
	return nil
}

func (f *flakyStore) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *flakyStore) check(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		n, dup := len(f.spans), 0
		for _, c := range f.spans {
			if c > 1 {
				dup++
			}
		}
		f.mu.Unlock()
		if dup > 0 {
			t.Fatalf("%d spans stored twice", dup)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %d spans, want %d", n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testConfig(t *testing.T, dir string) Config {
	c := DefaultConfig()
	c.HTTPAddr, c.GRPCAddr, c.SpoolDir = "127.0.0.1:0", "127.0.0.1:0", dir
	c.FlushInterval = 20 * time.Millisecond
	c.BatchSpans = 50
	return c
}

func start(t *testing.T, cfg Config, w store.Writer) *Collector {
	t.Helper()
	c, err := New(cfg, w, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

func shutdown(t *testing.T, c *Collector, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

var seq atomic.Uint32

// batchOf builds a request of n fresh spans, unique across the test binary.
func batchOf(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	s := seq.Add(1)
	for i := 0; i < n; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{byte(s >> 8), byte(s), 1}))
		sp.SetSpanID(pcommon.SpanID([8]byte{byte(s >> 8), byte(s), byte(i >> 8), byte(i), 1}))
		sp.SetName("op")
	}
	return td
}

// send posts a request of n fresh spans and returns the HTTP status.
func send(t *testing.T, c *Collector, n int) int {
	t.Helper()
	b, _ := ptraceotlp.NewExportRequestFromTraces(batchOf(n)).MarshalProto()
	resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// sendGRPC exports n fresh spans over gRPC.
func sendGRPC(t *testing.T, c *Collector, n int) error {
	t.Helper()
	conn, err := grpc.NewClient(c.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(batchOf(n)))
	return err
}

func hasRetryInfo(err error) bool {
	for _, d := range status.Convert(err).Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

func TestStoreOutageLosesNothing(t *testing.T) {
	st := &flakyStore{spans: map[string]int{}}
	c := start(t, testConfig(t, t.TempDir()), st)
	for i := 0; i < 10; i++ {
		send(t, c, 10)
	}
	st.check(t, 100)
	st.set(true)
	for i := 0; i < 20; i++ {
		if code := send(t, c, 10); code != 200 {
			t.Fatalf("while the store is down: %d, want 200 (spooled)", code)
		}
	}
	time.Sleep(300 * time.Millisecond)
	st.set(false)
	st.check(t, 300)
	if s := c.Stats(); s.SpansAccepted != 300 || s.WriteErrors == 0 || st.retries == 0 {
		t.Fatalf("stats %+v, retries %d", s, st.retries)
	}
	shutdown(t, c, 5*time.Second)
}

func TestRestartReplaysSpool(t *testing.T) {
	dir := t.TempDir()
	// The store takes every write but the acknowledgement is lost, so the
	// spool keeps the records until the collector stops.
	st := &flakyStore{spans: map[string]int{}, ackLost: true}
	// The writer retries its first batch forever, so every request must be
	// in it: a long flush interval gathers them all.
	cfg := testConfig(t, dir)
	cfg.FlushInterval = 2 * time.Second
	c := start(t, cfg, st)
	for i := 0; i < 5; i++ {
		send(t, c, 7)
	}
	st.check(t, 35)
	shutdown(t, c, 200*time.Millisecond)

	// After the restart the records are written again, with Retry, also
	// when a batch mixes them with new records.
	st.mu.Lock()
	st.ackLost = false
	st.mu.Unlock()
	cfg = testConfig(t, dir)
	cfg.FlushInterval = 300 * time.Millisecond
	c = start(t, cfg, st)
	send(t, c, 5)
	if c.Stats().RecoveredOnOpen != 5 {
		t.Fatalf("recovered %d records, want 5", c.Stats().RecoveredOnOpen)
	}
	st.check(t, 40)
	if st.retries == 0 {
		t.Fatal("replayed records were not written with Retry")
	}
	shutdown(t, c, 5*time.Second)
}

func TestFullSpoolRefuses(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.MaxSpoolBytes = 1 << 20
	cfg.MaxBodyBytes, cfg.MaxDecodedBytes = 256<<10, 512<<10
	st := &flakyStore{spans: map[string]int{}, down: true}
	c := start(t, cfg, st)
	accepted, refused := 0, 0
	for i := 0; i < 100 && refused == 0; i++ {
		switch code := send(t, c, 500); code {
		case 200:
			accepted += 500
		case 429:
			refused++
		default:
			t.Fatalf("status %d", code)
		}
	}
	if refused == 0 {
		t.Fatal("a full spool never answered 429")
	}
	// gRPC clients get RESOURCE_EXHAUSTED with a retry delay.
	if err := sendGRPC(t, c, 500); status.Code(err) != codes.ResourceExhausted || !hasRetryInfo(err) {
		t.Fatalf("gRPC with the spool full: %v, want ResourceExhausted with RetryInfo", err)
	}
	if s := c.Stats(); s.SpansRefused != 1000 || s.Rejected["full"] != 2 {
		t.Fatalf("stats %+v, want 1000 spans refused in 2 requests", s)
	}
	st.set(false)
	st.check(t, accepted)
	if code := send(t, c, 10); code != 200 {
		t.Fatalf("after the store caught up: %d", code)
	}
	st.check(t, accepted+10)
	shutdown(t, c, 5*time.Second)
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err == nil {
		t.Fatal("no spool dir: want an error")
	}
	c.SpoolDir = "x"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{SpoolDir: "x"}).Validate(); err != nil {
		t.Fatalf("zero fields take their defaults: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"negative batch_spans":          func(c *Config) { c.BatchSpans = -1 },
		"negative flush_interval":       func(c *Config) { c.FlushInterval = -time.Second },
		"body over decoded":             func(c *Config) { c.MaxBodyBytes = c.MaxDecodedBytes + 1 },
		"in-flight under decoded":       func(c *Config) { c.MaxInflightBytes = c.MaxDecodedBytes - 1 },
		"spool under twice the decoded": func(c *Config) { c.MaxSpoolBytes = 2*c.MaxDecodedBytes - 1 },
		"spool under 1 MiB":             func(c *Config) { c.MaxSpoolBytes, c.MaxBodyBytes, c.MaxDecodedBytes = 1<<19, 1<<10, 1<<10 },
	} {
		c := DefaultConfig()
		c.SpoolDir = "x"
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// BenchmarkHTTPIngest posts OTLP/HTTP protobuf requests of 1000 messaging
// spans from concurrent clients into a collector whose store does nothing:
// receive, validate, spool (fsync'd), read back, derive lineage, commit.
// accepted-spans/s is how fast clients got 200s (the spool absorbs
// bursts); stored-spans/s (and ns/op) include draining the spool, the
// rate the collector can sustain.
func BenchmarkHTTPIngest(b *testing.B) {
	for _, clients := range []int{2, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchIngest(b, clients) })
	}
}

// benchCollector starts a collector for a benchmark, writing to w, with
// OTLP/HTTP on a free port and a spool large enough never to refuse; it
// is shut down when b ends.
func benchCollector(b *testing.B, w store.Writer) *Collector {
	cfg := DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", Off, b.TempDir()
	cfg.MaxSpoolBytes = 8 << 30
	c, err := New(cfg, w, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.Shutdown(ctx)
	})
	return c
}

func benchIngest(b *testing.B, clients int) {
	st := &nopWriter{}
	c := benchCollector(b, st)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < 1000; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{1, byte(i >> 8), byte(i)}))
		sp.SetSpanID(pcommon.SpanID([8]byte{2, byte(i >> 8), byte(i)}))
		sp.SetName("orders.placed publish")
		sp.SetKind(ptrace.SpanKindProducer)
		sp.Attributes().PutStr("messaging.system", "kafka")
		sp.Attributes().PutStr("messaging.destination.name", "orders.placed")
	}
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	url := "http://" + c.HTTPAddr() + "/v1/traces"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	b.SetBytes(int64(len(body)))
	b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/x-protobuf", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	accepted := b.Elapsed()
	// Then until the writer has stored everything: the sustained rate.
	for c.Stats().SpansWritten < uint64(1000*b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(1000*b.N)/accepted.Seconds(), "accepted-spans/s")
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "stored-spans/s")
}

type nopWriter struct{}

func (nopWriter) Write(context.Context, *store.Batch) error { return nil }

func TestGRPCIntoTheStore(t *testing.T) {
	st := &flakyStore{spans: map[string]int{}}
	c := start(t, testConfig(t, t.TempDir()), st)
	for i := 0; i < 4; i++ {
		if err := sendGRPC(t, c, 25); err != nil {
			t.Fatal(err)
		}
	}
	st.check(t, 100)
	shutdown(t, c, 5*time.Second)
}

// TestStats checks the counters after good and bad requests.
func TestStats(t *testing.T) {
	st := &flakyStore{spans: map[string]int{}}
	c := start(t, testConfig(t, t.TempDir()), st)
	send(t, c, 10)
	bad := batchOf(3)
	bad.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetName("\xff")
	b, _ := ptraceotlp.NewExportRequestFromTraces(bad).MarshalProto()
	for _, r := range []struct {
		ct   string
		body []byte
		want int
	}{
		{"application/x-protobuf", b, 400},
		{"application/x-protobuf", b[:len(b)-3], 400},
		{"text/plain", b, 415},
	} {
		resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", r.ct, bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.want {
			t.Fatalf("%s: %d, want %d", r.ct, resp.StatusCode, r.want)
		}
	}
	st.check(t, 10)
	s := c.Stats()
	if s.SpansReceived != 13 || s.SpansAccepted != 10 || s.SpansWritten != 10 || s.InflightBytes != 0 ||
		fmt.Sprint(s.Rejected) != "map[invalid:1 malformed:1 media_type:1]" {
		t.Fatalf("stats %+v", s)
	}
	shutdown(t, c, 5*time.Second)
}

// TestCrashImageReplaysExactlyOnce takes a copy of the spool directory
// while the collector runs, as a SIGKILL leaves it, with the store having
// taken some batches whose acknowledgement was lost, and starts a second
// collector on the copy: every acknowledged span is stored exactly once.
func TestCrashImageReplaysExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	st := &flakyStore{spans: map[string]int{}, ackLost: true}
	// The writer retries its first batch forever: gather every request of
	// this phase into it (see TestRestartReplaysSpool).
	cfg := testConfig(t, dir)
	cfg.FlushInterval, cfg.BatchSpans = 2*time.Second, 1000
	c := start(t, cfg, st)
	for i := 0; i < 6; i++ {
		if code := send(t, c, 9); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	st.check(t, 54) // stored, never confirmed
	st.set(true)
	for i := 0; i < 4; i++ {
		if code := send(t, c, 9); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	image := t.TempDir()
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(image, filepath.Base(name)), b, 0o644)
	}
	shutdown(t, c, 100*time.Millisecond) // the original goes away too

	st.mu.Lock()
	st.down, st.ackLost = false, false
	st.mu.Unlock()
	c = start(t, testConfig(t, image), st)
	if got := c.Stats().RecoveredOnOpen; got != 10 {
		t.Fatalf("recovered %d records, want 10", got)
	}
	st.check(t, 90)
	shutdown(t, c, 5*time.Second)
}

func TestHandlerMountsInAnotherServer(t *testing.T) {
	st := &flakyStore{spans: map[string]int{}}
	cfg := testConfig(t, t.TempDir())
	cfg.HTTPAddr, cfg.GRPCAddr = Off, Off
	c := start(t, cfg, st)
	if c.HTTPAddr() != "" || c.GRPCAddr() != "" {
		t.Fatalf("listeners off, but addresses %q %q", c.HTTPAddr(), c.GRPCAddr())
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", c.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b, _ := ptraceotlp.NewExportRequestFromTraces(batchOf(4)).MarshalProto()
	resp, err := http.Post(srv.URL+"/v1/traces", "application/x-protobuf", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	st.check(t, 4)
	shutdown(t, c, 5*time.Second)
}
