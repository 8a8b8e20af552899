package api

import (
	"context"

	"github.com/causeway-dev/causeway/store"
)

// One search box for any id (issue #14). The UI's search (and its "/"
// shortcut) sends what the user typed as id, in one request:
//
//	GET /api/v1/graph?id=X[&max_nodes=N&max_depth=D]
//	  → {"nodes":[…], "edges":[…], "truncated":false, "matched":"message_key"}
//	GET /api/v1/events?id=X[&service=…&destination=…&event_type=…&outcome=…&since=…&until=…&limit=…&cursor=…]
//	  → {"events":[…], "next_cursor":"…", "truncated":false, "matched":"correlation_id",
//	     "inherited_truncated":false}
//
// X is tried as a correlation id, an event id, a trace id (only when it
// is 32 hex digits, of either case) and a message key (Kafka record key,
// NATS Nats-Msg-Id), in that order; "matched" names the first kind under
// which a stored event carries it, or is "none" (then nodes/events are
// empty arrays and the status is still 200). id excludes correlation_id,
// trace_id and event_id (400 invalid_argument). A correlation id match,
// like correlation_id=, also returns the events that inherit it: events
// without a correlation id of their own downstream of an event carrying
// it; "inherited_truncated" says the graph bounds stopped that walk.

// idParam reads the id parameter: the id and whether it was given, with
// a 400 when it is combined with an id of a fixed kind.
func (p *params) idParam() (string, bool) {
	id, ok := p.q["id"]
	if !ok || p.err != nil {
		return "", false
	}
	for _, other := range []string{"correlation_id", "trace_id", "event_id"} {
		if p.str(other) != "" {
			p.err = badRequest("id and %s: give one (id is looked up as any kind of id)", other)
			return "", false
		}
	}
	if len(id) == 0 || id[0] == "" {
		p.err = badRequest("id is empty")
		return "", false
	}
	return id[0], true
}

// correlatedEvents answers an events query with a correlation id: the
// events carrying it and those inheriting it (store.CorrelatedEvents,
// under the graph's default bounds).
func (a *API) correlatedEvents(ctx context.Context, q store.EventQuery, out map[string]any) (store.EventPage, error) {
	page, truncated, err := store.CorrelatedEvents(ctx, a.r, q, 0, 0)
	if err != nil {
		return store.EventPage{}, err
	}
	out["inherited_truncated"] = truncated
	return page, nil
}
