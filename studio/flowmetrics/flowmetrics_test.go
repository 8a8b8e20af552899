package flowmetrics

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// scrape gathers f and returns each sample's value keyed by
// "name{label=value,…}" (labels sorted), and the series count per family.
func scrape(t *testing.T, f *Flow) (map[string]float64, map[string]int) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(f)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	vals, counts := map[string]float64{}, map[string]int{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			v := m.GetGauge().GetValue()
			if mf.GetType() == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			}
			vals[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = v
			counts[mf.GetName()]++
		}
	}
	return vals, counts
}

func want(t *testing.T, vals map[string]float64, key string, v float64) {
	t.Helper()
	got, ok := vals[key]
	if !ok {
		t.Errorf("%s missing", key)
	} else if got != v {
		t.Errorf("%s = %v, want %v", key, got, v)
	}
}

func TestLagNewestSampleWinsAndExpires(t *testing.T) {
	f := New(Options{LagTTL: time.Minute})
	now := time.Now()
	f.now = func() time.Time { return now }
	at := func(d time.Duration) uint64 { return uint64(now.Add(d).UnixNano()) }
	sample := func(ts uint64, lag int64, secs float64, status string) store.LagSample {
		return store.LagSample{TimeNS: ts, System: "kafka", Cluster: "c1", Group: "billing", Topic: "orders", Partition: 2,
			Lag: lag, LagSeconds: secs, Status: status, GroupStatus: status}
	}
	f.Observe(&store.Batch{Lag: []store.LagSample{sample(at(-10*time.Second), 40, 4, "WARN")}})
	f.Observe(&store.Batch{Lag: []store.LagSample{sample(at(-20*time.Second), 99, 9, "ERR")}}) // older: ignored
	vals, _ := scrape(t, f)
	labels := "cluster=c1,group=billing,partition=2,system=kafka,topic=orders"
	want(t, vals, "causeway_consumer_lag_messages{"+labels+"}", 40)
	want(t, vals, "causeway_consumer_lag_seconds{"+labels+"}", 4)
	want(t, vals, "causeway_consumer_group_status{cluster=c1,group=billing,status=WARN,system=kafka}", 1)
	want(t, vals, "causeway_consumer_group_status{cluster=c1,group=billing,status=OK,system=kafka}", 0)
	want(t, vals, "causeway_consumer_group_status{cluster=c1,group=billing,status=ERR,system=kafka}", 0)

	now = now.Add(2 * time.Minute) // no newer sample within LagTTL: the partition and group vanish
	vals, counts := scrape(t, f)
	if counts["causeway_consumer_lag_messages"] != 0 || counts["causeway_consumer_group_status"] != 0 {
		t.Fatalf("stale lag still reported: %v", vals)
	}
}

func TestDLQAndEdgeCounts(t *testing.T) {
	f := New(Options{})
	f.Observe(&store.Batch{
		DLQ: []store.DLQEntry{
			{System: "kafka", Source: "orders.dlq", Original: "orders", Reason: "order 8123 not found\n\tat Handler.java:42"},
			{System: "kafka", Source: "orders.dlq", Original: "orders", Reason: "order 77 not found"},
		},
		Events: []event.Event{
			{Service: "shop", Destination: "orders", Op: event.OpPublish, Outcome: event.OutcomeOK},
			{Service: "billing", Destination: "orders", Op: event.OpProcess, Outcome: event.OutcomeOK},
			{Service: "billing", Destination: "orders", Op: event.OpProcess, Outcome: event.OutcomeRetry},
			{Service: "billing", Destination: "orders", Op: event.OpProcess, Outcome: event.OutcomeDeadLettered},
			{Service: "billing", Destination: "orders", Op: event.OpProcess, Outcome: event.OutcomeDuplicateSkipped},
		},
	})
	vals, _ := scrape(t, f)
	want(t, vals, "causeway_dlq_arrivals_total{dlq=orders.dlq,reason=order N not found,system=kafka,topic=orders}", 2)
	want(t, vals, "causeway_flow_messages_total{destination=orders,op=publish,service=shop}", 1)
	want(t, vals, "causeway_flow_errors_total{destination=orders,op=publish,service=shop}", 0)
	want(t, vals, "causeway_flow_messages_total{destination=orders,op=process,service=billing}", 4)
	want(t, vals, "causeway_flow_errors_total{destination=orders,op=process,service=billing}", 2)
}

func TestNormalizeReason(t *testing.T) {
	for in, out := range map[string]string{
		"":                                  "unknown",
		"  \n second line":                  "unknown",
		"timeout after 30s on partition 12": "timeout after Ns on partition N",
		strings.Repeat("é", 100):            strings.Repeat("é", 40),
		"bad \xff byte":                     "bad ? byte",
	} {
		if got := NormalizeReason(in); got != out {
			t.Errorf("NormalizeReason(%q) = %q, want %q", in, got, out)
		}
	}
}

// TestCardinalityCaps: past the caps, each family stays bounded and what
// did not fit is counted, not lost (counters) or dropped and counted (lag).
func TestCardinalityCaps(t *testing.T) {
	const maxSeries, maxReasons, n = 10, 5, 25
	f := New(Options{MaxSeries: maxSeries, MaxReasons: maxReasons})
	now := uint64(time.Now().UnixNano())
	var b store.Batch
	for i := range n {
		b.Lag = append(b.Lag, store.LagSample{TimeNS: now, System: "kafka", Group: fmt.Sprintf("g%d", i/5), Topic: "t",
			Partition: int32(i), Lag: 1, GroupStatus: "OK"})
		// Distinct reasons without digits, so normalising does not merge them.
		b.DLQ = append(b.DLQ, store.DLQEntry{System: "kafka", Source: "t.dlq", Original: "t", Reason: "reason " + string(rune('a'+i))})
		b.Events = append(b.Events, event.Event{Service: fmt.Sprintf("svc-%d", i), Destination: "t", Op: event.OpPublish, Outcome: event.OutcomeError})
	}
	f.Observe(&b)
	// A second wave of new DLQ topics: the reason cap is full, the series cap fills.
	var b2 store.Batch
	for i := range n {
		b2.DLQ = append(b2.DLQ, store.DLQEntry{System: "kafka", Source: fmt.Sprintf("t%d.dlq", i), Original: "t", Reason: "reason z"})
	}
	f.Observe(&b2)
	vals, counts := scrape(t, f)

	for family, limit := range map[string]int{
		"causeway_consumer_lag_messages": maxSeries,
		"causeway_consumer_lag_seconds":  maxSeries,
		"causeway_consumer_group_status": maxSeries,
		"causeway_dlq_arrivals_total":    maxSeries + 1,
		"causeway_flow_messages_total":   maxSeries + 1,
		"causeway_flow_errors_total":     maxSeries + 1,
	} {
		if counts[family] == 0 || counts[family] > limit {
			t.Errorf("%s has %d series, want 1..%d", family, counts[family], limit)
		}
	}
	// Lag: 10 partitions kept, 15 dropped and counted.
	want(t, vals, "causeway_flow_metrics_overflow_total{family=consumer_lag}", n-maxSeries)
	// Group status: 6 series per group, so one group fits 10 series; 4 more groups × 5 samples dropped.
	want(t, vals, "causeway_flow_metrics_overflow_total{family=consumer_group_status}", n-5)
	// Edges: 10 kept, the other 15 services' messages and errors in "other".
	want(t, vals, "causeway_flow_messages_total{destination=other,op=other,service=other}", n-maxSeries)
	want(t, vals, "causeway_flow_errors_total{destination=other,op=other,service=other}", n-maxSeries)
	// DLQ: 5 reasons known, the rest "other"; every arrival counted somewhere.
	var total float64
	reasons := map[string]bool{}
	for k, v := range vals {
		if strings.HasPrefix(k, "causeway_dlq_arrivals_total{") {
			total += v
			r, _, _ := strings.Cut(k[strings.Index(k, "reason="):], ",")
			reasons[r] = true
		}
	}
	if total != 2*n {
		t.Errorf("DLQ arrivals counted %v, want %d", total, 2*n)
	}
	if len(reasons) > maxReasons+1 {
		t.Errorf("%d distinct reason labels, want at most %d", len(reasons), maxReasons+1)
	}
	want(t, vals, "causeway_dlq_arrivals_total{dlq=t.dlq,reason=other,system=kafka,topic=t}", n-maxReasons)
}

// TestInvalidUTF8Labels: label values that are not UTF-8 (which the
// receivers refuse, but a foreign producer on an ingest topic could send)
// are repaired, never a failed scrape.
func TestInvalidUTF8Labels(t *testing.T) {
	f := New(Options{})
	f.Observe(&store.Batch{
		Events: []event.Event{{Service: "svc\xff", Destination: "t\xfe", Op: event.OpPublish}, {Service: "svc\xfe", Destination: "t\xff", Op: event.OpPublish}},
		DLQ:    []store.DLQEntry{{System: "kafka", Source: "d\xff", Original: "o\xff", Reason: "r"}},
		Lag:    []store.LagSample{{TimeNS: uint64(time.Now().UnixNano()), System: "kafka", Group: "g\xff", Topic: "t", Lag: 3, GroupStatus: "OK"}},
	})
	vals, _ := scrape(t, f) // fails the test if the registry refuses a value
	want(t, vals, "causeway_flow_messages_total{destination=t\uFFFD,op=publish,service=svc\uFFFD}", 2)
	want(t, vals, "causeway_consumer_lag_messages{cluster=,group=g\uFFFD,partition=0,system=kafka,topic=t}", 3)
}
