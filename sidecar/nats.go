package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/event"
)

// JetStream advisory subjects the sidecar listens to: a message that
// reached a consumer's MaxDeliver, and a message a consumer terminated.
const (
	advisoryMaxDeliveries = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>"
	advisoryTerminated    = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>"
)

// advisory holds the fields of both advisories that the sidecar uses.
type advisory struct {
	Type       string `json:"type"`
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int64  `json:"deliveries"`
	Reason     string `json:"reason"`
}

// natsWatcher samples JetStream consumers and turns advisories into DLQ entries.
type natsWatcher struct {
	nc  *natsgo.Conn
	js  jetstream.JetStream
	mon *LagMonitor
	exp *Exporter
	cfg Config
	log *slog.Logger
}

// runNATS watches JetStream until ctx is done.
func runNATS(ctx context.Context, cfg Config, exp *Exporter, log *slog.Logger) error {
	conn, err := cfg.NATS.Options()
	if err != nil {
		return fmt.Errorf("sidecar: NATS: %w", err)
	}
	nc, err := natsgo.Connect(cfg.NATSURL, append([]natsgo.Option{natsgo.Name("causeway-agent"), natsgo.MaxReconnects(-1)}, conn...)...)
	if err != nil {
		return fmt.Errorf("sidecar: connect to NATS %s (%s): %w", brokerconn.RedactURL(cfg.NATSURL), cfg.NATS, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("sidecar: JetStream: %w", err)
	}
	w := &natsWatcher{nc: nc, js: js, mon: NewLagMonitor(nil, cfg.Lag), exp: exp, cfg: cfg, log: log}
	advisories := make(chan *natsgo.Msg, 1024)
	for _, subj := range []string{advisoryMaxDeliveries, advisoryTerminated} {
		sub, err := nc.ChanSubscribe(subj, advisories)
		if err != nil {
			return fmt.Errorf("sidecar: subscribe %s: %w", subj, err)
		}
		defer sub.Unsubscribe()
	}
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		return fmt.Errorf("sidecar: NATS flush: %w", err)
	}
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	w.sample(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-advisories:
			w.advisory(ctx, m)
		case <-tick.C:
			w.sample(ctx)
		}
	}
}

// sample reports every durable consumer's pending messages as lag: the
// acknowledged floor is the committed position, floor + pending +
// ack-pending the end.
func (w *natsWatcher) sample(ctx context.Context) {
	now := time.Now()
	failed := false
	defer func() {
		if ctx.Err() == nil {
			w.cfg.Counters.poll(event.SystemNATS, failed)
		}
	}()
	var groups []GroupLag
	streams := w.js.ListStreams(ctx)
	for si := range streams.Info() {
		st, err := w.js.Stream(ctx, si.Config.Name)
		if err != nil {
			failed = true
			w.log.Warn("reading a JetStream stream failed", "stream", si.Config.Name, "error", err)
			continue
		}
		consumers := st.ListConsumers(ctx)
		for ci := range consumers.Info() {
			committed := int64(ci.AckFloor.Stream)
			end := committed + int64(ci.NumPending) + int64(ci.NumAckPending)
			p := w.mon.observePartition(now, ci.Name, si.Config.Name, -1, committed, end)
			g := GroupLag{Group: ci.Name, Time: now, TotalLag: p.Lag, MaxSeconds: p.Seconds, Partitions: []PartitionLag{p}}
			g.Status = worst(StatusOK, g.Partitions)
			groups = append(groups, g)
		}
		if err := consumers.Err(); err != nil {
			failed = true
			w.log.Warn("listing JetStream consumers failed", "stream", si.Config.Name, "error", err)
		}
	}
	if err := streams.Err(); err != nil && ctx.Err() == nil {
		failed = true
		w.log.Warn("listing JetStream streams failed", "error", err)
	}
	if len(groups) > 0 {
		if err := w.exp.Lag(ctx, groups, event.SystemNATS, w.cfg.Cluster); err != nil && ctx.Err() == nil {
			failed = true
			w.log.Warn("sending JetStream lag failed (this sample is lost)", "error", err)
		}
	}
}

// advisory fetches the message an advisory names and sends it as a DLQ entry.
func (w *natsWatcher) advisory(ctx context.Context, m *natsgo.Msg) {
	var a advisory
	if err := json.Unmarshal(m.Data, &a); err != nil || a.Stream == "" || a.StreamSeq == 0 {
		w.log.Warn("ignoring an unreadable JetStream advisory", "subject", m.Subject, "error", err)
		return
	}
	reason := fmt.Sprintf("max deliveries reached (%d) on consumer %s", a.Deliveries, a.Consumer)
	if a.Type == "io.nats.jetstream.advisory.v1.terminated" {
		reason = "terminated by consumer " + a.Consumer
		if a.Reason != "" {
			reason += ": " + a.Reason
		}
	}
	d := DLQMessage{Time: time.Now(), System: event.SystemNATS, Cluster: w.cfg.Cluster, Source: a.Stream,
		SourcePartition: -1, SourceOffset: int64(a.StreamSeq), OriginalPartition: -1, OriginalOffset: int64(a.StreamSeq),
		Reason: reason, Deliveries: a.Deliveries, Headers: map[string]string{"nats-consumer": a.Consumer}}
	s, err := w.js.Stream(ctx, a.Stream)
	if err == nil {
		var raw *jetstream.RawStreamMsg
		if raw, err = s.GetMsg(ctx, a.StreamSeq); err == nil {
			d.Original, d.Payload, d.Time = raw.Subject, raw.Data, raw.Time
			for k := range raw.Header {
				d.Headers[k] = raw.Header.Get(k)
			}
		}
	}
	if err != nil {
		// The message is gone (limits, or the stream was purged): keep
		// the arrival with what the advisory says.
		d.Headers["causeway-fetch-error"] = err.Error()
	}
	d.Headers["nats-stream-seq"] = strconv.FormatUint(a.StreamSeq, 10)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if err := w.exp.DLQ(ctx, []DLQMessage{d}, w.cfg.MaxPayload); err == nil {
			return
		} else if attempt%10 == 0 {
			w.log.Warn("sending a JetStream DLQ entry failed; retrying", "stream", a.Stream, "seq", a.StreamSeq, "error", err)
		}
		sleep(ctx, time.Second)
	}
}
