package live

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newHub(t *testing.T, opts Options) (*Hub, string) {
	h := NewHub(opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close(context.Background())
		srv.Close()
	})
	return h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url, origin string) *websocket.Conn {
	t.Helper()
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	c, _, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *websocket.Conn) frame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Second)) // sub-second or fail
	var f struct {
		Channel string          `json:"channel"`
		Data    json.RawMessage `json:"data"`
		Message string          `json:"message"`
	}
	if err := c.ReadJSON(&f); err != nil {
		t.Fatalf("no frame within 1 s: %v", err)
	}
	return frame{Channel: f.Channel, Data: f.Data, Message: f.Message}
}

// subscribers counts the clients subscribed to channel.
func subscribers(h *Hub, channel string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for cl := range h.clients {
		cl.mu.Lock()
		if _, ok := cl.subs[channel]; ok {
			n++
		}
		cl.mu.Unlock()
	}
	return n
}

// subscribe subscribes c and waits until the hub has registered it (one
// more subscriber of channel than before).
func subscribe(t *testing.T, h *Hub, c *websocket.Conn, channel string, f Filter) {
	t.Helper()
	before := subscribers(h, channel)
	if err := c.WriteJSON(request{Op: "subscribe", Channel: channel, Filter: f}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); subscribers(h, channel) <= before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("subscription to %s not registered within 2 s", channel)
		}
	}
}

func TestEventsFilteredAndLive(t *testing.T) {
	h, url := newHub(t, Options{})
	c := dial(t, url, "")
	subscribe(t, h, c, ChannelEvents, Filter{CorrelationID: "order-1"})
	a, b := storetest.Event(1, 1), storetest.Event(2, 2)
	a.CorrelationID, b.CorrelationID = "order-1", "order-2"
	h.Publish(&store.Batch{Events: []event.Event{a, b}})
	f := read(t, c)
	var evs []event.Event
	json.Unmarshal(f.Data.(json.RawMessage), &evs)
	if f.Channel != ChannelEvents || len(evs) != 1 || evs[0].CorrelationID != "order-1" {
		t.Fatalf("frame %s %s", f.Channel, f.Data)
	}
}

func TestFlowsLagDLQ(t *testing.T) {
	h, url := newHub(t, Options{})
	c := dial(t, url, "")
	for _, ch := range []string{ChannelFlows, ChannelLag, ChannelDLQ} {
		subscribe(t, h, c, ch, Filter{})
	}
	e := storetest.Event(1, 1)
	h.Publish(&store.Batch{Events: []event.Event{e}, Lag: []store.LagSample{{Group: "g", Lag: 5}},
		DLQ: []store.DLQEntry{{ID: "01", Source: "t.dlq", Payload: []byte("secret")}}})
	got := map[string]string{}
	for i := 0; i < 3; i++ {
		f := read(t, c)
		got[f.Channel] = string(f.Data.(json.RawMessage))
	}
	if !strings.Contains(got[ChannelFlows], `"count":1`) || !strings.Contains(got[ChannelLag], `"lag":5`) ||
		!strings.Contains(got[ChannelDLQ], `"source":"t.dlq"`) || strings.Contains(got[ChannelDLQ], `"payload":`) {
		t.Fatalf("frames %v", got)
	}
}

func TestOrigins(t *testing.T) {
	_, url := newHub(t, Options{AllowedOrigins: []string{"wails://wails"}})
	dial(t, url, "wails://wails")
	hdr := http.Header{"Origin": {"https://evil.example"}}
	_, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: err %v, resp %v", err, resp)
	}
}

func TestBadRequests(t *testing.T) {
	h, url := newHub(t, Options{})
	c := dial(t, url, "")
	c.WriteJSON(request{Op: "subscribe", Channel: "nope"})
	if f := read(t, c); f.Channel != "error" || !strings.Contains(f.Message, "unknown channel") {
		t.Fatalf("frame %+v", f)
	}
	c.WriteJSON(request{Op: "dance", Channel: ChannelEvents})
	if f := read(t, c); f.Channel != "error" || !strings.Contains(f.Message, "unknown op") {
		t.Fatalf("frame %+v", f)
	}
	_ = h
}

// TestSlowClientDoesNotSlowOthers: a client that never reads falls
// behind, is told it is lagging and is disconnected; a reading client gets
// every frame meanwhile.
func TestSlowClientDoesNotSlowOthers(t *testing.T) {
	h, url := newHub(t, Options{Config: Config{QueueFrames: 4}})
	slow, fast := dial(t, url, ""), dial(t, url, "")
	subscribe(t, h, slow, ChannelEvents, Filter{})
	subscribe(t, h, fast, ChannelEvents, Filter{})
	big := make([]event.Event, 200) // large frames fill the slow client's socket buffers
	for i := range big {
		big[i] = storetest.Event(1, i)
		big[i].Attributes = map[string]string{"pad": strings.Repeat("x", 200)}
	}
	const n = 200
	received := make(chan int)
	go func() {
		got := 0
		for got < n {
			fast.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := fast.ReadMessage(); err != nil {
				break
			}
			got++
		}
		received <- got
	}()
	for i := 0; i < n; i++ {
		h.Publish(&store.Batch{Events: big})
		time.Sleep(time.Millisecond)
	}
	if got := <-received; got != n {
		t.Fatalf("fast client got %d of %d frames", got, n)
	}
	if st := h.Stats(); st.SubscribersDropped != 1 || st.FramesDropped == 0 {
		t.Fatalf("stats %+v: want the slow client dropped", st)
	}
	// Now the slow client reads: what was on the wire, then the lagging
	// frame, then the close (1013, try again later).
	lagging := readUntilClosed(t, slow)
	if !lagging {
		t.Fatal("the slow client was never told it was lagging")
	}
}

// readUntilClosed reads c until the server closes it and reports whether
// a lagging frame came last, before a close with code 1013.
func readUntilClosed(t *testing.T, c *websocket.Conn) bool {
	t.Helper()
	lagging := false
	for {
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseTryAgainLater) {
				t.Fatalf("the connection ended with %v, want a close 1013", err)
			}
			return lagging
		}
		lagging = strings.Contains(string(b), `"channel":"lagging"`)
	}
}

func TestReplaysAndAlerts(t *testing.T) {
	h, url := newHub(t, Options{})
	all, one := dial(t, url, ""), dial(t, url, "")
	subscribe(t, h, all, ChannelReplays, Filter{})
	subscribe(t, h, all, ChannelAlerts, Filter{})
	subscribe(t, h, one, ChannelReplays, Filter{ReplayID: "bb"})
	h.PublishReplay("aa", store.Replay{ID: "aa", Sent: 1})
	h.PublishReplay("bb", store.Replay{ID: "bb", Sent: 2})
	h.Broadcast(ChannelAlerts, map[string]string{"state": "firing"}, nil)
	var got []string
	for range 3 {
		f := read(t, all)
		got = append(got, f.Channel+" "+string(f.Data.(json.RawMessage)))
	}
	if !strings.Contains(got[0], `"id":"aa"`) || !strings.Contains(got[1], `"id":"bb"`) || got[2] != `alerts {"state":"firing"}` {
		t.Fatalf("frames %q", got)
	}
	if f := read(t, one); !strings.Contains(string(f.Data.(json.RawMessage)), `"id":"bb"`) {
		t.Fatalf("filtered client got %s", f.Data)
	}
}
