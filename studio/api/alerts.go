package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/causeway-dev/causeway/studio/alert"
)

// RegisterAlerts mounts the alert endpoints; changes (POST, PUT, DELETE,
// test sends) go through write, which checks the operator role.
func (a *API) RegisterAlerts(mux *http.ServeMux, e *alert.Engine, write func(http.Handler) http.Handler) {
	w := func(h http.HandlerFunc) http.Handler { return write(h) }
	a.handleFunc(mux, "GET /api/v1/alerts/rules", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, http.StatusOK, map[string]any{"rules": e.Rules()})
	})
	a.handleFunc(mux, "GET /api/v1/alerts/rules/{id}", func(rw http.ResponseWriter, r *http.Request) {
		rule, ok := e.Rule(r.PathValue("id"))
		if !ok {
			writeError(rw, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no rule " + r.PathValue("id")})
			return
		}
		writeJSON(rw, http.StatusOK, rule)
	})
	a.handle(mux, "POST /api/v1/alerts/rules", w(func(rw http.ResponseWriter, r *http.Request) {
		a.putRule(rw, r, e, "", http.StatusCreated)
	}))
	a.handle(mux, "PUT /api/v1/alerts/rules/{id}", w(func(rw http.ResponseWriter, r *http.Request) {
		a.putRule(rw, r, e, r.PathValue("id"), http.StatusOK)
	}))
	a.handle(mux, "DELETE /api/v1/alerts/rules/{id}", w(func(rw http.ResponseWriter, r *http.Request) {
		ok, err := e.Remove(r.Context(), r.PathValue("id"))
		if err != nil {
			a.fail(rw, r, err)
			return
		}
		if !ok {
			writeError(rw, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no rule " + r.PathValue("id")})
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	a.handle(mux, "POST /api/v1/alerts/rules/{id}/test", w(func(rw http.ResponseWriter, r *http.Request) {
		ev, err := e.Test(r.Context(), r.PathValue("id"))
		if err != nil {
			a.fail(rw, r, err)
			return
		}
		writeJSON(rw, http.StatusOK, ev)
	}))
	a.handleFunc(mux, "GET /api/v1/alerts/events", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, http.StatusOK, map[string]any{"events": e.History()})
	})
}

func (a *API) putRule(w http.ResponseWriter, r *http.Request, e *alert.Engine, id string, status int) {
	var rule alert.Rule
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rule); err != nil {
		writeError(w, badRequest("rule body: %v", err))
		return
	}
	if id != "" {
		if rule.ID != "" && rule.ID != id {
			writeError(w, badRequest("rule id %q does not match the path's %q", rule.ID, id))
			return
		}
		rule.ID = id
	} else if _, exists := e.Rule(rule.ID); exists {
		writeError(w, &Error{Status: http.StatusConflict, Code: "already_exists", Message: fmt.Sprintf("rule %s exists: PUT to replace it", rule.ID)})
		return
	}
	if err := e.Save(r.Context(), rule); err != nil {
		if errors.Is(err, alert.ErrNotSaved) {
			a.fail(w, r, err)
			return
		}
		if errors.Is(err, alert.ErrForbiddenTarget) {
			writeError(w, &Error{Status: http.StatusBadRequest, Code: "forbidden_target", Message: err.Error()})
			return
		}
		writeError(w, badRequest("%v", err))
		return
	}
	writeJSON(w, status, rule)
}
