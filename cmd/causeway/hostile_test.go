package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/causeway-dev/causeway/collector/otlp/otlptest"
	"github.com/causeway-dev/causeway/collector/spool"
)

// hostileRSSBound is the peak resident memory (VmHWM) the collector may
// reach over the whole hostile suite, every request of it included. Each
// request is read into at most max_decoded_bytes (32 MiB) and decoded
// once. Measured: 171 MiB on the 2-core development machine.
const hostileRSSBound = 300 << 20

// hostileTraces builds a request of n spans with fresh ids in one trace,
// shaped by f.
func hostileTraces(n int, f func(td ptrace.Traces, sp ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "hostile")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	tid := pcommon.TraceID([16]byte{0x40, 0x57, byte(time.Now().UnixNano()), byte(time.Now().UnixNano() >> 8), 1})
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID([8]byte{0x40, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 1}))
		sp.SetName("op")
		if f != nil && i == 0 {
			f(td, sp)
		}
	}
	return td
}

func protoBytes(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postOTLP sends a body to /v1/traces and returns the status and the
// google.rpc.Status message of an error answer (protobuf field 2).
func postOTLP(t *testing.T, addr, ct, enc string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the collector did not answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	if ct == "application/json" {
		var st struct{ Message string }
		json.Unmarshal(b, &st)
		return resp.StatusCode, st.Message
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		if num == 2 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			return resp.StatusCode, string(v)
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			break
		}
		b = b[n:]
	}
	return resp.StatusCode, ""
}

// metricValue reads one sample of the collector's /metrics (0 when absent).
func metricValue(t *testing.T, p *proc, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+]+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

const spansWritten = `causeway_store_rows_written_total{table="spans"}`

// normalRequest checks that the collector still serves: a request of 5
// spans gets 200 and is stored.
func normalRequest(t *testing.T, p *proc, after string) {
	t.Helper()
	before := metricValue(t, p, spansWritten)
	if code, msg := postOTLP(t, p.httpAddr, "application/x-protobuf", "", protoBytes(t, hostileTraces(5, nil))); code != http.StatusOK {
		t.Fatalf("after %s: a normal request got %d %s", after, code, msg)
	}
	eventually(t, 20*time.Second, func() string {
		if got := metricValue(t, p, spansWritten); got < before+5 {
			return fmt.Sprintf("after %s: %v spans written, want %v", after, got, before+5)
		}
		return ""
	})
}

// vmHWM is the peak resident set of a process, from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// TestHostileInput sends a running `causeway collector` the requests an
// attacker or a broken client would: each gets a clear 4xx naming what is
// wrong (or, for a poison spool record, is quarantined), the collector
// keeps serving (a normal request after each is stored), and its peak
// memory stays under hostileRSSBound. Then, across a restart, a
// quarantined record is not replayed and ingest goes on; `causeway spool`
// lists, summarises, requeues and drops it.
func TestHostileInput(t *testing.T) {
	spoolDir := t.TempDir()
	storeURL := "embedded://" + filepath.ToSlash(filepath.Join(t.TempDir(), "store"))

	// Poison left in the spool before start, as a crash loop would leave
	// it: a record of an unknown kind, and one nested 300,000 deep (past
	// any configurable limit; decoding it would take ~200 MB of stack).
	sp, err := spool.Open(spoolDir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range [][]byte{[]byte("Xnot a record kind"), append([]byte{'T'}, otlptest.DeepProto(300_000, false)...)} {
		if err := sp.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	sp.Close()

	p := startCollector(t, storeURL, spoolDir)
	eventually(t, 20*time.Second, func() string {
		if q := metricValue(t, p, "causeway_spool_quarantined_total"); q != 2 {
			return fmt.Sprintf("%v records quarantined from the spool, want 2", q)
		}
		return ""
	})
	normalRequest(t, p, "quarantining two spooled poison records")

	const pb, js = "application/x-protobuf", "application/json"
	manyAttrs := make([][]byte, 100_000)
	for i := range manyAttrs {
		manyAttrs[i] = otlptest.KeyValue("k"+strconv.Itoa(i), "v")
	}
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 100 { // 100 MiB of zeros in ~100 KiB
		zw.Write(zeros)
	}
	zw.Close()
	valid := protoBytes(t, hostileTraces(10, nil))

	cases := []struct {
		name     string
		ct, enc  string
		body     []byte
		status   int
		contains string
	}{
		{"800,000-deep nested arrays (protobuf)", pb, "", otlptest.DeepProto(800_000, false), 400, "exceed the limit of 16 (collector.limits.max_attr_depth)"},
		{"550,000-deep nested arrays (JSON, 15 MB)", js, "", otlptest.DeepJSON(550_000, false), 400, "(collector.limits.max_attr_depth)"},
		{"400,000-deep nested key-value lists (protobuf)", pb, "", otlptest.DeepProto(400_000, true), 400, "exceed the limit of 16 (collector.limits.max_attr_depth)"},
		{"17-deep key-value lists (JSON)", js, "", otlptest.DeepJSON(17, true), 400, "17 levels of nested arrays and key-value lists exceed the limit of 16 (collector.limits.max_attr_depth)"},
		{"100,000 attributes on one span", pb, "", otlptest.SpanWithRawAttrs(manyAttrs...), 400, "spans[0].attributes: 100000 attributes exceed the limit of 128 (collector.limits.max_attributes)"},
		{"1 MiB attribute key", pb, "", otlptest.SpanWithRawAttrs(otlptest.KeyValue(strings.Repeat("k", 1<<20), "v")), 400, "1048576 key bytes exceed the limit of 1024 (collector.limits.max_key_bytes)"},
		{"10 MB string value", pb, "", otlptest.SpanWithRawAttrs(otlptest.KeyValue("k", strings.Repeat("v", 10_000_000))), 400, "10000000 value bytes exceed the limit of 65536 (collector.limits.max_value_bytes)"},
		{"100,000 spans in one request", pb, "", protoBytes(t, hostileTraces(100_000, nil)), 400, "request: 50001 spans exceed the limit of 50000 (collector.limits.max_spans_per_request)"},
		{"invalid UTF-8 in an array in a key-value list", pb, "", otlptest.SpanWithRawAttrs(
			kvWithValue("outer", otlptest.KVListValue(otlptest.ArrayKeyValue("inner", otlptest.RawStringValue("ok"), otlptest.RawStringValue("\xff\xfe"))))),
			400, `attributes["outer"]["inner"][1]: value is not valid UTF-8`},
		{"10,000 links", pb, "", protoBytes(t, hostileTraces(1, func(_ ptrace.Traces, sp ptrace.Span) {
			for range 10_000 {
				sp.Links().AppendEmpty().SetTraceID(pcommon.TraceID{9})
			}
		})), 400, "10000 links exceed the limit of 128 (collector.limits.max_links_per_span)"},
		{"10,000 events", pb, "", protoBytes(t, hostileTraces(1, func(_ ptrace.Traces, sp ptrace.Span) {
			for range 10_000 {
				sp.Events().AppendEmpty().SetName("e")
			}
		})), 400, "10000 events exceed the limit of 128 (collector.limits.max_events_per_span)"},
		{"5,000 resource attributes", pb, "", protoBytes(t, hostileTraces(1, func(td ptrace.Traces, _ ptrace.Span) {
			a := td.ResourceSpans().At(0).Resource().Attributes()
			a.EnsureCapacity(5000)
			for i := range 5000 {
				a.PutStr("r"+strconv.Itoa(i), strings.Repeat("x", 100))
			}
		})), 400, "resource_spans[0].resource.attributes: 5001 attributes exceed the limit of 128"},
		{"gzip bomb (100 MiB of zeros)", pb, "gzip", bomb.Bytes(), 413, "exceeds"},
		{"truncated protobuf", pb, "", valid[:len(valid)/2], 400, "cannot decode"},
	}
	for _, c := range cases {
		code, msg := postOTLP(t, p.httpAddr, c.ct, c.enc, c.body)
		if code != c.status || !strings.Contains(msg, c.contains) {
			t.Errorf("%s: %d %q\nwant %d with %q", c.name, code, msg, c.status, c.contains)
		}
		normalRequest(t, p, c.name)
	}

	for result, want := range map[string]float64{"limit": 11, "invalid": 1, "too_large": 1, "malformed": 1} {
		if got := metricValue(t, p, `causeway_otlp_requests_total{protocol="http",result="`+result+`"}`); got != want {
			t.Errorf("requests rejected for %s: %v, want %v", result, got, want)
		}
	}

	// Exactly at the span limit: accepted and stored.
	before := metricValue(t, p, spansWritten)
	if code, msg := postOTLP(t, p.httpAddr, pb, "", protoBytes(t, hostileTraces(50_000, nil))); code != http.StatusOK {
		t.Fatalf("50,000 spans (the limit): %d %s", code, msg)
	}
	eventually(t, 60*time.Second, func() string {
		if got := metricValue(t, p, spansWritten); got < before+50_000 {
			return fmt.Sprintf("%v of 50,000 spans written", got-before)
		}
		return ""
	})

	// The same deep request over gRPC.
	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	var raw deepMessage = otlptest.DeepProto(800_000, false)
	err = conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &raw, new(deepMessage), grpc.ForceCodecV2(rawCodec{}))
	conn.Close()
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "max_attr_depth") {
		t.Errorf("gRPC 800,000-deep: %v", err)
	}
	normalRequest(t, p, "the gRPC deep request")

	peak := vmHWM(t, p.cmd.Process.Pid)
	t.Logf("collector peak RSS (VmHWM) over the hostile suite: %d MiB (bound %d MiB)", peak>>20, hostileRSSBound>>20)
	if peak > hostileRSSBound {
		t.Errorf("peak RSS %d MiB over the bound of %d MiB", peak>>20, hostileRSSBound>>20)
	}

	// `causeway spool` while the collector runs: inspect works, requeue
	// says the collector must be stopped.
	out := spoolCmd(t, 0, "inspect", "--dir", spoolDir)
	if !strings.Contains(out, "decode") || strings.Count(out, "\n") != 3 {
		t.Fatalf("inspect lists:\n%s", out)
	}
	list, err := spool.ListQuarantine(spoolDir)
	if err != nil || len(list) != 2 {
		t.Fatalf("quarantine %+v %v", list, err)
	}
	deep := list[1]
	out = spoolCmd(t, 0, "inspect", deep.ID, "--dir", spoolDir)
	var sum struct {
		Reason, Kind string
		Decoded      bool
		DecodeError  string `json:"decode_error"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Kind != "traces" || sum.Decoded || !strings.Contains(sum.DecodeError, "max_attr_depth") {
		t.Fatalf("inspect %s: %v\n%s", deep.ID, err, out)
	}
	out = spoolCmd(t, 1, "requeue", "--all", "--dir", spoolDir)
	if !strings.Contains(out, "running collector") {
		t.Fatalf("requeue while running: %s", out)
	}

	// Restart: the quarantined records are not replayed, ingest goes on.
	p.stop()
	p.start()
	normalRequest(t, p, "a restart")
	if q := metricValue(t, p, "causeway_spool_quarantined_total"); q != 0 {
		t.Errorf("%v records quarantined again after the restart", q)
	}
	if n := metricValue(t, p, "causeway_spool_quarantined_records"); n != 2 {
		t.Errorf("%v records in quarantine, want 2", n)
	}
	p.stop()

	// Requeue one (stopped): it is appended to the spool, leaves the
	// quarantine, and the next run quarantines it again, as it still does
	// not decode. Then drop --all empties the quarantine.
	out = spoolCmd(t, 0, "requeue", list[0].ID, "--dir", spoolDir)
	if !strings.Contains(out, "1 records requeued") {
		t.Fatalf("requeue: %s", out)
	}
	if l, _ := spool.ListQuarantine(spoolDir); len(l) != 1 {
		t.Fatalf("after requeue: %d quarantined, want 1", len(l))
	}
	p.start()
	eventually(t, 20*time.Second, func() string {
		if q := metricValue(t, p, "causeway_spool_quarantined_total"); q != 1 {
			return fmt.Sprintf("requeued record: %v quarantined, want 1", q)
		}
		return ""
	})
	normalRequest(t, p, "a requeued poison record")
	out = spoolCmd(t, 0, "drop", "--all", "--dir", spoolDir)
	if !strings.Contains(out, "2 records dropped") {
		t.Fatalf("drop: %s", out)
	}
	if out = spoolCmd(t, 0, "inspect", "--dir", spoolDir); !strings.Contains(out, "no quarantined records") {
		t.Fatalf("after drop: %s", out)
	}
	spoolCmd(t, 1, "drop", list[0].ID, "--dir", spoolDir) // gone
	spoolCmd(t, 2, "drop", "--dir", spoolDir)             // neither an id nor --all
	p.stop()
}

// kvWithValue encodes a KeyValue whose value is the encoded AnyValue v.
func kvWithValue(key string, v []byte) []byte {
	kv := protowire.AppendTag(nil, 1, protowire.BytesType)
	kv = protowire.AppendString(kv, key)
	kv = protowire.AppendTag(kv, 2, protowire.BytesType)
	return protowire.AppendBytes(kv, v)
}

// spoolCmd runs `causeway spool …` and checks its exit code.
func spoolCmd(t *testing.T, wantCode int, args ...string) string {
	t.Helper()
	cmd := exec.Command(causewayBin, append([]string{"spool"}, args...)...)
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != wantCode {
		t.Fatalf("causeway spool %v: exit %d, want %d: %s", args, code, wantCode, out)
	}
	return string(out)
}

// deepMessage is a raw protobuf message for a gRPC call made with rawCodec,
// as gRPC's own codec would need a generated type.
type deepMessage []byte

type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*deepMessage))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*deepMessage) = data.Materialize()
	return nil
}
