// Package flowmetrics turns the batches the collector stores into
// Prometheus metrics about the event flows themselves, for Prometheus
// and KEDA users: consumer lag in messages and seconds per partition,
// Burrow-style lag status per group, dead-letter arrivals per topic and
// reason, and message and error counts per flow edge (service,
// destination, operation).
//
// Lag gauges hold the newest stored sample of each partition and vanish
// when no sample newer than Options.LagTTL arrives (a deleted group or
// partition). Every family is capped at Options.MaxSeries series (plus
// one "other" series for counters); what does not fit is counted in
// causeway_flow_metrics_overflow_total (and, for counters, added to the
// series whose labels read "other"), so a flood of topics or error texts
// cannot grow a scrape without bound.
package flowmetrics

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Options bound what a Flow keeps. Zero fields take the defaults.
type Options struct {
	// MaxSeries caps the series of each metric family (default 10,000).
	MaxSeries int
	// MaxReasons caps the distinct DLQ reasons (default 100); later new
	// reasons are counted as "other".
	MaxReasons int
	// LagTTL is how long a partition's lag (and a group's status) is
	// reported after its newest sample (default 10 minutes).
	LagTTL time.Duration
}

// Defaults of Options.
const (
	DefaultMaxSeries  = 10000
	DefaultMaxReasons = 100
	DefaultLagTTL     = 10 * time.Minute
)

// maxReasonBytes bounds a DLQ reason label.
const maxReasonBytes = 80

// Other is the label value standing for everything over a cap.
const Other = "other"

// Statuses are the Burrow-style group statuses causeway_consumer_group_status reports.
var Statuses = []string{"OK", "WARN", "ERR", "STOP", "STALL", "REWIND"}

type partitionKey struct {
	system, cluster, group, topic string
	partition                     int32
}

type groupKey struct{ system, cluster, group string }

type dlqKey struct{ system, topic, dlq, reason string }

type edgeKey struct {
	service, destination string
	op                   event.Op
}

type lagValue struct {
	timeNS   uint64
	messages int64
	seconds  float64
}

type statusValue struct {
	timeNS uint64
	status string
}

type edgeCount struct{ messages, errors uint64 }

// Families, for the overflow counter's label.
const (
	familyLag    = "consumer_lag"
	familyStatus = "consumer_group_status"
	familyDLQ    = "dlq_arrivals"
	familyEdges  = "flow_edges"
)

// Flow keeps the flow metrics. Feed it every stored batch with Observe;
// register it with a Prometheus registry. Safe for concurrent use.
type Flow struct {
	opts Options
	now  func() time.Time

	mu       sync.Mutex
	lag      map[partitionKey]lagValue
	status   map[groupKey]statusValue
	dlq      map[dlqKey]uint64
	reasons  map[string]struct{}
	edges    map[edgeKey]*edgeCount
	overflow map[string]uint64
}

// New returns an empty Flow.
func New(o Options) *Flow {
	if o.MaxSeries <= 0 {
		o.MaxSeries = DefaultMaxSeries
	}
	if o.MaxReasons <= 0 {
		o.MaxReasons = DefaultMaxReasons
	}
	if o.LagTTL <= 0 {
		o.LagTTL = DefaultLagTTL
	}
	return &Flow{opts: o, now: time.Now, lag: map[partitionKey]lagValue{}, status: map[groupKey]statusValue{},
		dlq: map[dlqKey]uint64{}, reasons: map[string]struct{}{}, edges: map[edgeKey]*edgeCount{},
		overflow: map[string]uint64{familyLag: 0, familyStatus: 0, familyDLQ: 0, familyEdges: 0}}
}

// Observe takes a stored batch into the metrics. It keeps nothing of b.
func (f *Flow) Observe(b *store.Batch) {
	if len(b.Events) == 0 && len(b.Lag) == 0 && len(b.DLQ) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(b.Lag) > 0 {
		f.expireLocked()
	}
	for i := range b.Lag {
		f.lagLocked(&b.Lag[i])
	}
	for i := range b.DLQ {
		f.dlqLocked(&b.DLQ[i])
	}
	for i := range b.Events {
		f.eventLocked(&b.Events[i])
	}
}

func (f *Flow) lagLocked(s *store.LagSample) {
	pk := partitionKey{label(s.System), label(s.Cluster), label(s.Group), label(s.Topic), s.Partition}
	if old, ok := f.lag[pk]; ok || f.room(familyLag, len(f.lag), 1) {
		if !ok || s.TimeNS >= old.timeNS {
			f.lag[pk] = lagValue{timeNS: s.TimeNS, messages: s.Lag, seconds: s.LagSeconds}
		}
	}
	if s.GroupStatus == "" {
		return
	}
	gk := groupKey{pk.system, pk.cluster, pk.group}
	if old, ok := f.status[gk]; ok || f.room(familyStatus, len(f.status)*len(Statuses), len(Statuses)) {
		if !ok || s.TimeNS >= old.timeNS {
			f.status[gk] = statusValue{timeNS: s.TimeNS, status: s.GroupStatus}
		}
	}
}

func (f *Flow) dlqLocked(e *store.DLQEntry) {
	k := dlqKey{system: label(e.System), topic: label(e.Original), dlq: label(e.Source), reason: f.reasonLocked(e.Reason)}
	if _, ok := f.dlq[k]; !ok && !f.room(familyDLQ, len(f.dlq), 1) {
		k = dlqKey{system: k.system, topic: Other, dlq: Other, reason: Other}
	}
	f.dlq[k]++
}

func (f *Flow) eventLocked(e *event.Event) {
	k := edgeKey{service: label(e.Service), destination: label(e.Destination), op: event.Op(label(string(e.Op)))}
	c := f.edges[k]
	if c == nil {
		if !f.room(familyEdges, len(f.edges), 1) {
			k = edgeKey{service: Other, destination: Other, op: Other}
		}
		if c = f.edges[k]; c == nil {
			c = &edgeCount{}
			f.edges[k] = c
		}
	}
	c.messages++
	switch e.Outcome {
	case event.OutcomeError, event.OutcomeRetry, event.OutcomeDeadLettered:
		c.errors++
	}
}

// room reports whether a family with have series has room for need
// more, counting an overflow when not.
func (f *Flow) room(family string, have, need int) bool {
	if have+need <= f.opts.MaxSeries {
		return true
	}
	f.overflow[family]++
	return false
}

// reasonLocked normalises a DLQ reason into a bounded label: its first
// line, digits runs as "N" (ids and offsets would make every message a
// reason of its own), at most maxReasonBytes, and Other once MaxReasons
// distinct reasons are known.
func (f *Flow) reasonLocked(reason string) string {
	r := NormalizeReason(reason)
	if _, ok := f.reasons[r]; ok {
		return r
	}
	if len(f.reasons) >= f.opts.MaxReasons {
		return Other
	}
	f.reasons[r] = struct{}{}
	return r
}

// NormalizeReason is the label a DLQ reason is counted under (before the
// MaxReasons cap): its first line, trimmed, each run of digits replaced
// by "N", cut to 80 bytes; "unknown" when empty.
func NormalizeReason(reason string) string {
	if i := strings.IndexAny(reason, "\r\n"); i >= 0 {
		reason = reason[:i]
	}
	reason = strings.TrimSpace(strings.ToValidUTF8(reason, "?"))
	var b strings.Builder
	digits := false
	for _, r := range reason {
		if r >= '0' && r <= '9' {
			if !digits {
				b.WriteByte('N')
			}
			digits = true
			continue
		}
		digits = false
		if b.Len()+utf8.RuneLen(r) > maxReasonBytes {
			break
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// label makes s a valid label value: Prometheus refuses invalid UTF-8,
// and one bad value must not fail a whole scrape. Valid strings (all that
// the receivers accept) are returned as they are, without a copy.
func label(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// expireLocked forgets lag and status older than LagTTL.
func (f *Flow) expireLocked() {
	cutoff := uint64(f.now().Add(-f.opts.LagTTL).UnixNano())
	for k, v := range f.lag {
		if v.timeNS < cutoff {
			delete(f.lag, k)
		}
	}
	for k, v := range f.status {
		if v.timeNS < cutoff {
			delete(f.status, k)
		}
	}
}

var (
	descLagMessages = prometheus.NewDesc("causeway_consumer_lag_messages",
		"Messages not yet consumed, per partition (NATS: per durable consumer, partition -1), from the newest stored lag sample.",
		[]string{"system", "cluster", "group", "topic", "partition"}, nil)
	descLagSeconds = prometheus.NewDesc("causeway_consumer_lag_seconds",
		"Age of the oldest unconsumed message, per partition, from the newest stored lag sample.",
		[]string{"system", "cluster", "group", "topic", "partition"}, nil)
	descGroupStatus = prometheus.NewDesc("causeway_consumer_group_status",
		"Burrow-style status of a consumer group: 1 for its current status (OK, WARN, ERR, STOP, STALL, REWIND), 0 for the others.",
		[]string{"system", "cluster", "group", "status"}, nil)
	descDLQ = prometheus.NewDesc("causeway_dlq_arrivals_total",
		`Messages arrived on dead-letter queues, by system, original topic, DLQ topic and reason (first line, digits as "N", at most 100 distinct reasons, then "other").`,
		[]string{"system", "topic", "dlq", "reason"}, nil)
	descEdgeMessages = prometheus.NewDesc("causeway_flow_messages_total",
		"Messaging operations stored, per flow edge: service, destination (topic, subject, stream) and operation (publish, receive, process, settle, replay).",
		[]string{"service", "destination", "op"}, nil)
	descEdgeErrors = prometheus.NewDesc("causeway_flow_errors_total",
		"Messaging operations that failed (outcome error, retry or dead_lettered), per flow edge.",
		[]string{"service", "destination", "op"}, nil)
	descOverflow = prometheus.NewDesc("causeway_flow_metrics_overflow_total",
		"Updates that did not fit a flow metric family's series cap (consumer_lag, consumer_group_status, dlq_arrivals, flow_edges): lag dropped, counts added to the \"other\" series.",
		[]string{"family"}, nil)
)

var _ prometheus.Collector = (*Flow)(nil)

// Describe sends the descriptors of the flow metrics.
func (f *Flow) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLagMessages, descLagSeconds, descGroupStatus, descDLQ,
		descEdgeMessages, descEdgeErrors, descOverflow} {
		ch <- d
	}
}

// Collect sends the flow metrics as of now.
func (f *Flow) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expireLocked()
	for k, v := range f.lag {
		p := strconv.Itoa(int(k.partition))
		ch <- prometheus.MustNewConstMetric(descLagMessages, prometheus.GaugeValue, float64(v.messages), k.system, k.cluster, k.group, k.topic, p)
		ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, v.seconds, k.system, k.cluster, k.group, k.topic, p)
	}
	for k, v := range f.status {
		for _, s := range Statuses {
			on := 0.0
			if strings.EqualFold(v.status, s) {
				on = 1
			}
			ch <- prometheus.MustNewConstMetric(descGroupStatus, prometheus.GaugeValue, on, k.system, k.cluster, k.group, s)
		}
	}
	for k, n := range f.dlq {
		ch <- prometheus.MustNewConstMetric(descDLQ, prometheus.CounterValue, float64(n), k.system, k.topic, k.dlq, k.reason)
	}
	for k, c := range f.edges {
		ch <- prometheus.MustNewConstMetric(descEdgeMessages, prometheus.CounterValue, float64(c.messages), k.service, k.destination, string(k.op))
		ch <- prometheus.MustNewConstMetric(descEdgeErrors, prometheus.CounterValue, float64(c.errors), k.service, k.destination, string(k.op))
	}
	for family, n := range f.overflow {
		ch <- prometheus.MustNewConstMetric(descOverflow, prometheus.CounterValue, float64(n), family)
	}
}
