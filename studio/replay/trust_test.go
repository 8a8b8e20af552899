package replay_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sidecar"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/replay"
)

// endOffset is the end offset of partition 0 of topic on the env's kfake.
func (e *env) endOffset(t *testing.T, topic string) int64 {
	t.Helper()
	adm := kadm.NewClient(e.client(t))
	offs, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := offs.Lookup(topic, 0)
	if !ok || o.Err != nil {
		t.Fatalf("end offset of %s: %+v", topic, o)
	}
	return o.Offset
}

// inject sends a DLQ entry over OTLP as anybody could: unsigned, or
// signed by signer with key.
func (e *env) inject(t *testing.T, m sidecar.DLQMessage, signer, key string) {
	t.Helper()
	exp := &sidecar.Exporter{Endpoint: e.collector, Client: &http.Client{Timeout: 10 * time.Second}, Signer: signer, SigningKey: []byte(key)}
	if err := exp.DLQ(context.Background(), []sidecar.DLQMessage{m}, 1<<20); err != nil {
		t.Fatal(err)
	}
}

// TestReplayTrust: DLQ entries sent over OTLP by anyone but the trusted
// sidecar (unsigned, signed with an unknown name or a wrong key) are
// stored untrusted; one naming a DLQ offset the broker does not hold
// cannot be replayed anywhere (nothing is published to the topic it
// names); one naming a real DLQ message goes where the broker's copy
// says, never where the entry claims; the sidecar's own entry is trusted
// and replays normally; a target outside studio.replay.allowed_targets is
// refused.
func TestReplayTrust(t *testing.T) {
	e := setup(t, true, replay.Config{AllowedTargets: []string{"orders.audit"}}, "orders", "orders.dlq", "attacker", "orders.audit")
	ctx := context.Background()

	// A real dead letter, read by the sidecar.
	pcl := e.client(t)
	dead := &kgo.Record{Topic: "orders.dlq", Value: []byte(`{"order":7}`), Headers: []kgo.RecordHeader{
		{Key: event.HeaderOriginalTopic, Value: []byte("orders")}, {Key: event.HeaderEventID, Value: []byte("evt-7")}}}
	if err := pcl.ProduceSync(ctx, dead).FirstErr(); err != nil {
		t.Fatal(err)
	}
	real := e.dlq(t, store.DLQQuery{Source: "orders.dlq"}, 1)[0]
	if !real.Trusted || real.Original != "orders" {
		t.Fatalf("the sidecar's entry: %+v, want trusted from orders", real)
	}

	// Injected entries, each claiming a DLQ position and the attacker's topic.
	at := time.Now()
	ghost := sidecar.DLQMessage{Time: at, System: event.SystemKafka, Source: "orders.dlq", SourcePartition: 0, SourceOffset: 99,
		Original: "attacker", OriginalPartition: -1, OriginalOffset: -1, Reason: "x", Payload: []byte("evil"), Headers: map[string]string{}}
	e.inject(t, ghost, "", "")
	forged := ghost
	forged.Time, forged.SourceOffset = at.Add(time.Millisecond), 98
	e.inject(t, forged, "test-sidecar", "not-the-sidecar's-key!")
	unknown := ghost
	unknown.Time, unknown.SourceOffset = at.Add(2*time.Millisecond), 97
	e.inject(t, unknown, "someone-else", sidecarKey)
	onReal := ghost // names the real dead letter's position
	onReal.Time, onReal.SourceOffset = at.Add(3*time.Millisecond), real.SourceOffset
	e.inject(t, onReal, "", "")
	all := e.dlq(t, store.DLQQuery{Source: "orders.dlq"}, 5)
	byOffset := map[int64]store.DLQEntry{}
	for _, d := range all {
		if d.Trusted != (d.ID == real.ID) {
			t.Fatalf("entry %+v: only the sidecar's entry is trusted", d)
		}
		if d.ID != real.ID {
			byOffset[d.SourceOffset] = d
		}
	}
	refused := func(req replay.Request, code string) {
		t.Helper()
		var re *replay.Error
		if _, err := e.eng.Preview(ctx, req); !errors.As(err, &re) || re.Code != code {
			t.Fatalf("dry run of %+v: %v, want %s", req, err, code)
		}
		if _, _, err := e.eng.Start(ctx, "mallory-victim", req, ""); !errors.As(err, &re) || re.Code != code {
			t.Fatalf("replay of %+v: %v, want %s", req, err, code)
		}
	}
	for _, off := range []int64{99, 98, 97} {
		id := byOffset[off].ID
		refused(replay.Request{DLQIDs: []string{id}, Reason: "r"}, "untrusted_source")
		refused(replay.Request{DLQIDs: []string{id}, Target: "attacker", Reason: "r"}, "untrusted_source")
		refused(replay.Request{DLQIDs: []string{id}, Target: "orders.audit", Reason: "r"}, "untrusted_source")
	}
	refused(replay.Request{DLQIDs: []string{real.ID}, Target: "attacker", Reason: "r"}, "target_not_allowed")
	refused(replay.Request{DLQIDs: []string{byOffset[real.SourceOffset].ID}, Target: "attacker", Reason: "r"}, "target_not_allowed")

	// The injected entry on the real position previews and replays to the
	// broker's original, with the broker's payload.
	p, err := e.eng.Preview(ctx, replay.Request{DLQIDs: []string{byOffset[real.SourceOffset].ID}})
	if err != nil || len(p.Targets) != 1 || p.Targets[0].Destination != "orders" {
		t.Fatalf("preview of the injected entry on a real position: %+v, %v", p, err)
	}
	r, _, err := e.eng.Start(ctx, "alice", replay.Request{DLQIDs: []string{byOffset[real.SourceOffset].ID}, Reason: "r"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if done := e.wait(t, r.ID); done.State != store.ReplaySucceeded {
		t.Fatalf("replay: %+v", done)
	}
	// The sidecar's entry replays normally, also to an allowed target.
	for _, target := range []string{"", "orders.audit"} {
		r, _, err := e.eng.Start(ctx, "alice", replay.Request{DLQIDs: []string{real.ID}, Target: target, Reason: "fixed"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if done := e.wait(t, r.ID); done.State != store.ReplaySucceeded || done.Sent != 1 {
			t.Fatalf("replay of the sidecar's entry to %q: %+v", target, done)
		}
	}
	if n := e.endOffset(t, "attacker"); n != 0 {
		t.Fatalf("%d messages were published to the attacker's topic", n)
	}
	if n := e.endOffset(t, "orders"); n != 2 {
		t.Fatalf("orders holds %d messages, want the 2 replays", n)
	}
	if n := e.endOffset(t, "orders.audit"); n != 1 {
		t.Fatalf("orders.audit holds %d messages, want 1", n)
	}
	cl := e.client(t, kgo.ConsumeTopics("orders"))
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, rec := range cl.PollFetches(fctx).Records() {
		if string(rec.Value) != `{"order":7}` {
			t.Fatalf("replayed %q: only the broker's copy may be published", rec.Value)
		}
	}
}
