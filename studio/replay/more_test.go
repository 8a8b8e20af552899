package replay_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/agent/natsagent"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/replay"
)

// TestReplayNATS: a JetStream handler terminates a message; the sidecar
// records the advisory as a DLQ entry; after the fix the replay goes back
// to the subject through JetStream and is handled, with replay headers.
func TestReplayNATS(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	nc, err := natsgo.Connect(e.nats)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "INVENTORY", Subjects: []string{"inventory.reserve"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "INVENTORY_DLQ", Subjects: []string{"inventory.reserve.dlq"}}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "INVENTORY", jetstream.ConsumerConfig{Durable: "inventory", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	a := e.agent(t, "inventory-service")
	var broken atomic.Bool
	broken.Store(true)
	var mu sync.Mutex
	var handled []jetstream.Msg
	cc, err := cons.Consume(func(m jetstream.Msg) {
		natsagent.HandleJS(ctx, a, js, "inventory", m, agent.Policy{DeadLetter: true}, func(context.Context, jetstream.Msg) error {
			if broken.Load() {
				return errors.New("warehouse API down")
			}
			mu.Lock()
			handled = append(handled, m)
			mu.Unlock()
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()

	shop := e.agent(t, "fulfillment-service")
	msg := &natsgo.Msg{Subject: "inventory.reserve", Data: []byte(`{"sku":"sku-7"}`), Header: natsgo.Header{}}
	msg.Header.Set(event.HeaderCorrelationID, "order-7")
	if _, err := natsagent.PublishJS(ctx, shop, js, msg); err != nil {
		t.Fatal(err)
	}
	origID := msg.Header.Get(event.HeaderEventID)
	var entry store.DLQEntry
	eventually(t, "the terminated message's DLQ entry", func() bool {
		p, _ := e.st.DLQ(ctx, store.DLQQuery{Original: "inventory.reserve"})
		for _, d := range p.Entries {
			if d.System == event.SystemNATS && d.EventID == origID {
				entry = d
				return true
			}
		}
		return false
	})
	broken.Store(false)
	r, _, err := e.eng.Start(ctx, "alice", replay.Request{DLQIDs: []string{entry.ID}, Reason: "warehouse API is back"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if done := e.wait(t, r.ID); done.State != store.ReplaySucceeded || done.Sent != 1 {
		t.Fatalf("replay: %+v", done)
	}
	eventually(t, "the replayed message to be handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(handled) == 1 })
	h := handled[0].Headers()
	if h.Get(event.HeaderReplayOf) != origID || h.Get(event.HeaderReplayID) != r.ID || h.Get(event.HeaderCorrelationID) != "order-7" ||
		h.Get("x-exception-message") != "" || string(handled[0].Data()) != `{"sku":"sku-7"}` {
		t.Fatalf("replayed message: %q %v", handled[0].Data(), h)
	}
}

// TestReplayStoredEvent: a stored publish event is re-read from Kafka by
// its topic, partition and offset and replayed to another topic, one
// studio.replay.allowed_targets lets it send to.
func TestReplayStoredEvent(t *testing.T) {
	e := setup(t, true, replay.Config{AllowedTargets: []string{"*.audit"}}, "orders", "orders.audit")
	ctx := context.Background()
	a := e.agent(t, "order-service")
	pcl := e.client(t, kgo.WithHooks(kafka.NewTracer(a)), kgo.DefaultProduceTopic("orders"))
	for i := range 3 { // the wanted record is not the first of its partition
		rec := &kgo.Record{Key: []byte{'k', byte('0' + i)}, Value: []byte{'v', byte('0' + i)}, Context: ctx}
		if err := pcl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var ev event.Event
	eventually(t, "the stored publish events", func() bool {
		p, _ := e.st.Events(ctx, store.EventQuery{Destination: "orders"})
		for _, x := range p.Events {
			if x.Op == event.OpPublish && x.Offset == 1 {
				ev = x
			}
		}
		return ev.EventID != ""
	})
	r, _, err := e.eng.Start(ctx, "alice", replay.Request{EventIDs: []string{ev.EventID}, Target: "orders.audit", Reason: "audit copy"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if done := e.wait(t, r.ID); done.State != store.ReplaySucceeded || done.Target != "orders.audit" {
		t.Fatalf("replay: %+v", done)
	}
	cl := e.client(t, kgo.ConsumeTopics("orders.audit"))
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fs := cl.PollFetches(fctx)
	recs := fs.Records()
	if len(recs) != 1 || string(recs[0].Value) != "v1" || string(recs[0].Key) != "k1" || header(recs[0], event.HeaderReplayOf) != ev.EventID {
		t.Fatalf("replayed records: %v (errors %v)", recs, fs.Errors())
	}
}

// TestReplayRefusals: what the engine refuses, with stable codes, and the
// recovery of replays interrupted by a restart.
func TestReplayRefusals(t *testing.T) {
	e := newEnv(t, "orders")
	ctx := context.Background()
	// Entries as a trusted sidecar would have sent them.
	entries := []store.DLQEntry{
		{ID: "aa01", TimeNS: 1, System: "kafka", Source: "orders.dlq", SourcePartition: 0, SourceOffset: 0, Original: "orders", OriginalPartition: -1, OriginalOffset: -1, Trusted: true},
		{ID: "aa02", TimeNS: 2, System: "kafka", Source: "x.dlq", SourcePartition: 0, SourceOffset: 0, OriginalPartition: -1, OriginalOffset: -1, Trusted: true},
		{ID: "aa03", TimeNS: 3, System: "rabbitmq", Source: "q.dlq", SourcePartition: 0, SourceOffset: 0, Original: "q", OriginalPartition: -1, OriginalOffset: -1, Trusted: true},
	}
	if err := e.st.Write(ctx, &store.Batch{DLQ: entries}); err != nil {
		t.Fatal(err)
	}
	ok := replay.Request{DLQIDs: []string{"aa01"}, Reason: "r"}
	for _, tc := range []struct {
		name string
		req  replay.Request
		key  string
		code string
	}{
		{"no reason", replay.Request{DLQIDs: []string{"aa01"}}, "", "invalid_argument"},
		{"no source", replay.Request{Reason: "r"}, "", "invalid_argument"},
		{"two sources", replay.Request{DLQIDs: []string{"aa01"}, EventIDs: []string{"e"}, Reason: "r"}, "", "invalid_argument"},
		{"unknown entry", replay.Request{DLQIDs: []string{"aa01", "ffff"}, Reason: "r", ExpectedCount: 2}, "", "not_found"},
		{"unknown event", replay.Request{EventIDs: []string{"nope"}, Reason: "r"}, "", "not_found"},
		{"empty filter result", replay.Request{DLQFilter: &replay.DLQFilter{Reason: "none like this"}, Reason: "r"}, "", "not_found"},
		{"unknown destination", replay.Request{DLQIDs: []string{"aa02"}, Reason: "r"}, "", "invalid_argument"},
		{"no broker for the system", replay.Request{DLQIDs: []string{"aa03"}, Reason: "r"}, "", "unavailable"},
		{"rate too high", replay.Request{DLQIDs: []string{"aa01"}, Reason: "r", RatePerSec: 1e6}, "", "invalid_argument"},
		{"count not confirmed", replay.Request{DLQIDs: []string{"aa01", "aa01"}, Reason: "r", ExpectedCount: 3}, "", "count_mismatch"},
		{"target not allowed", replay.Request{DLQIDs: []string{"aa01", "aa02"}, Target: "orders", Reason: "r", ExpectedCount: 2}, "", "target_not_allowed"},
	} {
		_, _, err := e.eng.Start(ctx, "alice", tc.req, tc.key)
		var re *replay.Error
		if !errors.As(err, &re) || re.Code != tc.code {
			t.Errorf("%s: %v, want code %s", tc.name, err, tc.code)
		}
	}
	r, _, err := e.eng.Start(ctx, "alice", ok, "same-key")
	if err != nil {
		t.Fatal(err)
	}
	e.wait(t, r.ID) // the entry's offset holds nothing: the item fails, the replay is recorded
	other := ok
	other.Target = "elsewhere"
	var re *replay.Error
	if _, _, err := e.eng.Start(ctx, "alice", other, "same-key"); !errors.As(err, &re) || re.Code != "idempotency_conflict" {
		t.Fatalf("a different request with a used key: %v", err)
	}
	// Keys are scoped per token: bob's request with alice's key is his own replay.
	bobs, created, err := e.eng.Start(ctx, "bob", ok, "same-key")
	if err != nil || !created || bobs.ID == r.ID || bobs.RequestedBy != "bob" {
		t.Fatalf("bob with alice's key: %+v, created %v, %v", bobs, created, err)
	}
	e.wait(t, bobs.ID)
	if again, created, err := e.eng.Start(ctx, "bob", ok, "same-key"); err != nil || created || again.ID != bobs.ID {
		t.Fatalf("bob's second click: %+v, created %v, %v", again, created, err)
	}

	interrupted := store.Replay{ID: "00112233445566778899aabbccddeeff", RequestedBy: "bob", Reason: "r", Request: "{}",
		State: store.ReplayRunning, Total: 10, Sent: 4, RatePerSec: 1, CreatedNS: 5, UpdatedNS: 6}
	if err := e.st.PutReplay(ctx, interrupted); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.Replay(ctx, interrupted.ID)
	if err != nil || got.State != store.ReplayFailed || got.Sent != 4 || got.Error == "" {
		t.Fatalf("recovered replay: %+v, %v", got, err)
	}
}
