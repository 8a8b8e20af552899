package agent_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
)

// TestExportOverMutualTLS: with WithTLS (the test's CA and a client
// certificate) the agent's spans reach an https:// collector that
// requires client certificates; without the certificate they are dropped
// and counted, and the collector sees no request.
func TestExportOverMutualTLS(t *testing.T) {
	pki := certtest.New(t)
	var posts atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	srv.TLS = pki.ServerTLS(true)
	srv.StartTLS()
	defer srv.Close()
	send := func(withCert bool) agent.Stats {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, err := agent.New(ctx, agent.WithService("tls-test"), agent.WithCollector(srv.URL), agent.WithTLS(pki.ClientTLS(withCert)))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(ctx)
		for range 3 {
			_, sp := a.Tracer().Start(ctx, "op")
			sp.End()
		}
		a.Flush(ctx)
		return a.Stats()
	}
	if s := send(true); s.Exported != 3 || posts.Load() == 0 {
		t.Fatalf("with a client certificate: %+v, %d requests", s, posts.Load())
	}
	before := posts.Load()
	if s := send(false); s.Exported != 0 || s.Dropped != 3 || posts.Load() != before {
		t.Fatalf("without a client certificate: %+v, %d new requests", s, posts.Load()-before)
	}
}
