package replay_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/replay"
)

// TestReplayDLQKafka: a handler that fails dead-letters an order; after the
// fix, replaying its DLQ entry (twice with one idempotency key) publishes it
// once, the handler processes it, and the causation graph of the order
// shows the replay as a new branch; the audit log has the replay and its
// result.
func TestReplayDLQKafka(t *testing.T) {
	e := newEnv(t, "orders", "orders.dlq")
	ctx := context.Background()

	producer := e.agent(t, "order-service")
	pcl := e.client(t, kgo.WithHooks(kafka.NewTracer(producer)), kgo.DefaultProduceTopic("orders"))
	rec := &kgo.Record{Key: []byte("order-1"), Value: []byte(`{"order":"order-1","amount":42}`), Context: ctx}
	c := (*kafka.Carrier)(rec)
	c.Set(event.HeaderCorrelationID, "order-1")
	c.Set(event.HeaderEventType, "order.placed")
	if err := pcl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	origID := c.Get(event.HeaderEventID)

	var broken atomic.Bool
	broken.Store(true)
	var mu sync.Mutex
	var handled []*kgo.Record
	payments := e.agent(t, "payment-service")
	ccl := e.client(t, kgo.WithHooks(kafka.NewTracer(payments)), kgo.ConsumerGroup("payments"), kgo.ConsumeTopics("orders"))
	cctx, stop := context.WithCancel(ctx)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for cctx.Err() == nil {
			ccl.PollFetches(cctx).EachRecord(func(r *kgo.Record) {
				kafka.Handle(cctx, payments, ccl, "payments", r, agent.Policy{MaxAttempts: 2, Backoff: 10 * time.Millisecond, DeadLetter: true},
					func(context.Context, *kgo.Record) error {
						if broken.Load() {
							return errors.New("fraud-check unavailable")
						}
						mu.Lock()
						handled = append(handled, r)
						mu.Unlock()
						return nil
					})
			})
		}
	}()
	defer func() { stop(); <-consumed }()

	entry := e.dlq(t, store.DLQQuery{Source: "orders.dlq"}, 1)[0]
	if entry.EventID != origID || entry.Original != "orders" || entry.Reason == "" {
		t.Fatalf("DLQ entry %+v: want event %s from orders with a reason", entry, origID)
	}
	broken.Store(false) // the fix is deployed

	req := replay.Request{DLQIDs: []string{entry.ID}, Reason: "fraud-check is back"}
	r, created, err := e.eng.Start(ctx, "alice", req, "click-1")
	if err != nil || !created {
		t.Fatalf("start: %v, created %v", err, created)
	}
	again, created, err := e.eng.Start(ctx, "alice", req, "click-1")
	if err != nil || created || again.ID != r.ID {
		t.Fatalf("second start with the same key: %+v, created %v, %v; want replay %s again", again, created, err, r.ID)
	}
	done := e.wait(t, r.ID)
	if done.State != store.ReplaySucceeded || done.Sent != 1 || done.Failed != 0 || done.RequestedBy != "alice" ||
		done.Reason != req.Reason || done.StartedNS == 0 || done.FinishedNS < done.StartedNS {
		t.Fatalf("replay: %+v", done)
	}
	eventually(t, "the replayed order to be handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(handled) == 1 })
	mu.Lock()
	got := handled[0]
	mu.Unlock()
	if header(got, event.HeaderReplayOf) != origID || header(got, event.HeaderReplayID) != r.ID ||
		header(got, event.HeaderCorrelationID) != "order-1" || header(got, event.HeaderEventID) == origID ||
		header(got, event.HeaderCausationID) != origID || string(got.Value) != string(rec.Value) || string(got.Key) != "order-1" {
		t.Fatalf("replayed record: key %q value %q headers %v", got.Key, got.Value, got.Headers)
	}
	for _, h := range got.Headers {
		if h.Key == event.HeaderSpringDLTExceptionMessage || h.Key == event.HeaderOriginalTopic {
			t.Fatalf("dead-letter header %s was replayed", h.Key)
		}
	}
	_, items, err := e.eng.Get(ctx, r.ID, -1, 10)
	if err != nil || len(items) != 1 || items[0].Status != store.ItemSent || items[0].DLQID != entry.ID ||
		items[0].NewEventID != header(got, event.HeaderEventID) || items[0].Destination != "orders" {
		t.Fatalf("audit items: %+v, %v", items, err)
	}

	// The graph of the order: the failed branch, and the replay's new one.
	var g *store.Graph
	eventually(t, "the replay branch in the causation graph", func() bool {
		g, err = store.Walk(ctx, e.st, store.GraphQuery{CorrelationID: "order-1"})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(g.Nodes, func(n event.Event) bool {
			return n.Op == event.OpProcess && n.Outcome == event.OutcomeOK && n.ReplayOf == origID
		})
	})
	var replayNode, okNode string
	outcomes := map[event.Outcome]int{}
	for _, n := range g.Nodes {
		outcomes[n.Outcome]++
		switch {
		case n.Op == event.OpReplay && n.Service == "causeway-replay" && n.ReplayOf == origID:
			replayNode = store.NodeID(n.TraceID, n.SpanID)
		case n.Op == event.OpProcess && n.Outcome == event.OutcomeOK:
			okNode = store.NodeID(n.TraceID, n.SpanID)
		}
	}
	if replayNode == "" || okNode == "" || outcomes[event.OutcomeDeadLettered] == 0 {
		t.Fatalf("graph nodes %+v: want the failed attempts, a replay publish and the successful process", g.Nodes)
	}
	var into, onward bool
	for _, ed := range g.Edges {
		into = into || ed.To == replayNode
		onward = onward || ed.From == replayNode && ed.To == okNode
	}
	if !into || !onward {
		t.Fatalf("edges %+v: want an edge into the replay (%s) and from it to the handler (%s)", g.Edges, replayNode, okNode)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 1 {
		t.Fatalf("handled %d replayed records, want exactly 1", len(handled))
	}
}

// TestReplayBulk: 1,000 DLQ entries previewed, refused without the count
// echoed, replayed at a rate limit with progress, exactly once each; a
// second bulk replay cancelled midway stops publishing and its audit log
// matches what was sent.
func TestReplayBulk(t *testing.T) {
	e := newEnv(t, "bulk", "bulk.dlq")
	ctx := context.Background()
	const n = 1000
	raw := e.client(t)
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "bulk.dlq", Value: []byte(fmt.Sprintf(`{"n":%d}`, i)), Headers: []kgo.RecordHeader{
			{Key: event.HeaderOriginalTopic, Value: []byte("bulk")}, {Key: event.HeaderEventID, Value: []byte(fmt.Sprintf("evt-%d", i))},
			{Key: event.HeaderSpringDLTExceptionMessage, Value: []byte("downstream timeout")}}})
	}
	if err := raw.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	e.dlq(t, store.DLQQuery{Source: "bulk.dlq", Limit: 1000}, n)

	var mu sync.Mutex
	seen := map[string]map[string]int{} // replay id → replay-of → count
	ccl := e.client(t, kgo.ConsumeTopics("bulk"))
	cctx, stop := context.WithCancel(ctx)
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for cctx.Err() == nil {
			ccl.PollFetches(cctx).EachRecord(func(r *kgo.Record) {
				mu.Lock()
				id := header(r, event.HeaderReplayID)
				if seen[id] == nil {
					seen[id] = map[string]int{}
				}
				seen[id][header(r, event.HeaderReplayOf)]++
				mu.Unlock()
			})
		}
	}()
	defer func() { stop(); <-consumed }()
	count := func(id string) (msgs, distinct int) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range seen[id] {
			msgs += c
		}
		return msgs, len(seen[id])
	}

	filter := &replay.DLQFilter{Source: "bulk.dlq"}
	p, err := e.eng.Preview(ctx, replay.Request{DLQFilter: filter, RatePerSec: 400})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count != n || !p.ConfirmCount || len(p.Targets) != 1 || p.Targets[0] != (replay.Target{System: "kafka", Destination: "bulk", Count: n}) ||
		len(p.Sample) != 5 || p.Sample[0].PayloadPreview != `{"n":0}` || p.Seconds != 2.5 {
		t.Fatalf("preview: %+v", p)
	}
	req := replay.Request{DLQFilter: filter, Reason: "timeouts fixed", RatePerSec: 400}
	var re *replay.Error
	if _, _, err := e.eng.Start(ctx, "bob", req, "k1"); !errors.As(err, &re) || re.Code != "count_mismatch" {
		t.Fatalf("start without the expected count: %v, want count_mismatch", err)
	}
	req.ExpectedCount = n
	began := time.Now()
	r, _, err := e.eng.Start(ctx, "bob", req, "k1")
	if err != nil {
		t.Fatal(err)
	}
	done := e.wait(t, r.ID)
	elapsed := time.Since(began)
	if done.State != store.ReplaySucceeded || done.Sent != n || done.Total != n {
		t.Fatalf("bulk replay: %+v", done)
	}
	if s := e.eng.Stats(); s.Started != 1 || s.Finished[store.ReplaySucceeded] != 1 || s.Finished[store.ReplayFailed] != 0 ||
		s.MessagesSent != n || s.MessagesFailed != 0 {
		t.Fatalf("engine stats after the replay: %+v", s)
	}
	// The rate limit: 1,000 messages at 400/s cannot take less than 999/400 s.
	if min := time.Duration(float64(n-1) / 400 * float64(time.Second)); elapsed < min {
		t.Fatalf("1,000 messages at 400/s took %v, less than %v: the rate limit was not applied", elapsed, min)
	}
	eventually(t, "1,000 replayed records", func() bool { m, _ := count(r.ID); return m >= n })
	if m, d := count(r.ID); m != n || d != n {
		t.Fatalf("consumed %d records of %d distinct originals, want %d of %d", m, d, n, n)
	}
	eventually(t, "the final progress notification", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return slices.ContainsFunc(e.notes, func(r store.Replay) bool { return r.ID == done.ID && r.Done() })
	})
	e.mu.Lock()
	var progress []int64
	for _, note := range e.notes {
		if note.ID == r.ID {
			progress = append(progress, note.Sent)
		}
	}
	e.mu.Unlock()
	if len(progress) < 4 || !slices.IsSorted(progress) || progress[len(progress)-1] != n {
		t.Fatalf("progress notifications %v: want several, rising to %d", progress, n)
	}

	// Cancel a slower one midway.
	req.RatePerSec = 100
	r2, _, err := e.eng.Start(ctx, "bob", req, "k2")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cancelled, err := e.eng.Cancel(ctx, r2.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.State != store.ReplayCancelled || cancelled.Sent == 0 || cancelled.Sent >= n || cancelled.Error == "" {
		t.Fatalf("cancelled replay: %+v", cancelled)
	}
	eventually(t, "the cancelled replay's records", func() bool { m, _ := count(r2.ID); return int64(m) >= cancelled.Sent })
	time.Sleep(500 * time.Millisecond)
	if m, _ := count(r2.ID); int64(m) != cancelled.Sent {
		t.Fatalf("consumed %d records of the cancelled replay, it reports %d sent", m, cancelled.Sent)
	}
	stored, items, err := e.eng.Get(ctx, r2.ID, -1, 0)
	if err != nil || stored.State != store.ReplayCancelled || int64(len(items)) != stored.Sent+stored.Failed {
		t.Fatalf("audit of the cancelled replay: %+v with %d items, %v", stored, len(items), err)
	}
	var re2 *replay.Error
	if _, err := e.eng.Cancel(ctx, r2.ID, "carol"); !errors.As(err, &re2) || re2.Code != "already_finished" {
		t.Fatalf("cancelling a finished replay: %v", err)
	}
	page, err := e.eng.List(ctx, store.ReplayQuery{})
	if err != nil || len(page.Replays) != 2 || page.Replays[0].ID != r2.ID {
		t.Fatalf("replay list: %+v, %v", page, err)
	}
}
