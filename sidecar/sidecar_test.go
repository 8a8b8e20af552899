package sidecar_test

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sidecar"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
)

// TestSidecarToStore runs the sidecar against kfake with an in-process
// collector and embedded store: consumer lag and DLQ arrivals (Causeway's
// and Spring Kafka's header conventions) end up stored, payload included.
func TestSidecarToStore(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders.placed", "orders.placed.dlq", "payments-dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, collectorURL := collectorWithStore(t, 8)
	cl, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	defer cl.Close()
	for i := 0; i < 30; i++ {
		cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.placed", Value: []byte("order")})
	}
	offs := make(kadm.Offsets)
	offs.Add(kadm.Offset{Topic: "orders.placed", Partition: 0, At: 10, LeaderEpoch: -1})
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, "billing", offs); err != nil {
		t.Fatal(err)
	}
	part, off := make([]byte, 4), make([]byte, 8)
	binary.BigEndian.PutUint32(part, 3)
	binary.BigEndian.PutUint64(off, 4242)
	spring := &kgo.Record{Topic: "payments-dlq", Value: []byte(`{"payment":"p-1","amount":12}`), Headers: []kgo.RecordHeader{
		{Key: event.HeaderSpringDLTOriginalTopic, Value: []byte("payments")},
		{Key: event.HeaderSpringDLTOriginalPartition, Value: part},
		{Key: event.HeaderSpringDLTOriginalOffset, Value: off},
		{Key: event.HeaderSpringDLTExceptionMessage, Value: []byte("NumberFormatException: amount")},
		{Key: "authorization", Value: []byte("Bearer secret")},
	}}
	ours := &kgo.Record{Topic: "orders.placed.dlq", Value: []byte("poison"), Headers: []kgo.RecordHeader{
		{Key: event.HeaderOriginalTopic, Value: []byte("orders.placed")},
		{Key: event.HeaderEventID, Value: []byte("evt-9")},
		{Key: event.HeaderSpringDLTExceptionMessage, Value: []byte("cannot parse order")},
	}}
	if err := cl.ProduceSync(ctx, spring, ours).FirstErr(); err != nil {
		t.Fatal(err)
	}

	done := make(chan error)
	counters := new(sidecar.Counters)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Config{KafkaBrokers: c.ListenAddrs(), Collector: collectorURL,
			Interval: 200 * time.Millisecond, Counters: counters}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()

	deadline := time.Now().Add(20 * time.Second)
	var lag []store.LagSample
	var dlq store.DLQPage
	for time.Now().Before(deadline) {
		lag, _ = st.Lag(ctx, store.LagQuery{Group: "billing"})
		dlq, _ = st.DLQ(ctx, store.DLQQuery{})
		if len(lag) >= 2 && len(dlq.Entries) == 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(lag) < 2 || len(dlq.Entries) != 2 {
		t.Fatalf("stored %d lag samples and %d DLQ entries", len(lag), len(dlq.Entries))
	}
	l := lag[len(lag)-1]
	if l.Lag != 20 || l.Committed != 10 || l.End != 30 || l.Topic != "orders.placed" || l.Partition != 0 || l.System != "kafka" || l.Status == "" {
		t.Errorf("lag sample %+v", l)
	}
	byReason := map[string]store.DLQEntry{}
	for _, e := range dlq.Entries {
		full, err := st.DLQEntry(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		byReason[full.Reason] = full
	}
	s := byReason["NumberFormatException: amount"]
	if s.Source != "payments-dlq" || s.Original != "payments" || s.OriginalPartition != 3 || s.OriginalOffset != 4242 ||
		string(s.Payload) != `{"paymen` || !s.Truncated || s.PayloadSize != 29 || s.Headers["authorization"] != "[redacted]" {
		t.Errorf("Spring DLQ entry %+v", s)
	}
	o := byReason["cannot parse order"]
	if o.Original != "orders.placed" || string(o.Payload) != "poison" || o.Truncated || o.EventID != "evt-9" {
		t.Errorf("Causeway DLQ entry %+v", o)
	}
	// Two lag samples are stored: at least two polls, none failed.
	if s := counters.Stats(); s.KafkaPolls < 2 || s.KafkaPollErrors != 0 || s.NATSPolls != 0 {
		t.Errorf("counters %+v", s)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sidecar did not stop")
	}
}

// collectorWithStore runs a collector writing to an embedded store, both
// stopped when the test ends, and returns the store and the OTLP/HTTP URL.
func collectorWithStore(t *testing.T, dlqPayloadMax int) (*embedded.Store, string) {
	t.Helper()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir, cfg.FlushInterval = "127.0.0.1:0", collector.Off, t.TempDir(), 50*time.Millisecond
	if dlqPayloadMax > 0 {
		cfg.DLQPayloadMaxBytes = dlqPayloadMax
	}
	col, err := collector.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		col.Shutdown(ctx)
		st.Close()
	})
	return st, "http://" + col.HTTPAddr()
}

// TestPollErrorsCounted: polls whose lag cannot be sent count as errors.
func TestPollErrorsCounted(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders.placed"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	defer cl.Close()
	cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.placed", Value: []byte("order")})
	offs := make(kadm.Offsets)
	offs.Add(kadm.Offset{Topic: "orders.placed", Partition: 0, At: 0, LeaderEpoch: -1})
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, "billing", offs); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a collector address nothing listens on
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	counters := new(sidecar.Counters)
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Config{KafkaBrokers: c.ListenAddrs(), Collector: dead,
			Interval: 100 * time.Millisecond, Counters: counters}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	deadline := time.Now().Add(20 * time.Second)
	for counters.Stats().KafkaPollErrors < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	if s := counters.Stats(); s.KafkaPollErrors < 2 || s.KafkaPolls < s.KafkaPollErrors {
		t.Fatalf("counters %+v, want failed polls counted", s)
	}
}
