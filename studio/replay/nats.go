package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/agent/natsagent"
)

// natsBroker reads JetStream messages by stream sequence and publishes
// through the agent: to JetStream (waiting for the ack) when a stream
// captures the subject, as a core publish otherwise.
type natsBroker struct {
	a  *agent.Agent
	nc *natsgo.Conn
	js jetstream.JetStream

	mu      sync.Mutex
	streams map[string]string // subject → stream ("" when none)
}

// newNATS connects to url; a server that cannot be reached yet is retried
// in the background, and what goes wrong then (a refused login included)
// is logged, with the URL's credentials removed.
func newNATS(ctx context.Context, url string, cfg brokerconn.NATS, a *agent.Agent, log *slog.Logger) (*natsBroker, error) {
	conn, err := cfg.Options()
	if err != nil {
		return nil, fmt.Errorf("replay: nats: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	safe := brokerconn.RedactURL(url)
	nc, err := natsgo.Connect(url, append([]natsgo.Option{natsgo.Name("causeway-replay"), natsgo.MaxReconnects(-1), natsgo.RetryOnFailedConnect(true),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			log.Warn("replay: nats", "url", safe, "conn", cfg.String(), "error", err)
		}),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			if err != nil {
				log.Warn("replay: nats disconnected", "url", safe, "error", err)
			}
		}),
		// Attempts after a failed first connection (a refused login too)
		// are reported here only.
		natsgo.ReconnectErrHandler(func(_ *natsgo.Conn, err error) {
			log.Warn("replay: nats connection failed; retrying", "url", safe, "conn", cfg.String(), "error", err)
		})}, conn...)...)
	if err != nil {
		return nil, fmt.Errorf("replay: nats %s (%s): %w", safe, cfg, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("replay: jetstream: %w", err)
	}
	return &natsBroker{a: a, nc: nc, js: js, streams: map[string]string{}}, nil
}

// stream returns the stream that captures subject, "" when none does.
func (n *natsBroker) stream(ctx context.Context, subject string) (string, error) {
	n.mu.Lock()
	s, ok := n.streams[subject]
	n.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := n.js.StreamNameBySubject(ctx, subject)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		s = ""
	case err != nil:
		return "", err
	}
	n.mu.Lock()
	n.streams[subject] = s
	n.mu.Unlock()
	return s, nil
}

func (n *natsBroker) read(ctx context.Context, its []*item, out map[int64]fetched) {
	streams := map[string]jetstream.Stream{}
	for _, it := range its {
		name := it.from.topic
		if !it.from.byStream {
			s, err := n.stream(ctx, it.from.topic)
			if err == nil && s == "" {
				err = fmt.Errorf("no JetStream stream holds subject %s, so its messages cannot be re-read", it.from.topic)
			}
			if err != nil {
				out[it.seq] = fetched{err: err}
				continue
			}
			name = s
		}
		st, ok := streams[name]
		if !ok {
			var err error
			if st, err = n.js.Stream(ctx, name); err != nil {
				out[it.seq] = fetched{err: fmt.Errorf("stream %s: %w", name, err)}
				continue
			}
			streams[name] = st
		}
		raw, err := st.GetMsg(ctx, uint64(it.from.offset))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			err = errGone
		}
		if err != nil {
			out[it.seq] = fetched{err: fmt.Errorf("stream %s sequence %d: %w", name, it.from.offset, err)}
			continue
		}
		m := message{value: raw.Data, subject: raw.Subject}
		for k, vs := range raw.Header {
			for _, v := range vs {
				m.headers = append(m.headers, header{k, v})
			}
		}
		out[it.seq] = fetched{message: m}
	}
}

func (n *natsBroker) publish(ctx context.Context, to string, m message, done func(error)) {
	msg := &natsgo.Msg{Subject: to, Data: m.value, Header: natsgo.Header{}}
	for _, h := range m.headers {
		msg.Header.Add(h.key, h.value)
	}
	s, err := n.stream(ctx, to)
	switch {
	case err != nil:
	case s != "":
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = natsagent.PublishJS(actx, n.a, n.js, msg)
		cancel()
	default:
		err = natsagent.Publish(ctx, n.a, n.nc, msg)
	}
	done(err)
}

func (n *natsBroker) flush(ctx context.Context) error { return n.nc.FlushWithContext(ctx) }

func (n *natsBroker) close() { n.nc.Close() }
