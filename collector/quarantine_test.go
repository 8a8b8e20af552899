package collector

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/collector/spool"
	"github.com/causeway-dev/causeway/store"
)

// poisonStore is a flakyStore that also refuses, always, any batch holding
// a span named "poison", as a store refuses rows it cannot take.
type poisonStore struct {
	flakyStore
	refused int
}

func (p *poisonStore) Write(ctx context.Context, b *store.Batch) error {
	for _, s := range b.Spans {
		if s.Name == "poison" {
			p.mu.Lock()
			p.refused++
			p.mu.Unlock()
			return errors.New("cannot insert: bad row")
		}
	}
	return p.flakyStore.Write(ctx, b)
}

// sendNamed posts n fresh spans named name and returns the HTTP status.
func sendNamed(t *testing.T, c *Collector, n int, name string) int {
	t.Helper()
	td := batchOf(n)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).SetName(name)
	}
	b, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	return postBody(t, c, b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func quarantined(t *testing.T, dir string) []spool.QuarantineInfo {
	t.Helper()
	q, err := spool.ListQuarantine(dir)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// A deriver that panics on one record: the panic is recovered, that record
// alone is quarantined with reason "panic", the writer goes on, and a
// restart does not see it again.
func TestDeriverPanicQuarantines(t *testing.T) {
	dir := t.TempDir()
	st := &flakyStore{spans: map[string]int{}}
	var mu sync.Mutex
	panics := 0
	deriver := func(td ptrace.Traces) *store.Batch {
		if td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name() == "poison" {
			mu.Lock()
			panics++
			mu.Unlock()
			var m map[string]int
			m["boom"]++ // a nil map write, as a real deriver bug would
		}
		return lineage.Derive(td)
	}
	cfg := testConfig(t, dir)
	c, err := New(cfg, st, discard())
	if err != nil {
		t.Fatal(err)
	}
	c.deriveTraces = deriver
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	send(t, c, 10)
	if code := sendNamed(t, c, 3, "poison"); code != 200 {
		t.Fatalf("poison request: %d (it is valid OTLP: accepted, then quarantined)", code)
	}
	send(t, c, 10)
	st.check(t, 20)
	waitFor(t, "the quarantine", func() bool { return c.Stats().Quarantined == 1 })
	q := quarantined(t, dir)
	if len(q) != 1 || q[0].Reason != "panic" || q[0].Kind != "traces" || q[0].Spans != 3 || q[0].Attempts != 1 ||
		!strings.Contains(q[0].Error, "nil map") {
		t.Fatalf("quarantine %+v", q)
	}
	if s := c.Stats(); s.QuarantinedNow != 1 {
		t.Errorf("QuarantinedNow %d", s.QuarantinedNow)
	}
	fi, err := os.Stat(filepath.Join(dir, spool.QuarantineDir))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("quarantine dir %v %v, want 0700", fi.Mode(), err)
	}
	fi, err = os.Stat(filepath.Join(dir, spool.QuarantineDir, q[0].ID+".rec"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("quarantined record %v %v, want 0600", fi.Mode(), err)
	}
	shutdown(t, c, 5*time.Second)

	// After a restart the record is neither replayed nor quarantined again.
	c2, err := New(cfg, st, discard())
	if err != nil {
		t.Fatal(err)
	}
	c2.deriveTraces = deriver
	if err := c2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	send(t, c2, 5)
	st.check(t, 25)
	shutdown(t, c2, 5*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if panics != 1 || len(quarantined(t, dir)) != 1 {
		t.Errorf("deriver panicked %d times, %d quarantined; want 1 and 1", panics, len(quarantined(t, dir)))
	}
}

// A record the store keeps refusing while it takes the others goes to
// quarantine after QuarantineAfter refusals; the rest of its batch is stored.
func TestStoreRefusedRecordQuarantined(t *testing.T) {
	dir := t.TempDir()
	st := &poisonStore{flakyStore: flakyStore{spans: map[string]int{}}}
	cfg := testConfig(t, dir)
	cfg.QuarantineAfter = 3
	cfg.FlushInterval = 300 * time.Millisecond // the three requests share a batch
	cfg.BatchSpans = 1000
	c := start(t, cfg, st)
	send(t, c, 10)
	sendNamed(t, c, 2, "poison")
	send(t, c, 10)
	st.check(t, 20)
	waitFor(t, "the quarantine", func() bool { return c.Stats().Quarantined == 1 })
	q := quarantined(t, dir)
	if len(q) != 1 || q[0].Reason != "write" || q[0].Attempts != 3 || q[0].Spans != 2 || !strings.Contains(q[0].Error, "bad row") {
		t.Fatalf("quarantine %+v", q)
	}
	// The writer moved on: new requests are stored.
	send(t, c, 7)
	st.check(t, 27)
	shutdown(t, c, 5*time.Second)
}

// With the store down, records are retried however often it refuses
// them: nothing is quarantined, and all is stored once it is back.
func TestStoreDownQuarantinesNothing(t *testing.T) {
	dir := t.TempDir()
	st := &flakyStore{spans: map[string]int{}}
	cfg := testConfig(t, dir)
	cfg.QuarantineAfter = 2
	c := start(t, cfg, st)
	st.set(true)
	for range 10 {
		send(t, c, 10)
	}
	waitFor(t, "write errors", func() bool { return c.Stats().WriteErrors >= 20 })
	st.set(false)
	st.check(t, 100)
	if s := c.Stats(); s.Quarantined != 0 || len(quarantined(t, dir)) != 0 {
		t.Fatalf("quarantined %d while the store was down", s.Quarantined)
	}
	shutdown(t, c, 5*time.Second)
}

// A lone record the store refuses stays until another record arrives to
// show the store works; then it is quarantined and both move on.
func TestLoneRefusedRecordWaitsForEvidence(t *testing.T) {
	dir := t.TempDir()
	st := &poisonStore{flakyStore: flakyStore{spans: map[string]int{}}}
	cfg := testConfig(t, dir)
	cfg.QuarantineAfter = 2
	c := start(t, cfg, st)
	sendNamed(t, c, 1, "poison")
	waitFor(t, "refusals", func() bool { st.mu.Lock(); defer st.mu.Unlock(); return st.refused >= 3 })
	if n := len(quarantined(t, dir)); n != 0 {
		t.Fatalf("%d quarantined with no evidence that the store works", n)
	}
	send(t, c, 4)
	st.check(t, 4)
	waitFor(t, "the quarantine", func() bool { return c.Stats().Quarantined == 1 })
	shutdown(t, c, 5*time.Second)
}

// Spool records that do not decode (written by something else, or a
// different version) are quarantined at once with reason "decode".
func TestUndecodableRecordsQuarantined(t *testing.T) {
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range [][]byte{[]byte("Xunknown kind"), append([]byte{recordTraces}, 0x0a, 0xff, 0x01)} {
		if err := sp.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()
	st := &flakyStore{spans: map[string]int{}}
	c := start(t, testConfig(t, dir), st)
	send(t, c, 3)
	st.check(t, 3)
	waitFor(t, "the quarantine", func() bool { return c.Stats().Quarantined == 2 })
	q := quarantined(t, dir)
	if len(q) != 2 || q[0].Reason != "decode" || q[0].Kind != "unknown" || q[1].Kind != "traces" || !strings.Contains(q[0].Error, "unknown record kind") {
		t.Fatalf("quarantine %+v", q)
	}
	shutdown(t, c, 5*time.Second)
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// postBody posts an OTLP/HTTP protobuf body and returns the status.
func postBody(t *testing.T, c *Collector, b []byte) int {
	t.Helper()
	resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// panicStore panics on a batch holding a span named "poison".
type panicStore struct{ flakyStore }

func (p *panicStore) Write(ctx context.Context, b *store.Batch) error {
	for _, s := range b.Spans {
		if s.Name == "poison" {
			panic("store driver bug")
		}
	}
	return p.flakyStore.Write(ctx, b)
}

// A store whose Write panics on a record does not take the process down:
// the panic is a failed write, and the record is quarantined like any
// record the store keeps refusing.
func TestStorePanicQuarantined(t *testing.T) {
	dir := t.TempDir()
	st := &panicStore{flakyStore{spans: map[string]int{}}}
	cfg := testConfig(t, dir)
	cfg.QuarantineAfter = 2
	cfg.FlushInterval = 300 * time.Millisecond
	cfg.BatchSpans = 1000
	c := start(t, cfg, st)
	send(t, c, 4)
	sendNamed(t, c, 1, "poison")
	send(t, c, 4)
	st.check(t, 8)
	waitFor(t, "the quarantine", func() bool { return c.Stats().Quarantined == 1 })
	if q := quarantined(t, dir); len(q) != 1 || q[0].Reason != "write" || !strings.Contains(q[0].Error, "store driver bug") {
		t.Fatalf("quarantine %+v", q)
	}
	shutdown(t, c, 5*time.Second)
}
