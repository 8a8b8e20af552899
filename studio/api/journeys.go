package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/journey"
)

// RegisterJourneys mounts the journey endpoints (issue #17): reads for
// viewers, definitions for admins (each change audited).
func (a *API) RegisterJourneys(mux *http.ServeMux, s *journey.Service) {
	a.handleFunc(mux, "GET /api/v1/journeys", func(w http.ResponseWriter, r *http.Request) {
		a.readWindow(w, r, time.Hour, func(ctx context.Context, p *params, win Window) (any, error) {
			buckets := p.int("buckets")
			if err := p.problem(); err != nil {
				return nil, err
			}
			sums, err := s.Summaries(ctx, journey.Window{Since: win.Since, Until: win.Until}, buckets)
			if err != nil {
				return nil, err
			}
			return map[string]any{"window": win, "journeys": sums}, nil
		})
	})
	a.handleFunc(mux, "GET /api/v1/journeys/suggestions", func(w http.ResponseWriter, r *http.Request) {
		a.readWindow(w, r, time.Hour, func(ctx context.Context, _ *params, win Window) (any, error) {
			sug, err := s.Suggest(ctx, journey.Window{Since: win.Since, Until: win.Until})
			if err != nil {
				return nil, err
			}
			return map[string]any{"window": win, "suggestions": sug}, nil
		})
	})
	a.handleFunc(mux, "GET /api/v1/journeys/{name}", func(w http.ResponseWriter, r *http.Request) {
		a.readWindow(w, r, time.Hour, func(ctx context.Context, _ *params, win Window) (any, error) {
			d, err := s.Detail(ctx, r.PathValue("name"), journey.Window{Since: win.Since, Until: win.Until})
			if err != nil {
				return nil, err
			}
			return map[string]any{"window": win, "journey": d}, nil
		})
	})
	a.handleFunc(mux, "GET /api/v1/journeys/{name}/stuck", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := a.queryContext(r)
		defer cancel()
		st, err := s.Stuck(ctx, r.PathValue("name"), r.URL.Query().Get("step"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	a.handleFunc(mux, "GET /api/v1/journeys/{name}/entities", func(w http.ResponseWriter, r *http.Request) {
		a.readWindow(w, r, time.Hour, func(ctx context.Context, p *params, win Window) (any, error) {
			q := journey.EntityQuery{Step: p.str("step"), Limit: p.int("limit"), Window: journey.Window{Since: win.Since, Until: win.Until}}
			if err := p.problem(); err != nil {
				return nil, err
			}
			for _, st := range strings.Split(p.str("state"), ",") {
				switch s := store.JourneyState(st); s {
				case "":
				case store.JourneyStuck:
					q.Stuck = true
				case store.JourneyInFlight, store.JourneyCompleted, store.JourneyFailed, store.JourneyCompensated, store.JourneyDeadLettered:
					q.States = append(q.States, s)
				default:
					return nil, badRequest("state=%q: want stuck, in_flight, completed, failed, compensated or dead_lettered", st)
				}
			}
			es, err := s.Entities(ctx, r.PathValue("name"), q)
			if err != nil {
				return nil, err
			}
			return map[string]any{"window": win, "entities": es}, nil
		})
	})
	a.handle(mux, "POST /api/v1/journeys", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.putJourney(w, r, s, "", http.StatusCreated)
	}))
	a.handle(mux, "PUT /api/v1/journeys/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.putJourney(w, r, s, r.PathValue("name"), http.StatusOK)
	}))
	a.handle(mux, "DELETE /api/v1/journeys/{name}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		ok, err := s.Registry().Delete(r.Context(), name)
		if errors.Is(err, journey.ErrReadOnly) {
			writeError(w, &Error{Status: http.StatusConflict, Code: "read_only", Message: err.Error()})
			return
		}
		if ok && err == nil {
			a.record(r, "journey.deleted", name, nil)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if !ok {
			writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no journey " + name})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

func (a *API) putJourney(w http.ResponseWriter, r *http.Request, s *journey.Service, name string, status int) {
	reg := s.Registry()
	var j journey.Journey
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		writeError(w, badRequest("journey body: %v", err))
		return
	}
	_, existed := reg.Source(j.Name)
	if name != "" {
		if j.Name != "" && j.Name != name {
			writeError(w, badRequest("journey name %q does not match the path's %q", j.Name, name))
			return
		}
		j.Name = name
		_, existed = reg.Source(name)
	} else if existed {
		writeError(w, &Error{Status: http.StatusConflict, Code: "already_exists", Message: fmt.Sprintf("journey %s exists: PUT to replace it", j.Name)})
		return
	}
	switch err := reg.Put(r.Context(), j); {
	case errors.Is(err, journey.ErrInvalid):
		writeError(w, badRequest("%v", err))
		return
	case errors.Is(err, journey.ErrReadOnly):
		writeError(w, &Error{Status: http.StatusConflict, Code: "read_only", Message: err.Error()})
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	action := "journey.created"
	if existed {
		action = "journey.updated"
	}
	a.record(r, action, j.Name, map[string]any{"journey": j})
	// Entities that started before the journey was defined: filled in
	// from the stored events (journey.BackfillWindow).
	s.StartBackfill(j.Name, a.log)
	writeJSON(w, status, j.WithDefaults())
}
