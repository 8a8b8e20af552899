package collector

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/causeway-dev/causeway/collector/otlp/otlptest"
)

// gather scrapes c: each sample's value (histograms: their count) by
// name and label values joined with commas.
func gather(t *testing.T, c *Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetValue()
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetricsSpoolBacklog: while the store is down the spool's records,
// age and the store's write errors grow; once it is back the backlog
// drains to zero and the rows are counted.
func TestMetricsSpoolBacklog(t *testing.T) {
	fs := &flakyStore{spans: map[string]int{}, down: true}
	c := start(t, testConfig(t, t.TempDir()), fs)
	defer shutdown(t, c, 10*time.Second)
	const n = 20
	body, _ := otlptest.Publishes("shop", "orders", seq.Add(1), n, 1)
	resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP answered %d", resp.StatusCode)
	}
	time.Sleep(1500 * time.Millisecond) // the record ages while the store refuses it
	m := gather(t, c)
	if m["causeway_spool_records"] != 1 || m["causeway_spool_oldest_record_age_seconds"] < 1 || m["causeway_spool_bytes"] <= 0 {
		t.Fatalf("backlog: records %v, age %v, bytes %v", m["causeway_spool_records"], m["causeway_spool_oldest_record_age_seconds"], m["causeway_spool_bytes"])
	}
	// A failed attempt is timed just before it is counted as an error.
	if timed, errs := m["causeway_store_write_duration_seconds,error"], m["causeway_store_write_errors_total"]; errs < 1 || timed < errs || timed > errs+1 ||
		m["causeway_store_rows_written_total,spans"] != 0 {
		t.Fatalf("store down: errors %v, failed attempts timed %v, spans %v", m["causeway_store_write_errors_total"],
			m["causeway_store_write_duration_seconds,error"], m["causeway_store_rows_written_total,spans"])
	}
	if m["causeway_otlp_spans_accepted_total,http"] != n {
		t.Fatalf("accepted %v", m["causeway_otlp_spans_accepted_total,http"])
	}

	fs.set(false)
	fs.check(t, n)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m = gather(t, c)
		if m["causeway_spool_records"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool records %v after the store came back", m["causeway_spool_records"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if m["causeway_spool_oldest_record_age_seconds"] != 0 || m["causeway_store_rows_written_total,spans"] != n ||
		m["causeway_store_rows_written_total,events"] != n || m["causeway_store_write_duration_seconds,ok"] < 1 {
		t.Fatalf("drained: age %v, spans %v, events %v, ok writes %v", m["causeway_spool_oldest_record_age_seconds"],
			m["causeway_store_rows_written_total,spans"], m["causeway_store_rows_written_total,events"], m["causeway_store_write_duration_seconds,ok"])
	}
}

// TestMetricsHealth: causeway_health_degraded{reason="store"} goes to 1
// while the store keeps refusing writes (the collector stays ready: the
// spool takes the data) and back to 0 once it takes them.
func TestMetricsHealth(t *testing.T) {
	fs := &flakyStore{spans: map[string]int{}, down: true}
	cfg := testConfig(t, t.TempDir())
	cfg.Health.StoreFailingAfter = 200 * time.Millisecond
	c := start(t, cfg, fs)
	defer shutdown(t, c, 10*time.Second)
	if m := gather(t, c); m["causeway_ready"] != 1 || m["causeway_health_degraded,store"] != 0 || m["causeway_health_degraded,disk"] != 0 {
		t.Fatalf("at start: ready %v, store %v, disk %v", m["causeway_ready"], m["causeway_health_degraded,store"], m["causeway_health_degraded,disk"])
	}
	body, _ := otlptest.Publishes("shop", "orders", seq.Add(1), 5, 1)
	resp, err := http.Post("http://"+c.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor := func(what string, ok func(map[string]float64) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for m := gather(t, c); !ok(m); m = gather(t, c) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", what, m)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("store failing", func(m map[string]float64) bool {
		return m["causeway_health_degraded,store"] == 1 && m["causeway_ready"] == 1
	})
	fs.set(false)
	fs.check(t, 5)
	waitFor("store back", func(m map[string]float64) bool { return m["causeway_health_degraded,store"] == 0 })
}
