package collector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

var seq int

// send posts a request of n fresh spans and returns the HTTP status.
func send(t *testing.T, c *Collector, n int) int {
	t.Helper()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	seq++
	for i := 0; i < n; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{byte(seq >> 8), byte(seq), 1}))
		sp.SetSpanID(pcommon.SpanID([8]byte{byte(seq >> 8), byte(seq), byte(i >> 8), byte(i), 1}))
		sp.SetName("op")
	}
	b, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
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
	c := start(t, testConfig(t, dir), st)
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
	cfg := testConfig(t, dir)
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
	c.BatchSpans = 0
	if err := c.Validate(); err == nil {
		t.Fatal("batch_spans 0: want an error")
	}
}

func BenchmarkHTTPIngest(b *testing.B) {
	cfg := DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", Off, b.TempDir()
	cfg.MaxSpoolBytes = 8 << 30
	st := &nopWriter{}
	c, err := New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	c.Start(context.Background())
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.Shutdown(ctx)
	}()
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
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
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "spans/s")
}

type nopWriter struct{}

func (nopWriter) Write(context.Context, *store.Batch) error { return nil }
