package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// streamer posts OTLP/HTTP protobuf requests of fresh spans in a loop and
// counts the spans the collector acknowledged with 2xx. Every span of one
// streamer shares a trace id prefix so the store can be asked for them.
type streamer struct {
	seq      atomic.Uint64
	accepted atomic.Int64
	rejected atomic.Int64
	traces   sync.Map // trace id → spans accepted
	stop     chan struct{}
	done     chan struct{}
	addr     atomic.Value
}

func newStreamer(addr string) *streamer {
	s := &streamer{stop: make(chan struct{}), done: make(chan struct{})}
	s.addr.Store(addr)
	return s
}

// request builds one request of n spans in one new trace.
func (s *streamer) request(n int) (traceID string, body []byte) {
	req := ptraceotlp.NewExportRequest()
	rs := req.Traces().ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "fault-test")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	seq := s.seq.Add(1)
	var tid [16]byte
	binary.BigEndian.PutUint64(tid[0:8], 0xfa017e57)
	binary.BigEndian.PutUint64(tid[8:16], seq)
	now := uint64(time.Now().UnixNano())
	for i := 0; i < n; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID(tid))
		var sid [8]byte
		binary.BigEndian.PutUint64(sid[:], seq<<16|uint64(i+1))
		sp.SetSpanID(pcommon.SpanID(sid))
		sp.SetName("op")
		sp.SetKind(ptrace.SpanKindProducer)
		sp.Attributes().PutStr("messaging.system", "kafka")
		sp.Attributes().PutStr("messaging.destination.name", "fault.topic")
		sp.SetStartTimestamp(pcommon.Timestamp(now))
		sp.SetEndTimestamp(pcommon.Timestamp(now + 1000))
	}
	b, _ := req.MarshalProto()
	return pcommon.TraceID(tid).String(), b
}

// run sends requests of 20 spans every interval until stopped.
func (s *streamer) run(interval time.Duration) {
	defer close(s.done)
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(interval):
		}
		trace, body := s.request(20)
		resp, err := client.Post("http://"+s.addr.Load().(string)+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			s.rejected.Add(20)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			s.accepted.Add(20)
			s.traces.Store(trace, 20)
		} else {
			s.rejected.Add(20)
		}
	}
}

func (s *streamer) halt() { close(s.stop); <-s.done }

func (s *streamer) traceIDs() []string {
	var ids []string
	s.traces.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
	return ids
}

// waitExact waits until the store holds exactly the spans the streamers
// got accepted, then checks ClickHouse's raw rows for duplicates.
func waitExact(t *testing.T, b backend, streamers ...*streamer) {
	t.Helper()
	st := openStore(t, b.url)
	var want int
	var rejected int64
	var ids []string
	for _, s := range streamers {
		want += int(s.accepted.Load())
		rejected += s.rejected.Load()
		ids = append(ids, s.traceIDs()...)
	}
	if want == 0 {
		t.Fatal("no span was accepted")
	}
	eventually(t, 90*time.Second, func() string {
		n, err := countSpans(t, st, ids)
		if err != nil || n != want {
			return fmt.Sprintf("stored %d of %d accepted spans (err %v)", n, want, err)
		}
		return ""
	})
	if b.rawSpanCounts != nil {
		// A request can be spooled and then lose its response (the
		// collector killed before answering, a client timeout): the
		// client counts it as failed, yet it is stored, once. So the
		// store may hold more than the acknowledged spans, never more
		// than were sent, and never a span twice.
		sent := uint64(want) + uint64(rejected)
		if rows, unique := b.rawSpanCounts(t); rows != unique || rows < uint64(want) || rows > sent {
			t.Fatalf("raw span rows = %d, unique = %d; want no duplicates and between %d acknowledged and %d sent", rows, unique, want, sent)
		}
	}
	t.Logf("%d spans accepted, %d rejected (backpressure or collector down), all accepted stored exactly once", want, rejected)
}

// TestClickHouseOutage stops ClickHouse for 20 s while spans stream in,
// then restarts it: no accepted span is lost, none is duplicated.
func TestClickHouseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("long fault test")
	}
	srv := chtest.Start(t) // a private server: this test stops it
	db := chtest.UniqueDB(t.Name())
	b := backend{name: "clickhouse", url: srv.DSN(db), rawSpanCounts: func(t testing.TB) (uint64, uint64) { return srv.SpanCounts(t, db) }}
	c := startCollector(t, b.url, t.TempDir())
	s := newStreamer(c.httpAddr)
	go s.run(20 * time.Millisecond)
	time.Sleep(3 * time.Second)
	srv.Stop()
	t.Log("ClickHouse stopped")
	time.Sleep(20 * time.Second)
	srv.Restart(t)
	t.Log("ClickHouse restarted")
	time.Sleep(3 * time.Second)
	s.halt()
	waitExact(t, b, s)
	c.stop()
}

// TestClickHouseShardOutage stops one shard of a two-shard ClickHouse
// cluster for 15 s while spans stream in through the Distributed tables:
// the collector spools what it cannot write and catches up after; no
// accepted span is lost or duplicated on either shard.
func TestClickHouseShardOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("long fault test")
	}
	nodes := chtest.StartCluster(t, "causeway_fault", 2)
	db := chtest.UniqueDB(t.Name())
	b := backend{name: "clickhouse-cluster", url: nodes[0].DSN(db) + "?cluster=causeway_fault", rawSpanCounts: func(t testing.TB) (rows, unique uint64) {
		for _, n := range nodes { // a trace's spans live on one shard: the sums are exact
			r, u := n.SpanCounts(t, db+"_local")
			rows, unique = rows+r, unique+u
		}
		return rows, unique
	}}
	c := startCollector(t, b.url, t.TempDir())
	s := newStreamer(c.httpAddr)
	go s.run(20 * time.Millisecond)
	time.Sleep(3 * time.Second)
	nodes[1].Stop()
	t.Log("shard 2 stopped")
	time.Sleep(15 * time.Second)
	nodes[1].Restart(t)
	t.Log("shard 2 restarted")
	time.Sleep(3 * time.Second)
	s.halt()
	waitExact(t, b, s)
	for i, n := range nodes {
		if r, _ := n.SpanCounts(t, db+"_local"); r == 0 {
			t.Errorf("shard %d holds no spans", i+1)
		}
	}
	c.stop()
}

// TestIngestBuffer runs two collectors that buffer OTLP requests in a
// Kafka topic (kfake) and consume it as one group into ClickHouse. One is
// SIGKILLed mid-stream: the other takes its partitions over and every
// accepted span is stored exactly once.
func TestIngestBuffer(t *testing.T) {
	if testing.Short() {
		t.Skip("long fault test")
	}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	b := backend{name: "clickhouse", url: srv.DSN(db), rawSpanCounts: func(t testing.TB) (uint64, uint64) { return srv.SpanCounts(t, db) }}
	ingest := "kafka://" + kc.ListenAddrs()[0] + "/otlp-ingest?partitions=6"
	a := startCollector(t, b.url, t.TempDir(), "--ingest", ingest)
	victim := startCollector(t, b.url, t.TempDir(), "--ingest", ingest)
	sa, sv := newStreamer(a.httpAddr), newStreamer(victim.httpAddr)
	sv.seq.Store(1 << 40) // distinct trace ids for the second streamer
	go sa.run(20 * time.Millisecond)
	go sv.run(20 * time.Millisecond)
	time.Sleep(5 * time.Second)
	sv.halt()
	victim.kill()
	t.Log("second collector killed")
	time.Sleep(5 * time.Second)
	sa.halt()
	waitExact(t, b, sa, sv)
	a.stop()
}

// TestCollectorKilled kills the collector with SIGKILL twice: once while
// its spool holds spans the store (stopped) has not taken, once in the
// middle of a stream. After restarts, every accepted span is stored once.
func TestCollectorKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("long fault test")
	}
	srv := chtest.Start(t)
	db := chtest.UniqueDB(t.Name())
	b := backend{name: "clickhouse", url: srv.DSN(db), rawSpanCounts: func(t testing.TB) (uint64, uint64) { return srv.SpanCounts(t, db) }}
	spool := t.TempDir()
	c := startCollector(t, b.url, spool)
	s := newStreamer(c.httpAddr)
	go s.run(10 * time.Millisecond)
	time.Sleep(2 * time.Second)

	srv.Stop() // the spool fills while the store is away
	time.Sleep(3 * time.Second)
	c.kill()
	t.Logf("collector killed with a non-empty spool (%d spans accepted so far)", s.accepted.Load())
	srv.Restart(t)
	c.start()
	s.addr.Store(c.httpAddr)
	time.Sleep(2 * time.Second)

	c.kill() // mid-stream, store up
	t.Log("collector killed mid-stream")
	c.start()
	time.Sleep(2 * time.Second)
	s.halt()
	waitExact(t, b, s)
	c.stop()
}
