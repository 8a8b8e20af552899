package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/causeway-dev/causeway/store"
)

// A Collector is a Prometheus collector of its own metrics: the OTLP
// receivers' counters (otlp.Counters), the spool's backlog and the store
// writes, read from Stats at scrape time, and the store write latency
// histogram, the one thing observed as it happens. Register it in the
// process's registry; docs/operations.md lists every metric.
var _ prometheus.Collector = (*Collector)(nil)

// Tables a batch writes, for causeway_store_rows_written_total.
const (
	tableEvents = iota
	tableEdges
	tableSpans
	tableLag
	tableDLQ
	numTables
)

var tableNames = [numTables]string{"events", "edges", "spans", "lag", "dlq"}

var (
	descSpoolBytes = prometheus.NewDesc("causeway_spool_bytes",
		"Bytes of spool segments on disk.", nil, nil)
	descSpoolRecords = prometheus.NewDesc("causeway_spool_records",
		"Requests spooled and not yet confirmed by the store.", nil, nil)
	descSpoolAge = prometheus.NewDesc("causeway_spool_oldest_record_age_seconds",
		"Age of the oldest spooled request not yet confirmed by the store (up to 1 s over); 0 when the spool is empty.", nil, nil)
	descSpoolErrors = prometheus.NewDesc("causeway_spool_errors_total",
		"Failed spool appends, reads and commits.", nil, nil)
	descQuarantined = prometheus.NewDesc("causeway_spool_quarantined_total",
		"Spool records moved to quarantine (their processing kept failing) since start.", nil, nil)
	descQuarantinedNow = prometheus.NewDesc("causeway_spool_quarantined_records",
		"Records in the spool's quarantine directory now.", nil, nil)
	descInflight = prometheus.NewDesc("causeway_otlp_inflight_bytes",
		"Decoded request bytes the OTLP receivers hold now.", nil, nil)
	descWriteErrors = prometheus.NewDesc("causeway_store_write_errors_total",
		"Failed store writes (each is retried).", nil, nil)
	descRows = prometheus.NewDesc("causeway_store_rows_written_total",
		"Rows the store confirmed, by table (events, edges, spans, lag, dlq).", []string{"table"}, nil)
	descReady = prometheus.NewDesc("causeway_ready",
		"1 when the collector takes data (its readiness endpoint answers 200), 0 when a reason says to send it none now.", nil, nil)
	descDegraded = prometheus.NewDesc("causeway_health_degraded",
		"1 for each reason the collector is degraded now (disk, backlog_full, store, backlog_age), 0 for the others.", []string{"reason"}, nil)
)

// healthReasons are the reasons causeway_health_degraded reports, each
// present whether it holds or not (so an alert can watch it go to 1).
var healthReasons = []HealthReason{ReasonDisk, ReasonBacklogFull, ReasonStore, ReasonBacklogAge}

// newWriteDuration is the store write latency histogram.
func newWriteDuration() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "causeway_store_write_duration_seconds",
		Help:    "Duration of store write attempts (one batch each), by result (ok, error).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"result"})
}

// observeWrite records a store write attempt of b.
func (c *Collector) observeWrite(b *store.Batch, d time.Duration, err error) {
	if err != nil {
		c.writeDuration.WithLabelValues("error").Observe(d.Seconds())
		return
	}
	c.writeDuration.WithLabelValues("ok").Observe(d.Seconds())
	c.rows[tableEvents].Add(uint64(len(b.Events)))
	c.rows[tableEdges].Add(uint64(len(b.Edges)))
	c.rows[tableSpans].Add(uint64(len(b.Spans)))
	c.rows[tableLag].Add(uint64(len(b.Lag)))
	c.rows[tableDLQ].Add(uint64(len(b.DLQ)))
}

// Describe sends the descriptors of the collector's metrics.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.counters.Describe(ch)
	c.writeDuration.Describe(ch)
	for _, d := range []*prometheus.Desc{descSpoolBytes, descSpoolRecords, descSpoolAge, descSpoolErrors,
		descQuarantined, descQuarantinedNow, descInflight, descWriteErrors, descRows, descReady, descDegraded} {
		ch <- d
	}
	describeInherit(ch)
}

// Collect sends the collector's metrics as of now. The spool's are left
// out when requests are buffered in Kafka instead (Config.Ingest).
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.counters.Collect(ch)
	c.writeDuration.Collect(ch)
	s := c.Stats()
	metric := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, t, v, labels...)
	}
	if c.spool != nil {
		age := 0.0
		if !s.SpoolOldest.IsZero() {
			age = max(time.Since(s.SpoolOldest).Seconds(), 0)
		}
		metric(descSpoolBytes, prometheus.GaugeValue, float64(s.SpoolBytes))
		metric(descSpoolRecords, prometheus.GaugeValue, float64(s.SpoolRecords))
		metric(descSpoolAge, prometheus.GaugeValue, age)
		metric(descQuarantined, prometheus.CounterValue, float64(s.Quarantined))
		metric(descQuarantinedNow, prometheus.GaugeValue, float64(s.QuarantinedNow))
	}
	metric(descSpoolErrors, prometheus.CounterValue, float64(s.SpoolErrors))
	metric(descInflight, prometheus.GaugeValue, float64(s.InflightBytes))
	metric(descWriteErrors, prometheus.CounterValue, float64(s.WriteErrors))
	for t := range numTables {
		metric(descRows, prometheus.CounterValue, float64(c.rows[t].Load()), tableNames[t])
	}
	h := c.Health()
	metric(descReady, prometheus.GaugeValue, b2f(h.Ready))
	for _, r := range healthReasons {
		held := false
		for _, issue := range h.Reasons {
			held = held || issue.Reason == r
		}
		metric(descDegraded, prometheus.GaugeValue, b2f(held), string(r))
	}
	c.collectInherit(ch)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
