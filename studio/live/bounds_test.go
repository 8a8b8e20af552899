package live

import (
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestNeverReadingClientBounded: a client that subscribes to a busy events
// channel and never reads is dropped as lagging, and the hub holds at most
// its queue's byte bound for it meanwhile: ~50 MB of frames published
// leave the heap less than 16 MiB larger (before the fix, every frame up
// to 256 of them stayed queued: all 50 MB).
func TestNeverReadingClientBounded(t *testing.T) {
	h, url := newHub(t, Options{Config: Config{WriteTimeout: 5 * time.Second}})
	c := dial(t, url, "")
	subscribe(t, h, c, ChannelEvents, Filter{})
	batch := make([]event.Event, 2000)
	for i := range batch {
		batch[i] = storetest.Event(1, i)
		batch[i].Attributes = map[string]string{"pad": strings.Repeat("x", 200)}
	}
	frame, _ := json.Marshal(frame{Channel: ChannelEvents, Data: batch})
	const batches = 60
	before := heapAlloc()
	for i := 0; i < batches; i++ {
		h.Publish(&store.Batch{Events: batch})
	}
	after := heapAlloc()
	grown := int64(after) - int64(before)
	t.Logf("published %d batches of %d bytes (%.1f MB); heap %+.1f MiB; stats %+v",
		batches, len(frame), float64(batches*len(frame))/1e6, float64(grown)/(1<<20), h.Stats())
	if grown > 16<<20 {
		t.Fatalf("the hub holds %d bytes more for a client that never reads (bound 16 MiB)", grown)
	}
	if st := h.Stats(); st.SubscribersDropped != 1 || st.FramesDropped == 0 {
		t.Fatalf("stats %+v: want the client dropped as lagging", st)
	}
	// Its connection goes: the blocked write times out (or the client
	// reads, gets the lagging frame and the close).
	for deadline := time.Now().Add(20 * time.Second); h.Stats().Subscribers != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the lagging client is still connected: %+v", h.Stats())
		}
	}
	runtime.KeepAlive(batch)
}

// TestConnectionCap: beyond max_connections the upgrade is answered 503
// with a JSON error; a freed slot takes a new client.
func TestConnectionCap(t *testing.T) {
	h, url := newHub(t, Options{Config: Config{MaxConnections: 2}})
	first := dial(t, url, "")
	dial(t, url, "")
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: err %v, resp %v; want 503", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"code":"too_many_connections"`) || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("503 body %s, headers %v", body, resp.Header)
	}
	if st := h.Stats(); st.Rejected != 1 || st.Subscribers != 2 {
		t.Fatalf("stats %+v: want 1 rejected, 2 subscribers", st)
	}
	first.Close()
	for deadline := time.Now().Add(5 * time.Second); h.Stats().Subscribers != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the closed client still counts: %+v", h.Stats())
		}
	}
	dial(t, url, "") // the freed slot
}

// TestBigBatchSplit: a batch bigger than a quarter of the queue's byte
// bound reaches a reading client whole, in several frames, none of them
// over that size unless it holds a single event.
func TestBigBatchSplit(t *testing.T) {
	h, url := newHub(t, Options{Config: Config{QueueBytes: 64 << 10}})
	c := dial(t, url, "")
	subscribe(t, h, c, ChannelEvents, Filter{})
	batch := make([]event.Event, 500)
	for i := range batch {
		batch[i] = storetest.Event(1, i)
	}
	h.Publish(&store.Batch{Events: batch})
	got, frames := 0, 0
	for got < len(batch) {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d events in %d frames: %v", got, frames, err)
		}
		var f struct {
			Data []event.Event `json:"data"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		if len(b) > 16<<10 && len(f.Data) > 1 {
			t.Fatalf("a frame of %d bytes with %d events", len(b), len(f.Data))
		}
		got += len(f.Data)
		frames++
	}
	if got != len(batch) || frames < 2 || h.Stats().SubscribersDropped != 0 {
		t.Fatalf("%d events in %d frames, stats %+v", got, frames, h.Stats())
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{MaxConnections: -1}, {QueueFrames: -2}, {QueueBytes: 100}, {WriteTimeout: -time.Second}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
}
