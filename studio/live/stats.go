package live

import "sync/atomic"

// counters count what a hub refused or dropped since it started.
type counters struct {
	framesDropped      atomic.Uint64 // frames a lagging client never got: queued, or refused
	subscribersDropped atomic.Uint64 // clients disconnected for falling behind
	rejected           atomic.Uint64 // connections refused (over the connection cap)
}

// Stats are a hub's counters.
type Stats struct {
	// Subscribers is the number of connected websocket clients now.
	Subscribers int
	// FramesDropped counts frames not sent to a client that had fallen behind.
	FramesDropped uint64
	// SubscribersDropped counts clients disconnected for falling behind.
	SubscribersDropped uint64
	// Rejected counts connections refused because the hub was at its
	// connection limit.
	Rejected uint64
}

// Stats returns the hub's counters now.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	n := len(h.clients)
	h.mu.Unlock()
	return Stats{Subscribers: n, FramesDropped: h.counts.framesDropped.Load(),
		SubscribersDropped: h.counts.subscribersDropped.Load(), Rejected: h.counts.rejected.Load()}
}
