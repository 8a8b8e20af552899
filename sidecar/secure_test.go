package sidecar_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/sidecar"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
)

// TestSidecarKafkaSASLTLS runs the sidecar against a kfake cluster that
// requires SCRAM-SHA-256 over TLS (a CA the test made): lag and a DLQ
// arrival are stored, the password came from a file, and no log line holds
// it. A wrong password stops the sidecar with brokerconn.ErrKafkaAuth.
func TestSidecarKafkaSASLTLS(t *testing.T) {
	const user, pass = "causeway-agent", "Kafka-s3cr3t-pw"
	pki := certtest.New(t)
	c := brokertest.KafkaSCRAM(t, pki, "SCRAM-SHA-256", user, pass, "orders.placed", "orders.placed.dlq")
	conn := brokerconn.Kafka{SASL: brokerconn.SASLScramSHA256, User: user, PasswordFile: brokertest.SecretFile(t, pass), TLS: true, CAFile: pki.CAFile}
	opts, err := conn.Opts()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, collectorURL := collectorWithStore(t, 0)
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := 0; i < 12; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.placed", Value: []byte("order")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offs := make(kadm.Offsets)
	offs.Add(kadm.Offset{Topic: "orders.placed", Partition: 0, At: 4, LeaderEpoch: -1})
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, "billing", offs); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.placed.dlq", Value: []byte("poison")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	logs := new(brokertest.LogBuffer)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Config{KafkaBrokers: c.ListenAddrs(), Kafka: conn, Collector: collectorURL,
			Interval: 200 * time.Millisecond}, log)
	}()
	var lag []store.LagSample
	var dlq store.DLQPage
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		lag, _ = st.Lag(ctx, store.LagQuery{Group: "billing"})
		dlq, _ = st.DLQ(ctx, store.DLQQuery{Source: "orders.placed.dlq"})
		if len(lag) > 0 && len(dlq.Entries) == 1 {
			break
		}
	}
	if len(lag) == 0 || len(dlq.Entries) != 1 {
		t.Fatalf("over SASL/TLS: stored %d lag samples and %d DLQ entries; log:\n%s", len(lag), len(dlq.Entries), logs)
	}
	if l := lag[len(lag)-1]; l.Lag != 8 || l.Committed != 4 || l.End != 12 {
		t.Errorf("lag sample %+v, want 8 behind", l)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sidecar: %v", err)
	}

	// A wrong password: the sidecar stops with a clear, typed error.
	bad := conn
	bad.PasswordFile = brokertest.SecretFile(t, "not-the-"+pass)
	errc := make(chan error, 1)
	go func() {
		errc <- sidecar.Run(context.Background(), sidecar.Config{KafkaBrokers: c.ListenAddrs(), Kafka: bad, Collector: collectorURL,
			Interval: 200 * time.Millisecond}, log)
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, brokerconn.ErrKafkaAuth) {
			t.Fatalf("wrong password: %v, want brokerconn.ErrKafkaAuth", err)
		}
		if strings.Contains(err.Error(), pass) {
			t.Errorf("the error shows the password: %v", err)
		}
		t.Logf("wrong password: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the sidecar kept running with a wrong password")
	}
	if strings.Contains(logs.String(), pass) {
		t.Errorf("the password is in the log:\n%s", logs)
	}
}

// TestSidecarNATSNkeyTLS: against a nats-server that admits one nkey user
// over TLS only, the sidecar (seed from a file, the test's CA) stores a
// terminated message as a DLQ entry and the consumer's lag; the seed is in
// no log line; without credentials the sidecar is refused at once.
func TestSidecarNATSNkeyTLS(t *testing.T) {
	pki := certtest.New(t)
	url, seedFile, seed := brokertest.NATSNkey(t, pki)
	conn := brokerconn.NATS{NkeyFile: seedFile, CAFile: pki.CAFile}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, collectorURL := collectorWithStore(t, 0)
	logs := new(brokertest.LogBuffer)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Config{NATSURL: url, NATS: conn, Collector: collectorURL, Interval: 200 * time.Millisecond}, log)
	}()
	opts, err := conn.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc, err := natsgo.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SHIPPING", Subjects: []string{"shipping.>"}})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "shipper", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the sidecar subscribes to advisories
	for _, body := range []string{"bad-label", "ok-1", "ok-2"} {
		if _, err := js.Publish(ctx, "shipping.label", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range b.Messages() {
		m.Term()
	}
	var page store.DLQPage
	var lag []store.LagSample
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		page, _ = st.DLQ(ctx, store.DLQQuery{Source: "SHIPPING"})
		lag, _ = st.Lag(ctx, store.LagQuery{Group: "shipper"})
		if len(page.Entries) == 1 && len(lag) > 0 && lag[len(lag)-1].Lag == 2 {
			break
		}
	}
	if len(page.Entries) != 1 || len(lag) == 0 || lag[len(lag)-1].Lag != 2 {
		t.Fatalf("over nkey/TLS: %d DLQ entries, lag %+v; log:\n%s", len(page.Entries), lag, logs)
	}
	if e, _ := st.DLQEntry(ctx, page.Entries[0].ID); string(e.Payload) != "bad-label" || e.SourceOffset != 1 {
		t.Errorf("DLQ entry %+v", e)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sidecar: %v", err)
	}

	// Without the seed the server refuses the sidecar, and Run says so.
	err = sidecar.Run(context.Background(), sidecar.Config{NATSURL: url, NATS: brokerconn.NATS{CAFile: pki.CAFile},
		Collector: collectorURL}, log)
	if !errors.Is(err, natsgo.ErrAuthorization) {
		t.Fatalf("no credentials: %v, want nats.ErrAuthorization", err)
	}
	if strings.Contains(logs.String(), string(seed)) || strings.Contains(logs.String(), string(seed[:20])) {
		t.Errorf("the nkey seed is in the log:\n%s", logs)
	}
}

// TestSidecarToMutualTLSCollector: the sidecar sends lag and DLQ entries
// to a collector whose receivers require a client certificate, with the
// CA and certificate of --collector-ca-file / --collector-cert-file; a
// sidecar without the certificate gets nothing through (its polls fail).
func TestSidecarToMutualTLSCollector(t *testing.T) {
	pki := certtest.New(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders.placed", "orders.placed.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir, cfg.FlushInterval = "127.0.0.1:0", collector.Off, t.TempDir(), 50*time.Millisecond
	cfg.TLS = collector.TLSConfig{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}
	col, err := collector.New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { col.Shutdown(context.Background()); st.Close() }()
	cl, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.placed.dlq", Value: []byte("poison")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	run := func(ctx context.Context, tlsCfg *tls.Config, counters *sidecar.Counters) chan error {
		done := make(chan error, 1)
		go func() {
			done <- sidecar.Run(ctx, sidecar.Config{KafkaBrokers: c.ListenAddrs(), Collector: "https://" + col.HTTPAddr(), CollectorTLS: tlsCfg,
				Interval: 100 * time.Millisecond, Counters: counters, DLQGroup: fmt.Sprint("watcher-", tlsCfg.Certificates != nil)},
				slog.New(slog.NewTextHandler(io.Discard, nil)))
		}()
		return done
	}
	// Without a client certificate: refused, polls fail.
	noCert, err := brokerconn.ClientTLS(pki.CAFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	offs := make(kadm.Offsets)
	offs.Add(kadm.Offset{Topic: "orders.placed", Partition: 0, At: 0, LeaderEpoch: -1})
	cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.placed", Value: []byte("o")})
	if _, err := kadm.NewClient(cl).CommitOffsets(ctx, "billing", offs); err != nil {
		t.Fatal(err)
	}
	refused := new(sidecar.Counters)
	rctx, rcancel := context.WithCancel(ctx)
	done := run(rctx, noCert, refused)
	for deadline := time.Now().Add(20 * time.Second); refused.Stats().KafkaPollErrors < 2 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	rcancel()
	<-done
	if s := refused.Stats(); s.KafkaPollErrors < 2 {
		t.Fatalf("without a client certificate: %+v, want failed polls", s)
	}
	if p, _ := st.DLQ(ctx, store.DLQQuery{}); len(p.Entries) != 0 {
		t.Fatalf("without a client certificate %d DLQ entries were stored", len(p.Entries))
	}
	// With it: the DLQ entry and lag arrive.
	withCert, err := brokerconn.ClientTLS(pki.CAFile, pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	done = run(ctx, withCert, new(sidecar.Counters))
	var dlq store.DLQPage
	var lag []store.LagSample
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		dlq, _ = st.DLQ(ctx, store.DLQQuery{})
		lag, _ = st.Lag(ctx, store.LagQuery{Group: "billing"})
		if len(dlq.Entries) == 1 && len(lag) > 0 {
			break
		}
	}
	if len(dlq.Entries) != 1 || len(lag) == 0 {
		t.Fatalf("over mutual TLS: %d DLQ entries, %d lag samples", len(dlq.Entries), len(lag))
	}
	cancel()
	<-done
}

// TestSidecarNATSURLCredentialsRedacted: credentials written in the NATS
// URL (user:password, or a token as the user part) still log in, and the
// error of a refused login and every log line show them as ***.
func TestSidecarNATSURLCredentialsRedacted(t *testing.T) {
	const user, pass, token = "watcher", "Url-s3cr3t-pw", "Url-t0ken-s3cr3t"
	s := brokertest.JetStream(t, server.Options{Users: []*server.User{{Username: user, Password: pass}}})
	addr := strings.TrimPrefix(s.ClientURL(), "nats://")
	logs := new(brokertest.LogBuffer)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, collectorURL := collectorWithStore(t, 0)

	// Right credentials in the URL: the sidecar runs.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sidecar.Run(ctx, sidecar.Config{NATSURL: "nats://" + user + ":" + pass + "@" + addr, Collector: collectorURL,
			Interval: 100 * time.Millisecond}, log)
	}()
	time.Sleep(500 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("with the right credentials in the URL: %v", err)
	}
	// Wrong ones: refused, and the error names the URL without them.
	for _, url := range []string{"nats://" + user + ":wrong-" + pass + "@" + addr, "nats://" + token + "@" + addr} {
		err := sidecar.Run(context.Background(), sidecar.Config{NATSURL: url, Collector: collectorURL}, log)
		if !errors.Is(err, natsgo.ErrAuthorization) {
			t.Fatalf("%s: %v, want nats.ErrAuthorization", brokerconn.RedactURL(url), err)
		}
		if strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "***@"+addr) {
			t.Errorf("the error does not hide the URL's credentials: %v", err)
		}
		log.Error("sidecar stopped", "error", err) // as causeway agent logs it
	}
	if strings.Contains(logs.String(), pass) || strings.Contains(logs.String(), token) {
		t.Errorf("credentials in the log:\n%s", logs)
	}
}
