// Package natsagent instruments nats.go (core NATS and JetStream) for Causeway:
// Publish and PublishJS add Causeway's headers and W3C trace context and
// record PRODUCER spans; Handle and HandleJS wrap a handler with process
// spans, retries, dead-lettering to "<subject>.dlq" and deduplication, and
// record JetStream acks, naks and terms as settle operations.
package natsagent

import (
	"context"
	"errors"
	"strconv"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/event"
)

// Carrier adapts NATS message headers to propagation.TextMapCarrier.
type Carrier natsgo.Header

// Get returns the first value of key.
func (c Carrier) Get(key string) string { return natsgo.Header(c).Get(key) }

// Set sets key to value.
func (c Carrier) Set(key, value string) { natsgo.Header(c).Set(key, value) }

// Keys lists the header keys.
func (c Carrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

func headers(m *natsgo.Msg) Carrier {
	if m.Header == nil {
		m.Header = natsgo.Header{}
	}
	return Carrier(m.Header)
}

// DLQSubject is the dead-letter subject of a subject.
func DLQSubject(subject string) string { return subject + ".dlq" }

// Publish publishes m on core NATS with a PRODUCER span. Publish the
// handled message's context to keep causation.
func Publish(ctx context.Context, a *agent.Agent, nc *natsgo.Conn, m *natsgo.Msg) error {
	d := agent.Destination{System: event.SystemNATS, Name: m.Subject, Partition: -1, Offset: -1, PayloadSize: len(m.Data)}
	_, span := a.StartPublish(ctx, headers(m), d, "")
	err := nc.PublishMsg(m)
	a.EndPublish(span, d, err)
	return err
}

// PublishJS publishes m to JetStream and ends the PRODUCER span with the
// stream sequence from the acknowledgement.
func PublishJS(ctx context.Context, a *agent.Agent, js jetstream.JetStream, m *natsgo.Msg) (*jetstream.PubAck, error) {
	d := agent.Destination{System: event.SystemNATS, Name: m.Subject, Partition: -1, Offset: -1, PayloadSize: len(m.Data)}
	ctx, span := a.StartPublish(ctx, headers(m), d, "")
	ack, err := js.PublishMsg(ctx, m)
	if err == nil {
		d.Offset = int64(ack.Sequence)
	}
	a.EndPublish(span, d, err)
	return ack, err
}

// Handle processes one core NATS message under policy p. With
// p.DeadLetter, a message the handler gives up on is published to
// DLQSubject(m.Subject) with the error and original subject in headers.
func Handle(ctx context.Context, a *agent.Agent, nc *natsgo.Conn, group string, m *natsgo.Msg, p agent.Policy,
	fn func(ctx context.Context, m *natsgo.Msg) error) agent.Result {
	d := agent.Destination{System: event.SystemNATS, Name: m.Subject, Partition: -1, Offset: -1, Group: group, PayloadSize: len(m.Data)}
	return a.Handle(ctx, headers(m), d, p, func(ctx context.Context) error { return fn(ctx, m) },
		func(ctx context.Context, cause error) error {
			return Publish(ctx, a, nc, deadLetter(m, cause))
		})
}

func deadLetter(m *natsgo.Msg, cause error) *natsgo.Msg {
	dlq := &natsgo.Msg{Subject: DLQSubject(m.Subject), Data: m.Data, Header: natsgo.Header{}}
	for k, v := range m.Header {
		dlq.Header[k] = append([]string(nil), v...)
	}
	dlq.Header.Set(event.HeaderOriginalTopic, m.Subject)
	dlq.Header.Set("x-exception-message", cause.Error())
	return dlq
}

// HandleJS processes one JetStream message under policy p and settles it:
// Ack after success or a skipped duplicate, Term after dead-lettering (to
// DLQSubject through js, so the DLQ is a stream too) or a permanent error,
// Nak otherwise so JetStream redelivers. Each settle is recorded.
func HandleJS(ctx context.Context, a *agent.Agent, js jetstream.JetStream, consumer string, m jetstream.Msg, p agent.Policy,
	fn func(ctx context.Context, m jetstream.Msg) error) agent.Result {
	d := agent.Destination{System: event.SystemNATS, Name: m.Subject(), Partition: -1, Offset: -1, Group: consumer, PayloadSize: len(m.Data())}
	if md, err := m.Metadata(); err == nil {
		d.Offset = int64(md.Sequence.Stream)
	}
	h := m.Headers()
	if h == nil {
		h = natsgo.Header{}
	}
	var settleCtx context.Context
	res := a.Handle(ctx, Carrier(h), d, p,
		func(actx context.Context) error { settleCtx = actx; return fn(actx, m) },
		func(actx context.Context, cause error) error {
			dlq := deadLetter(&natsgo.Msg{Subject: m.Subject(), Data: m.Data(), Header: h}, cause)
			dlq.Header.Set("x-original-stream-sequence", strconv.FormatInt(d.Offset, 10))
			_, err := PublishJS(actx, a, js, dlq)
			return err
		})
	if settleCtx == nil {
		settleCtx = ctx
	}
	var action string
	var err error
	switch {
	case res.Outcome == event.OutcomeOK || res.Outcome == event.OutcomeDuplicateSkipped:
		action, err = "ack", m.DoubleAck(ctx)
	case res.Outcome == event.OutcomeDeadLettered || agent.IsPermanent(res.Err):
		action, err = "term", m.Term()
	default:
		action, err = "nak", m.Nak()
	}
	a.RecordSettle(settleCtx, d, action, err)
	if err != nil && res.Err == nil {
		res.Err = errors.Join(res.Err, err)
	}
	return res
}
