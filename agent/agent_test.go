package agent_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/event"
)

// mapHeaders is an in-memory agent.Headers.
type mapHeaders map[string]string

func (m mapHeaders) Get(k string) string { return m[k] }
func (m mapHeaders) Set(k, v string)     { m[k] = v }
func (m mapHeaders) Keys() []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestCollectorDownDropsCounted: with no collector listening, publishing
// goes on, memory stays within the queue bound, and every span is counted
// as dropped, exactly.
func TestCollectorDownDropsCounted(t *testing.T) {
	ctx := context.Background()
	a, err := agent.New(ctx, agent.WithService("lonely"), agent.WithCollector("http://"+closedPort(t)),
		agent.WithQueueSize(64), agent.WithBatchSize(16), agent.WithExportTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	d := agent.Destination{System: event.SystemKafka, Name: "t", Partition: -1, Offset: -1}
	const n = 5000
	for i := 0; i < n; i++ {
		_, span := a.StartPublish(ctx, mapHeaders{}, d, "x")
		a.EndPublish(span, d, nil)
		if q := a.Stats().Queued; q > 64 {
			t.Fatalf("queue holds %d spans, bound 64", q)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a.Close(cctx)
	if s := a.Stats(); s.Exported != 0 || s.Dropped != n {
		t.Fatalf("stats %+v, want 0 exported and %d dropped", s, n)
	}
}

func newTestAgent(t *testing.T, opts ...agent.Option) (*agent.Agent, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	a, err := agent.New(context.Background(), append([]agent.Option{agent.WithService("svc"), agent.WithExporter(exp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	return a, exp
}

func attrs(s tracetest.SpanStub) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

func TestPublishKeepsExistingIDs(t *testing.T) {
	a, exp := newTestAgent(t)
	ctx := agent.ContextWithEvent(context.Background(), agent.Event{ID: "cause-1", CorrelationID: "corr-1"})
	d := agent.Destination{System: event.SystemKafka, Name: "t", Partition: -1, Offset: -1}
	h := mapHeaders{event.HeaderEventID: "given-id"}
	_, span := a.StartPublish(ctx, h, d, "thing.happened")
	a.EndPublish(span, agent.Destination{System: event.SystemKafka, Name: "t", Partition: 2, Offset: 9}, nil)
	if h[event.HeaderEventID] != "given-id" || h[event.HeaderCorrelationID] != "corr-1" || h[event.HeaderCausationID] != "cause-1" ||
		h[event.HeaderEventType] != "thing.happened" || h[event.HeaderTraceparent] == "" {
		t.Fatalf("headers %v", h)
	}
	a.Flush(context.Background())
	got := attrs(exp.GetSpans()[0])
	if got[event.AttrMessagingMessageID] != "given-id" || got[event.AttrMessagingDestinationPartID] != "2" ||
		got[event.AttrMessagingKafkaOffset] != "9" || got[event.AttrCausationID] != "cause-1" {
		t.Fatalf("span attributes %v", got)
	}
	if _, old := got[event.AttrMessagingOperation]; old {
		t.Error("old semconv names emitted without WithOldSemconv")
	}
}

func TestOldSemconv(t *testing.T) {
	a, exp := newTestAgent(t, agent.WithOldSemconv())
	d := agent.Destination{System: event.SystemKafka, Name: "t", Partition: 1, Offset: 5, Group: "g"}
	_, span, _ := a.StartProcess(context.Background(), mapHeaders{}, d, 1)
	a.EndProcess(span, event.OutcomeOK, nil)
	a.Flush(context.Background())
	got := attrs(exp.GetSpans()[0])
	for k, v := range map[attribute.Key]string{
		event.AttrMessagingOperationType: "process", event.AttrMessagingOperation: "process",
		event.AttrMessagingConsumerGroupName: "g", event.AttrMessagingKafkaConsumerGrp: "g",
		event.AttrMessagingKafkaOffset: "5", event.AttrMessagingKafkaOffsetOld: "5",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestHandleRetriesDeadLettersAndDedups(t *testing.T) {
	a, exp := newTestAgent(t)
	ctx := context.Background()
	d := agent.Destination{System: event.SystemKafka, Name: "t", Partition: 0, Offset: 1}
	h := mapHeaders{event.HeaderEventID: "e1"}
	p := agent.Policy{MaxAttempts: 3, Backoff: time.Millisecond, DeadLetter: true, Dedup: agent.NewMemoryDedup(10)}
	calls := 0
	res := a.Handle(ctx, h, d, p, func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("flaky")
		}
		return nil
	}, nil)
	if res.Outcome != event.OutcomeOK || res.Attempts != 3 {
		t.Fatalf("flaky handler: %+v", res)
	}
	res = a.Handle(ctx, h, d, p, func(context.Context) error { t.Fatal("duplicate handled"); return nil }, nil)
	if res.Outcome != event.OutcomeDuplicateSkipped {
		t.Fatalf("duplicate: %+v", res)
	}
	var dlqCause error
	res = a.Handle(ctx, mapHeaders{event.HeaderEventID: "e2"}, d, p, func(context.Context) error {
		return agent.Permanent(errors.New("poison"))
	}, func(ctx context.Context, cause error) error { dlqCause = cause; return nil })
	if res.Outcome != event.OutcomeDeadLettered || res.Attempts != 1 || dlqCause == nil {
		t.Fatalf("poison: %+v (dlq cause %v)", res, dlqCause)
	}
	a.Flush(ctx)
	var outcomes []string
	for _, s := range exp.GetSpans() {
		outcomes = append(outcomes, attrs(s)[event.AttrOutcome])
	}
	want := []string{"retry", "retry", "ok", "duplicate_skipped", "dead_lettered"}
	if len(outcomes) != len(want) {
		t.Fatalf("outcomes %v, want %v", outcomes, want)
	}
	for i := range want {
		if outcomes[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", outcomes, want)
		}
	}
}
