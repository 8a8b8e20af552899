package replay_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/studio/replay"
)

// secureEnv is a store and an agent whose spans go nowhere (the test looks
// at the brokers, not the traces).
func secureEnv(t *testing.T) (*embedded.Store, *agent.Agent) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := agent.New(context.Background(), agent.WithService("causeway-replay"), agent.WithCollector("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return st, a
}

// runReplay replays one DLQ entry and returns the finished replay.
func runReplay(t *testing.T, eng *replay.Engine, id string) store.Replay {
	t.Helper()
	r, _, err := eng.Start(context.Background(), "alice", replay.Request{DLQIDs: []string{id}, Reason: "broker is back"}, "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replay to finish", func() bool {
		r, _, err = eng.Get(context.Background(), r.ID, -1, 1)
		return err == nil && r.Done()
	})
	return r
}

// TestReplayKafkaSASLTLS: with a kfake cluster that requires SCRAM-SHA-256
// over TLS, a replay re-reads a dead letter from the broker and publishes
// it to its original topic; a wrong password fails New with
// brokerconn.ErrKafkaAuth; the password is in no log line.
func TestReplayKafkaSASLTLS(t *testing.T) {
	const user, pass = "causeway-replay", "Replay-s3cr3t-pw"
	pki := certtest.New(t)
	c := brokertest.KafkaSCRAM(t, pki, "SCRAM-SHA-256", user, pass, "orders", "orders.dlq")
	pwFile := brokertest.SecretFile(t, pass)
	conn := brokerconn.Kafka{SASL: brokerconn.SASLScramSHA256, User: user, PasswordFile: pwFile, TLS: true, CAFile: pki.CAFile}
	opts, err := conn.Opts()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.dlq", Value: []byte("poison-order")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	st, a := secureEnv(t)
	// Untrusted, so the replay must read the broker's copy (SASL and TLS
	// on the read path too).
	d := store.DLQEntry{ID: "kafka-sasl-1", TimeNS: 1, System: "kafka", Source: "orders.dlq", SourceOffset: 0, Original: "orders",
		OriginalPartition: -1, OriginalOffset: -1, Reason: "test"}
	if err := st.Write(ctx, &store.Batch{DLQ: []store.DLQEntry{d}}); err != nil {
		t.Fatal(err)
	}
	logs := new(brokertest.LogBuffer)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := replay.New(ctx, replay.Config{KafkaBrokers: c.ListenAddrs(), Kafka: conn}, st, a, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if r := runReplay(t, eng, d.ID); r.State != store.ReplaySucceeded || r.Sent != 1 {
		t.Fatalf("replay over SASL/TLS: %+v; log:\n%s", r, logs)
	}
	cons, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("orders")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	fs := cons.PollRecords(pctx, 10)
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Value) != "poison-order" {
		t.Fatalf("orders holds %d records (%v), want the replayed one", len(recs), fs.Err())
	}

	bad := conn
	bad.PasswordFile = ""
	bad.Password = "wrong-" + pass
	if _, err := replay.New(ctx, replay.Config{KafkaBrokers: c.ListenAddrs(), Kafka: bad}, st, a, nil, log); !errors.Is(err, brokerconn.ErrKafkaAuth) {
		t.Fatalf("wrong password: %v, want brokerconn.ErrKafkaAuth", err)
	} else if strings.Contains(err.Error(), pass) {
		t.Errorf("the error shows the password: %v", err)
	}
	if strings.Contains(logs.String(), pass) {
		t.Errorf("the password is in the log:\n%s", logs)
	}
}

// TestReplayNATSNkeyTLS: with a nats-server that admits one nkey user over
// TLS, a replay re-reads a message from its stream and publishes it again
// to its subject; the seed is in no log line.
func TestReplayNATSNkeyTLS(t *testing.T) {
	pki := certtest.New(t)
	natsURL, seedFile, seed := brokertest.NATSNkey(t, pki)
	conn := brokerconn.NATS{NkeyFile: seedFile, CAFile: pki.CAFile}
	opts, err := conn.Options()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	nc, err := natsgo.Connect(natsURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "orders.new", []byte("poison-order")); err != nil {
		t.Fatal(err)
	}
	st, a := secureEnv(t)
	d := store.DLQEntry{ID: "nats-nkey-1", TimeNS: 1, System: "nats", Source: "ORDERS", SourcePartition: -1, SourceOffset: 1,
		Original: "orders.new", OriginalPartition: -1, OriginalOffset: -1, Reason: "test"}
	if err := st.Write(ctx, &store.Batch{DLQ: []store.DLQEntry{d}}); err != nil {
		t.Fatal(err)
	}
	logs := new(brokertest.LogBuffer)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng, err := replay.New(ctx, replay.Config{NATSURL: natsURL, NATS: conn}, st, a, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if r := runReplay(t, eng, d.ID); r.State != store.ReplaySucceeded || r.Sent != 1 {
		t.Fatalf("replay over nkey/TLS: %+v; log:\n%s", r, logs)
	}
	m, err := stream.GetMsg(ctx, 2)
	if err != nil || string(m.Data) != "poison-order" || m.Subject != "orders.new" {
		t.Fatalf("the stream's second message: %+v, %v; want the replayed one", m, err)
	}
	if strings.Contains(logs.String(), string(seed)) {
		t.Errorf("the nkey seed is in the log:\n%s", logs)
	}
}

// TestReplayNATSRefusedLoginLogged: the replay engine connects to NATS in
// the background (the server may come up later), so a refused login does
// not fail New; it is logged, with the URL's credentials removed.
func TestReplayNATSRefusedLoginLogged(t *testing.T) {
	const pass = "Replay-nats-s3cr3t"
	ns := brokertest.JetStream(t, server.Options{Users: []*server.User{{Username: "replay", Password: pass}}})
	st, a := secureEnv(t)
	logs := new(brokertest.LogBuffer)
	url := strings.Replace(ns.ClientURL(), "nats://", "nats://replay:wrong-"+pass+"@", 1)
	eng, err := replay.New(context.Background(), replay.Config{NATSURL: url}, st, a, nil, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	eventually(t, "the refused login in the log", func() bool {
		return strings.Contains(strings.ToLower(logs.String()), "authorization violation")
	})
	if l := logs.String(); strings.Contains(l, pass) || !strings.Contains(l, "nats://replay:***@") {
		t.Fatalf("the log shows the URL's password, or no redacted URL:\n%s", l)
	}
}
