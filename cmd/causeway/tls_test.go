package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
)

// TestBinariesOverTLSAndSASL runs the real binaries against a kfake
// cluster that requires SCRAM-SHA-512 over TLS: `causeway studio` over
// HTTPS with both OTLP receivers on mutual TLS and replays logging in to
// Kafka (password from a file), and `causeway agent` (password from the
// environment) sending to the receivers with a client certificate. The
// sidecar's dead letter shows in the studio's API over HTTPS. With a wrong
// password the agent exits non-zero and the studio refuses to start, both
// saying the brokers refused the credentials. No output holds a password.
func TestBinariesOverTLSAndSASL(t *testing.T) {
	const user, pass = "causeway", "Scram512-s3cr3t-pw"
	pki := certtest.New(t)
	kc := brokertest.KafkaSCRAM(t, pki, "SCRAM-SHA-512", user, pass, "orders", "orders.dlq")
	brokers := strings.Join(kc.ListenAddrs(), ",")
	studioCmd := func(password string) (*exec.Cmd, *brokertest.LogBuffer, string) {
		f := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(f, []byte(password), 0o600); err != nil {
			t.Fatal(err)
		}
		listen, otlp := freePort(t), freePort(t)
		d := t.TempDir()
		cmd := exec.Command(causewayBin, "studio", "--listen", listen, "--store", "embedded://"+filepath.ToSlash(filepath.Join(d, "store")),
			"--spool-dir", filepath.Join(d, "spool"), "--otlp-http", otlp, "--otlp-grpc", freePort(t), "--replay-kafka-brokers", brokers,
			"--studio.tls.cert-file", pki.ServerCert, "--studio.tls.key-file", pki.ServerKey,
			"--collector.tls.cert-file", pki.ServerCert, "--collector.tls.key-file", pki.ServerKey, "--collector.tls.client-ca-file", pki.CAFile)
		cmd.Env = append(os.Environ(), "CAUSEWAY_STUDIO_REPLAY_KAFKA_SASL=scram-sha-512", "CAUSEWAY_STUDIO_REPLAY_KAFKA_USER="+user,
			"CAUSEWAY_STUDIO_REPLAY_KAFKA_PASSWORD_FILE="+f, "CAUSEWAY_STUDIO_REPLAY_KAFKA_TLS=true",
			"CAUSEWAY_STUDIO_REPLAY_KAFKA_CA_FILE="+pki.CAFile)
		out := &brokertest.LogBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		return cmd, out, listen + " " + otlp
	}
	agentCmd := func(otlp, password string) (*exec.Cmd, *brokertest.LogBuffer) {
		cmd := exec.Command(causewayBin, "agent", "--kafka-brokers", brokers, "--kafka-sasl", "scram-sha-512", "--kafka-user", user,
			"--kafka-tls", "--kafka-ca-file", pki.CAFile, "--collector", "https://"+otlp, "--collector-ca-file", pki.CAFile,
			"--collector-cert-file", pki.ClientCert, "--collector-key-file", pki.ClientKey, "--interval", "200ms", "--metrics-addr", "off")
		cmd.Env = append(os.Environ(), "CAUSEWAY_KAFKA_PASSWORD="+password)
		out := &brokertest.LogBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		return cmd, out
	}

	studio, studioLog, addrs := studioCmd(pass)
	listen, otlp, _ := strings.Cut(addrs, " ")
	if err := studio.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { studio.Process.Signal(os.Interrupt); studio.Wait() }()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.ClientTLS(false)}}
	get := func(path string) (int, string) {
		resp, err := client.Get("https://" + listen + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	eventually(t, 60*time.Second, func() string {
		if code, body := get("/api/v1/health"); code != 200 {
			return fmt.Sprintf("studio health over HTTPS: %d %s\n%s", code, body, studioLog.String())
		}
		return ""
	})

	opts, err := brokerconn.Kafka{SASL: "scram-sha-512", User: user, Password: pass, TLS: true, CAFile: pki.CAFile}.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(kc.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "orders.dlq", Value: []byte(`{"order":9}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	agent, agentLog := agentCmd(otlp, pass)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Signal(os.Interrupt); agent.Wait() }()
	eventually(t, 60*time.Second, func() string {
		if code, body := get("/api/v1/dlq?source=orders.dlq"); code != 200 || !strings.Contains(body, `"source":"orders.dlq"`) {
			return fmt.Sprintf("DLQ over HTTPS: %d %s\nagent: %s\nstudio: %s", code, body, agentLog.String(), studioLog.String())
		}
		return ""
	})
	// The receivers refuse a client without a certificate.
	noCert := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.Pool}}}
	if resp, err := noCert.Post("https://"+otlp+"/v1/traces", "application/x-protobuf", strings.NewReader("")); err == nil {
		resp.Body.Close()
		t.Fatalf("OTLP/HTTP without a client certificate: %d", resp.StatusCode)
	}

	// Wrong passwords: the agent exits, the studio does not start.
	bad, badLog := agentCmd(otlp, "wrong-"+pass)
	if err := bad.Start(); err != nil {
		t.Fatal(err)
	}
	waitExit(t, bad, "agent with a wrong password")
	badStudio, badStudioLog, _ := studioCmd("wrong-" + pass)
	if err := badStudio.Start(); err != nil {
		t.Fatal(err)
	}
	waitExit(t, badStudio, "studio with a wrong replay password")
	for name, out := range map[string]*brokertest.LogBuffer{"agent": badLog, "studio": badStudioLog} {
		if !strings.Contains(out.String(), "kafka refused the credentials") {
			t.Errorf("%s with a wrong password says: %s", name, out.String())
		}
	}
	for name, out := range map[string]*brokertest.LogBuffer{"agent": agentLog, "studio": studioLog, "bad agent": badLog, "bad studio": badStudioLog} {
		if strings.Contains(out.String(), pass) {
			t.Errorf("%s output holds the password:\n%s", name, out.String())
		}
	}
}

// waitExit waits up to a minute for cmd to exit with a non-zero code.
func waitExit(t *testing.T, cmd *exec.Cmd, what string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("%s exited 0", what)
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Errorf("%s still runs after a minute", what)
	}
}

// TestCollectorBinaryOverMutualTLS: `causeway collector` with
// collector.tls (mutual) and the OTel Go SDK configured only by the
// standard environment (OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_CERTIFICATE,
// _CLIENT_KEY): every span sent over OTLP/HTTP and gRPC is stored; a client
// without a certificate gets none through.
func TestCollectorBinaryOverMutualTLS(t *testing.T) {
	pki := certtest.New(t)
	dir := t.TempDir()
	storeURL := "embedded://" + filepath.ToSlash(filepath.Join(dir, "store"))
	c := startCollector(t, storeURL, filepath.Join(dir, "spool"), "--collector.tls.cert-file", pki.ServerCert,
		"--collector.tls.key-file", pki.ServerKey, "--collector.tls.client-ca-file", pki.CAFile)
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", pki.CAFile)
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki.ClientCert)
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", pki.ClientKey)
	ctx := context.Background()
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL("https://"+c.httpAddr+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL("https://"+c.grpcAddr))
	if err != nil {
		t.Fatal(err)
	}
	viaHTTP, viaGRPC := newSDKApp(t, "tls-http", httpExp), newSDKApp(t, "tls-grpc", grpcExp)
	viaHTTP.sendTraces(50, 3)
	viaGRPC.sendTraces(40, 2)
	viaHTTP.shutdown(t)
	viaGRPC.shutdown(t)

	// Without the client certificate: refused in the handshake.
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "")
	t.Setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", "")
	for name, newExp := range map[string]func() (*otlptrace.Exporter, error){
		"http": func() (*otlptrace.Exporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL("https://"+c.httpAddr+"/v1/traces"),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		},
		"grpc": func() (*otlptrace.Exporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL("https://"+c.grpcAddr),
				otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
		},
	} {
		exp, err := newExp()
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider()
		_, sp := tp.Tracer("x").Start(ctx, "refused")
		sp.End()
		if err := exp.ExportSpans(ctx, []sdktrace.ReadOnlySpan{sp.(sdktrace.ReadOnlySpan)}); err == nil {
			t.Errorf("%s without a client certificate: exported", name)
		}
		exp.Shutdown(ctx)
		tp.Shutdown(ctx)
	}

	st := openStore(t, storeURL)
	traces := append(append([]string{}, viaHTTP.traces...), viaGRPC.traces...)
	eventually(t, 30*time.Second, func() string {
		if n, err := countSpans(t, st, traces); err != nil || n != 50*3+40*2 {
			return fmt.Sprintf("stored %d spans (%v), want %d", n, err, 50*3+40*2)
		}
		return ""
	})
	c.stop()
}
