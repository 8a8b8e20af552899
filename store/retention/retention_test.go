package retention

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	_ "github.com/causeway-dev/causeway/store/embedded" // registers embedded://
	"github.com/causeway-dev/causeway/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * day, "30d": 30 * day, "168h": 168 * time.Hour,
		"1.5d": 36 * time.Hour, "90m": 90 * time.Minute, "0": 0} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil || time.Duration(d) != want {
			t.Errorf("%q = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, bad := range []string{"", "7 days", "d", "7x", "1w"} {
		var d Duration
		if err := d.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%q parsed as %v, want an error", bad, time.Duration(d))
		}
	}
	for d, want := range map[Duration]string{Duration(7 * day): "7d", Duration(time.Hour): "1h", 0: "0", Duration(90 * time.Minute): "1h30m0s"} {
		if got := d.String(); got != want {
			t.Errorf("String(%v) = %q, want %q", time.Duration(d), got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, c := range map[string]Config{
		"negative":      {Events: -1, Broker: 0, Interval: Duration(time.Hour)},
		"under an hour": {Events: Duration(time.Minute), Interval: Duration(time.Hour)},
		"no interval":   {Events: Duration(day)},
		"min_free 0.5":  {Events: Duration(day), Interval: Duration(time.Hour), MinFree: 0.5, DiskCheckInterval: Duration(time.Second)},
		"min_free < 0":  {Events: Duration(day), Interval: Duration(time.Hour), MinFree: -0.1},
		"no disk check": {Events: Duration(day), Interval: Duration(time.Hour), MinFree: 0.1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: %+v passed", name, c)
		}
	}
}

// metricValues gathers r's metrics: deleted rows by table and the last run.
func metricValues(t *testing.T, r *Runner) (deleted map[string]float64, lastRun float64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(r)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	deleted = map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "causeway_store_retention_deleted_rows_total":
				deleted[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			case "causeway_store_retention_last_run_timestamp_seconds":
				lastRun = m.GetGauge().GetValue()
			}
		}
	}
	return deleted, lastRun
}

// TestRunnerCounts: with a simulated clock, a pass over an embedded
// store holding 25 events (with spans and 24 edges) 8 days old and 10
// from today deletes the old ones, and the counters say exactly that;
// a second pass adds nothing; the last-run gauge is set.
func TestRunnerCounts(t *testing.T) {
	st, err := store.Open(context.Background(), "embedded://"+filepath.ToSlash(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for tr, at := range map[int]time.Time{1: now.Add(-8 * day), 2: now.Add(-time.Hour)} {
		n := map[int]int{1: 25, 2: 10}[tr]
		b := &store.Batch{}
		for i := range n {
			e := storetest.Event(tr, i)
			e.StartNS = uint64(at.UnixNano()) + uint64(i)
			b.Events = append(b.Events, e)
			b.Spans = append(b.Spans, storetest.Span(e))
			if i > 0 {
				b.Edges = append(b.Edges, eventEdge(e, i))
			}
		}
		if err := st.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	r := New(DefaultConfig(), st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if r == nil {
		t.Fatal("no runner for the embedded store")
	}
	tables := st.(store.Retainer).RetentionTables()
	if d, last := metricValues(t, r); len(d) != len(tables) || d["events"] != 0 || last != 0 {
		t.Fatalf("before a pass: %v, last run %v; want every table (%v) at 0", d, last, tables)
	}
	for range 2 {
		if _, err := r.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	d, last := metricValues(t, r)
	// The 25 old events fall in one minute: one flow_minute rollup row.
	want := map[string]float64{"events": 25, "spans": 25, "edges": 24, "flow_minute": 1}
	for _, table := range tables {
		if d[table] != want[table] {
			t.Errorf("deleted rows of %s: %v, want %v (all: %v)", table, d[table], want[table], d)
		}
	}
	if last < float64(now.Unix()) {
		t.Errorf("last run %v, want a time after the test started (%d)", last, now.Unix())
	}
	if o, err := st.(store.Retention).OldestRetained(context.Background()); err != nil || o.Before(now.Add(-7*day-time.Minute)) {
		t.Errorf("OldestRetained = %v, %v; want about 7 days ago", o, err)
	}
}

// TestStartStop: the loop stops promptly before its first pass and
// leaves no goroutine behind; a nil runner (a store without retention,
// or everything kept) does nothing.
func TestStartStop(t *testing.T) {
	st, err := store.Open(context.Background(), "embedded://"+filepath.ToSlash(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := New(DefaultConfig(), st, nil)
	r.Start(context.Background())
	r.Stop()
	var off *Runner = New(Config{Interval: Duration(time.Hour)}, st, nil)
	if off != nil {
		t.Fatal("a config that keeps everything made a runner")
	}
	off.Start(context.Background())
	off.Stop()
	if res, err := off.RunOnce(context.Background()); err != nil || res.Total() != 0 {
		t.Fatalf("nil runner's pass: %v, %v", res, err)
	}
}

func eventEdge(e event.Event, i int) event.Edge {
	return event.Edge{FromTraceID: e.TraceID, FromSpanID: storetest.SpanID(i - 1), ToTraceID: e.TraceID,
		ToSpanID: e.SpanID, Kind: event.EdgeParent, StartNS: e.StartNS}
}
