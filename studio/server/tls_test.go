package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/studio/server"
)

// TestStudioOverHTTPS: with studio.tls the studio answers /api/v1/health
// over HTTPS to a client that trusts the test CA, reports an https:// URL,
// and a plaintext request gets no API answer; with client_ca_file a
// client without a certificate is refused during the handshake.
func TestStudioOverHTTPS(t *testing.T) {
	pki := certtest.New(t)
	for _, mutual := range []bool{false, true} {
		name := map[bool]string{false: "tls", true: "mtls"}[mutual]
		t.Run(name, func(t *testing.T) {
			cfg := collector.DefaultConfig()
			cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", collector.Off, t.TempDir()
			tlsCfg := collector.TLSConfig{CertFile: pki.ServerCert, KeyFile: pki.ServerKey}
			if mutual {
				tlsCfg.ClientCAFile = pki.CAFile
			}
			srv, err := server.Start(context.Background(), server.Setup{Store: "embedded://" + t.TempDir(), Collector: cfg,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Studio: server.Config{Listen: "127.0.0.1:0", TLS: tlsCfg}})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Shutdown(context.Background())
			if !strings.HasPrefix(srv.URL(), "https://127.0.0.1:") {
				t.Fatalf("URL %s, want https://", srv.URL())
			}
			get := func(c *tls.Config, url string) (*http.Response, error) {
				tr := &http.Transport{TLSClientConfig: c}
				defer tr.CloseIdleConnections()
				cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
				resp, err := cl.Get(url + "/api/v1/health")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				return resp, err
			}
			resp, err := get(pki.ClientTLS(mutual), srv.URL())
			if err != nil || resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
				t.Fatalf("GET /api/v1/health over HTTPS: %v %v", resp, err)
			}
			// The live websocket upgrades over the same TLS connection.
			d := websocket.Dialer{TLSClientConfig: pki.ClientTLS(mutual), HandshakeTimeout: 10 * time.Second}
			ws, wresp, err := d.Dial("wss://"+strings.TrimPrefix(srv.URL(), "https://")+"/api/v1/live", nil)
			if err != nil {
				t.Fatalf("wss live: %v %v", wresp, err)
			}
			ws.Close()
			if resp, err := get(nil, "http://"+strings.TrimPrefix(srv.URL(), "https://")); err == nil && resp.StatusCode == 200 {
				t.Fatal("plain HTTP got an API answer")
			}
			if resp, err := get(&tls.Config{MinVersion: tls.VersionTLS12}, srv.URL()); err == nil {
				t.Fatalf("a client that does not trust the CA connected: %d", resp.StatusCode)
			}
			if mutual {
				if resp, err := get(pki.ClientTLS(false), srv.URL()); err == nil {
					t.Fatalf("mutual TLS: a client without a certificate got %d", resp.StatusCode)
				}
			}
		})
	}
}
