package otlp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

func startGRPC(t *testing.T, c Consumer, o Options) *grpc.ClientConn {
	t.Helper()
	srv := NewGRPCServer(c, o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop(); <-done })
	return conn
}

func hasRetryInfo(err error) bool {
	for _, d := range status.Convert(err).Details() {
		if _, ok := d.(*errdetails.RetryInfo); ok {
			return true
		}
	}
	return false
}

func TestGRPC(t *testing.T) {
	s := &sink{}
	counters := &Counters{}
	lim := NewLimiter(Limits{})
	conn := startGRPC(t, s, Options{Counters: counters, Limiter: lim, Limits: Limits{MaxDecodedBytes: 1 << 20}})
	client := ptraceotlp.NewGRPCClient(conn)
	ctx := context.Background()
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(4))); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(3)), grpc.UseCompressor(gzip.Name)); err != nil {
		t.Fatalf("gzip: %v", err)
	}
	m := pmetric.NewMetrics()
	m.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptySum().DataPoints().AppendEmpty().SetIntValue(1)
	if _, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(m)); err != nil {
		t.Fatalf("metrics: %v", err)
	}

	badName := traces(1)
	span0(badName).SetName("\xc3\x28")
	noID := traces(1)
	span0(noID).SetTraceID(pcommon.NewTraceIDEmpty())
	big := traces(1)
	span0(big).Attributes().PutStr("blob", strings.Repeat("x", 2<<20))
	for _, c := range []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"invalid UTF-8", func() error {
			_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(badName))
			return err
		}, codes.InvalidArgument},
		{"missing trace id", func() error {
			_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(noID))
			return err
		}, codes.InvalidArgument},
		{"undecodable message", func() error {
			var out rawMessage
			return conn.Invoke(ctx, "/"+traceService+"/Export", rawMessage("\xff\xff\xff\xff"), &out, grpc.ForceCodecV2(rawCodec{}))
		}, codes.InvalidArgument},
		{"undecodable metrics", func() error {
			var out rawMessage
			return conn.Invoke(ctx, "/"+metricsService+"/Export", rawMessage("\x0a\x05ab"), &out, grpc.ForceCodecV2(rawCodec{}))
		}, codes.InvalidArgument},
		{"message over the limit", func() error {
			_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(big))
			return err
		}, codes.ResourceExhausted},
		{"gzip message over the limit", func() error {
			_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(big), grpc.UseCompressor(gzip.Name))
			return err
		}, codes.ResourceExhausted},
		{"unknown method", func() error {
			var out rawMessage
			return conn.Invoke(ctx, "/"+traceService+"/Nope", rawMessage(nil), &out, grpc.ForceCodecV2(rawCodec{}))
		}, codes.Unimplemented},
	} {
		err := c.call()
		if status.Code(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
		if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1))); err != nil {
			t.Fatalf("after %s: %v", c.name, err)
		}
	}

	s.setErr(ErrFull)
	_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1)))
	if status.Code(err) != codes.ResourceExhausted || !hasRetryInfo(err) {
		t.Fatalf("full: %v, want ResourceExhausted with RetryInfo (OTel SDKs drop the data without it)", err)
	}
	s.setErr(errors.New("store broke"))
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1))); status.Code(err) != codes.Unavailable {
		t.Fatalf("failing consumer: %v, want Unavailable", err)
	}
	s.setErr(nil)
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(2))); err != nil {
		t.Fatalf("still serving: %v", err)
	}
	if spans, points := s.count(); spans != 4+3+7+2 || points != 1 {
		t.Fatalf("consumed %d spans %d points", spans, points)
	}
	want := map[string]uint64{"invalid": 2, "malformed": 2, "full": 1, "unavailable": 1}
	if got := counters.Rejected(); len(got) != len(want) || got["invalid"] != 2 || got["malformed"] != 2 || got["full"] != 1 || got["unavailable"] != 1 {
		t.Fatalf("rejected %v, want %v", got, want)
	}
	waitReleased(t, lim)
}

// waitReleased waits for every ticket to be released: gRPC releases them
// when a stream's context ends, just after the client has its answer.
func waitReleased(t *testing.T, lim *Limiter) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); lim.InflightBytes() != 0 || lim.InflightRequests() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("limiter still holds %d bytes, %d requests", lim.InflightBytes(), lim.InflightRequests())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGRPCBusy(t *testing.T) {
	s := &sink{hold: make(chan struct{})}
	counters := &Counters{}
	// Room for one held message of ~2 KiB and a little more.
	lim := NewLimiter(Limits{MaxInflightBytes: 3 << 10, MaxDecodedBytes: 3 << 10, MaxConcurrentRequests: 2, PerPeerShare: 1})
	conn := startGRPC(t, s, Options{Counters: counters, Limiter: lim, Limits: Limits{MaxDecodedBytes: 1 << 20}})
	client := ptraceotlp.NewGRPCClient(conn)
	ctx := context.Background()
	held := traces(1)
	span0(held).Attributes().PutStr("pad", strings.Repeat("x", 2<<10))
	done := make(chan error)
	go func() {
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(held))
		done <- err
	}()
	// Received, the held request is charged its own size…
	for lim.InflightRequests() < 1 {
		time.Sleep(time.Millisecond)
	}
	if b := lim.InflightBytes(); b < 2<<10 || b > 3<<10 {
		t.Fatalf("a received request of ~2 KiB holds %d bytes", b)
	}
	// …so another of that size does not fit, and a small one does.
	_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(held))
	if status.Code(err) != codes.ResourceExhausted || !hasRetryInfo(err) {
		t.Fatalf("over the in-flight bytes: %v, want ResourceExhausted with RetryInfo", err)
	}
	small := make(chan error)
	go func() {
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1)))
		small <- err
	}()
	close(s.hold)
	if err := <-done; err != nil {
		t.Fatalf("held request: %v", err)
	}
	if err := <-small; err != nil {
		t.Fatalf("small request beside the held one: %v", err)
	}
	waitReleased(t, lim)

	// The request count is bounded too.
	s.hold = make(chan struct{})
	lim = NewLimiter(Limits{MaxConcurrentRequests: 1})
	conn = startGRPC(t, s, Options{Counters: counters, Limiter: lim})
	client = ptraceotlp.NewGRPCClient(conn)
	go func() {
		_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1)))
		done <- err
	}()
	for lim.InflightRequests() < 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1))); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second concurrent request: %v, want ResourceExhausted", err)
	}
	close(s.hold)
	if err := <-done; err != nil {
		t.Fatalf("held request: %v", err)
	}
	waitReleased(t, lim)
	if counters.Rejected()["busy"] != 2 {
		t.Fatalf("rejected %v", counters.Rejected())
	}
}
