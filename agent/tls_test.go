package agent_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/store/embedded"
)

// TestExportOverMutualTLS: with WithTLS (the test's CA and a client
// certificate) the agent's spans reach an https:// collector that
// requires client certificates; without the certificate they are dropped
// and counted, and the collector sees no request.
func TestExportOverMutualTLS(t *testing.T) {
	pki := certtest.New(t)
	var posts atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	srv.TLS = pki.ServerTLS(true)
	srv.StartTLS()
	defer srv.Close()
	send := func(withCert bool) agent.Stats {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, err := agent.New(ctx, agent.WithService("tls-test"), agent.WithCollector(srv.URL), agent.WithTLS(pki.ClientTLS(withCert)))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(ctx)
		for range 3 {
			_, sp := a.Tracer().Start(ctx, "op")
			sp.End()
		}
		a.Flush(ctx)
		return a.Stats()
	}
	if s := send(true); s.Exported != 3 || posts.Load() == 0 {
		t.Fatalf("with a client certificate: %+v, %d requests", s, posts.Load())
	}
	before := posts.Load()
	if s := send(false); s.Exported != 0 || s.Dropped != 3 || posts.Load() != before {
		t.Fatalf("without a client certificate: %+v, %d new requests", s, posts.Load()-before)
	}
}

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
