package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/studio/server"
)

// TestStudioTimeoutsAndReadiness: with a 500 ms request read timeout, a
// body trickled to the API is cut off within it, while a live websocket
// opened before keeps delivering frames long after; /api/v1/health and
// /api/v1/ready answer the collector's state.
func TestStudioTimeoutsAndReadiness(t *testing.T) {
	defer server.SetReadTimeout(500 * time.Millisecond)()
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", collector.Off, t.TempDir()
	srv, err := server.Start(context.Background(), server.Setup{Store: "embedded://" + t.TempDir(), Collector: cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Studio: server.Config{Listen: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	base := srv.URL() + "/api/v1"

	for path, want := range map[string]int{"/health": 200, "/ready": 200} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var h collector.Health
		err = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if err != nil || resp.StatusCode != want || h.Status != collector.HealthOK || !h.Ready {
			t.Fatalf("%s: %d %+v (%v)", path, resp.StatusCode, h, err)
		}
	}

	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http", "ws", 1)+"/live", http.Header{"Origin": {"wails://wails"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"op": "subscribe", "channel": "events", "filter": map[string]string{"correlation_id": "slow-1"}}); err != nil {
		t.Fatal(err)
	}

	// A body trickled at a byte per 100 ms is cut off by the read timeout.
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v1/replays HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", strings.TrimPrefix(srv.URL(), "http://"))
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a trickled body held the connection %s (answer %v, %v)", took, resp, err)
	}

	// Past twice the read timeout, the websocket still delivers frames.
	time.Sleep(time.Second)
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},"scopeSpans":[{"spans":[
	 {"traceId":"5b8efff798038103d269b633813fc60d","spanId":"eee19b7ec3c1b175","name":"publish","kind":4,"startTimeUnixNano":"` + fmt.Sprint(time.Now().UnixNano()) + `",
	  "attributes":[{"key":"messaging.system","value":{"stringValue":"kafka"}},{"key":"messaging.destination.name","value":{"stringValue":"orders.placed"}},
	  {"key":"messaging.message.conversation_id","value":{"stringValue":"slow-1"}}]}]}]}]}`
	post, err := http.Post("http://"+srv.Collector().HTTPAddr()+"/v1/traces", "application/json", strings.NewReader(body))
	if err != nil || post.StatusCode != 200 {
		t.Fatalf("OTLP post: %v %v", err, post)
	}
	post.Body.Close()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var frame struct {
			Channel string        `json:"channel"`
			Data    []event.Event `json:"data"`
		}
		if err := ws.ReadJSON(&frame); err != nil {
			t.Fatalf("live websocket after %s: %v", time.Since(start), err)
		}
		if frame.Channel == "events" && len(frame.Data) == 1 && frame.Data[0].CorrelationID == "slow-1" {
			break
		}
	}
}
