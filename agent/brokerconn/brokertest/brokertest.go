// Package brokertest starts brokers that demand credentials and TLS, for
// tests of the clients brokerconn configures: a kfake Kafka cluster with
// SCRAM users and an embedded nats-server with an nkey user; and the one
// embedded JetStream server every NATS test starts.
package brokertest

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
)

// KafkaSCRAM starts a one-broker kfake cluster that admits only user with
// pass by SCRAM (mechanism "SCRAM-SHA-256" or "SCRAM-SHA-512"), over TLS
// with pki's server certificate, with topics made (one partition each). It
// is closed at cleanup.
func KafkaSCRAM(t testing.TB, pki *certtest.PKI, mechanism, user, pass string, topics ...string) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mechanism, user, pass), kfake.TLS(pki.ServerTLS(false))}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(1, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// NATSNkey starts an embedded nats-server with JetStream that admits only
// one nkey user, over TLS with pki's server certificate; it returns the
// client URL, a file (0600) holding the user's seed, and the seed. It is
// shut down at cleanup.
func NATSNkey(t testing.TB, pki *certtest.PKI) (url, seedFile string, seed []byte) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ = kp.Seed()
	seedFile = filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	s := JetStream(t, server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}, TLS: true, TLSConfig: pki.ServerTLS(false), TLSTimeout: 5})
	return s.ClientURL(), seedFile, seed
}

// JetStream starts an embedded nats-server with JetStream on a free
// loopback port, storing in a temp dir, quiet and without signal
// handlers; opts adds the rest (users, nkeys, TLS). It returns once the
// server takes connections and shuts it down at cleanup.
func JetStream(t testing.TB, opts server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, t.TempDir(), true, true
	s, err := server.NewServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// SecretFile writes secret (and a newline) into a 0600 file of its own,
// as an operator would hand a password to a *_file setting.
func SecretFile(t testing.TB, secret string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// LogBuffer collects what several goroutines write (a logger's or a
// process's output), for tests that look through it for secrets.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
