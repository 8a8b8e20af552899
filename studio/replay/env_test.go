package replay_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/sidecar"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/studio/replay"
)

// env is a replay engine wired as in the studio: kfake and an embedded
// JetStream server, an in-process collector writing to an embedded store,
// the sidecar turning DLQ arrivals into stored entries, and the engine
// publishing through an agent that exports to that collector.
type env struct {
	st        *embedded.Store
	collector string
	kafka     []string
	nats      string
	eng       *replay.Engine
	mu        sync.Mutex
	notes     []store.Replay
}

// sidecarKey is the DLQ signing key the env's sidecar and collector share.
const sidecarKey = "0123456789abcdef-test-key"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, topics ...string) *env { return setup(t, true, replay.Config{}, topics...) }

// setup builds an env; without the sidecar, DLQ entries must be written
// to the store by the caller.
func setup(t testing.TB, withSidecar bool, cfg replay.Config, topics ...string) *env {
	t.Helper()
	e := &env{}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	e.kafka = kc.ListenAddrs()
	e.nats = brokertest.JetStream(t, server.Options{}).ClientURL()

	if e.st, err = embedded.Open(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	ccfg := collector.DefaultConfig()
	ccfg.HTTPAddr, ccfg.GRPCAddr, ccfg.SpoolDir, ccfg.FlushInterval = "127.0.0.1:0", collector.Off, t.TempDir(), 50*time.Millisecond
	ccfg.TrustedDLQSources = []collector.TrustedDLQSource{{Name: "test-sidecar", Key: sidecarKey}}
	col, err := collector.New(ccfg, e.st, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.collector = "http://" + col.HTTPAddr()

	ctx, stop := context.WithCancel(context.Background())
	sidecarDone := make(chan struct{})
	go func() {
		defer close(sidecarDone)
		if withSidecar {
			sidecar.Run(ctx, sidecar.Config{KafkaBrokers: e.kafka, NATSURL: e.nats, Collector: e.collector, Interval: 200 * time.Millisecond,
				DLQSigner: "test-sidecar", DLQSigningKey: sidecarKey}, quiet())
		}
	}()
	a := e.agent(t, "causeway-replay")
	cfg.KafkaBrokers, cfg.NATSURL = e.kafka, e.nats
	e.eng, err = replay.New(context.Background(), cfg, e.st, a, func(r store.Replay) {
		e.mu.Lock()
		e.notes = append(e.notes, r)
		e.mu.Unlock()
	}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the engine, then the sidecar and the
	// agents, then the collector (flushing to the store), then the store.
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		col.Shutdown(sctx)
		e.st.Close()
	})
	t.Cleanup(func() { stop(); <-sidecarDone })
	t.Cleanup(e.eng.Close)
	return e
}

// agent returns an agent exporting to the env's collector.
func (e *env) agent(t testing.TB, service string) *agent.Agent {
	a, err := agent.New(context.Background(), agent.WithService(service), agent.WithCollector(e.collector))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	return a
}

func (e *env) client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.kafka...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// eventually polls cond every 50ms for up to 30s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// wait returns the replay once it is done.
func (e *env) wait(t testing.TB, id string) store.Replay {
	t.Helper()
	var r store.Replay
	eventually(t, "replay "+id+" to finish", func() bool {
		var err error
		r, _, err = e.eng.Get(context.Background(), id, -1, 1)
		return err == nil && r.Done()
	})
	return r
}

// dlq returns the stored DLQ entries matching q once there are n.
func (e *env) dlq(t *testing.T, q store.DLQQuery, n int) []store.DLQEntry {
	t.Helper()
	var got []store.DLQEntry
	eventually(t, "DLQ entries", func() bool {
		got = got[:0]
		q.Cursor = ""
		for {
			p, err := e.st.DLQ(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Entries...)
			if p.Next == "" {
				return len(got) >= n
			}
			q.Cursor = p.Next
		}
	})
	if len(got) != n {
		t.Fatalf("%d DLQ entries, want %d", len(got), n)
	}
	return got
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
