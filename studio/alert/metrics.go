package alert

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Channel kinds a Sender delivers to: a webhook's Format.
var kinds = [...]string{"json", "slack"}

// sendCounts count notifications by channel kind and result.
type sendCounts struct {
	sent, failed [len(kinds)]atomic.Uint64
}

func (c *sendCounts) add(format string, ok bool) {
	k := 0 // "json", the default format
	if format == "slack" {
		k = 1
	}
	if ok {
		c.sent[k].Add(1)
	} else {
		c.failed[k].Add(1)
	}
}

var (
	descNotifications = prometheus.NewDesc("causeway_alert_notifications_total",
		"Alert notifications (firing, resolved, test) by channel kind (json, slack webhooks) and result (sent; failed after every retry or refused).",
		[]string{"kind", "result"}, nil)
	descRules = prometheus.NewDesc("causeway_alert_rules",
		"Alert rules by state now (ok, pending, firing).", []string{"state"}, nil)
)

// An Engine is a Prometheus collector of its rules' states and its
// sender's notification counts, read at scrape time.
var _ prometheus.Collector = (*Engine)(nil)

// Describe sends the descriptors of the alert metrics.
func (e *Engine) Describe(ch chan<- *prometheus.Desc) {
	ch <- descNotifications
	ch <- descRules
}

// Collect sends the alert metrics as of now.
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	by := map[State]int{StateOK: 0, StatePending: 0, StateFiring: 0}
	e.mu.Lock()
	for id := range e.rules {
		if st := e.states[id]; st != nil {
			by[st.state]++
		}
	}
	e.mu.Unlock()
	for state, n := range by {
		ch <- prometheus.MustNewConstMetric(descRules, prometheus.GaugeValue, float64(n), string(state))
	}
	if e.sender == nil {
		return
	}
	for k, kind := range kinds {
		ch <- prometheus.MustNewConstMetric(descNotifications, prometheus.CounterValue, float64(e.sender.counts.sent[k].Load()), kind, "sent")
		ch <- prometheus.MustNewConstMetric(descNotifications, prometheus.CounterValue, float64(e.sender.counts.failed[k].Load()), kind, "failed")
	}
}
