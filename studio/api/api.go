// Package api is the studio's read API under /api/v1: events, causation
// graphs, trace waterfalls, flow maps, consumer lag and DLQ entries, as
// JSON, described by the OpenAPI document served at /api/v1/openapi.json.
//
// Errors are {"error":{"code":"…","message":"…"}} with the matching HTTP
// status. Lists are paged with opaque cursors.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/auth"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI document.
func OpenAPI() []byte { return openAPI }

// API serves the read endpoints over a store.
type API struct {
	r      store.Reader
	log    *slog.Logger
	now    func() time.Time
	routes []string
	cfg    QueryConfig // read bounds (bounds.go)

	duration *prometheus.HistogramVec // request latency (metrics.go)

	guard       *auth.Guard // checks each route's role (roles.go)
	payloadsMin auth.Role   // the least role that sees payloads
	audit       Auditor     // nil: changes are not audited

	healthOf func() collector.Health // the collector's state (health.go); nil: ok
}

// handle registers h for pattern on mux behind the pattern's role from
// the route table (roles.go) and remembers the route.
func (a *API) handle(mux *http.ServeMux, pattern string, h http.Handler) {
	if strings.Contains(pattern, " ") {
		a.routes = append(a.routes, pattern)
	}
	mux.Handle(pattern, a.instrument(pattern, a.guarded(pattern, h)))
}

func (a *API) handleFunc(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	a.handle(mux, pattern, h)
}

// Routes lists the "METHOD /path" patterns registered so far, for
// checking them against the OpenAPI document.
func (a *API) Routes() []string { return slices.Clone(a.routes) }

// New returns the API over r.
func New(r store.Reader, log *slog.Logger) *API {
	open, _ := auth.New(nil)
	return &API{r: r, log: log, now: time.Now, duration: newRequestDuration(), cfg: DefaultQueryConfig(), guard: open, payloadsMin: auth.Operator}
}

// SetQueryConfig sets the read bounds (zero fields take defaults); call
// it before serving.
func (a *API) SetQueryConfig(c QueryConfig) { a.cfg = c.WithDefaults() }

// Register mounts the endpoints on mux.
func (a *API) Register(mux *http.ServeMux) {
	a.handleFunc(mux, "GET /api/v1/health", a.health)
	a.handleFunc(mux, "GET /api/v1/ready", a.ready)
	a.handleFunc(mux, "GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	a.handleFunc(mux, "GET /api/v1/events", a.events)
	a.handleFunc(mux, "GET /api/v1/graph", a.graph)
	a.handleFunc(mux, "GET /api/v1/traces/{trace_id}", a.trace)
	a.handleFunc(mux, "GET /api/v1/flows", a.flows)
	a.handleFunc(mux, "GET /api/v1/lag", a.lag)
	a.handleFunc(mux, "GET /api/v1/lag/series", a.lagSeries)
	a.handleFunc(mux, "GET /api/v1/dlq", a.dlq)
	a.handleFunc(mux, "GET /api/v1/dlq/{id}", a.dlqEntry)
	a.handleFunc(mux, "/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
}

// Error is an API error: the HTTP status, a stable code and a message.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_argument", Message: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}

// fail answers with err: an *Error as it is, ErrNotFound as 404, a query
// the client must fix as 400, a query stopped by the timeout as 504
// query_timeout, one stopped by a store resource bound as 503
// query_limit, anything else as 500 (logged, not shown).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrNotFound):
		e = &Error{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.Is(err, store.ErrInvalidQuery):
		e = badRequest("%v", err)
	case errors.Is(err, store.ErrQueryTimeout):
		e = &Error{Status: http.StatusGatewayTimeout, Code: "query_timeout",
			Message: fmt.Sprintf("the query ran past the studio's query timeout (%v): narrow the time window or add filters", a.cfg.Timeout)}
	case errors.Is(err, store.ErrQueryLimit):
		e = &Error{Status: http.StatusServiceUnavailable, Code: "query_limit",
			Message: "the query needed more than the store's read limits allow: narrow the time window or add filters"}
	case r.Context().Err() != nil:
		return // the client went away: nobody to answer
	default:
		a.log.Error("API request failed", "path", r.URL.Path, "error", err)
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the studio log"}
	}
	writeError(w, e)
}

// params reads query parameters, collecting the first problem.
type params struct {
	q   map[string][]string
	err *Error
}

// problem is the first bad parameter as an error, or nil.
func (p *params) problem() error {
	if p.err == nil {
		return nil
	}
	return p.err
}

// readWindow answers a GET over a time window. read gets the request's
// query context, its parameters and the window (since and until, def
// before until when the request names none, already read and clamped);
// it reads its own parameters from p and returns p.problem() before it
// queries. Every error, the client's or the store's, is answered by fail;
// read's result is the 200 answer.
func (a *API) readWindow(w http.ResponseWriter, r *http.Request, def time.Duration,
	read func(ctx context.Context, p *params, win Window) (any, error)) {
	ctx, cancel := a.queryContext(r)
	defer cancel()
	p := &params{q: r.URL.Query()}
	win, err := a.window(ctx, p, def)
	if err == nil {
		err = p.problem()
	}
	var out any
	if err == nil {
		out, err = read(ctx, p, win)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (p *params) str(name string) string {
	v := p.q[name]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// time parses RFC 3339, Unix nanoseconds, or a duration before now ("-1h" or "1h").
func (p *params) time(name string, now time.Time) time.Time {
	s := p.str(name)
	if s == "" || p.err != nil {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Unix(0, n)
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d)
	}
	p.err = badRequest("%s=%q: want RFC 3339, Unix nanoseconds, or a duration ago such as 1h", name, s)
	return time.Time{}
}

func (p *params) int(name string) int {
	s := p.str(name)
	if s == "" || p.err != nil {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		p.err = badRequest("%s=%q: want a non-negative integer", name, s)
	}
	return n
}

func (p *params) hexID(name string, digits int) string {
	s := strings.ToLower(p.str(name))
	if s == "" || p.err != nil {
		return s
	}
	if len(s) != digits || strings.Trim(s, "0123456789abcdef") != "" {
		p.err = badRequest("%s=%q: want %d hex digits", name, s, digits)
	}
	return s
}

func (a *API) events(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.queryContext(r)
	defer cancel()
	p := &params{q: r.URL.Query()}
	q := store.EventQuery{
		CorrelationID: p.str("correlation_id"), Service: p.str("service"), Destination: p.str("destination"),
		EventType: p.str("event_type"), Outcome: event.Outcome(p.str("outcome")),
		Limit: min(p.int("limit"), a.cfg.MaxEvents), Cursor: p.str("cursor"),
	}
	if t := p.hexID("trace_id", 32); t != "" {
		q.TraceIDs = []string{t}
	}
	if e := p.str("event_id"); e != "" {
		q.EventIDs = []string{e}
	}
	id, byID := p.idParam() // any kind of id: see lookup.go
	// A lookup by id reads that id's index and stops at the page: it is
	// not windowed. Any other search reads a window.
	var win *Window
	if !byID && q.CorrelationID == "" && len(q.TraceIDs) == 0 && len(q.EventIDs) == 0 {
		wd, err := a.window(ctx, p, a.cfg.MaxWindow)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		win, q.Since, q.Until = &wd, wd.Since, wd.Until
	} else {
		q.Since, q.Until = p.time("since", a.now()), p.time("until", a.now())
	}
	if p.err != nil {
		writeError(w, p.err)
		return
	}
	out := map[string]any{}
	if byID {
		kind, err := store.Resolve(ctx, a.r, id)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out["matched"] = kind
		if kind == store.NoMatch {
			out["events"], out["next_cursor"], out["truncated"] = []event.Event{}, "", false
			writeJSON(w, http.StatusOK, out)
			return
		}
		k := kind.EventQuery(id)
		q.CorrelationID, q.TraceIDs, q.EventIDs, q.MessageKey = k.CorrelationID, k.TraceIDs, k.EventIDs, k.MessageKey
	}
	var page store.EventPage
	var err error
	if q.CorrelationID != "" {
		page, err = a.correlatedEvents(ctx, q, out) // with the events that inherit it
	} else {
		page, err = a.r.Events(ctx, q)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out["events"], out["next_cursor"], out["truncated"] = page.Events, page.Next, page.Next != ""
	if win != nil {
		out["window"] = win
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) graph(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.queryContext(r)
	defer cancel()
	p := &params{q: r.URL.Query()}
	q := store.GraphQuery{CorrelationID: p.str("correlation_id"), TraceID: p.hexID("trace_id", 32), EventID: p.str("event_id"),
		MaxNodes: p.int("max_nodes"), MaxDepth: p.int("max_depth")}
	id, byID := p.idParam() // any kind of id: see lookup.go
	if p.err != nil {
		writeError(w, p.err)
		return
	}
	if q.MaxNodes > a.cfg.MaxGraphNodes {
		writeError(w, badRequest("max_nodes %d is above %d", q.MaxNodes, a.cfg.MaxGraphNodes))
		return
	}
	if !byID {
		g, err := store.Walk(ctx, a.r, q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, g)
		return
	}
	kind, err := store.Resolve(ctx, a.r, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	g := &store.Graph{Nodes: []event.Event{}, Edges: []store.GraphEdge{}}
	if kind != store.NoMatch {
		if g, err = store.Walk(ctx, a.r, kind.GraphQuery(id, q.MaxNodes, q.MaxDepth)); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, struct {
		*store.Graph
		Matched store.IDKind `json:"matched"`
	}{g, kind})
}

// trace answers a trace's spans, the earliest first, at most
// MaxTraceSpans of them and MaxTraceBytes of their JSON.
func (a *API) trace(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.queryContext(r)
	defer cancel()
	p := &params{q: map[string][]string{"trace_id": {r.PathValue("trace_id")}}}
	id := p.hexID("trace_id", 32)
	if p.err != nil {
		writeError(w, p.err)
		return
	}
	spans, err := a.r.Spans(ctx, id, a.cfg.MaxTraceSpans+1)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(spans) == 0 {
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no spans for trace " + id})
		return
	}
	truncated := len(spans) > a.cfg.MaxTraceSpans
	out := make([]json.RawMessage, 0, min(len(spans), a.cfg.MaxTraceSpans))
	size := 0
	for _, sp := range spans[:min(len(spans), a.cfg.MaxTraceSpans)] {
		b, err := json.Marshal(sp)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if size += len(b) + 1; size > a.cfg.MaxTraceBytes {
			truncated = true
			break
		}
		out = append(out, b)
	}
	writeJSON(w, http.StatusOK, map[string]any{"trace_id": id, "spans": out, "truncated": truncated})
}

func (a *API) flows(w http.ResponseWriter, r *http.Request) {
	a.readWindow(w, r, time.Hour, func(ctx context.Context, p *params, win Window) (any, error) {
		fm, err := a.r.Flows(ctx, store.FlowQuery{Since: win.Since, Until: win.Until})
		if err != nil {
			return nil, err
		}
		return map[string]any{"since": win.Since, "until": win.Until, "window": win, "nodes": fm.Nodes, "edges": fm.Edges}, nil
	})
}

// groupLag is the latest state of one consumer group.
type groupLag struct {
	Group      string            `json:"group"`
	System     string            `json:"system"`
	Status     string            `json:"status"`
	TotalLag   int64             `json:"total_lag"`
	MaxSeconds float64           `json:"max_lag_seconds"`
	Time       time.Time         `json:"time"`
	Partitions []store.LagSample `json:"partitions"`
}

// lagSamples reads at most limit samples (the newest) and reports whether
// there were more.
func (a *API) lagSamples(ctx context.Context, q store.LagQuery, limit int) ([]store.LagSample, bool, error) {
	q.Limit = limit + 1
	samples, err := a.r.Lag(ctx, q)
	if err != nil {
		return nil, false, err
	}
	if len(samples) > limit {
		return samples[len(samples)-limit:], true, nil // oldest first: drop the oldest
	}
	return samples, false, nil
}

// lag answers the latest sample of every group's partitions within the
// window (default: the last 5 minutes).
func (a *API) lag(w http.ResponseWriter, r *http.Request) {
	a.readWindow(w, r, 5*time.Minute, func(ctx context.Context, p *params, win Window) (any, error) {
		q := store.LagQuery{Group: p.str("group"), Topic: p.str("topic"), Since: win.Since, Until: win.Until}
		if err := p.problem(); err != nil {
			return nil, err
		}
		samples, truncated, err := a.lagSamples(ctx, q, a.cfg.MaxLagSamples)
		if err != nil {
			return nil, err
		}
		return map[string]any{"groups": latestLag(samples), "window": win, "truncated": truncated}, nil
	})
}

// latestLag is every group's newest sample of each of its partitions,
// groups by name and partitions by topic and number.
func latestLag(samples []store.LagSample) []*groupLag {
	latest := map[string]store.LagSample{} // group/topic/partition → newest sample
	for _, s := range samples {
		latest[s.System+"\x00"+s.Group+"\x00"+s.Topic+"\x00"+strconv.Itoa(int(s.Partition))] = s
	}
	groups := map[string]*groupLag{}
	for _, s := range latest {
		g := groups[s.System+"\x00"+s.Group]
		if g == nil {
			g = &groupLag{Group: s.Group, System: s.System}
			groups[s.System+"\x00"+s.Group] = g
		}
		g.Partitions = append(g.Partitions, s)
		g.TotalLag += s.Lag
		g.MaxSeconds = max(g.MaxSeconds, s.LagSeconds)
		if t := time.Unix(0, int64(s.TimeNS)); t.After(g.Time) {
			g.Time, g.Status = t, s.GroupStatus
		}
	}
	out := make([]*groupLag, 0, len(groups))
	for _, g := range groups {
		sort.Slice(g.Partitions, func(i, j int) bool {
			a, b := g.Partitions[i], g.Partitions[j]
			return a.Topic < b.Topic || a.Topic == b.Topic && a.Partition < b.Partition
		})
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

func (a *API) lagSeries(w http.ResponseWriter, r *http.Request) {
	a.readWindow(w, r, time.Hour, func(ctx context.Context, p *params, win Window) (any, error) {
		group := p.str("group")
		if p.err == nil && group == "" {
			p.err = badRequest("group is required")
		}
		limit := p.int("limit")
		if err := p.problem(); err != nil {
			return nil, err
		}
		if limit == 0 || limit > a.cfg.MaxLagSamples {
			limit = a.cfg.MaxLagSamples
		}
		samples, truncated, err := a.lagSamples(ctx, store.LagQuery{Group: group, Topic: p.str("topic"), Since: win.Since, Until: win.Until}, limit)
		if err != nil {
			return nil, err
		}
		return map[string]any{"group": group, "samples": samples, "window": win, "truncated": truncated}, nil
	})
}

func (a *API) dlq(w http.ResponseWriter, r *http.Request) {
	a.readWindow(w, r, a.cfg.MaxWindow, func(ctx context.Context, p *params, win Window) (any, error) {
		q := store.DLQQuery{Source: p.str("source"), Original: p.str("original"), Reason: p.str("reason"),
			CorrelationID: p.str("correlation_id"), EventID: p.str("event_id"), Since: win.Since, Until: win.Until, Limit: min(p.int("limit"), a.cfg.MaxEvents), Cursor: p.str("cursor")}
		if err := p.problem(); err != nil {
			return nil, err
		}
		page, err := a.r.DLQ(ctx, q)
		if err != nil {
			return nil, err
		}
		if hidden := a.payloadHidden(r); hidden != "" {
			for i := range page.Entries {
				page.Entries[i].Payload = nil
			}
		}
		type group struct {
			Reason   string `json:"reason"`
			Original string `json:"original"`
			Count    int    `json:"count"`
		}
		counts := map[[2]string]int{}
		for _, e := range page.Entries {
			counts[[2]string{e.Reason, e.Original}]++
		}
		groups := []group{}
		for k, n := range counts {
			groups = append(groups, group{Reason: k[0], Original: k[1], Count: n})
		}
		sort.Slice(groups, func(i, j int) bool {
			if groups[i].Count != groups[j].Count {
				return groups[i].Count > groups[j].Count
			}
			return groups[i].Reason < groups[j].Reason
		})
		return map[string]any{"entries": page.Entries, "groups": groups, "next_cursor": page.Next,
			"truncated": page.Next != "", "window": win}, nil
	})
}

func (a *API) dlqEntry(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.queryContext(r)
	defer cancel()
	e, err := a.r.DLQEntry(ctx, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := dlqView{DLQEntry: e, PayloadHidden: a.payloadHidden(r)}
	if v.PayloadHidden != "" {
		v.Payload = nil
	}
	writeJSON(w, http.StatusOK, v)
}

// dlqView is a DLQ entry as the API shows it: without its payload, and
// saying so, to a role below studio.payloads_min_role.
type dlqView struct {
	store.DLQEntry
	PayloadHidden string `json:"payload_hidden,omitempty"`
}
