package sidecar_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/sidecar"
	"github.com/causeway-dev/causeway/store"
)

// natsServers starts the embedded nats-server and, where installed,
// Debian's nats-server binary (required under CI=true), each with
// JetStream in a temp dir; it returns their client URLs by name.
func natsServers(t *testing.T) map[string]string {
	urls := map[string]string{}
	urls["embedded"] = brokertest.JetStream(t, server.Options{}).ClientURL()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI requires Debian's nats-server (apt-get install nats-server)")
		}
		return urls
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if nc, err := natsgo.Connect(url); err == nil {
			nc.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Debian nats-server on %s not ready", url)
		}
	}
	urls["debian"] = url
	return urls
}

// TestSidecarNATS: a JetStream consumer that naks a message until
// MaxDeliver and terminates another; the sidecar turns both advisories
// into stored DLQ entries with their payloads, and reports the consumer's
// pending messages as lag.
func TestSidecarNATS(t *testing.T) {
	for name, url := range natsServers(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st, collectorURL := collectorWithStore(t, 0)
			done := make(chan error, 1)
			go func() {
				done <- sidecar.Run(ctx, sidecar.Config{NATSURL: url, Collector: collectorURL, Interval: 200 * time.Millisecond},
					slog.New(slog.NewTextHandler(io.Discard, nil)))
			}()

			nc, err := natsgo.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "INVENTORY", Subjects: []string{"inventory.>"}})
			if err != nil {
				t.Fatal(err)
			}
			cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "reserver", AckPolicy: jetstream.AckExplicitPolicy,
				MaxDeliver: 2, AckWait: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // the sidecar subscribes to advisories
			for i, body := range []string{"poison-sku", "bad-json", "ok-1", "ok-2", "ok-3"} {
				if _, err := js.Publish(ctx, fmt.Sprintf("inventory.reserve.%d", i), []byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			// deliver the first message twice (nak), terminate the second
			for handled := 0; handled < 3; {
				b, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				for m := range b.Messages() {
					switch string(m.Data()) {
					case "poison-sku":
						m.Nak()
					case "bad-json":
						m.Term()
					}
					handled++
				}
			}
			// The server notices MaxDeliver on a later delivery attempt:
			// keep pulling (leaving what arrives unacknowledged) until
			// both entries are stored.
			deadline := time.Now().Add(20 * time.Second)
			var page store.DLQPage
			var lag []store.LagSample
			for time.Now().Before(deadline) {
				if b, err := cons.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond)); err == nil {
					for range b.Messages() {
					}
				}
				page, _ = st.DLQ(ctx, store.DLQQuery{Source: "INVENTORY"})
				lag, _ = st.Lag(ctx, store.LagQuery{Group: "reserver"})
				seqs := map[int64]bool{}
				for _, e := range page.Entries {
					seqs[e.SourceOffset] = true
				}
				if seqs[1] && seqs[2] && len(lag) > 0 && lag[len(lag)-1].Lag >= 3 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			// Later messages left unacknowledged may reach MaxDeliver too;
			// the two handled above must be there.
			if len(page.Entries) < 2 {
				t.Fatalf("%d DLQ entries from JetStream advisories, want at least 2: %+v", len(page.Entries), page.Entries)
			}
			got := map[string]store.DLQEntry{}
			for _, e := range page.Entries {
				full, err := st.DLQEntry(ctx, e.ID)
				if err != nil {
					t.Fatal(err)
				}
				got[string(full.Payload)] = full
			}
			if e := got["poison-sku"]; e.Original != "inventory.reserve.0" || e.SourceOffset != 1 || e.Deliveries != 2 || e.System != "nats" {
				t.Errorf("max-deliveries entry %+v", e)
			}
			if e := got["bad-json"]; e.Original != "inventory.reserve.1" || e.SourceOffset != 2 {
				t.Errorf("terminated entry %+v", e)
			}
			if l := lag[len(lag)-1]; l.System != "nats" || l.Topic != "INVENTORY" || l.Lag < 3 {
				t.Errorf("JetStream lag sample %+v, want the 3 unhandled messages", l)
			}
			cancel()
			<-done
		})
	}
}
