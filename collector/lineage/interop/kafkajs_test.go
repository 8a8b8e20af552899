package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// orders is how many orders each chain carries.
const orders = 20

// kafkajsChain is the chain the Node.js services make, as events.
var kafkajsChain = []hop{
	{"checkout", "orders.a", event.OpPublish},
	{"shipper", "orders.a", event.OpProcess},
	{"shipper", "orders.b", event.OpPublish},
	{"audit", "orders.b", event.OpProcess},
}

// nodeDir is testdata/node with its packages installed (`npm ci` there;
// CI does it in .ci/run). Without node or the packages the test is
// skipped, or fails under CI=true.
func nodeDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "node"))
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "@opentelemetry", "instrumentation-kafkajs")); err != nil {
		missing = "its packages are not installed: run npm ci in " + dir
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Node.js services: " + missing)
		}
		t.Skip("Node.js services: " + missing)
	}
	return dir
}

// runNode runs script's three services (audit, shipper, checkout: the
// consumers first, though they read from the beginning) with env added,
// until each has handled every order.
func runNode(t *testing.T, dir, script string, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env = append(os.Environ(), env...)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	outs := make([]bytes.Buffer, 3)
	for i, role := range []string{"audit", "shipper", "checkout"} {
		cmd := exec.CommandContext(ctx, "node", script, role)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &outs[i], &outs[i]
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Wait(); err != nil {
				errs[i] = fmt.Errorf("%s %s: %w\n%s", script, role, err, outs[i].String())
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// runKafkaJSChain runs the three kafkajs services against brokers,
// exporting their spans to otlp; hook gives checkout the producer hook.
func runKafkaJSChain(t *testing.T, dir string, brokers []string, otlp string, hook bool) {
	t.Helper()
	env := []string{"BROKERS=" + strings.Join(brokers, ","), "OTLP_URL=" + otlp + "/v1/traces", fmt.Sprintf("ORDERS=%d", orders)}
	if hook {
		env = append(env, "CORRELATION_HOOK=1")
	}
	runNode(t, dir, "kafkajs.js", env)
}

// kafkaCluster is a kfake cluster with the chain's two topics.
func kafkaCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders.a", "orders.b"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	return kc
}

// TestKafkaJSChain runs three Node.js services on kafkajs with the official
// OpenTelemetry instrumentation and no hook: nothing carries a correlation
// id, but each record is keyed by its order id, and searching the order id
// finds the chain's four events, connected, as a message key.
//
// Then the same in the UI: in headless Chromium, `/`, an order id typed
// into the search box and Enter show the chain's four events and say the
// id matched the Kafka message key.
func TestKafkaJSChain(t *testing.T) {
	dir := nodeDir(t)
	kc := kafkaCluster(t)
	s := startStudio(t, "", lineage.InheritConfig{})
	runKafkaJSChain(t, dir, kc.ListenAddrs(), s.otlp, false)

	for i := 1; i <= orders; i++ {
		key := fmt.Sprintf("order-%d", i)
		eventually(t, 20*time.Second, func() error {
			g := s.idGraph(key)
			if g.Matched != store.IDMessageKey {
				return fmt.Errorf("%s: matched %q, want %q", key, g.Matched, store.IDMessageKey)
			}
			if err := checkChain(g, key, kafkajsChain); err != nil {
				return err
			}
			for _, n := range g.Nodes {
				// The instrumentation records the cluster id once the
				// client has read it: always on consumer spans, not on
				// a producer's first send.
				if (n.Op == event.OpProcess && n.Cluster != "kfake") || n.CorrelationID != "" {
					return fmt.Errorf("%s: event %s %s %s: cluster %q, correlation %q", key, n.Service, n.Op, n.SpanID, n.Cluster, n.CorrelationID)
				}
			}
			return nil
		})
	}
	eventually(t, 10*time.Second, func() error {
		return s.checkFlows([]string{"checkout", "shipper", "audit"}, []string{"orders.a", "orders.b"},
			[][2]string{{"checkout", "orders.a"}, {"orders.a", "shipper"}, {"shipper", "orders.b"}, {"orders.b", "audit"}})
	})

	searchInUI(t, s, "order-7", kafkajsChain)
}

// TestKafkaJSCorrelationFromFirstProducer: only checkout sets a correlation
// id (the one-line producer hook of docs/compatibility.md copies the
// causeway-correlation-id header into messaging.message.conversation_id);
// shipper and audit have no hook, yet every event of an order is found by
// that correlation id, on both stores.
func TestKafkaJSCorrelationFromFirstProducer(t *testing.T) {
	dir := nodeDir(t)
	for _, backend := range []string{"embedded", "clickhouse"} {
		t.Run(backend, func(t *testing.T) {
			storeURL := ""
			if backend == "clickhouse" {
				storeURL = chtest.Shared(t).DSN(chtest.UniqueDB(t.Name()))
			}
			kc := kafkaCluster(t)
			s := startStudio(t, storeURL, lineage.InheritConfig{})
			runKafkaJSChain(t, dir, kc.ListenAddrs(), s.otlp, true)
			for i := 1; i <= orders; i++ {
				corr := fmt.Sprintf("corr-order-%d", i)
				eventually(t, 20*time.Second, func() error {
					evs := s.eventsByCorrelation(corr)
					if len(evs) != len(kafkajsChain) {
						return fmt.Errorf("%s: %d events, want %d: %+v", corr, len(evs), len(kafkajsChain), evs)
					}
					g := s.idGraph(corr)
					if g.Matched != store.IDCorrelation {
						return fmt.Errorf("%s: matched %q", corr, g.Matched)
					}
					return checkChain(g, fmt.Sprintf("order-%d", i), kafkajsChain)
				})
			}
		})
	}
}

// TestKafkaJSCorrelationFromKey: with lineage.correlation_from_key the
// order id (the root record's key) is the chain's correlation id.
func TestKafkaJSCorrelationFromKey(t *testing.T) {
	dir := nodeDir(t)
	kc := kafkaCluster(t)
	s := startStudio(t, "", lineage.InheritConfig{CorrelationFromKeyDestinations: []string{"orders.a"}})
	runKafkaJSChain(t, dir, kc.ListenAddrs(), s.otlp, false)
	for i := 1; i <= orders; i++ {
		key := fmt.Sprintf("order-%d", i)
		eventually(t, 20*time.Second, func() error {
			g := s.idGraph(key)
			if g.Matched != store.IDCorrelation {
				return fmt.Errorf("%s: matched %q, want %q", key, g.Matched, store.IDCorrelation)
			}
			if err := checkChain(g, key, kafkajsChain); err != nil {
				return err
			}
			if evs := s.eventsByCorrelation(key); len(evs) != len(kafkajsChain) {
				return fmt.Errorf("%s: %d events by correlation id", key, len(evs))
			}
			return nil
		})
	}
}
