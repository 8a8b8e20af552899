package demo

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/otlp"
	"github.com/causeway-dev/causeway/studio/server"
)

// TestMain fails the package's tests when a goroutine they started (the
// brokers, the shop's services, the sidecar) is still running after the
// last test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestDemoLifecycle: Configure wires a studio's settings for the demo
// (replay brokers, the trusted sidecar, a token when the collector wants
// tokens, the example alert); Start runs the shop and the sidecar, which
// export to the collector URL with that token; Close stops everything.
func TestDemoLifecycle(t *testing.T) {
	d, err := Open(Config{KafkaPort: freePort(t), NATSPort: freePort(t), DataDir: t.TempDir(), OrderEvery: 20 * time.Millisecond,
		Webhook: "http://127.0.0.1:1/hook"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	col := collector.DefaultConfig()
	col.Tokens = []otlp.Token{{Name: "ops", Token: "ops-token-0123456789"}}
	studio := server.DefaultConfig()
	d.Configure(&col, &studio)
	if len(studio.Replay.KafkaBrokers) != 1 || studio.Replay.KafkaBrokers[0] != d.Brokers().KafkaAddr() || studio.Replay.NATSURL != d.Brokers().NATSURL() {
		t.Errorf("replay brokers %q %q", studio.Replay.KafkaBrokers, studio.Replay.NATSURL)
	}
	if len(col.TrustedDLQSources) != 1 || col.TrustedDLQSources[0].Name != SidecarSigner || len(col.TrustedDLQSources[0].Key) < collector.MinDLQKeyLength {
		t.Errorf("trusted sources %+v", col.TrustedDLQSources)
	}
	if len(col.Tokens) != 2 || col.Tokens[1].Name != "demo" {
		t.Fatalf("tokens %+v, want the demo's own added", col.Tokens)
	}
	lag := false
	for _, r := range studio.Alerts.Rules {
		lag = lag || r.ID == LagRule().ID
		if len(r.Webhooks) != 1 || r.Webhooks[0].URL != "http://127.0.0.1:1/hook" {
			t.Errorf("alert rule %s notifies %+v, want the demo's webhook", r.ID, r.Webhooks)
		}
	}
	if !lag || !studio.Alerts.AllowLoopback {
		t.Errorf("alert rules %+v (want the lag rule), allow loopback %v", studio.Alerts.Rules, studio.Alerts.AllowLoopback)
	}

	var traces, metrics, unauthorized atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Header.Get("Authorization") != "Bearer "+col.Tokens[1].Token {
			unauthorized.Add(1)
		}
		switch r.URL.Path {
		case "/v1/traces":
			traces.Add(1)
		case "/v1/metrics":
			metrics.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer sink.Close()
	d.Start(sink.URL)
	for deadline := time.Now().Add(30 * time.Second); traces.Load() == 0 || metrics.Load() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %d trace and %d metric requests", traces.Load(), metrics.Load())
		}
	}
	d.Close()
	if n := unauthorized.Load(); n != 0 {
		t.Errorf("%d requests without the demo's token", n)
	}
	sink.CloseClientConnections()
}
