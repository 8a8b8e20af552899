// Package kafka instruments franz-go clients for Causeway. Tracer is a set
// of kgo hooks for producers (add it with kgo.WithHooks); Handle wraps a
// consumer's handler with process spans, retries, dead-lettering to
// "<topic>.dlq" and deduplication.
//
//	a, _ := agent.New(ctx, agent.WithService("payments"))
//	t := kafka.NewTracer(a)
//	cl, _ := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.WithHooks(t), …)
//	// produce with the handled record's context to keep causation:
//	cl.Produce(ctx, &kgo.Record{Topic: "payments.authorized", Value: v, Context: ctx}, nil)
package kafka

import (
	"context"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/event"
)

// Tracer is the producer side: kgo hooks that add Causeway's headers and
// W3C trace context to every produced record and record a PRODUCER span,
// ended when the broker acknowledges (with partition and offset) or the
// produce fails.
type Tracer struct {
	a *agent.Agent
}

var (
	_ kgo.HookProduceRecordBuffered   = (*Tracer)(nil)
	_ kgo.HookProduceRecordUnbuffered = (*Tracer)(nil)
)

// NewTracer returns the producer hooks for a.
func NewTracer(a *agent.Agent) *Tracer { return &Tracer{a: a} }

// OnProduceRecordBuffered implements kgo.HookProduceRecordBuffered: the
// record's context becomes the publish span's (one context layer).
func (t *Tracer) OnProduceRecordBuffered(r *kgo.Record) {
	ctx := r.Context
	if ctx == nil {
		ctx = context.Background()
	}
	d := agent.Destination{System: event.SystemKafka, Name: r.Topic, Partition: -1, Offset: -1, PayloadSize: len(r.Value)}
	r.Context, _ = t.a.StartPublish(ctx, (*Carrier)(r), d, "")
}

// OnProduceRecordUnbuffered implements kgo.HookProduceRecordUnbuffered.
func (t *Tracer) OnProduceRecordUnbuffered(r *kgo.Record, err error) {
	if r.Context == nil {
		return
	}
	d := agent.Destination{System: event.SystemKafka, Name: r.Topic, Partition: -1, Offset: -1}
	if err == nil {
		d.Partition, d.Offset = r.Partition, r.Offset
	}
	t.a.EndPublish(trace.SpanFromContext(r.Context), d, err)
}

// Carrier adapts a record's headers to propagation.TextMapCarrier and
// agent.HeaderList. Set replaces a header of the same key.
type Carrier kgo.Record

var _ agent.HeaderList = (*Carrier)(nil)

// Get returns the first value of key.
func (c *Carrier) Get(key string) string {
	for _, h := range c.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set sets key to value, replacing an existing header.
func (c *Carrier) Set(key, value string) {
	for i, h := range c.Headers {
		if h.Key == key {
			c.Headers[i].Value = []byte(value)
			return
		}
	}
	c.Headers = append(c.Headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
}

// HeaderCount implements agent.HeaderList.
func (c *Carrier) HeaderCount() int { return len(c.Headers) }

// HeaderAt implements agent.HeaderList.
func (c *Carrier) HeaderAt(i int) (string, []byte) { return c.Headers[i].Key, c.Headers[i].Value }

// GrowHeaders implements agent.HeaderList.
func (c *Carrier) GrowHeaders(n int) { c.Headers = slices.Grow(c.Headers, n) }

// AddHeader implements agent.HeaderList.
func (c *Carrier) AddHeader(key string, value []byte) {
	c.Headers = append(c.Headers, kgo.RecordHeader{Key: key, Value: value})
}

// Keys lists the header keys.
func (c *Carrier) Keys() []string {
	keys := make([]string, len(c.Headers))
	for i, h := range c.Headers {
		keys[i] = h.Key
	}
	return keys
}

// DLQTopic is the dead-letter topic of a topic.
func DLQTopic(topic string) string { return topic + ".dlq" }

// Handle processes one fetched record under policy p: each attempt a
// process span linked to the producer's, retries with backoff, and when
// the handler gives up with p.DeadLetter set, the record is produced to
// DLQTopic(r.Topic) through cl with its headers plus the original
// location and the error (Spring Kafka's kafka_dlt-* names and
// x-original-topic), so Causeway and other tools can read them.
func Handle(ctx context.Context, a *agent.Agent, cl *kgo.Client, group string, r *kgo.Record, p agent.Policy,
	fn func(ctx context.Context, r *kgo.Record) error) agent.Result {
	d := agent.Destination{System: event.SystemKafka, Name: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Group: group, PayloadSize: len(r.Value)}
	return a.Handle(ctx, (*Carrier)(r), d, p,
		func(ctx context.Context) error { return fn(ctx, r) },
		func(ctx context.Context, cause error) error {
			dlq := &kgo.Record{Topic: DLQTopic(r.Topic), Key: r.Key, Value: r.Value, Context: ctx,
				Headers: append([]kgo.RecordHeader(nil), r.Headers...)}
			c := (*Carrier)(dlq)
			c.Set(event.HeaderOriginalTopic, r.Topic)
			c.Set(event.HeaderSpringDLTOriginalTopic, r.Topic)
			c.Set(event.HeaderSpringDLTOriginalPartition, strconv.Itoa(int(r.Partition)))
			c.Set(event.HeaderSpringDLTOriginalOffset, strconv.FormatInt(r.Offset, 10))
			c.Set(event.HeaderSpringDLTExceptionMessage, cause.Error())
			// Same event id and correlation: the DLQ record is the same
			// event; its span is a child of the failed process span.
			return cl.ProduceSync(ctx, dlq).FirstErr()
		})
}
