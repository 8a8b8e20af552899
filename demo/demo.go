// Package demo is the event-driven shop that `causeway demo` runs: an
// embedded Kafka (kfake) and NATS JetStream, and services built with the
// agent library exactly as a user would build them.
//
//	orders ─► orders.placed (Kafka) ─► payments ─► payments.authorized / payments.failed (Kafka)
//	payments.authorized ─► fulfillment ─► inventory.reserve (NATS JetStream) ─► inventory
//	inventory ─► inventory.reserved ─► shipping ─► shipments.scheduled (Kafka)
//	inventory ─► inventory.rejected ─► payments (saga: refund) ─► payments.refunded (Kafka)
//	orders.placed ─► analytics (slow for the first half of every minute: lag builds and drains)
//
// Every message carries an event type and schema version 1; order ids
// carry the run's id (order-<run>-<n>), so runs on one store never share
// an order id. The order journey and the refund saga (journeys.go) follow
// every order and refund in the journey ledger.
//
// Faults, on by default: poison orders that cannot be parsed among the
// first hundred (dead-lettered to orders.placed.dlq), a fraud-check outage every two minutes whose
// orders are dead-lettered after their retries (replay them once it is
// over), transient payment errors retried, orders sent twice (skipped by
// the idempotency helper), out-of-stock items (the saga refunds).
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/agent/natsagent"
	"github.com/causeway-dev/causeway/event"
)

// Topics the demo creates.
var Topics = []string{"orders.placed", "orders.placed.dlq", "payments.authorized", "payments.failed", "payments.refunded", "shipments.scheduled"}

// Config configures the demo.
type Config struct {
	// KafkaPort and NATSPort are where the embedded brokers listen on 127.0.0.1.
	KafkaPort, NATSPort int
	// DataDir holds JetStream's files.
	DataDir string
	// Collector is the OTLP/HTTP endpoint the services export to.
	Collector string
	// CollectorToken is its ingest token, if it wants one.
	CollectorToken string
	// OrderEvery is the pause between orders (default 200ms).
	OrderEvery time.Duration
	// Faults turns on the poison messages, errors, duplicates and the slow consumer.
	Faults bool
	// Webhook is the URL the example lag alert notifies (empty: the
	// alert is only logged and shown).
	Webhook string
}

// Brokers are the embedded brokers.
type Brokers struct {
	Kafka *kfake.Cluster
	NATS  *server.Server
}

// KafkaAddr is the embedded Kafka's address.
func (b *Brokers) KafkaAddr() string { return b.Kafka.ListenAddrs()[0] }

// NATSURL is the embedded NATS server's URL.
func (b *Brokers) NATSURL() string { return b.NATS.ClientURL() }

// Close stops the brokers.
func (b *Brokers) Close() {
	b.NATS.Shutdown()
	b.NATS.WaitForShutdown()
	b.Kafka.Close()
}

// StartBrokers starts the embedded Kafka and NATS JetStream. A port in use
// is a clear error.
func StartBrokers(cfg Config) (*Brokers, error) {
	for _, p := range []int{cfg.KafkaPort, cfg.NATSPort} {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return nil, fmt.Errorf("port %d is taken (%v): stop what uses it or choose another with --kafka-port / --nats-port", p, err)
		}
		l.Close()
	}
	kc, err := kfake.NewCluster(kfake.Ports(cfg.KafkaPort), kfake.SeedTopics(3, Topics...))
	if err != nil {
		return nil, fmt.Errorf("embedded Kafka on port %d: %w", cfg.KafkaPort, err)
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: cfg.NATSPort, JetStream: true, StoreDir: cfg.DataDir, NoLog: true, NoSigs: true})
	if err != nil {
		kc.Close()
		return nil, fmt.Errorf("embedded NATS on port %d: %w", cfg.NATSPort, err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		kc.Close()
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS on port %d did not start", cfg.NATSPort)
	}
	return &Brokers{Kafka: kc, NATS: ns}, nil
}

// Order is what orders.placed carries.
type Order struct {
	ID     string  `json:"id"`
	SKU    string  `json:"sku"`
	Amount float64 `json:"amount"`
}

// shop holds the running services.
type shop struct {
	cfg    Config
	b      *Brokers
	log    *slog.Logger
	nc     *natsgo.Conn
	js     jetstream.JetStream
	agents []*agent.Agent
	wg     sync.WaitGroup
	policy agent.Policy
}

// Run runs the shop until ctx is done, then flushes every agent.
func Run(ctx context.Context, cfg Config, b *Brokers, log *slog.Logger) error {
	if cfg.OrderEvery <= 0 {
		cfg.OrderEvery = 200 * time.Millisecond
	}
	s := &shop{cfg: cfg, b: b, log: log, policy: agent.Policy{MaxAttempts: 3, Backoff: 50 * time.Millisecond, DeadLetter: true, Dedup: agent.NewMemoryDedup(100_000)}}
	var err error
	if s.nc, err = natsgo.Connect(b.NATSURL()); err != nil {
		return fmt.Errorf("demo: NATS: %w", err)
	}
	defer s.nc.Close()
	if s.js, err = jetstream.New(s.nc); err != nil {
		return err
	}
	if _, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "INVENTORY", Subjects: []string{"inventory.>"}}); err != nil {
		return fmt.Errorf("demo: JetStream stream: %w", err)
	}
	steps := []func(context.Context) error{s.orders, s.payments, s.fulfillment, s.inventory, s.shipping, s.refunds, s.analytics}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	<-ctx.Done()
	s.wg.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, a := range s.agents {
		a.Close(fctx)
	}
	return nil
}

func (s *shop) agent(ctx context.Context, service string) (*agent.Agent, error) {
	a, err := agent.New(ctx, agent.WithService(service), agent.WithCollector(s.cfg.Collector), agent.WithToken(s.cfg.CollectorToken), agent.WithBatchSize(64))
	if err != nil {
		return nil, err
	}
	s.agents = append(s.agents, a)
	return a, nil
}

func (s *shop) client(a *agent.Agent, opts ...kgo.Opt) (*kgo.Client, error) {
	opts = append(opts, kgo.SeedBrokers(s.b.KafkaAddr()), kgo.WithHooks(kafka.NewTracer(a)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ProducerLinger(5*time.Millisecond))
	return kgo.NewClient(opts...)
}

// consume runs handle for every record of the group's topics until ctx is done.
func (s *shop) consume(ctx context.Context, cl *kgo.Client, handle func(*kgo.Record)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cl.Close()
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(handle)
		}
	}()
}

// orders places an order every OrderEvery.
func (s *shop) orders(ctx context.Context) error {
	a, err := s.agent(ctx, "order-service")
	if err != nil {
		return err
	}
	cl, err := s.client(a, kgo.DefaultProduceTopic("orders.placed"))
	if err != nil {
		return err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cl.Close()
		t := time.NewTicker(s.cfg.OrderEvery)
		defer t.Stop()
		run := RunID(time.Now())
		for n := 1; ctx.Err() == nil; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			o := Order{ID: fmt.Sprintf("order-%s-%d", run, n), SKU: fmt.Sprintf("sku-%d", rand.IntN(20)), Amount: float64(rand.IntN(1000))}
			value, _ := json.Marshal(o)
			if s.cfg.Faults && n%25 == 0 && n <= poisonOrders*25 {
				value = []byte("{not json")
			}
			r := typed(&kgo.Record{Key: []byte(o.ID), Value: value, Context: ctx}, "order.placed")
			c := (*kafka.Carrier)(r)
			c.Set(event.HeaderCorrelationID, o.ID)
			cl.Produce(ctx, r, nil)
			if s.cfg.Faults && n%10 == 0 { // the same event again: an at-least-once producer retry
				dup := typed(&kgo.Record{Key: r.Key, Value: value, Context: ctx, Headers: []kgo.RecordHeader{
					{Key: event.HeaderEventID, Value: []byte(c.Get(event.HeaderEventID))},
					{Key: event.HeaderCorrelationID, Value: []byte(o.ID)}}}, "order.placed")
				cl.Produce(ctx, dup, nil)
			}
		}
	}()
	return nil
}

// payments charges orders: failed above 900, transient errors on some.
func (s *shop) payments(ctx context.Context) error {
	a, err := s.agent(ctx, "payment-service")
	if err != nil {
		return err
	}
	cl, err := s.client(a, kgo.ConsumerGroup("payments"), kgo.ConsumeTopics("orders.placed"))
	if err != nil {
		return err
	}
	var attempts sync.Map
	start := time.Now()
	s.consume(ctx, cl, func(r *kgo.Record) {
		kafka.Handle(ctx, a, cl, "payments", r, s.policy, func(ctx context.Context, r *kgo.Record) error {
			var o Order
			if err := json.Unmarshal(r.Value, &o); err != nil {
				return agent.Permanent(fmt.Errorf("cannot parse order: %w", err))
			}
			n, _ := attempts.LoadOrStore(string(r.Key)+"/"+strconv.FormatInt(r.Offset, 10), new(int))
			*n.(*int)++
			if s.cfg.Faults && len(o.SKU) > 0 && o.SKU[len(o.SKU)-1] == '7' && *n.(*int) == 1 {
				return errors.New("card processor timeout")
			}
			if s.cfg.Faults && len(o.SKU) > 0 && o.SKU[len(o.SKU)-1] == '3' && fraudCheckDown(time.Since(start)) {
				return errors.New("fraud-check unavailable: connection refused")
			}
			topic, typ := "payments.authorized", "payment.authorized"
			if o.Amount > 900 {
				topic, typ = "payments.failed", "payment.failed"
			}
			return cl.ProduceSync(ctx, typed(&kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Context: ctx}, typ)).FirstErr()
		})
	})
	return nil
}

// fraudCheckDown says whether the fraud-check service the payment service
// calls is in one of its outages: from 5 s to 12 s after the start, and
// again every two minutes. Orders it cannot check exhaust their retries
// and are dead-lettered; replayed after the outage, they go through.
func fraudCheckDown(since time.Duration) bool {
	at := since % (2 * time.Minute)
	return at >= 5*time.Second && at < 12*time.Second
}

// fulfillment moves authorized payments to NATS.
func (s *shop) fulfillment(ctx context.Context) error {
	a, err := s.agent(ctx, "fulfillment-service")
	if err != nil {
		return err
	}
	cl, err := s.client(a, kgo.ConsumerGroup("fulfillment"), kgo.ConsumeTopics("payments.authorized"))
	if err != nil {
		return err
	}
	s.consume(ctx, cl, func(r *kgo.Record) {
		kafka.Handle(ctx, a, cl, "fulfillment", r, s.policy, func(ctx context.Context, r *kgo.Record) error {
			_, err := natsagent.PublishJS(ctx, a, s.js, typedMsg("inventory.reserve", r.Value, "inventory.reserve"))
			return err
		})
	})
	return nil
}

// jsConsumer runs handle for every message of a durable consumer.
func (s *shop) jsConsumer(ctx context.Context, durable, subject string, handle func(jetstream.Msg)) error {
	c, err := s.js.CreateOrUpdateConsumer(ctx, "INVENTORY", jetstream.ConsumerConfig{Durable: durable, FilterSubject: subject,
		AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 5, AckWait: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("demo: consumer %s: %w", durable, err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ctx.Err() == nil {
			batch, err := c.Fetch(20, jetstream.FetchMaxWait(500*time.Millisecond))
			if err != nil {
				continue
			}
			for m := range batch.Messages() {
				handle(m)
			}
		}
	}()
	return nil
}

// inventory reserves stock; 1 SKU in 10 is out of stock.
func (s *shop) inventory(ctx context.Context) error {
	a, err := s.agent(ctx, "inventory-service")
	if err != nil {
		return err
	}
	return s.jsConsumer(ctx, "inventory", "inventory.reserve", func(m jetstream.Msg) {
		natsagent.HandleJS(ctx, a, s.js, "inventory", m, s.policy, func(ctx context.Context, m jetstream.Msg) error {
			var o Order
			json.Unmarshal(m.Data(), &o)
			subject := "inventory.reserved"
			if s.cfg.Faults && o.SKU == "sku-13" {
				subject = "inventory.rejected"
			}
			_, err := natsagent.PublishJS(ctx, a, s.js, typedMsg(subject, m.Data(), subject))
			return err
		})
	})
}

// shipping schedules shipments for reserved stock.
func (s *shop) shipping(ctx context.Context) error {
	return s.jetStreamToKafka(ctx, "shipping-service", "shipping", "inventory.reserved", "shipments.scheduled", "shipment.scheduled")
}

// refunds is the saga's compensation: a rejected reservation is refunded.
func (s *shop) refunds(ctx context.Context) error {
	return s.jetStreamToKafka(ctx, "payment-service", "refunds", "inventory.rejected", "payments.refunded", "payment.refunded")
}

// jetStreamToKafka runs a service that handles a JetStream subject with a
// durable consumer and produces each message on to a Kafka topic as an
// event of type typ.
func (s *shop) jetStreamToKafka(ctx context.Context, service, durable, subject, topic, typ string) error {
	a, err := s.agent(ctx, service)
	if err != nil {
		return err
	}
	cl, err := s.client(a)
	if err != nil {
		return err
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); <-ctx.Done(); cl.Close() }()
	return s.jsConsumer(ctx, durable, subject, func(m jetstream.Msg) {
		natsagent.HandleJS(ctx, a, s.js, durable, m, s.policy, func(ctx context.Context, m jetstream.Msg) error {
			return cl.ProduceSync(ctx, typed(&kgo.Record{Topic: topic, Value: m.Data(), Context: ctx}, typ)).FirstErr()
		})
	})
}

// analytics is slow for the first half of every minute after the start,
// so lag builds and drains.
func (s *shop) analytics(ctx context.Context) error {
	start := time.Now()
	a, err := s.agent(ctx, "analytics-service")
	if err != nil {
		return err
	}
	cl, err := s.client(a, kgo.ConsumerGroup("analytics"), kgo.ConsumeTopics("orders.placed"), kgo.FetchMaxBytes(1<<14), kgo.MaxConcurrentFetches(1))
	if err != nil {
		return err
	}
	s.consume(ctx, cl, func(r *kgo.Record) {
		kafka.Handle(ctx, a, cl, "analytics", r, agent.Policy{}, func(ctx context.Context, r *kgo.Record) error {
			if s.cfg.Faults && time.Since(start)%time.Minute < 30*time.Second {
				select {
				case <-time.After(800 * time.Millisecond):
				case <-ctx.Done():
				}
			}
			return nil
		})
	})
	return nil
}

// schemaVersion is the version of every demo message's schema.
const schemaVersion = "1"

// poisonOrders is how many poison orders a run sends (one in 25 of the
// first orders): they stay dead-lettered, replays cannot fix them.
const poisonOrders = 4

// typed sets a Kafka record's event type and schema version headers.
func typed(r *kgo.Record, eventType string) *kgo.Record {
	c := (*kafka.Carrier)(r)
	c.Set(event.HeaderEventType, eventType)
	c.Set(event.HeaderSchemaVersion, schemaVersion)
	return r
}

// typedMsg is a NATS message with its event type and schema version headers.
func typedMsg(subject string, data []byte, eventType string) *natsgo.Msg {
	m := natsgo.NewMsg(subject)
	m.Data = data
	m.Header.Set(event.HeaderEventType, eventType)
	m.Header.Set(event.HeaderSchemaVersion, schemaVersion)
	return m
}

// RunID names one run of the shop from its start time: base-36 seconds,
// so order ids of runs on the same store never collide.
func RunID(start time.Time) string { return strconv.FormatInt(start.Unix(), 36) }
