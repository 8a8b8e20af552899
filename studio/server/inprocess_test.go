package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/store/embedded"
)

// TestReplaySpansReachAnMTLSCollector: with the receivers on mutual TLS
// the replay agent cannot dial them (it has no client certificate), so
// its spans go to the OTLP/HTTP handler in-process, and are stored.
func TestReplaySpansReachAnMTLSCollector(t *testing.T) {
	pki := certtest.New(t)
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir, cfg.FlushInterval = "127.0.0.1:0", collector.Off, t.TempDir(), 20*time.Millisecond
	cfg.TLS = collector.TLSConfig{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}
	col, err := collector.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer col.Shutdown(ctx)
	a, err := replayAgent(ctx, col)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	exp, err := inProcessExporter(ctx, col.Handler(), col.InternalToken())
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	tid := trace.TraceID{7, 7, 7, 1}
	spans := tracetest.SpanStubs{{Name: "replay publish", StartTime: time.Now(), EndTime: time.Now(),
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled})}}.Snapshots()
	if err := exp.ExportSpans(ctx, []sdktrace.ReadOnlySpan(spans)); err != nil {
		t.Fatalf("in-process export: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, _ := st.Spans(ctx, tid.String(), 0)
		if len(got) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the span exported in-process was not stored")
		}
	}
}
