package api

import (
	"net/http"

	"github.com/causeway-dev/causeway/collector"
)

// SetHealth sets where /api/v1/health and /api/v1/ready get the state of
// the collector the studio runs (its Health method); without it both
// answer ok. Call it before serving.
func (a *API) SetHealth(fn func() collector.Health) { a.healthOf = fn }

func (a *API) currentHealth() collector.Health {
	if a.healthOf == nil {
		return collector.Health{Status: collector.HealthOK, Ready: true}
	}
	return a.healthOf()
}

// health is liveness: 200 whenever the studio answers, with the
// collector's state in the body ("ok", or "degraded" with reasons).
func (a *API) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, a.currentHealth())
}

// ready is readiness, for load balancers: 503 while a reason says to send
// no data here (the spool cannot write, or is nearly full), else 200; the
// body is the same as health's.
func (a *API) ready(w http.ResponseWriter, _ *http.Request) {
	h := a.currentHealth()
	status := http.StatusOK
	if !h.Ready {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, h)
}
