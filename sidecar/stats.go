package sidecar

import (
	"sync/atomic"

	"github.com/causeway-dev/causeway/event"
)

// Counters count a sidecar's polls of its brokers. Safe for concurrent
// use; the zero value is ready. Set Config.Counters to read them while
// Run runs (`causeway agent` serves them as Prometheus metrics).
type Counters struct {
	kafkaPolls, kafkaErrors atomic.Uint64
	natsPolls, natsErrors   atomic.Uint64
}

// Stats are a sidecar's counters: a poll is one lag sample of every
// consumer group (Kafka) or durable consumer (NATS) and its export to
// the collector; it failed when reading the broker or sending failed.
type Stats struct {
	KafkaPolls, KafkaPollErrors uint64
	NATSPolls, NATSPollErrors   uint64
}

// Stats returns the counters now.
func (c *Counters) Stats() Stats {
	return Stats{KafkaPolls: c.kafkaPolls.Load(), KafkaPollErrors: c.kafkaErrors.Load(),
		NATSPolls: c.natsPolls.Load(), NATSPollErrors: c.natsErrors.Load()}
}

// poll counts one poll of system; nil c counts nothing.
func (c *Counters) poll(system string, failed bool) {
	if c == nil {
		return
	}
	polls, errs := &c.kafkaPolls, &c.kafkaErrors
	if system == event.SystemNATS {
		polls, errs = &c.natsPolls, &c.natsErrors
	}
	polls.Add(1)
	if failed {
		errs.Add(1)
	}
}
