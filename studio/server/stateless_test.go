package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/otlp/otlptest"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/studio/server"
)

// TestStatelessStudios runs two studios over one ClickHouse database and
// one Kafka ingest topic, as behind a load balancer: spans sent to either
// studio's collector reach both studios' live streams and both APIs.
func TestStatelessStudios(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	dsn := chtest.Shared(t).DSN(chtest.UniqueDB(t.Name()))
	var studios []*server.Server
	for range 2 {
		cfg := collector.DefaultConfig()
		cfg.HTTPAddr, cfg.GRPCAddr, cfg.FlushInterval = "127.0.0.1:0", collector.Off, 50*time.Millisecond
		cfg.Ingest = "kafka://" + kc.ListenAddrs()[0] + "/otlp?partitions=4"
		s, err := server.Start(context.Background(), server.Setup{Store: dsn, Collector: cfg,
			Studio: server.Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s.Shutdown(ctx)
		}()
		studios = append(studios, s)
	}
	var sockets []*websocket.Conn
	for _, s := range studios {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+"/api/v1/live", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		ws.WriteJSON(map[string]any{"op": "subscribe", "channel": "events", "filter": map[string]string{"service": "lb-test"}})
		sockets = append(sockets, ws)
	}
	time.Sleep(time.Second) // the tails start from the topic's end: let them get there

	body, _ := otlptest.Publishes("lb-test", "orders", 7, 10, 1)
	resp, err := http.Post("http://"+studios[0].Collector().HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("OTLP post: %v %v", resp, err)
	}
	resp.Body.Close()

	for i, ws := range sockets {
		got := 0
		ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		for got < 10 {
			var f struct {
				Channel string
				Data    []json.RawMessage
			}
			if err := ws.ReadJSON(&f); err != nil {
				t.Fatalf("studio %d's live stream: %d of 10 events, then %v", i+1, got, err)
			}
			got += len(f.Data)
		}
	}
	for i, s := range studios {
		deadline := time.Now().Add(20 * time.Second)
		for {
			var page struct{ Events []json.RawMessage }
			r, err := http.Get(s.URL() + "/api/v1/events?service=lb-test")
			if err == nil {
				json.NewDecoder(r.Body).Decode(&page)
				r.Body.Close()
			}
			if len(page.Events) == 10 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("studio %d's API shows %d of 10 events", i+1, len(page.Events))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
