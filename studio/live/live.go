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
//	{"channel":"resync","message":"…"}   frames were dropped: refetch over REST
//	{"channel":"error","message":"…"}
//
// Every client has a bounded queue; a client too slow to keep up loses
// frames (and is told to resync) instead of slowing the others down.
package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
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
)

// channels are the channels a client may subscribe to.
var channels = []string{ChannelEvents, ChannelFlows, ChannelLag, ChannelDLQ, ChannelReplays, ChannelAlerts}

// Options configure a hub.
type Options struct {
	// AllowedOrigins lists the Origin values accepted besides the studio's
	// own host (e.g. "wails://wails" for the desktop app). "*" allows any.
	AllowedOrigins []string
	// QueueFrames bounds each client's queue (default 256).
	QueueFrames int
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
	counts   counters // stats.go
}

// NewHub returns a hub.
func NewHub(opts Options, log *slog.Logger) *Hub {
	if opts.QueueFrames <= 0 {
		opts.QueueFrames = 256
	}
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
	conn    *websocket.Conn
	queue   chan []byte
	mu      sync.Mutex
	subs    map[string]Filter
	dropped bool
	done    chan struct{}
}

// ServeHTTP upgrades the connection and serves one client until it goes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered (403 for a bad origin)
	}
	c := &client{conn: conn, queue: make(chan []byte, h.opts.QueueFrames), subs: map[string]Filter{}, done: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
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
		case b := <-c.queue:
			c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
			c.mu.Lock()
			resync := c.dropped && len(c.queue) == 0
			if resync {
				c.dropped = false
			}
			c.mu.Unlock()
			if resync {
				msg, _ := json.Marshal(frame{Channel: "resync", Message: "frames were dropped because this client fell behind: refetch over the REST API"})
				if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
					return
				}
			}
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				return
			}
		}
	}
}

// sendTo queues a frame for one client, dropping it when the client's
// queue is full.
func (h *Hub) sendTo(c *client, f frame) {
	b, err := json.Marshal(f)
	if err != nil {
		h.log.Error("live frame", "error", err)
		return
	}
	select {
	case c.queue <- b:
	default:
		h.counts.framesDropped.Add(1)
		c.mu.Lock()
		c.dropped = true
		c.mu.Unlock()
	}
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
				h.sendTo(c, frame{Channel: ChannelEvents, Data: evs})
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
				h.sendTo(c, frame{Channel: ChannelLag, Data: ls})
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
				h.sendTo(c, frame{Channel: ChannelDLQ, Data: ds})
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
