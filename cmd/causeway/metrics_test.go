package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/collector/otlp/otlptest"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sidecar"
)

// The known workload both /metrics tests send, and what it must show.
const (
	wlHTTPSpans    = 7 // publish spans of shop to orders, over OTLP/HTTP
	wlGRPCSpans    = 5 // over OTLP/gRPC: wlProcessSpans billing process spans of orders, the rest plain spans
	wlProcessSpans = 3 // of which wlFailedSpans failed
	wlFailedSpans  = 1
	wlInvalidSpans = 4 // one OTLP/HTTP request of these, rejected as invalid (a span without a trace id)
	wlLag          = 42
	wlLagSeconds   = 12.5
	wlDLQReason    = "cannot parse order 8123" // counted as "cannot parse order N"
)

// workload is what sendWorkload sent: the bytes of each protocol's
// requests, for the exact byte counters.
type workload struct {
	httpBytes, grpcBytes int64
	lagPoints            int // metric data points of the lag request
}

// countingTransport counts the bodies of the requests it sends.
type countingTransport struct{ bytes *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.bytes.Add(r.ContentLength)
	return http.DefaultTransport.RoundTrip(r)
}

// sendWorkload sends the known workload to a collector's OTLP receivers.
func sendWorkload(t *testing.T, httpAddr, grpcAddr string) workload {
	t.Helper()
	ctx := context.Background()
	var httpBytes atomic.Int64
	client := &http.Client{Transport: countingTransport{&httpBytes}, Timeout: 30 * time.Second}
	post := func(body []byte, want int) {
		t.Helper()
		resp, err := client.Post("http://"+httpAddr+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("OTLP/HTTP answered %d, want %d: %q", resp.StatusCode, want, msg)
		}
	}
	body, _ := otlptest.Publishes("shop", "orders", 1, wlHTTPSpans, 1)
	post(body, http.StatusOK)

	invalid := ptrace.NewTraces()
	spans := invalid.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range wlInvalidSpans {
		sp := spans.AppendEmpty()
		if i > 0 { // the first span has no trace id
			sp.SetTraceID(pcommon.TraceID{0xba, 0xd0, byte(i)})
		}
		sp.SetSpanID(pcommon.SpanID{0xba, 0xd0, byte(i)})
		sp.SetName("invalid")
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(invalid).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	post(body, http.StatusBadRequest)

	// Lag and a dead letter, exactly as the sidecar sends them.
	exp := &sidecar.Exporter{Endpoint: "http://" + httpAddr, Client: client}
	now := time.Now()
	if err := exp.Lag(ctx, []sidecar.GroupLag{{Group: "billing", Time: now, Status: sidecar.StatusWarn, TotalLag: wlLag, MaxSeconds: wlLagSeconds,
		Partitions: []sidecar.PartitionLag{{Topic: "orders", Partition: 3, Committed: 100, End: 100 + wlLag, Lag: wlLag,
			Seconds: wlLagSeconds, Status: sidecar.StatusWarn}}}}, event.SystemKafka, "prod"); err != nil {
		t.Fatal(err)
	}
	if err := exp.DLQ(ctx, []sidecar.DLQMessage{{Time: now, System: event.SystemKafka, Source: "orders.dlq", Original: "orders",
		OriginalPartition: 3, OriginalOffset: 7, Reason: wlDLQReason, Payload: []byte("{}")}}, 1024); err != nil {
		t.Fatal(err)
	}

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "billing")
	spans = rs.ScopeSpans().AppendEmpty().Spans()
	ts := pcommon.NewTimestampFromTime(now)
	for i := range wlGRPCSpans {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{0x9c, 0x01, byte(i)})
		sp.SetSpanID(pcommon.SpanID{0x9c, 0x01, byte(i)})
		sp.SetStartTimestamp(ts)
		sp.SetEndTimestamp(ts + 1000)
		sp.SetName("work")
		if i < wlProcessSpans {
			sp.SetName("orders process")
			sp.SetKind(ptrace.SpanKindConsumer)
			sp.Attributes().PutStr("messaging.system", "kafka")
			sp.Attributes().PutStr("messaging.destination.name", "orders")
			if i < wlFailedSpans {
				sp.Status().SetCode(ptrace.StatusCodeError)
			}
		}
	}
	req := ptraceotlp.NewExportRequestFromTraces(td)
	raw, err := req.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, req); err != nil {
		t.Fatal(err)
	}
	return workload{httpBytes: httpBytes.Load(), grpcBytes: int64(len(raw)), lagPoints: 4}
}

// scrape is a parsed /metrics page.
type scrape map[string]*dto.MetricFamily

// getMetrics scrapes url with token (none if "") and parses the page with
// the Prometheus text parser. The status is 0 when nothing answered.
func getMetrics(t *testing.T, url, token string) (scrape, int) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation) // what Prometheus' own scrapes accept by default before UTF-8 names
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mfs, resp.StatusCode
}

// value is the sample of family name whose labels include labels
// ("k=v" each); ok is false when there is none.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	mf := s[name]
	if mf == nil {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if have[k] != v {
				continue next
			}
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount()), true
		case dto.MetricType_UNTYPED:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// sum adds the values of family name's samples whose labels include labels.
func (s scrape) sum(name string, labels ...string) float64 {
	var total float64
	mf := s[name]
	if mf == nil {
		return 0
	}
	for _, m := range mf.GetMetric() {
		one := scrape{name: &dto.MetricFamily{Name: mf.Name, Type: mf.Type, Metric: []*dto.Metric{m}}}
		if v, ok := one.value(name, labels...); ok {
			total += v
		}
	}
	return total
}

// expect checks that a sample exists with the value want.
func (s scrape) expect(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := s.value(name, labels...)
	switch {
	case !ok:
		t.Errorf("%s%v: missing", name, labels)
	case got != want:
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// expectAtLeast checks that a sample exists with a value of at least min.
func (s scrape) expectAtLeast(t *testing.T, min float64, name string, labels ...string) {
	t.Helper()
	got, ok := s.value(name, labels...)
	if !ok || got < min {
		t.Errorf("%s%v = %v (present %v), want ≥ %v", name, labels, got, ok, min)
	}
}

// checkIngest asserts the collector's metrics for the workload.
func checkIngest(t *testing.T, s scrape, w workload) {
	t.Helper()
	dlqSpans := 1.0 // the sidecar's DLQ entry is a span over HTTP too
	s.expect(t, wlHTTPSpans+dlqSpans, "causeway_otlp_spans_accepted_total", "protocol=http")
	s.expect(t, wlGRPCSpans, "causeway_otlp_spans_accepted_total", "protocol=grpc")
	s.expect(t, wlHTTPSpans+dlqSpans+wlInvalidSpans, "causeway_otlp_spans_received_total", "protocol=http")
	s.expect(t, wlGRPCSpans, "causeway_otlp_spans_received_total", "protocol=grpc")
	s.expect(t, wlInvalidSpans, "causeway_otlp_spans_rejected_total", "protocol=http", "reason=invalid")
	s.expect(t, 0, "causeway_otlp_spans_rejected_total", "protocol=grpc", "reason=invalid")
	s.expect(t, 0, "causeway_otlp_spans_rejected_total", "protocol=http", "reason=full")
	s.expect(t, 3, "causeway_otlp_requests_total", "protocol=http", "result=ok") // publishes, lag, DLQ
	s.expect(t, 1, "causeway_otlp_requests_total", "protocol=http", "result=invalid")
	s.expect(t, 1, "causeway_otlp_requests_total", "protocol=grpc", "result=ok")
	s.expect(t, 0, "causeway_otlp_requests_total", "protocol=grpc", "result=invalid")
	s.expect(t, float64(w.httpBytes), "causeway_otlp_request_bytes_total", "protocol=http")
	s.expect(t, float64(w.grpcBytes), "causeway_otlp_request_bytes_total", "protocol=grpc")
	s.expect(t, float64(w.lagPoints), "causeway_otlp_metric_points_received_total", "protocol=http")
	s.expect(t, float64(w.lagPoints), "causeway_otlp_metric_points_accepted_total", "protocol=http")
	s.expect(t, 0, "causeway_otlp_inflight_bytes")

	// Everything is stored: the spool is empty.
	s.expect(t, 0, "causeway_spool_records")
	s.expect(t, 0, "causeway_spool_oldest_record_age_seconds")
	s.expect(t, 0, "causeway_spool_errors_total")
	s.expect(t, 0, "causeway_spool_quarantined_total")
	s.expect(t, 0, "causeway_spool_quarantined_records")
	if _, ok := s.value("causeway_spool_bytes"); !ok {
		t.Error("causeway_spool_bytes missing")
	}
	s.expect(t, wlHTTPSpans+dlqSpans+wlGRPCSpans, "causeway_store_rows_written_total", "table=spans")
	s.expect(t, wlHTTPSpans+wlProcessSpans+dlqSpans, "causeway_store_rows_written_total", "table=events")
	s.expect(t, 1, "causeway_store_rows_written_total", "table=lag")
	s.expect(t, 1, "causeway_store_rows_written_total", "table=dlq")
	s.expect(t, 0, "causeway_store_rows_written_total", "table=edges")
	s.expect(t, 0, "causeway_store_write_errors_total")
	s.expectAtLeast(t, 1, "causeway_store_write_duration_seconds", "result=ok")
	// Retention runs beside the writer; its first pass is 30 s after start
	// (the counts of deleted rows are checked in store/retention).
	s.expect(t, 0, "causeway_store_retention_last_run_timestamp_seconds")
	s.expect(t, 0, "causeway_store_retention_errors_total")
	s.expect(t, 0, "causeway_store_retention_deleted_rows_total", "table=events")
	s.expect(t, 0, "causeway_store_retention_deleted_rows_total", "table=dlq")

	// The Go and process collectors.
	s.expectAtLeast(t, 1, "go_goroutines")
	s.expectAtLeast(t, 1, "process_resident_memory_bytes")
}

// waitStored scrapes until the store has every row of the workload.
func waitStored(t *testing.T, url, token string) scrape {
	t.Helper()
	var s scrape
	eventually(t, 30*time.Second, func() string {
		var code int
		if s, code = getMetrics(t, url, token); code != http.StatusOK {
			return fmt.Sprintf("/metrics answered %d", code)
		}
		spans, _ := s.value("causeway_store_rows_written_total", "table=spans")
		dlq, _ := s.value("causeway_store_rows_written_total", "table=dlq")
		lag, _ := s.value("causeway_store_rows_written_total", "table=lag")
		if spans != wlHTTPSpans+1+wlGRPCSpans || dlq != 1 || lag != 1 {
			return fmt.Sprintf("stored %v spans, %v DLQ entries, %v lag samples", spans, dlq, lag)
		}
		// The spool commits right after the store confirms.
		if pending, _ := s.value("causeway_spool_records"); pending != 0 {
			return fmt.Sprintf("%v records not yet committed in the spool", pending)
		}
		return ""
	})
	return s
}

// TestCollectorMetrics: `causeway collector` serves /metrics on
// collector.metrics_addr, and a scrape after a known workload shows
// exactly that workload.
func TestCollectorMetrics(t *testing.T) {
	dir := t.TempDir()
	p := startCollector(t, "embedded://"+filepath.ToSlash(filepath.Join(dir, "store")), filepath.Join(dir, "spool"))
	w := sendWorkload(t, p.httpAddr, p.grpcAddr)
	s := waitStored(t, "http://"+p.metricsAddr+"/metrics", "")
	checkIngest(t, s, w)
	// The studio's own families are not the collector's.
	for _, name := range []string{"causeway_api_request_duration_seconds", "causeway_consumer_lag_seconds"} {
		if s[name] != nil {
			t.Errorf("%s served by causeway collector", name)
		}
	}
	p.stop()
}

// TestStudioMetrics: the studio serves /metrics on its API address to
// any valid token, with the in-process collector's metrics, the derived
// flow metrics and every studio component's.
func TestStudioMetrics(t *testing.T) {
	const token = "prometheus-scrape-token-0123"
	dir := t.TempDir()
	listen, httpAddr, grpcAddr := freePort(t), freePort(t), freePort(t)
	cmd := exec.Command(causewayBin, "studio", "--listen", listen, "--store", "embedded://"+filepath.ToSlash(filepath.Join(dir, "store")),
		"--spool-dir", filepath.Join(dir, "spool"), "--otlp-http", httpAddr, "--otlp-grpc", grpcAddr)
	cmd.Env = append(os.Environ(), "CAUSEWAY_STUDIO_TOKENS=prometheus:viewer:"+token)
	var log brokertest.LogBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	url := "http://" + listen + "/metrics"
	eventually(t, 30*time.Second, func() string {
		resp, err := http.Get("http://" + listen + "/api/v1/health")
		if err != nil {
			return err.Error() + log.String()
		}
		resp.Body.Close()
		return ""
	})
	if _, code := getMetrics(t, url, ""); code != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d, want 401", code)
	}
	if _, code := getMetrics(t, url, "not-the-token-not-the-token"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics with a wrong token: %d, want 401", code)
	}

	w := sendWorkload(t, httpAddr, grpcAddr)
	waitStored(t, url, token)
	// One API call on a route with a path parameter, twice: the route is
	// labelled by its pattern, not the trace id.
	for _, id := range []string{"9c010000000000000000000000000000", "9c010100000000000000000000000000"} {
		req, _ := http.NewRequest("GET", "http://"+listen+"/api/v1/traces/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET trace %s: %d", id, resp.StatusCode)
		}
	}
	s, code := getMetrics(t, url, token)
	if code != http.StatusOK {
		t.Fatalf("/metrics with the viewer token: %d", code)
	}
	checkIngest(t, s, w)

	// Derived flow metrics.
	lagLabels := []string{"system=kafka", "cluster=prod", "group=billing", "topic=orders", "partition=3"}
	s.expect(t, wlLag, "causeway_consumer_lag_messages", lagLabels...)
	s.expect(t, wlLagSeconds, "causeway_consumer_lag_seconds", lagLabels...)
	s.expect(t, 1, "causeway_consumer_group_status", "group=billing", "status=WARN")
	s.expect(t, 0, "causeway_consumer_group_status", "group=billing", "status=OK")
	s.expect(t, 1, "causeway_dlq_arrivals_total", "system=kafka", "topic=orders", "dlq=orders.dlq", "reason=cannot parse order N")
	s.expect(t, wlHTTPSpans, "causeway_flow_messages_total", "service=shop", "destination=orders", "op=publish")
	s.expect(t, 0, "causeway_flow_errors_total", "service=shop", "destination=orders", "op=publish")
	s.expect(t, wlProcessSpans, "causeway_flow_messages_total", "service=billing", "destination=orders", "op=process")
	s.expect(t, wlFailedSpans, "causeway_flow_errors_total", "service=billing", "destination=orders", "op=process")
	for _, family := range []string{"consumer_lag", "consumer_group_status", "dlq_arrivals", "flow_edges"} {
		s.expect(t, 0, "causeway_flow_metrics_overflow_total", "family="+family)
	}

	// API latency by route pattern, method and code.
	s.expect(t, 2, "causeway_api_request_duration_seconds", "route=/api/v1/traces/{trace_id}", "method=GET", "code=200")
	for _, m := range s["causeway_api_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "9c01") {
				t.Errorf("a raw path became a route label: %q", l.GetValue())
			}
		}
	}

	// A live client is counted while connected.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+listen+"/api/v1/live", http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		live, _ := getMetrics(t, url, token)
		if n, _ := live.value("causeway_live_subscribers"); n != 1 {
			return fmt.Sprintf("%v live subscribers, want 1", n)
		}
		return ""
	})
	ws.Close()

	// Components with nothing to report yet still export their families.
	s.expect(t, 0, "causeway_live_subscribers")
	s.expect(t, 0, "causeway_live_frames_dropped_total")
	s.expect(t, 0, "causeway_live_subscribers_dropped_total")
	s.expect(t, 0, "causeway_live_connections_rejected_total")
	s.expect(t, 0, "causeway_replays_started_total")
	s.expect(t, 0, "causeway_replays_running")
	s.expect(t, 0, "causeway_replays_finished_total", "state=succeeded")
	s.expect(t, 0, "causeway_replay_messages_total", "result=sent")
	s.expect(t, 0, "causeway_alert_rules", "state=firing")
	s.expect(t, 0, "causeway_alert_notifications_total", "kind=json", "result=sent")
	s.expect(t, 0, "causeway_alert_notifications_total", "kind=slack", "result=failed")
}

// TestAgentMetrics: `causeway agent` serves its sidecar's polls on
// --metrics-addr: it polls a Kafka cluster's lag and sends it to a
// collector, and both sides' counts agree.
func TestAgentMetrics(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("o")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	offs := make(kadm.Offsets)
	offs.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 0, LeaderEpoch: -1})
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, "billing", offs); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	col := startCollector(t, "embedded://"+filepath.ToSlash(filepath.Join(dir, "store")), filepath.Join(dir, "spool"))
	metricsAddr := freePort(t)
	cmd := exec.Command(causewayBin, "agent", "--kafka-brokers", strings.Join(c.ListenAddrs(), ","), "--collector", "http://"+col.httpAddr,
		"--interval", "200ms", "--metrics-addr", metricsAddr)
	var log brokertest.LogBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	var agent, collector scrape
	eventually(t, 30*time.Second, func() string {
		var code int
		if agent, code = getMetrics(t, "http://"+metricsAddr+"/metrics", ""); code != http.StatusOK {
			return fmt.Sprintf("agent /metrics answered %d: %s", code, log.String())
		}
		if collector, code = getMetrics(t, "http://"+col.metricsAddr+"/metrics", ""); code != http.StatusOK {
			return fmt.Sprintf("collector /metrics answered %d", code)
		}
		polls, _ := agent.value("causeway_sidecar_polls_total", "system=kafka")
		lag, _ := collector.value("causeway_store_rows_written_total", "table=lag")
		if polls < 2 || lag < 1 {
			return fmt.Sprintf("%v polls, %v lag samples stored", polls, lag)
		}
		return ""
	})
	agent.expect(t, 0, "causeway_sidecar_poll_errors_total", "system=kafka")
	agent.expect(t, 0, "causeway_sidecar_polls_total", "system=nats")
	agent.expectAtLeast(t, 1, "go_goroutines")
	// Every poll sent one lag request of one partition: 4 points each.
	polls, _ := agent.value("causeway_sidecar_polls_total", "system=kafka")
	points, _ := collector.value("causeway_otlp_metric_points_accepted_total", "protocol=http")
	if points < 4*polls || int(points)%4 != 0 {
		t.Errorf("collector accepted %v lag points after the agent counted %v polls", points, polls)
	}
}
