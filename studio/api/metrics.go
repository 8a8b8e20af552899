package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// An API is a Prometheus collector of its requests' latency: register it
// in the process's registry. Routes are labelled by their ServeMux
// pattern, never the raw path, so the series stay few.
var _ prometheus.Collector = (*API)(nil)

func newRequestDuration() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "causeway_api_request_duration_seconds",
		Help:    "Duration of studio API requests, by route (the registered pattern's path, e.g. /api/v1/traces/{trace_id}), method and status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method", "code"})
}

// Describe sends the descriptor of the request latency histogram.
func (a *API) Describe(ch chan<- *prometheus.Desc) { a.duration.Describe(ch) }

// Collect sends the request latency histogram.
func (a *API) Collect(ch chan<- prometheus.Metric) { a.duration.Collect(ch) }

// instrument times h's requests under pattern's path.
func (a *API) instrument(pattern string, h http.Handler) http.Handler {
	route := pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		route = path
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		code := sw.status
		if code == 0 {
			code = http.StatusOK // nothing written: net/http answers 200
		}
		a.duration.WithLabelValues(route, method(r.Method), strconv.Itoa(code)).Observe(time.Since(start).Seconds())
	})
}

// method is r.Method as a label: the catch-all route takes any method a
// client makes up, so those beyond the standard ones count as "other".
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusWriter remembers the status code a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records code and passes it on.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
