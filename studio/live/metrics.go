package live

import "github.com/prometheus/client_golang/prometheus"

var (
	descSubscribers = prometheus.NewDesc("causeway_live_subscribers",
		"Websocket clients connected to the live hub now.", nil, nil)
	descFramesDropped = prometheus.NewDesc("causeway_live_frames_dropped_total",
		"Live frames not sent to a client that had fallen behind.", nil, nil)
	descSubscribersDropped = prometheus.NewDesc("causeway_live_subscribers_dropped_total",
		"Live clients disconnected for falling behind (lagging).", nil, nil)
	descRejected = prometheus.NewDesc("causeway_live_connections_rejected_total",
		"Live websocket connections refused at the connection limit.", nil, nil)
)

// A Hub is a Prometheus collector of its Stats, read at scrape time.
var _ prometheus.Collector = (*Hub)(nil)

// Describe sends the descriptors of the live hub's metrics.
func (h *Hub) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSubscribers, descFramesDropped, descSubscribersDropped, descRejected} {
		ch <- d
	}
}

// Collect sends the live hub's metrics as of now.
func (h *Hub) Collect(ch chan<- prometheus.Metric) {
	s := h.Stats()
	ch <- prometheus.MustNewConstMetric(descSubscribers, prometheus.GaugeValue, float64(s.Subscribers))
	ch <- prometheus.MustNewConstMetric(descFramesDropped, prometheus.CounterValue, float64(s.FramesDropped))
	ch <- prometheus.MustNewConstMetric(descSubscribersDropped, prometheus.CounterValue, float64(s.SubscribersDropped))
	ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(s.Rejected))
}
