package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/agent/kafka"
)

// broker reads messages from one messaging system and publishes to it.
type broker interface {
	// read fetches the items' messages into out, by item seq; an item
	// missing from out was not found.
	read(ctx context.Context, its []*item, out map[int64]fetched)
	// publish sends m to the destination and calls done with the result,
	// possibly later, from another goroutine.
	publish(ctx context.Context, to string, m message, done func(error))
	// flush waits until every publish so far has called done.
	flush(ctx context.Context) error
	close()
}

// kafkaBroker publishes through one instrumented franz-go client and reads
// with a short-lived direct (group-less) consumer per partition.
type kafkaBroker struct {
	seeds []string
	conn  []kgo.Opt // SASL and TLS, for every client
	prod  *kgo.Client
}

// newKafka connects the producer. With SASL, a login the brokers refuse
// (wrong user, password or mechanism) fails New with
// brokerconn.ErrKafkaAuth; brokers that cannot be reached yet only get a
// warning, since they may come back before the first replay.
func newKafka(ctx context.Context, seeds []string, cfg brokerconn.Kafka, a *agent.Agent, log *slog.Logger) (*kafkaBroker, error) {
	conn, err := cfg.Opts()
	if err != nil {
		return nil, fmt.Errorf("replay: kafka: %w", err)
	}
	prod, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...), kgo.WithHooks(kafka.NewTracer(a)),
		kgo.RecordDeliveryTimeout(30 * time.Second), kgo.ProducerLinger(2 * time.Millisecond)}, conn...)...)
	if err != nil {
		return nil, fmt.Errorf("replay: kafka client: %w", err)
	}
	if cfg.SASL != "" { // a login to check; without one, start as fast as before
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = brokerconn.PingKafka(pctx, prod)
		cancel()
	}
	switch {
	case errors.Is(err, brokerconn.ErrKafkaAuth):
		prod.Close()
		return nil, fmt.Errorf("replay: kafka %v (%s): %w", seeds, cfg, err)
	case err != nil && log != nil:
		log.Warn("replay: kafka not reachable yet", "brokers", seeds, "conn", cfg.String(), "error", err)
	}
	return &kafkaBroker{seeds: seeds, conn: conn, prod: prod}, nil
}

func (k *kafkaBroker) publish(ctx context.Context, to string, m message, done func(error)) {
	r := &kgo.Record{Topic: to, Key: m.key, Value: m.value, Context: ctx}
	for _, h := range m.headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.key, Value: []byte(h.value)})
	}
	k.prod.Produce(ctx, r, func(_ *kgo.Record, err error) { done(err) })
}

func (k *kafkaBroker) flush(ctx context.Context) error { return k.prod.Flush(ctx) }

func (k *kafkaBroker) close() { k.prod.Close() }

type topicPartition struct {
	topic     string
	partition int32
}

func (k *kafkaBroker) read(ctx context.Context, its []*item, out map[int64]fetched) {
	by := map[topicPartition][]*item{}
	for _, it := range its {
		tp := topicPartition{it.from.topic, it.from.partition}
		by[tp] = append(by[tp], it)
	}
	for tp, its := range by {
		if err := k.readPartition(ctx, tp, its, out); err != nil {
			for _, it := range its {
				if _, ok := out[it.seq]; !ok {
					out[it.seq] = fetched{err: err}
				}
			}
		}
	}
}

// readPartition consumes one partition from the lowest wanted offset until
// every wanted offset is found or known to be gone (compacted, deleted,
// past the end).
func (k *kafkaBroker) readPartition(ctx context.Context, tp topicPartition, its []*item, out map[int64]fetched) error {
	want := map[int64][]*item{}
	for _, it := range its {
		want[it.from.offset] = append(want[it.from.offset], it)
	}
	offsets := make([]int64, 0, len(want))
	for o := range want {
		offsets = append(offsets, o)
	}
	sort.Slice(offsets, func(i, j int) bool { return offsets[i] < offsets[j] })
	gone := func(o int64) {
		for _, it := range want[o] {
			out[it.seq] = fetched{err: fmt.Errorf("offset %d of %s/%d: %w", o, tp.topic, tp.partition, errGone)}
		}
		delete(want, o)
	}
	// What the partition holds now: offsets outside it are gone at once.
	adm := kadm.NewClient(k.prod)
	starts, err := adm.ListStartOffsets(ctx, tp.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("offsets of %s: %w", tp.topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, tp.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("offsets of %s: %w", tp.topic, err)
	}
	start, ok1 := starts.Lookup(tp.topic, tp.partition)
	end, ok2 := ends.Lookup(tp.topic, tp.partition)
	if !ok1 || !ok2 {
		return fmt.Errorf("partition %d of %s does not exist", tp.partition, tp.topic)
	}
	for _, o := range offsets {
		if o < start.Offset || o >= end.Offset {
			gone(o)
		}
	}
	if len(want) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.seeds...), kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{tp.topic: {tp.partition: kgo.NewOffset().At(max(offsets[0], start.Offset))}})}, k.conn...)...)
	if err != nil {
		return fmt.Errorf("kafka consumer for %s/%d: %w", tp.topic, tp.partition, err)
	}
	defer cl.Close()
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %s/%d: %w", tp.topic, tp.partition, err)
		}
		var fetchErr error
		fs.EachError(func(_ string, _ int32, err error) { fetchErr = err })
		if fetchErr != nil {
			return fmt.Errorf("reading %s/%d: %w", tp.topic, tp.partition, fetchErr)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			next := int64(-1)
			for _, r := range p.Records {
				if its, ok := want[r.Offset]; ok {
					m := message{key: r.Key, value: r.Value}
					for _, h := range r.Headers {
						m.headers = append(m.headers, header{h.Key, string(h.Value)})
					}
					for _, it := range its {
						out[it.seq] = fetched{message: m}
					}
					delete(want, r.Offset)
				}
				next = r.Offset + 1
			}
			for _, o := range offsets {
				if _, ok := want[o]; ok && (o < next || o >= p.HighWatermark) {
					gone(o)
				}
			}
		})
	}
	return nil
}
