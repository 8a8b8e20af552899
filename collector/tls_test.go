package collector

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/credentials"

	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
)

// sdkSpans makes n spans as the OpenTelemetry SDK hands them to exporters.
func sdkSpans(n int) []sdktrace.ReadOnlySpan {
	stubs := make(tracetest.SpanStubs, n)
	for i := range stubs {
		s := seq.Add(1)
		stubs[i] = tracetest.SpanStub{Name: "tls-span", StartTime: time.Now(), EndTime: time.Now(),
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: trace.TraceID{1, 2, 3, byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)},
				SpanID:  trace.SpanID{9, byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}, TraceFlags: trace.FlagsSampled})}
	}
	return stubs.Snapshots()
}

// export sends spans with the OTel SDK's exporters, over HTTP and gRPC,
// with client TLS cfg, retries off so a refusal is the answer.
func export(t *testing.T, c *Collector, cfg *tls.Config, spans []sdktrace.ReadOnlySpan) (httpErr, grpcErr error) {
	t.Helper()
	ctx := context.Background()
	he, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(c.HTTPAddr()), otlptracehttp.WithTLSClientConfig(cfg),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}), otlptracehttp.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ge, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(c.GRPCAddr()), otlptracegrpc.WithTLSCredentials(credentials.NewTLS(cfg)),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}), otlptracegrpc.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	half := len(spans) / 2
	httpErr = he.ExportSpans(ctx, spans[:half])
	grpcErr = ge.ExportSpans(ctx, spans[half:])
	he.Shutdown(ctx)
	ge.Shutdown(ctx)
	return httpErr, grpcErr
}

// TestOTLPOverTLS: with collector.tls, the OTel SDK's HTTP and gRPC
// exporters deliver every span to a client that trusts the CA, and a
// plaintext client gets nothing through.
func TestOTLPOverTLS(t *testing.T) {
	pki := certtest.New(t)
	cfg := testConfig(t, t.TempDir())
	cfg.TLS = TLSConfig{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}
	st := &flakyStore{spans: map[string]int{}}
	c := start(t, cfg, st)
	defer shutdown(t, c, 5*time.Second)
	if he, ge := export(t, c, pki.ClientTLS(false), sdkSpans(40)); he != nil || ge != nil {
		t.Fatalf("over TLS: HTTP %v, gRPC %v", he, ge)
	}
	st.check(t, 40)
	// A client that does not know the CA refuses the server.
	if he, ge := export(t, c, &tls.Config{MinVersion: tls.VersionTLS12}, sdkSpans(4)); he == nil || ge == nil {
		t.Fatalf("a client without the CA: HTTP %v, gRPC %v, want both refused", he, ge)
	}
	// An old client (TLS 1.1 at most) cannot connect.
	old := pki.ClientTLS(false)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if he, _ := export(t, c, old, sdkSpans(2)); he == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	st.check(t, 40)
}

// TestOTLPOverMutualTLS: with collector.tls.client_ca_file, a client with
// a certificate the CA signed delivers every span over HTTP and gRPC; one
// without a certificate is refused on both.
func TestOTLPOverMutualTLS(t *testing.T) {
	pki := certtest.New(t)
	cfg := testConfig(t, t.TempDir())
	cfg.TLS = TLSConfig{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}
	st := &flakyStore{spans: map[string]int{}}
	c := start(t, cfg, st)
	defer shutdown(t, c, 5*time.Second)
	if he, ge := export(t, c, pki.ClientTLS(true), sdkSpans(30)); he != nil || ge != nil {
		t.Fatalf("with a client certificate: HTTP %v, gRPC %v", he, ge)
	}
	st.check(t, 30)
	he, ge := export(t, c, pki.ClientTLS(false), sdkSpans(6))
	if he == nil || ge == nil {
		t.Fatalf("without a client certificate: HTTP %v, gRPC %v, want both refused", he, ge)
	}
	t.Logf("refused: HTTP %v; gRPC %v", he, ge)
	st.check(t, 30)
}

// TestTLSConfigValidate: incomplete TLS settings are refused by Validate,
// unreadable files by Start, both as ErrTLSConfig.
func TestTLSConfigValidate(t *testing.T) {
	for _, tc := range []TLSConfig{{CertFile: "c.pem"}, {KeyFile: "k.pem"}, {ClientCAFile: "ca.pem"}} {
		cfg := testConfig(t, t.TempDir())
		cfg.TLS = tc
		if err := cfg.Validate(); !errors.Is(err, ErrTLSConfig) {
			t.Errorf("%+v: Validate = %v, want ErrTLSConfig", tc, err)
		}
	}
	cfg := testConfig(t, t.TempDir())
	cfg.TLS = TLSConfig{CertFile: "/nonexistent/c.pem", KeyFile: "/nonexistent/k.pem"}
	c, err := New(cfg, &flakyStore{spans: map[string]int{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); !errors.Is(err, ErrTLSConfig) {
		t.Fatalf("Start with missing files: %v, want ErrTLSConfig", err)
	}
	shutdown(t, c, 5*time.Second)
}

// BenchmarkHTTPIngestTLS compares OTLP/HTTP ingest of 1,000-span requests
// (4 clients, kept-alive connections) in plaintext, over TLS and over
// mutual TLS, in one run: the cost TLS adds per request.
func BenchmarkHTTPIngestTLS(b *testing.B) {
	pki := certtest.New(b)
	for _, mode := range []string{"plain", "tls", "mtls"} {
		b.Run(mode, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir, cfg.MaxSpoolBytes = "127.0.0.1:0", Off, b.TempDir(), 8<<30
			scheme, clientTLS := "http", (*tls.Config)(nil)
			if mode != "plain" {
				cfg.TLS = TLSConfig{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}
				scheme, clientTLS = "https", pki.ClientTLS(mode == "mtls")
				if mode == "mtls" {
					cfg.TLS.ClientCAFile = pki.CAFile
				}
			}
			c, err := New(cfg, &nopWriter{}, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				c.Shutdown(ctx)
			}()
			body, _ := ptraceotlp.NewExportRequestFromTraces(batchOf(1000)).MarshalProto()
			url := scheme + "://" + c.HTTPAddr() + "/v1/traces"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, TLSClientConfig: clientTLS}}
			defer client.CloseIdleConnections()
			b.SetBytes(int64(len(body)))
			b.SetParallelism(2)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Post(url, "application/x-protobuf", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
