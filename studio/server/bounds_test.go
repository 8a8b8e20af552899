package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/studio/api"
	"github.com/causeway-dev/causeway/studio/live"
	"github.com/causeway-dev/causeway/studio/server"
)

// TestReadBoundsFromConfig: studio.query and studio.live reach a running
// studio: since=0 is clamped to the configured max_window, the second
// websocket beyond max_connections=1 gets 503, and bounds out of range
// refuse to start.
func TestReadBoundsFromConfig(t *testing.T) {
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = collector.Off, collector.Off, t.TempDir()
	studio := server.DefaultConfig()
	studio.Listen = "127.0.0.1:0"
	studio.Query.MaxWindow = 3 * time.Hour
	studio.Live.MaxConnections = 1
	srv, err := server.Start(context.Background(), server.Setup{Store: "embedded://" + t.TempDir(), Collector: cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Studio: studio})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())

	resp, err := http.Get(srv.URL() + "/api/v1/flows?since=0")
	if err != nil {
		t.Fatal(err)
	}
	var flows struct{ Window api.Window }
	json.NewDecoder(resp.Body).Decode(&flows)
	resp.Body.Close()
	if w := flows.Window; !w.Clamped || w.Until.Sub(w.Since) != 3*time.Hour {
		t.Fatalf("flows since=0: window %+v, want clamped to 3h", w)
	}

	ws := "ws" + strings.TrimPrefix(srv.URL(), "http") + "/api/v1/live"
	c, _, err := websocket.DefaultDialer.Dial(ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, resp, err = websocket.DefaultDialer.Dial(ws, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second live connection over max_connections 1: %v, %v; want 503", err, resp)
	}

	bad := server.DefaultConfig()
	bad.Listen, bad.Query.MaxEvents, bad.Live = "127.0.0.1:0", 1_000_000, live.Config{QueueBytes: 10}
	_, err = server.Start(context.Background(), server.Setup{Store: "embedded://" + t.TempDir(), Collector: cfg, Studio: bad})
	var usage server.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "max_events") || !strings.Contains(err.Error(), "queue_bytes") {
		t.Fatalf("bounds out of range: %v, want a usage error naming both", err)
	}
}
