package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/causeway-dev/causeway/studio/alert"
)

// RegisterAlerts mounts the alert endpoints, each with its role from the
// route table: rule changes need an admin, test sends an operator. Every
// change and test send is appended to the audit log with the token's name.
func (a *API) RegisterAlerts(mux *http.ServeMux, e *alert.Engine) {
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
	a.handle(mux, "POST /api/v1/alerts/rules", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		a.putRule(rw, r, e, "", http.StatusCreated)
	}))
	a.handle(mux, "PUT /api/v1/alerts/rules/{id}", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		a.putRule(rw, r, e, r.PathValue("id"), http.StatusOK)
	}))
	a.handle(mux, "DELETE /api/v1/alerts/rules/{id}", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		old, _ := e.Rule(r.PathValue("id"))
		ok, err := e.Remove(r.Context(), r.PathValue("id"))
		if ok {
			a.record(r, "alert_rule.deleted", r.PathValue("id"), map[string]any{"rule": old})
		}
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
	a.handle(mux, "POST /api/v1/alerts/rules/{id}/test", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ev, err := e.Test(r.Context(), r.PathValue("id"))
		if err != nil {
			a.fail(rw, r, err)
			return
		}
		a.record(r, "alert_rule.test", r.PathValue("id"), map[string]any{"delivered": ev.Delivered, "failed": len(ev.Failed)})
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
	_, existed := e.Rule(rule.ID)
	rule.UpdatedBy, rule.UpdatedAt = who(r), a.now().UTC()
	if err := e.Save(r.Context(), rule); err != nil {
		if errors.Is(err, alert.ErrNotSaved) {
			a.record(r, ruleAction(existed), rule.ID, map[string]any{"rule": rule, "saved": false})
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
	a.record(r, ruleAction(existed), rule.ID, map[string]any{"rule": rule})
	writeJSON(w, status, rule)
}

func ruleAction(existed bool) string {
	if existed {
		return "alert_rule.updated"
	}
	return "alert_rule.created"
}
