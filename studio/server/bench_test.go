package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/otlp/otlptest"
	"github.com/causeway-dev/causeway/studio/server"
)

// BenchmarkLiveLatency sends 10,000 messaging spans per second (a request
// of 100 every 10 ms) to a studio's collector over OTLP/HTTP and reports
// the p50 and p99 time from sending a span to receiving its event over
// the live websocket: decode, spool, derive, store (embedded) and fan-out.
func BenchmarkLiveLatency(b *testing.B) {
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", collector.Off, b.TempDir()
	srv, err := server.Start(context.Background(), server.Setup{Store: "embedded://" + b.TempDir(), Collector: cfg,
		Studio: server.Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL(), "http")+"/api/v1/live", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	ws.WriteJSON(map[string]string{"op": "subscribe", "channel": "events"})
	time.Sleep(100 * time.Millisecond)

	var mu sync.Mutex
	sent := map[string]time.Time{}
	var lat []time.Duration
	received := make(chan struct{})
	go func() {
		defer close(received)
		for {
			var f struct {
				Channel string
				Data    []struct {
					SpanID string `json:"span_id"`
				}
			}
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			now := time.Now()
			mu.Lock()
			for _, e := range f.Data {
				if t, ok := sent[e.SpanID]; ok {
					lat = append(lat, now.Sub(t))
					delete(sent, e.SpanID)
				}
			}
			mu.Unlock()
		}
	}()
	url := "http://" + srv.Collector().HTTPAddr() + "/v1/traces"
	const perRequest = 100
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		<-tick.C
		body, ids := otlptest.Publishes("orders", "orders.placed", uint32(i), perRequest, perRequest)
		at := time.Now()
		mu.Lock()
		for _, id := range ids {
			sent[id] = at
		}
		mu.Unlock()
		go func() {
			resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		left := len(sent)
		mu.Unlock()
		if left == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	ws.Close()
	<-received
	mu.Lock()
	defer mu.Unlock()
	if len(sent) > 0 {
		b.Fatalf("%d spans never showed up on the live channel", len(sent))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "events/s")
}
