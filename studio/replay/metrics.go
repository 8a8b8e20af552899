package replay

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/causeway-dev/causeway/store"
)

// counts are an engine's replay counters since it started.
type counts struct {
	started                      atomic.Uint64
	succeeded, failed, cancelled atomic.Uint64
	messagesSent, messagesFailed atomic.Uint64
}

func (c *counts) message(sent bool) {
	if sent {
		c.messagesSent.Add(1)
	} else {
		c.messagesFailed.Add(1)
	}
}

func (c *counts) finished(state string) {
	switch state {
	case store.ReplaySucceeded:
		c.succeeded.Add(1)
	case store.ReplayFailed:
		c.failed.Add(1)
	case store.ReplayCancelled:
		c.cancelled.Add(1)
	}
}

// Stats are an engine's counters since it started.
type Stats struct {
	// Started counts replays started; Running those not finished yet.
	Started uint64
	Running int
	// Finished counts finished replays by final state (succeeded, failed, cancelled).
	Finished map[string]uint64
	// MessagesSent and MessagesFailed count replayed messages by result.
	MessagesSent, MessagesFailed uint64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	running := len(e.jobs)
	e.mu.Unlock()
	c := &e.counts
	return Stats{Started: c.started.Load(), Running: running,
		Finished: map[string]uint64{store.ReplaySucceeded: c.succeeded.Load(), store.ReplayFailed: c.failed.Load(),
			store.ReplayCancelled: c.cancelled.Load()},
		MessagesSent: c.messagesSent.Load(), MessagesFailed: c.messagesFailed.Load()}
}

var (
	descStarted = prometheus.NewDesc("causeway_replays_started_total",
		"Replays started.", nil, nil)
	descRunning = prometheus.NewDesc("causeway_replays_running",
		"Replays queued or running now.", nil, nil)
	descFinished = prometheus.NewDesc("causeway_replays_finished_total",
		"Replays finished, by final state (succeeded, failed, cancelled).", []string{"state"}, nil)
	descMessages = prometheus.NewDesc("causeway_replay_messages_total",
		"Messages replayed, by result (sent, failed).", []string{"result"}, nil)
)

// An Engine is a Prometheus collector of its Stats, read at scrape time.
var _ prometheus.Collector = (*Engine)(nil)

// Describe sends the descriptors of the replay metrics.
func (e *Engine) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStarted, descRunning, descFinished, descMessages} {
		ch <- d
	}
}

// Collect sends the replay metrics as of now.
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	s := e.Stats()
	ch <- prometheus.MustNewConstMetric(descStarted, prometheus.CounterValue, float64(s.Started))
	ch <- prometheus.MustNewConstMetric(descRunning, prometheus.GaugeValue, float64(s.Running))
	for state, n := range s.Finished {
		ch <- prometheus.MustNewConstMetric(descFinished, prometheus.CounterValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(s.MessagesSent), "sent")
	ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(s.MessagesFailed), "failed")
}
