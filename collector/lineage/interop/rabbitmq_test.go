package interop

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// freePort returns a loopback TCP port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRabbitMQ starts a private RabbitMQ (Debian's rabbitmq-server) on
// loopback ports for one test, with its own epmd (so nothing outlives the
// test), and returns its AMQP URL. Without rabbitmq-server the test is
// skipped, or fails under CI=true.
func startRabbitMQ(t *testing.T) string {
	t.Helper()
	server, epmd := "/usr/lib/rabbitmq/bin/rabbitmq-server", "epmd"
	if _, err := os.Stat(server); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("rabbitmq-server is not installed")
		}
		t.Skip("rabbitmq-server is not installed")
	}
	dir := t.TempDir()
	amqpPort, distPort, epmdPort := freePort(t), freePort(t), freePort(t)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("enabled_plugins", "[].\n")
	write("rabbitmq.conf", fmt.Sprintf("listeners.tcp.default = 127.0.0.1:%d\n", amqpPort))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start := func(name string, args []string, env []string) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Dir = dir
		// rabbitmq-server is a script that starts the Erlang VM as its
		// child: stop the whole process group, politely.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
		log, _ := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
		cmd.Stdout, cmd.Stderr = log, log
		cmd.WaitDelay = 10 * time.Second
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); cmd.Wait(); log.Close() }()
	}
	// epmd in the foreground, ours: rabbitmq-server would otherwise start
	// a daemon that outlives the test.
	start(epmd, []string{"-port", strconv.Itoa(epmdPort), "-address", "127.0.0.1"}, nil)
	start(server, nil, []string{
		"HOME=" + dir,
		"ERL_EPMD_PORT=" + strconv.Itoa(epmdPort),
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"RABBITMQ_NODENAME=causeway@127.0.0.1",
		"RABBITMQ_USE_LONGNAME=true",
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT=" + strconv.Itoa(amqpPort),
		"RABBITMQ_DIST_PORT=" + strconv.Itoa(distPort),
		"RABBITMQ_MNESIA_BASE=" + filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE=" + filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE=" + filepath.Join(dir, "pid"),
		"RABBITMQ_ENABLED_PLUGINS_FILE=" + filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE=" + filepath.Join(dir, "rabbitmq"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(amqpPort)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "amqp://guest:guest@" + addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "rabbitmq-server.log"))
			t.Fatalf("RabbitMQ did not start: %v\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// amqplibChain is the chain the amqplib services make, as events.
var amqplibChain = []hop{
	{"checkout", "orders.a", event.OpPublish},
	{"shipper", "orders.a", event.OpProcess},
	{"shipper", "orders.b", event.OpPublish},
	{"audit", "orders.b", event.OpProcess},
}

// TestAmqplibChain runs three Node.js services on amqplib traced by the
// official @opentelemetry/instrumentation-amqplib against a private
// RabbitMQ, in its default mode (a consumer span is the child of the
// producer's) and with useLinksForConsume (linked to it). Only checkout
// sets the AMQP correlationId, which the instrumentation records as
// messaging.conversation_id: every event of an order is found by it,
// the downstream ones by inheritance.
func TestAmqplibChain(t *testing.T) {
	dir := nodeDir(t)
	amqpURL := startRabbitMQ(t)
	for _, mode := range []struct {
		name  string
		links bool
	}{{"child", false}, {"links", true}} {
		t.Run(mode.name, func(t *testing.T) {
			s := startStudio(t, "", lineage.InheritConfig{})
			env := []string{"AMQP_URL=" + amqpURL, "OTLP_URL=" + s.otlp + "/v1/traces", fmt.Sprintf("ORDERS=%d", orders)}
			if mode.links {
				env = append(env, "LINKS=1")
			}
			runNode(t, dir, "amqplib.js", env)
			for i := 1; i <= orders; i++ {
				corr := fmt.Sprintf("corr-order-%d", i)
				eventually(t, 20*time.Second, func() error {
					g := s.idGraph(corr)
					if g.Matched != store.IDCorrelation {
						return fmt.Errorf("%s: matched %q", corr, g.Matched)
					}
					if err := checkChain(g, "", amqplibChain); err != nil {
						return err
					}
					if evs := s.eventsByCorrelation(corr); len(evs) != len(amqplibChain) {
						return fmt.Errorf("%s: %d events by correlation id", corr, len(evs))
					}
					for _, n := range g.Nodes {
						if n.System != "rabbitmq" {
							return fmt.Errorf("%s: system %q", corr, n.System)
						}
						if n.Service == "checkout" && n.EventID != strings.Replace(corr, "corr-", "msg-", 1) {
							return fmt.Errorf("%s: checkout's event id %q, want its AMQP messageId", corr, n.EventID)
						}
					}
					return nil
				})
			}
			eventually(t, 10*time.Second, func() error {
				return s.checkFlows([]string{"checkout", "shipper", "audit"}, []string{"orders.a", "orders.b"},
					[][2]string{{"checkout", "orders.a"}, {"orders.a", "shipper"}, {"shipper", "orders.b"}, {"orders.b", "audit"}})
			})
		})
	}
}
