// Package live is the studio's websocket hub at /api/v1/live: clients
// subscribe to channels and receive what the collector stores, as it is
// stored.
//
// Protocol (JSON text frames). Client to server:
//
//	{"op":"subscribe","channel":"events","filter":{"correlation_id":"order-8123"}}
//	{"op":"unsubscribe","channel":"events"}
//
// Channels: "events" (filter fields: correlation_id, trace_id, service,
// destination, event_type, outcome), "flows" (per-batch flow deltas),
// "lag" (lag samples; filter: group), "dlq" (DLQ arrivals, without
// payloads; filter: source), "replays" (replay progress; filter:
// replay_id) and "alerts" (alert events as rules fire and resolve).
// Server to client:
//
//	{"channel":"events","data":[…]}
//	{"channel":"lagging","message":"…"}  this client fell behind: it is disconnected
//	{"channel":"error","message":"…"}
//
// Every client has a queue bounded in frames and in bytes. A client too
// slow to keep up (its queue full: it stopped reading, or reads slower
// than the studio stores) gets a "lagging" frame and is disconnected with
// close code 1013 (try again later); its queue is freed at once. It may
// reconnect and refetch over the REST API. Frames are never buffered
// beyond the bounds and a slow client never slows the others down. Large
// batches are split into frames of at most a quarter of the byte bound.
//
// The hub accepts at most Config.MaxConnections clients; beyond that the
// upgrade is answered 503 with a JSON error (code "too_many_connections").
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Channels a client can subscribe to.
const (
	ChannelEvents  = "events"
	ChannelFlows   = "flows"
	ChannelLag     = "lag"
	ChannelDLQ     = "dlq"
	ChannelReplays = "replays"
	ChannelAlerts  = "alerts"
	// ChannelJourneys carries the journey ledger's updates (filter: journey).
	ChannelJourneys = "journeys"
)

// channels are the channels a client may subscribe to.
var channels = []string{ChannelEvents, ChannelFlows, ChannelLag, ChannelDLQ, ChannelReplays, ChannelAlerts, ChannelJourneys}

// Channels lists the channels a client can subscribe to.
func Channels() []string { return slices.Clone(channels) }

// Config bounds the hub (YAML key "studio.live"). The memory a hub
// holds for its clients' queues is at most MaxConnections × (QueueBytes
// + one frame).
type Config struct {
	// MaxConnections is how many websocket clients the hub serves at once
	// (default 256); further upgrades are answered 503.
	MaxConnections int `yaml:"max_connections"`
	// QueueFrames bounds each client's queue in frames (default 256).
	QueueFrames int `yaml:"queue_frames"`
	// QueueBytes bounds each client's queue in bytes of JSON (default 4 MiB).
	QueueBytes int `yaml:"queue_bytes"`
	// WriteTimeout bounds the write of one frame to a client (default 10s);
	// a client that does not take it within that is disconnected.
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// DefaultConfig returns the hub's default bounds.
func DefaultConfig() Config {
	return Config{MaxConnections: 256, QueueFrames: 256, QueueBytes: 4 << 20, WriteTimeout: 10 * time.Second}
}

// WithDefaults fills zero fields from DefaultConfig.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.MaxConnections == 0 {
		c.MaxConnections = d.MaxConnections
	}
	if c.QueueFrames == 0 {
		c.QueueFrames = d.QueueFrames
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = d.QueueBytes
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	return c
}

// Validate reports a bound out of range (zero fields take defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.MaxConnections < 1 {
		errs = append(errs, fmt.Errorf("studio.live.max_connections %d: want at least 1", c.MaxConnections))
	}
	if c.QueueFrames < 1 {
		errs = append(errs, fmt.Errorf("studio.live.queue_frames %d: want at least 1", c.QueueFrames))
	}
	if c.QueueBytes < 4<<10 {
		errs = append(errs, fmt.Errorf("studio.live.queue_bytes %d: want at least 4096", c.QueueBytes))
	}
	if c.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("studio.live.write_timeout %v is negative", c.WriteTimeout))
	}
	return errors.Join(errs...)
}

// Options configure a hub.
type Options struct {
	// AllowedOrigins lists the Origin values accepted besides the studio's
	// own host (e.g. "wails://wails" for the desktop app). "*" allows any.
	AllowedOrigins []string
	// Config bounds connections and queues; zero fields take defaults.
	Config
	// Authorize, when set, is asked at every subscription whether the
	// connection (ctx is its upgrade request's context, carrying who it
	// authenticated as) may receive channel; an error is answered with an
	// error frame and no subscription.
	Authorize func(ctx context.Context, channel string) error
}

// Hub fans stored batches out to websocket clients.
type Hub struct {
	opts     Options
	log      *slog.Logger
	upgrader websocket.Upgrader
	mu       sync.Mutex
	clients  map[*client]struct{}
	wg       sync.WaitGroup
	closed   bool
	counts   counters     // stats.go
	conns    atomic.Int64 // connections held or being upgraded
}

// NewHub returns a hub.
func NewHub(opts Options, log *slog.Logger) *Hub {
	opts.Config = opts.Config.WithDefaults()
	h := &Hub{opts: opts, log: log, clients: map[*client]struct{}{}}
	h.upgrader = websocket.Upgrader{CheckOrigin: h.checkOrigin, ReadBufferSize: 4096, WriteBufferSize: 16384}
	return h
}

// checkOrigin accepts no Origin (non-browser clients), the request's own
// host, and the allow-list.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if slices.Contains(h.opts.AllowedOrigins, "*") || slices.Contains(h.opts.AllowedOrigins, origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// Filter narrows a subscription; empty fields match everything.
type Filter struct {
	CorrelationID string `json:"correlation_id,omitempty"`
	TraceID       string `json:"trace_id,omitempty"`
	Service       string `json:"service,omitempty"`
	Destination   string `json:"destination,omitempty"`
	EventType     string `json:"event_type,omitempty"`
	Outcome       string `json:"outcome,omitempty"`
	Group         string `json:"group,omitempty"`
	Source        string `json:"source,omitempty"`
	ReplayID      string `json:"replay_id,omitempty"`
	Journey       string `json:"journey,omitempty"`
}

func (f Filter) event(e *event.Event) bool {
	return (f.CorrelationID == "" || f.CorrelationID == e.CorrelationID) &&
		(f.TraceID == "" || f.TraceID == e.TraceID) &&
		(f.Service == "" || f.Service == e.Service) &&
		(f.Destination == "" || f.Destination == e.Destination) &&
		(f.EventType == "" || f.EventType == e.EventType) &&
		(f.Outcome == "" || f.Outcome == string(e.Outcome))
}

type request struct {
	Op      string `json:"op"`
	Channel string `json:"channel"`
	Filter  Filter `json:"filter"`
}

type frame struct {
	Channel string `json:"channel"`
	Data    any    `json:"data,omitempty"`
	Message string `json:"message,omitempty"`
}

type client struct {
	conn  *websocket.Conn
	queue chan []byte
	mu    sync.Mutex
	subs  map[string]Filter
	ctx   context.Context // the upgrade request's, for Authorize
	// queued is the bytes in queue; lagging is set (and lag closed) when
	// a frame did not fit: the client is being disconnected.
	queued  int
	lagging bool
	lag     chan struct{}
	done    chan struct{}
}

// ServeHTTP upgrades the connection and serves one client until it goes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.conns.Add(1) > int64(h.opts.MaxConnections) {
		h.conns.Add(-1)
		h.counts.rejected.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "too_many_connections",
			"message": fmt.Sprintf("the studio serves at most %d live connections (studio.live.max_connections)", h.opts.MaxConnections)}})
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.conns.Add(-1)
		return // the upgrader has answered (403 for a bad origin)
	}
	c := &client{conn: conn, queue: make(chan []byte, h.opts.QueueFrames), subs: map[string]Filter{},
		lag: make(chan struct{}), done: make(chan struct{}), ctx: context.WithoutCancel(r.Context())}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.conns.Add(-1)
		conn.Close()
		return
	}
	h.clients[c] = struct{}{}
	h.wg.Add(2)
	h.mu.Unlock()
	go func() { defer h.wg.Done(); h.writeLoop(c) }()
	go func() { defer h.wg.Done(); h.readLoop(c) }()
}

func (h *Hub) readLoop(c *client) {
	defer func() {
		h.mu.Lock()
		delete(h.clients, c)
		h.mu.Unlock()
		h.conns.Add(-1)
		close(c.done)
	}()
	c.conn.SetReadLimit(64 << 10)
	for {
		var req request
		if err := c.conn.ReadJSON(&req); err != nil {
			return
		}
		switch {
		case !slices.Contains(channels, req.Channel):
			h.sendTo(c, frame{Channel: "error", Message: "unknown channel " + strings.TrimSpace(req.Channel) + ": want one of " + strings.Join(channels, ", ")})
		case req.Op == "subscribe":
			if h.opts.Authorize != nil {
				if err := h.opts.Authorize(c.ctx, req.Channel); err != nil {
					h.sendTo(c, frame{Channel: "error", Message: "permission denied for channel " + req.Channel + ": " + err.Error()})
					continue
				}
			}
			c.mu.Lock()
			c.subs[req.Channel] = req.Filter
			c.mu.Unlock()
		case req.Op == "unsubscribe":
			c.mu.Lock()
			delete(c.subs, req.Channel)
			c.mu.Unlock()
		default:
			h.sendTo(c, frame{Channel: "error", Message: "unknown op " + req.Op + ": want subscribe or unsubscribe"})
		}
	}
}

func (h *Hub) writeLoop(c *client) {
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	defer c.conn.Close()
	for {
		select {
		case <-c.done:
			return
		case <-c.lag:
			h.dropLagging(c)
			return
		case b := <-c.queue:
			c.mu.Lock()
			if !c.lagging { // else enqueue emptied the queue and zeroed queued
				c.queued -= len(b)
			}
			c.mu.Unlock()
			c.conn.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				return
			}
		}
	}
}

// lagFrame tells a client it fell behind and is being disconnected.
var lagFrame, _ = json.Marshal(frame{Channel: "lagging",
	Message: "this client fell behind the live stream and is disconnected: reconnect and refetch over the REST API"})

// dropLagging tells a lagging client why it is disconnected (if its
// socket takes the frame within a second) and closes it. Its queue was
// freed when it fell behind (enqueue).
func (h *Hub) dropLagging(c *client) {
	deadline := time.Now().Add(time.Second)
	c.conn.SetWriteDeadline(deadline)
	if c.conn.WriteMessage(websocket.TextMessage, lagFrame) == nil {
		c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "lagging"), deadline)
	}
}

// sendTo queues a frame for one client.
func (h *Hub) sendTo(c *client, f frame) {
	b, err := json.Marshal(f)
	if err != nil {
		h.log.Error("live frame", "error", err)
		return
	}
	h.enqueue(c, b)
}

// enqueue queues b for c. A frame that does not fit the client's queue
// (frames or bytes; a frame bigger than the byte bound fits only an empty
// queue) marks the client lagging: its queue is emptied at once and the
// writer, when its current write ends, sends the lagging frame and closes
// the connection. A lagging client is never waited for nor buffered for.
func (h *Hub) enqueue(c *client, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lagging {
		h.counts.framesDropped.Add(1)
		return
	}
	if len(c.queue) == cap(c.queue) || c.queued > 0 && c.queued+len(b) > h.opts.QueueBytes {
		c.lagging = true
		dropped := uint64(1)
		for len(c.queue) > 0 { // only the writer takes from the queue too
			select {
			case <-c.queue:
				dropped++
			default:
			}
		}
		c.queued = 0
		h.counts.framesDropped.Add(dropped)
		h.counts.subscribersDropped.Add(1)
		close(c.lag)
		return
	}
	c.queued += len(b)
	c.queue <- b // room: only senders add, under c.mu
}

// sendList sends items on channel, split into frames of at most a quarter
// of the queue's byte bound (a single item may be bigger), so that one big
// batch neither takes a client's whole queue nor is refused by it.
func sendList[T any](h *Hub, c *client, channel string, items []T) {
	b, err := json.Marshal(frame{Channel: channel, Data: items})
	if err != nil {
		h.log.Error("live frame", "error", err)
		return
	}
	if len(b) > h.opts.QueueBytes/4 && len(items) > 1 {
		sendList(h, c, channel, items[:len(items)/2])
		sendList(h, c, channel, items[len(items)/2:])
		return
	}
	h.enqueue(c, b)
}

// Publish sends what a stored batch holds to the subscribed clients. It
// never blocks on a client.
func (h *Hub) Publish(b *store.Batch) {
	h.mu.Lock()
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	if len(clients) == 0 {
		return
	}
	var flows *store.FlowMap
	for _, c := range clients {
		c.mu.Lock()
		subs := maps(c.subs)
		c.mu.Unlock()
		if f, ok := subs[ChannelEvents]; ok {
			var evs []event.Event
			for i := range b.Events {
				if f.event(&b.Events[i]) {
					evs = append(evs, b.Events[i])
				}
			}
			if len(evs) > 0 {
				sendList(h, c, ChannelEvents, evs)
			}
		}
		if _, ok := subs[ChannelFlows]; ok && len(b.Events) > 0 {
			if flows == nil {
				fm := flowDelta(b.Events)
				flows = &fm
			}
			h.sendTo(c, frame{Channel: ChannelFlows, Data: flows})
		}
		if f, ok := subs[ChannelLag]; ok {
			var ls []store.LagSample
			for _, l := range b.Lag {
				if f.Group == "" || f.Group == l.Group {
					ls = append(ls, l)
				}
			}
			if len(ls) > 0 {
				sendList(h, c, ChannelLag, ls)
			}
		}
		if f, ok := subs[ChannelDLQ]; ok {
			var ds []store.DLQEntry
			for _, d := range b.DLQ {
				if f.Source == "" || f.Source == d.Source {
					d.Payload = nil
					ds = append(ds, d)
				}
			}
			if len(ds) > 0 {
				sendList(h, c, ChannelDLQ, ds)
			}
		}
	}
}

// Broadcast sends data on channel to every client subscribed to it whose
// filter keep accepts (nil keeps all). It never blocks on a client.
func (h *Hub) Broadcast(channel string, data any, keep func(Filter) bool) {
	h.mu.Lock()
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	for _, c := range clients {
		c.mu.Lock()
		f, ok := c.subs[channel]
		c.mu.Unlock()
		if ok && (keep == nil || keep(f)) {
			h.sendTo(c, frame{Channel: channel, Data: data})
		}
	}
}

// PublishReplay sends the progress of replay id (data, as the API shows
// it) on the replays channel.
func (h *Hub) PublishReplay(id string, data any) {
	h.Broadcast(ChannelReplays, data, func(f Filter) bool { return f.ReplayID == "" || f.ReplayID == id })
}

func maps(m map[string]Filter) map[string]Filter {
	out := make(map[string]Filter, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// flowDelta aggregates a batch's events the way a flow map does (counts
// and errors; no quantiles for a single batch).
func flowDelta(evs []event.Event) store.FlowMap {
	rows := map[store.FlowRow]*store.FlowRow{}
	for _, e := range evs {
		k := store.FlowRow{Service: e.Service, System: e.System, Destination: e.Destination, ConsumerGroup: e.ConsumerGroup, Op: e.Op}
		r := rows[k]
		if r == nil {
			r = &k
			rows[k] = r
		}
		r.Count++
		if e.Outcome != event.OutcomeOK {
			r.Errors++
		}
	}
	out := make([]store.FlowRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	return store.BuildFlowMap(out)
}

// Close disconnects every client and waits for their goroutines.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	for c := range h.clients {
		c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "studio shutting down"), time.Now().Add(time.Second))
		c.conn.Close()
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
