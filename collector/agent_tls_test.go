package collector_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/store/embedded"
)

// TestExportOverGRPCWithTLS: WithGRPC to an https:// collector speaks TLS
// (it used to dial gRPC in plaintext whatever the scheme): with the CA and
// a client certificate the spans reach a collector whose gRPC receiver
// requires mutual TLS.
func TestExportOverGRPCWithTLS(t *testing.T) {
	pki := certtest.New(t)
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir, cfg.FlushInterval = collector.Off, "127.0.0.1:0", t.TempDir(), 20*time.Millisecond
	cfg.TLS = collector.TLSConfig{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}
	col, err := collector.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer col.Shutdown(context.Background())
	a, err := agent.New(ctx, agent.WithService("grpc-tls"), agent.WithGRPC(), agent.WithCollector("https://"+col.GRPCAddr()),
		agent.WithTLS(pki.ClientTLS(true)))
	if err != nil {
		t.Fatal(err)
	}
	_, sp := a.Tracer().Start(ctx, "op")
	tid := sp.SpanContext().TraceID().String()
	sp.End()
	a.Flush(ctx)
	a.Close(ctx)
	if s := a.Stats(); s.Exported != 1 {
		t.Fatalf("over gRPC with mutual TLS: %+v", s)
	}
	for ctx.Err() == nil {
		if spans, _ := st.Spans(ctx, tid, 0); len(spans) == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the span was not stored")
}
