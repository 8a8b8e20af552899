package server

import "time"

// Timeouts of the studio's HTTP server.
//
// readTimeout bounds reading one request, headers and body: the API takes
// small JSON bodies, so a client that trickles one is cut off instead of
// holding a connection. The live websocket is not cut by it: the upgrade
// clears the connection's deadlines (gorilla/websocket), so a live
// connection lasts as long as its client keeps reading. There is no write
// timeout: a long answer to a slow reader is bounded by the API's own
// query bounds, and a websocket must not have one.
var (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)
