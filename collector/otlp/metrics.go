package otlp

import "github.com/prometheus/client_golang/prometheus"

// The receivers' Prometheus metrics, read from Counters at scrape time.
// Every protocol and every result or reason is exported, zero or not, so
// rate() works from the first scrape.
var (
	descRequests = prometheus.NewDesc("causeway_otlp_requests_total",
		`OTLP requests answered, by protocol (http, grpc) and result: "ok" or the reason they were rejected for (see Reason: method, media_type, too_large, malformed, invalid, limit, busy, peer_busy, timeout, full, unavailable).`,
		[]string{"protocol", "result"}, nil)
	descBytes = prometheus.NewDesc("causeway_otlp_request_bytes_total",
		"Decoded (uncompressed) bytes of OTLP requests read in full, by protocol.",
		[]string{"protocol"}, nil)
	descSpansReceived = prometheus.NewDesc("causeway_otlp_spans_received_total",
		"Spans in OTLP trace requests that decoded, whatever happened to them next, by protocol.",
		[]string{"protocol"}, nil)
	descSpansAccepted = prometheus.NewDesc("causeway_otlp_spans_accepted_total",
		"Spans acknowledged to clients (durably spooled), by protocol.",
		[]string{"protocol"}, nil)
	descSpansRejected = prometheus.NewDesc("causeway_otlp_spans_rejected_total",
		"Spans in decoded OTLP trace requests that were then rejected, by protocol and reason (invalid, limit, full, too_large, unavailable).",
		[]string{"protocol", "reason"}, nil)
	descPointsReceived = prometheus.NewDesc("causeway_otlp_metric_points_received_total",
		"Metric data points in OTLP metrics requests that decoded, by protocol.",
		[]string{"protocol"}, nil)
	descPointsAccepted = prometheus.NewDesc("causeway_otlp_metric_points_accepted_total",
		"Metric data points acknowledged to clients (durably spooled), by protocol.",
		[]string{"protocol"}, nil)
)

var _ prometheus.Collector = (*Counters)(nil)

// Describe sends the descriptors of the receivers' metrics.
func (c *Counters) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descBytes, descSpansReceived, descSpansAccepted,
		descSpansRejected, descPointsReceived, descPointsAccepted} {
		ch <- d
	}
}

// Collect sends the counters' current values.
func (c *Counters) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for p := Protocol(0); p < numProtocols; p++ {
		s, name := c.Protocol(p), p.String()
		for result, n := range s.Requests {
			counter(descRequests, n, name, result)
		}
		for reason, n := range s.SpansRejected {
			counter(descSpansRejected, n, name, reason)
		}
		counter(descBytes, s.Bytes, name)
		counter(descSpansReceived, s.SpansReceived, name)
		counter(descSpansAccepted, s.SpansAccepted, name)
		counter(descPointsReceived, s.PointsReceived, name)
		counter(descPointsAccepted, s.PointsAccepted, name)
	}
}
