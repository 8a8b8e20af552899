package retention

import "github.com/prometheus/client_golang/prometheus"

var (
	descDeleted = prometheus.NewDesc("causeway_store_retention_deleted_rows_total",
		"Rows retention deleted from the store, by table.", []string{"table"}, nil)
	descLastRun = prometheus.NewDesc("causeway_store_retention_last_run_timestamp_seconds",
		"Unix time the last successful retention pass ended (0 before one).", nil, nil)
	descErrors = prometheus.NewDesc("causeway_store_retention_errors_total",
		"Retention passes that failed (the next pass continues).", nil, nil)
	descWatermark = prometheus.NewDesc("causeway_store_retention_watermark_passes_total",
		"Retention passes run early because the store's disk was below retention.min_free.", nil, nil)
	descFree = prometheus.NewDesc("causeway_store_disk_free_ratio",
		"Free share of the embedded store's disk (its free pages counted as free) at the last check; 0 before one.", nil, nil)
	descEvents = prometheus.NewDesc("causeway_store_retention_events_seconds",
		"Events retention in force: retention.events, or shorter while the disk is below the watermark (0: kept forever).", nil, nil)
)

// Describe sends the retention metrics' descriptors.
func (r *Runner) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDeleted
	ch <- descLastRun
	ch <- descErrors
	ch <- descWatermark
	ch <- descFree
	ch <- descEvents
}

// Collect sends the runner's counters now (pulled from Stats).
func (r *Runner) Collect(ch chan<- prometheus.Metric) {
	s := r.Stats()
	for _, t := range s.tables() {
		ch <- prometheus.MustNewConstMetric(descDeleted, prometheus.CounterValue, float64(s.Deleted[t]), t)
	}
	var last float64
	if !s.LastRun.IsZero() {
		last = float64(s.LastRun.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(descLastRun, prometheus.GaugeValue, last)
	ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(s.Errors))
	ch <- prometheus.MustNewConstMetric(descWatermark, prometheus.CounterValue, float64(s.WatermarkPasses))
	ch <- prometheus.MustNewConstMetric(descFree, prometheus.GaugeValue, s.FreeShare)
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.GaugeValue, s.Events.Seconds())
}
