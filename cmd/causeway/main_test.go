package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// causewayBin is the causeway binary built once for every test of this package.
var causewayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "causeway-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	causewayBin = filepath.Join(dir, "causeway")
	out, err := exec.Command("go", "build", "-o", causewayBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building causeway: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	chtest.StopShared()
	os.RemoveAll(dir)
	// The tests' own HTTP clients keep idle connections in the default
	// transport; anything else still running was leaked by a test.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a running causeway collector.
type proc struct {
	t           testing.TB
	cmd         *exec.Cmd
	httpAddr    string
	grpcAddr    string
	metricsAddr string
	args        []string
	log         *brokertest.LogBuffer
	done        chan struct{}
}

// startCollector runs `causeway collector` on free ports with the given
// store and spool directory and waits until it listens.
func startCollector(t testing.TB, storeURL, spoolDir string, extra ...string) *proc {
	t.Helper()
	p := &proc{t: t, httpAddr: freePort(t), grpcAddr: freePort(t), metricsAddr: freePort(t)}
	p.args = append([]string{"collector", "--store", storeURL, "--spool-dir", spoolDir,
		"--otlp-http", p.httpAddr, "--otlp-grpc", p.grpcAddr, "--metrics-addr", p.metricsAddr, "--log-level", "debug"}, extra...)
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(causewayBin, p.args...)
	p.log = &brokertest.LogBuffer{}
	p.cmd.Stderr = p.log
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	ready := make(chan struct{})
	p.done = make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "OTLP/HTTP on") {
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.cmd.Wait(); close(p.done) }()
	select {
	case <-ready:
	case <-p.done:
		p.t.Fatalf("collector exited at start: %s", p.log.String())
	case <-time.After(60 * time.Second):
		p.t.Fatalf("collector not ready after 60 s: %s", p.log.String())
	}
}

// stop interrupts the collector and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.t.Errorf("collector did not stop within 15 s of SIGINT")
		p.kill()
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		p.t.Errorf("collector exit code %d: %s", code, p.log.String())
	}
}

// kill sends SIGKILL, as a crash would.
func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// backend is a store under test.
type backend struct {
	name string
	url  string
	// rows counts the rows of a span table including duplicates, where the
	// backend can tell (ClickHouse); nil otherwise.
	rawSpanCounts func(t testing.TB) (rows, unique uint64)
}

// backends returns the embedded store and a ClickHouse store, each fresh.
func backends(t *testing.T) []backend {
	t.Helper()
	emb := backend{name: "embedded", url: "embedded://" + filepath.ToSlash(filepath.Join(t.TempDir(), "store"))}
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	ch := backend{name: "clickhouse", url: srv.DSN(db), rawSpanCounts: func(t testing.TB) (uint64, uint64) {
		return srv.SpanCounts(t, db)
	}}
	return []backend{emb, ch}
}

// openStore opens a backend's store for reading in the test process.
func openStore(t testing.TB, url string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eventually polls cond until it returns "" or the timeout passes, then
// fails with cond's last message.
func eventually(t testing.TB, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := cond()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countSpans counts the stored spans of the given traces.
func countSpans(t testing.TB, r store.Reader, traces []string) (int, error) {
	n := 0
	for _, tr := range traces {
		s, err := r.Spans(context.Background(), tr, 0)
		if err != nil {
			return 0, err
		}
		n += len(s)
	}
	return n, nil
}

func TestVersionAndUsage(t *testing.T) {
	out, err := exec.Command(causewayBin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "causeway ") {
		t.Fatalf("version: %v %q", err, out)
	}
	cmd := exec.Command(causewayBin, "nope")
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "unknown command") {
		t.Fatalf("unknown command: exit %d %q", cmd.ProcessState.ExitCode(), out)
	}
	cmd = exec.Command(causewayBin, "collector", "--store", "bogus://x", "--spool-dir", t.TempDir(),
		"--otlp-http", freePort(t), "--otlp-grpc", freePort(t))
	out, _ = cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), `unknown scheme "bogus"`) {
		t.Fatalf("bad store URL: exit %d %q", cmd.ProcessState.ExitCode(), out)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "causeway.yaml")
	os.WriteFile(file, []byte("store: embedded:///from-file\nlog_level: warn\ncollector:\n  http_addr: 127.0.0.1:1111\n  grpc_addr: 127.0.0.1:2222\n"), 0o600)
	t.Setenv("CAUSEWAY_CONFIG", file)
	t.Setenv("CAUSEWAY_OTLP_HTTP_ADDR", "127.0.0.1:3333")
	t.Setenv("CAUSEWAY_STORE", "embedded:///from-env")
	s := newSettings("collector")
	if err := s.fs.Parse([]string{"--store", "embedded:///from-flag"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != "embedded:///from-flag" || c.Collector.HTTPAddr != "127.0.0.1:3333" ||
		c.Collector.GRPCAddr != "127.0.0.1:2222" || c.LogLevel != "warn" {
		t.Fatalf("flags > env > file not respected: %+v", c)
	}
	os.WriteFile(file, []byte("stor: typo\n"), 0o600)
	if _, err := newSettings("collector").load(); err == nil || !strings.Contains(err.Error(), "stor") {
		t.Fatalf("unknown key in config file: err = %v", err)
	}
}

// TestStudio runs `causeway studio`, sends a messaging span over OTLP and
// reads it back through the API; a non-loopback bind is refused.
func TestStudio(t *testing.T) {
	out, err := exec.Command(causewayBin, "studio", "--listen", "0.0.0.0:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "loopback") {
		t.Fatalf("studio on 0.0.0.0 without tokens: err %v, %s", err, out)
	}
	dir := t.TempDir()
	listen, httpAddr := freePort(t), freePort(t)
	cmd := exec.Command(causewayBin, "studio", "--listen", listen, "--store", "embedded://"+filepath.ToSlash(filepath.Join(dir, "store")),
		"--spool-dir", filepath.Join(dir, "spool"), "--otlp-http", httpAddr, "--otlp-grpc", freePort(t))
	var log brokertest.LogBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	eventually(t, 30*time.Second, func() string {
		resp, err := http.Get("http://" + listen + "/api/v1/health")
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		return ""
	})
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+listen+"/api/v1/live", http.Header{"Origin": {"wails://wails"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"op": "subscribe", "channel": "events", "filter": map[string]string{"correlation_id": "order-1"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the hub registers the subscription
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},"scopeSpans":[{"spans":[
	 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"publish","kind":4,"startTimeUnixNano":"` + fmt.Sprint(time.Now().UnixNano()) + `",
	  "attributes":[{"key":"messaging.system","value":{"stringValue":"kafka"}},{"key":"messaging.destination.name","value":{"stringValue":"orders.placed"}},
	  {"key":"messaging.message.conversation_id","value":{"stringValue":"order-1"}}]}]}]}]}`
	resp, err := http.Post("http://"+httpAddr+"/v1/traces", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("OTLP post: %v %v", err, resp)
	}
	resp.Body.Close()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var frame struct {
		Channel string        `json:"channel"`
		Data    []event.Event `json:"data"`
	}
	if err := ws.ReadJSON(&frame); err != nil || frame.Channel != "events" || len(frame.Data) != 1 || frame.Data[0].CorrelationID != "order-1" {
		t.Fatalf("live frame %+v, %v", frame, err)
	}
	eventually(t, 30*time.Second, func() string {
		resp, err := http.Get("http://" + listen + "/api/v1/graph?correlation_id=order-1")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"destination":"orders.placed"`) {
			return fmt.Sprintf("%d %s", resp.StatusCode, b)
		}
		return ""
	})
}

// TestStudioTokens: with tokens the studio may bind beyond loopback, and
// every API call (but health) needs a token.
func TestStudioTokens(t *testing.T) {
	dir := t.TempDir()
	_, port, _ := net.SplitHostPort(freePort(t))
	cmd := exec.Command(causewayBin, "studio", "--listen", "0.0.0.0:"+port, "--store", "embedded://"+filepath.ToSlash(filepath.Join(dir, "store")),
		"--spool-dir", filepath.Join(dir, "spool"), "--otlp-http", freePort(t), "--otlp-grpc", freePort(t))
	cmd.Env = append(os.Environ(), "CAUSEWAY_STUDIO_TOKENS=oncall:operator:0123456789abcdef0123")
	var log brokertest.LogBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	base := "http://127.0.0.1:" + port + "/api/v1"
	eventually(t, 30*time.Second, func() string {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return err.Error() + log.String()
		}
		resp.Body.Close()
		return ""
	})
	status := func(path, token string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status("/events", ""); s != 401 {
		t.Errorf("no token: %d", s)
	}
	if s := status("/events", "wrong-token-wrong-token"); s != 401 {
		t.Errorf("wrong token: %d", s)
	}
	if s := status("/events", "0123456789abcdef0123"); s != 200 {
		t.Errorf("operator token: %d", s)
	}
}
