package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/event"
)

const ingestToken = "ingest-token-0123456789abcdef"

// TestExposedIngestNeedsTokens: receivers on a non-loopback address
// without ingest tokens refuse to start, naming the settings.
func TestExposedIngestNeedsTokens(t *testing.T) {
	for _, flagName := range []string{"--otlp-http", "--otlp-grpc"} {
		cmd := exec.Command(causewayBin, "collector", "--store", "embedded://"+t.TempDir(), "--spool-dir", t.TempDir(),
			"--otlp-http", freePort(t), "--otlp-grpc", freePort(t), "--metrics-addr", "off", flagName, "0.0.0.0:0")
		cmd.Env = append(os.Environ(), "CAUSEWAY_INGEST_TOKENS=")
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "collector.tokens") ||
			!strings.Contains(string(out), "--insecure-ingest") {
			t.Fatalf("%s 0.0.0.0:0 without tokens: exit %d, %s", flagName, code, out)
		}
	}
}

// TestIngestTokens: with CAUSEWAY_INGEST_TOKENS the receivers (here on
// all interfaces, reached over loopback) answer 401 / UNAUTHENTICATED
// without a token or with a wrong one and take requests with the right
// one; the OTel SDK configured only through OTEL_EXPORTER_OTLP_HEADERS
// delivers every span over both protocols. The refusals are counted and
// logged without the token.
func TestIngestTokens(t *testing.T) {
	t.Setenv("CAUSEWAY_INGEST_TOKENS", "ci:"+ingestToken)
	storeURL := "embedded://" + t.TempDir()
	httpPort, grpcPort := portOf(t, freePort(t)), portOf(t, freePort(t))
	c := startCollector(t, storeURL, t.TempDir(), "--otlp-http", "0.0.0.0:"+httpPort, "--otlp-grpc", "0.0.0.0:"+grpcPort)
	httpAddr, grpcAddr := "127.0.0.1:"+httpPort, "127.0.0.1:"+grpcPort
	// startCollector's addresses were overridden: wait for the real ones.
	eventually(t, 10*time.Second, func() string {
		if conn, err := net.Dial("tcp", httpAddr); err == nil {
			conn.Close()
			return ""
		}
		return "OTLP/HTTP not listening on " + httpAddr
	})

	body, _ := ptraceotlp.NewExportRequestFromTraces(oneSpan("auth-http")).MarshalProto()
	post := func(auth string) int {
		req, _ := http.NewRequest("POST", "http://"+httpAddr+"/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for auth, want := range map[string]int{"": 401, "Bearer wrong-token-0123456789abc": 401, "Basic " + ingestToken: 401, "Bearer " + ingestToken: 200} {
		if got := post(auth); got != want {
			t.Errorf("OTLP/HTTP with Authorization %q: %d, want %d", auth, got, want)
		}
	}

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := ptraceotlp.NewExportRequestFromTraces(oneSpan("auth-grpc"))
	if _, err := client.Export(ctx, req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("OTLP/gRPC without a token: %v", err)
	}
	if _, err := client.Export(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer nope-nope-nope-nope"), req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("OTLP/gRPC with a wrong token: %v", err)
	}
	if _, err := client.Export(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+ingestToken), req); err != nil {
		t.Errorf("OTLP/gRPC with the token: %v", err)
	}

	// Any OTel SDK: the headers come from the standard variable only.
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20"+ingestToken)
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(httpAddr), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	viaHTTP, viaGRPC := newSDKApp(t, "sdk-http", httpExp), newSDKApp(t, "sdk-grpc", grpcExp)
	viaHTTP.sendTraces(100, 3)
	viaGRPC.sendTraces(100, 2)
	viaHTTP.shutdown(t)
	viaGRPC.shutdown(t)
	st := openStore(t, storeURL)
	traces := append(append([]string{}, viaHTTP.traces...), viaGRPC.traces...)
	eventually(t, 30*time.Second, func() string {
		if n, err := countSpans(t, st, traces); err != nil || n != 500 {
			return fmt.Sprintf("stored spans = %d (err %v), want 500", n, err)
		}
		return ""
	})
	if logs := c.log.String(); strings.Contains(logs, ingestToken) || !strings.Contains(logs, "no valid ingest token") {
		t.Errorf("collector log: token shown, or refusals not logged:\n%s", logs)
	}
	c.stop()
}

// TestSecretsNeverWritten: a DLQ span and an ordinary span carrying every
// default-denied header (and names with token, secret, password,
// session) reach the studio; no secret is in any API answer, in the
// process's output, or in any file of the data directory (spool and
// store), while the DLQ payload is kept for operators.
func TestSecretsNeverWritten(t *testing.T) {
	data := t.TempDir()
	listen, otlpHTTP := freePort(t), freePort(t)
	cmd := exec.Command(causewayBin, "studio", "--store", "embedded://"+filepath.ToSlash(filepath.Join(data, "store")),
		"--spool-dir", filepath.Join(data, "spool"), "--listen", listen, "--otlp-http", otlpHTTP, "--otlp-grpc", "off",
		"--studio.secret-key-file", filepath.Join(data, "secret.key"), "--log-level", "debug")
	var out brokertest.LogBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	eventually(t, 20*time.Second, func() string {
		if resp, err := http.Get("http://" + listen + "/api/v1/health"); err == nil {
			resp.Body.Close()
			return ""
		}
		return "studio not up"
	})

	// A live subscriber sees every stored event of the service.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+listen+"/api/v1/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteJSON(map[string]any{"op": "subscribe", "channel": "events", "filter": map[string]string{"service": "payments"}})
	frames := make(chan string, 100)
	go func() {
		defer close(frames)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			frames <- string(b)
		}
	}()
	time.Sleep(300 * time.Millisecond) // the subscription is in before anything is sent

	const secret = "s3cr3t-VALUE-never-stored"
	headers := []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token",
		"x-amz-security-token", "api_key", "x-session-id", "x-github-token", "db-password", "client-secret"}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "payments")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	traceID := [16]byte{0x5e, 0xc2}
	for i, dlq := range []bool{false, true} {
		sp := spans.AppendEmpty()
		sp.SetTraceID(traceID)
		sp.SetSpanID([8]byte{0x5e, byte(i + 1)})
		sp.SetName("payments process")
		now := time.Now()
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		a := sp.Attributes()
		a.PutStr("messaging.system", "kafka")
		a.PutStr("messaging.operation.type", "process")
		a.PutStr("messaging.destination.name", "payments")
		a.PutStr("messaging.message.conversation_id", "order-secret-1")
		for _, h := range headers {
			a.PutStr("messaging.header."+h, "Bearer "+secret)
			a.PutStr("http.request.header."+h, secret)
			a.PutStr(event.AttrDLQHeaderPrefix+h, secret)
		}
		ev := sp.Events().AppendEmpty()
		ev.SetName("retry")
		ev.Attributes().PutStr("http.request.header.authorization", secret)
		if dlq {
			a.PutBool(event.AttrDLQEntry, true)
			a.PutStr(event.AttrDLQSource, "payments.dlq")
			a.PutInt(event.AttrDLQSourceOffset, 7)
			a.PutStr(event.AttrDLQReason, "card declined")
			a.PutEmptyBytes(event.AttrDLQPayload).FromRaw([]byte(`{"card":"4111-payload-kept"}`))
		}
	}
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	resp, err := http.Post("http://"+otlpHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export: %v %v", resp, err)
	}
	resp.Body.Close()

	get := func(path string) string {
		resp, err := http.Get("http://" + listen + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var dlqID string
	eventually(t, 20*time.Second, func() string {
		d := get("/api/v1/dlq?limit=10")
		if i := strings.Index(d, `"id":"`); i >= 0 {
			dlqID = d[i+6 : i+6+strings.Index(d[i+6:], `"`)]
			return ""
		}
		return "no DLQ entry yet: " + d
	})
	var live []string
	for timeout := time.After(10 * time.Second); len(live) == 0 || !strings.Contains(strings.Join(live, ""), "order-secret-1"); {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("live stream closed after %q", live)
			}
			live = append(live, f)
		case <-timeout:
			t.Fatalf("no live frame of the events: %q", live)
		}
	}
	if strings.Contains(strings.Join(live, ""), secret) {
		t.Errorf("a live frame shows the secret: %q", live)
	}
	answers := map[string]string{}
	for _, p := range []string{"/api/v1/events?correlation_id=order-secret-1", "/api/v1/traces/5ec20000000000000000000000000000",
		"/api/v1/graph?correlation_id=order-secret-1", "/api/v1/dlq?limit=10", "/api/v1/dlq/" + dlqID} {
		answers[p] = get(p)
	}
	if !strings.Contains(answers["/api/v1/traces/5ec20000000000000000000000000000"], "[redacted]") {
		t.Fatalf("the trace does not show redacted attributes: %s", answers["/api/v1/traces/5ec20000000000000000000000000000"])
	}
	if !strings.Contains(answers["/api/v1/dlq/"+dlqID], "4111-payload-kept") && !strings.Contains(answers["/api/v1/dlq/"+dlqID], "payload") {
		t.Fatalf("the DLQ entry lost its payload: %s", answers["/api/v1/dlq/"+dlqID])
	}
	for p, a := range answers {
		if strings.Contains(a, secret) {
			t.Errorf("%s shows the secret: %s", p, a)
		}
	}
	for _, p := range []string{"/api/v1/events?correlation_id=order-secret-1", "/api/v1/traces/5ec20000000000000000000000000000"} {
		if strings.Contains(answers[p], "4111-payload-kept") {
			t.Errorf("%s shows the DLQ payload outside the DLQ entry", p)
		}
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if strings.Contains(out.String(), secret) {
		t.Errorf("the studio's output shows the secret")
	}
	filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Only the owner may read what services sent.
		if fi, err := d.Info(); err == nil && path != data && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is mode %v: others may read it", path, fi.Mode().Perm())
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret", path)
		}
		return nil
	})
}

// portOf is the port of a host:port address.
func portOf(t *testing.T, addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// oneSpan is a request of one plain span of service.
func oneSpan(service string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1, 2, 3})
	sp.SetSpanID([8]byte{4, 5, 6})
	sp.SetName("one")
	return td
}
