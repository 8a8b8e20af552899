package alert

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather scrapes c and returns each sample's value by metric name and labels.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
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
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			out[key] = value(mf.GetType(), m)
		}
	}
	return out
}

func value(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	return -1
}

func TestMetricsCountNotificationsByKindAndFiringRules(t *testing.T) {
	rcv := newReceiver(t)
	// A port nothing listens on: the slack webhook fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	e, st := newEngine(t, SenderOptions{AllowLoopback: true, Attempts: 1})
	now := time.Now()
	e.now = func() time.Time { return now }
	for _, r := range []Rule{
		{ID: "lag", Name: "billing is behind", Kind: KindLagMessages, Group: "billing", Threshold: 100,
			Webhooks: []Webhook{{URL: rcv.srv.URL}, {URL: dead, Format: "slack"}}},
		{ID: "calm", Name: "never", Kind: KindLagMessages, Group: "billing", Threshold: 1e9},
	} {
		if err := e.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	writeLag(t, st, now, 150, "WARN")
	e.Evaluate(context.Background())
	got := gather(t, e)
	for key, want := range map[string]float64{
		"causeway_alert_rules,state=firing":                           1,
		"causeway_alert_rules,state=ok":                               1,
		"causeway_alert_rules,state=pending":                          0,
		"causeway_alert_notifications_total,kind=json,result=sent":    1,
		"causeway_alert_notifications_total,kind=json,result=failed":  0,
		"causeway_alert_notifications_total,kind=slack,result=sent":   0,
		"causeway_alert_notifications_total,kind=slack,result=failed": 1,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}
