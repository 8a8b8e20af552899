package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/replay"
)

// ReplayView is a replay as the API and the live channel show it: the
// audit record with its times also in RFC 3339.
type ReplayView struct {
	store.Replay
	CreatedAt  string `json:"created_at"`
	StartedAt  string `json:"started_at,omitempty"`
	FinishedAt string `json:"finished_at,omitempty"`
	// Items are the per-message results (GET /replays/{id} only).
	Items []store.ReplayItem `json:"items,omitempty"`
	// ItemsNext continues the items after the last one shown (its seq).
	ItemsNext *int64 `json:"items_next,omitempty"`
}

// NewReplayView returns r's view.
func NewReplayView(r store.Replay) ReplayView {
	v := ReplayView{Replay: r, CreatedAt: rfc3339(r.CreatedNS)}
	if r.StartedNS > 0 {
		v.StartedAt = rfc3339(r.StartedNS)
	}
	if r.FinishedNS > 0 {
		v.FinishedAt = rfc3339(r.FinishedNS)
	}
	return v
}

func rfc3339(ns uint64) string { return time.Unix(0, int64(ns)).UTC().Format(time.RFC3339Nano) }

// RegisterReplays mounts the replay endpoints, each with its role from the
// route table: a dry run needs a viewer (payload previews hidden below
// studio.payloads_min_role), starting and cancelling an operator.
func (a *API) RegisterReplays(mux *http.ServeMux, e *replay.Engine) {
	const start = "POST /api/v1/replays"
	a.handleFunc(mux, start, func(w http.ResponseWriter, r *http.Request) {
		var req replay.Request
		dec := json.NewDecoder(io.LimitReader(r.Body, 8<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, badRequest("replay request body: %v", err))
			return
		}
		if req.DryRun {
			p, err := e.Preview(r.Context(), req)
			if err != nil {
				a.failReplay(w, r, err)
				return
			}
			if hidden := a.payloadHidden(r); hidden != "" {
				for i := range p.Sample {
					p.Sample[i].PayloadPreview, p.Sample[i].PayloadHidden = "", hidden
				}
			}
			writeJSON(w, http.StatusOK, p)
			return
		}
		if a.mayRun(w, r, start) {
			a.startReplay(w, r, e, req)
		}
	})
	a.handleFunc(mux, "GET /api/v1/replays", func(w http.ResponseWriter, r *http.Request) {
		p := &params{q: r.URL.Query()}
		q := store.ReplayQuery{Limit: p.int("limit"), Cursor: p.str("cursor")}
		if p.err != nil {
			writeError(w, p.err)
			return
		}
		ctx, cancel := a.queryContext(r)
		defer cancel()
		page, err := e.List(ctx, q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		views := make([]ReplayView, len(page.Replays))
		for i, x := range page.Replays {
			views[i] = NewReplayView(x)
		}
		writeJSON(w, http.StatusOK, map[string]any{"replays": views, "next_cursor": page.Next})
	})
	a.handleFunc(mux, "GET /api/v1/replays/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := &params{q: r.URL.Query()}
		limit := p.int("items_limit")
		from := int64(-1)
		if s := p.str("items_after"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				writeError(w, badRequest("items_after %q is not a sequence number", s))
				return
			}
			from = n
		}
		if p.err != nil {
			writeError(w, p.err)
			return
		}
		if limit <= 0 || limit > store.MaxLimit {
			limit = 1000
		}
		ctx, cancel := a.queryContext(r)
		defer cancel()
		x, items, err := e.Get(ctx, r.PathValue("id"), from, limit+1)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v := NewReplayView(x)
		if len(items) > limit {
			items = items[:limit]
			next := items[limit-1].Seq
			v.ItemsNext = &next
		}
		v.Items = items
		writeJSON(w, http.StatusOK, v)
	})
	a.handle(mux, "POST /api/v1/replays/{id}/cancel", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x, err := e.Cancel(r.Context(), r.PathValue("id"), who(r))
		if err != nil {
			a.failReplay(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, NewReplayView(x))
	}))
}

func (a *API) startReplay(w http.ResponseWriter, r *http.Request, e *replay.Engine, req replay.Request) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 200 {
		writeError(w, badRequest("Idempotency-Key is longer than 200 characters"))
		return
	}
	x, created, err := e.Start(r.Context(), who(r), req, key)
	if err != nil {
		a.failReplay(w, r, err)
		return
	}
	status := http.StatusAccepted
	if !created {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/replays/"+x.ID)
	writeJSON(w, status, NewReplayView(x))
}

// who names the request's token for the audit log.
func who(r *http.Request) string {
	name, _ := auth.Who(r.Context())
	if name == "" {
		return "anonymous (no auth on loopback)"
	}
	return name
}

// replayStatus maps the engine's refusal codes to HTTP statuses.
var replayStatus = map[string]int{
	"invalid_argument":     http.StatusBadRequest,
	"not_found":            http.StatusNotFound,
	"count_mismatch":       http.StatusConflict,
	"idempotency_conflict": http.StatusUnprocessableEntity,
	"already_finished":     http.StatusConflict,
	"unavailable":          http.StatusServiceUnavailable,
	"untrusted_source":     http.StatusForbidden,
	"target_not_allowed":   http.StatusForbidden,
}

func (a *API) failReplay(w http.ResponseWriter, r *http.Request, err error) {
	var re *replay.Error
	if errors.As(err, &re) {
		status, ok := replayStatus[re.Code]
		if !ok {
			status = http.StatusBadRequest
		}
		writeError(w, &Error{Status: status, Code: re.Code, Message: re.Message})
		return
	}
	a.fail(w, r, err)
}
