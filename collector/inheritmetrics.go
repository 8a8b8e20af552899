package collector

import "github.com/prometheus/client_golang/prometheus"

// Metrics of ingest-time correlation inheritance (lineage.Inheritor):
// what it filled in, and its bounded cache of recent causes.
var (
	descInherited = prometheus.NewDesc("causeway_lineage_correlation_inherited_total",
		"Events stored with a correlation id inherited from their cause (parent span, link or causation id) at ingest.", nil, nil)
	descFromKey = prometheus.NewDesc("causeway_lineage_correlation_from_key_total",
		"Events whose message key became their correlation id (lineage.correlation_from_key).", nil, nil)
	descAmbiguous = prometheus.NewDesc("causeway_lineage_correlation_ambiguous_total",
		"Events left without a correlation id because their causes had different ones (a batch of several flows).", nil, nil)
	descInheritEntries = prometheus.NewDesc("causeway_lineage_inherit_cache_entries",
		"Recent events' correlation ids held for causes of later batches.", nil, nil)
	descInheritCapacity = prometheus.NewDesc("causeway_lineage_inherit_cache_capacity",
		"Bound of the inheritance cache (lineage.inherit_cache_entries).", nil, nil)
	descInheritHits = prometheus.NewDesc("causeway_lineage_inherit_cache_hits_total",
		"Causes found in the inheritance cache rather than in their own batch.", nil, nil)
	descInheritEvicted = prometheus.NewDesc("causeway_lineage_inherit_cache_evicted_total",
		"Entries dropped from the inheritance cache to keep its bound.", nil, nil)
)

func describeInherit(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInherited, descFromKey, descAmbiguous, descInheritEntries, descInheritCapacity, descInheritHits, descInheritEvicted} {
		ch <- d
	}
}

func (c *Collector) collectInherit(ch chan<- prometheus.Metric) {
	if c.inherit == nil {
		return
	}
	s := c.inherit.Stats()
	for _, m := range []struct {
		d *prometheus.Desc
		t prometheus.ValueType
		v float64
	}{
		{descInherited, prometheus.CounterValue, float64(s.Inherited)},
		{descFromKey, prometheus.CounterValue, float64(s.FromKey)},
		{descAmbiguous, prometheus.CounterValue, float64(s.Ambiguous)},
		{descInheritEntries, prometheus.GaugeValue, float64(s.CacheEntries)},
		{descInheritCapacity, prometheus.GaugeValue, float64(s.CacheCapacity)},
		{descInheritHits, prometheus.CounterValue, float64(s.CacheHits)},
		{descInheritEvicted, prometheus.CounterValue, float64(s.CacheEvicted)},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v)
	}
}
