package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// QueryConfig bounds what one API request may cost the store and the
// studio (YAML key "studio.query"). Every read runs under Timeout, every
// time window is at most MaxWindow long, and every list stops at its cap
// with "truncated": true. docs/operations.md ("Bounded reads") lists what
// a client sees.
type QueryConfig struct {
	// MaxWindow is the longest time window a query may read (default
	// 168h): a since further back than until − MaxWindow, or none at all,
	// is clamped to it and the answer says so in "window".
	MaxWindow time.Duration `yaml:"max_window"`
	// Timeout bounds each API read (default 10s); a query still running
	// then is interrupted and answered 504 query_timeout.
	Timeout time.Duration `yaml:"timeout"`
	// MaxEvents is the largest page of events or DLQ entries (default
	// 1000); a larger limit is lowered to it.
	MaxEvents int `yaml:"max_events"`
	// MaxTraceSpans caps the spans the trace endpoint returns (default 10000).
	MaxTraceSpans int `yaml:"max_trace_spans"`
	// MaxTraceBytes caps the JSON size of those spans (default 16 MiB).
	MaxTraceBytes int `yaml:"max_trace_bytes"`
	// MaxGraphNodes is the largest max_nodes a causation graph may ask
	// for (default 20000).
	MaxGraphNodes int `yaml:"max_graph_nodes"`
	// MaxLagSamples caps the lag samples one answer reads (default 10000,
	// at most store.MaxLimit).
	MaxLagSamples int `yaml:"max_lag_samples"`
}

// DefaultQueryConfig returns the default read bounds.
func DefaultQueryConfig() QueryConfig {
	return QueryConfig{MaxWindow: 7 * 24 * time.Hour, Timeout: 10 * time.Second, MaxEvents: 1000,
		MaxTraceSpans: 10000, MaxTraceBytes: 16 << 20, MaxGraphNodes: 20000, MaxLagSamples: store.MaxLimit}
}

// WithDefaults fills zero fields from DefaultQueryConfig.
func (c QueryConfig) WithDefaults() QueryConfig {
	d := DefaultQueryConfig()
	if c.MaxWindow == 0 {
		c.MaxWindow = d.MaxWindow
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = d.MaxEvents
	}
	if c.MaxTraceSpans == 0 {
		c.MaxTraceSpans = d.MaxTraceSpans
	}
	if c.MaxTraceBytes == 0 {
		c.MaxTraceBytes = d.MaxTraceBytes
	}
	if c.MaxGraphNodes == 0 {
		c.MaxGraphNodes = d.MaxGraphNodes
	}
	if c.MaxLagSamples == 0 {
		c.MaxLagSamples = d.MaxLagSamples
	}
	return c
}

// Validate reports a bound out of range (zero fields take defaults).
func (c QueryConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.MaxWindow < time.Minute {
		errs = append(errs, fmt.Errorf("studio.query.max_window %v: want at least 1m", c.MaxWindow))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("studio.query.timeout %v is negative", c.Timeout))
	}
	if c.MaxEvents < 0 || c.MaxEvents > store.MaxLimit {
		errs = append(errs, fmt.Errorf("studio.query.max_events %d: want 1 to %d", c.MaxEvents, store.MaxLimit))
	}
	if c.MaxTraceSpans < 0 {
		errs = append(errs, fmt.Errorf("studio.query.max_trace_spans %d is negative", c.MaxTraceSpans))
	}
	if c.MaxTraceBytes < 0 {
		errs = append(errs, fmt.Errorf("studio.query.max_trace_bytes %d is negative", c.MaxTraceBytes))
	}
	if c.MaxGraphNodes < 0 {
		errs = append(errs, fmt.Errorf("studio.query.max_graph_nodes %d is negative", c.MaxGraphNodes))
	}
	if c.MaxLagSamples < 0 || c.MaxLagSamples >= store.MaxLimit+1 {
		errs = append(errs, fmt.Errorf("studio.query.max_lag_samples %d: want 1 to %d", c.MaxLagSamples, store.MaxLimit))
	}
	return errors.Join(errs...)
}

// Window is the time window a windowed answer covers, as the studio
// applied it.
type Window struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Clamped is set when the window asked for (or since=0, or none) was
	// longer than the studio reads; ClampedBy says which bound:
	// "max_window" or "retention" (the store no longer holds older data).
	Clamped   bool   `json:"clamped"`
	ClampedBy string `json:"clamped_by,omitempty"`
}

// queryContext is the context a read runs under: r's, with the query
// timeout.
func (a *API) queryContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), a.cfg.Timeout)
}

// window reads since and until (default: until now, since def before
// until) and clamps the window to MaxWindow and to the store's retention.
// A client's error is left in p.err.
func (a *API) window(ctx context.Context, p *params, def time.Duration) (Window, error) {
	now := a.now()
	since, until := p.time("since", now), p.time("until", now)
	if p.err != nil {
		return Window{}, nil
	}
	if until.IsZero() {
		until = now
	}
	asked := p.str("since") != ""
	if !asked {
		since = until.Add(-min(def, a.cfg.MaxWindow))
	}
	if !since.Before(until) {
		p.err = badRequest("since must be before until")
		return Window{}, nil
	}
	w := Window{Since: since, Until: until}
	if earliest := until.Add(-a.cfg.MaxWindow); w.Since.Before(earliest) {
		w.Since, w.Clamped, w.ClampedBy = earliest, true, "max_window"
	}
	if rt, ok := a.r.(store.Retention); ok {
		oldest, err := rt.OldestRetained(ctx)
		if err != nil {
			return Window{}, fmt.Errorf("store retention: %w", err)
		}
		if !oldest.IsZero() && w.Since.Before(oldest) {
			w.Since, w.Clamped, w.ClampedBy = earlier(oldest, w.Until), true, "retention"
		}
	}
	return w, nil
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
