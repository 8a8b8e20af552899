package collector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// HealthConfig sets when the collector reports itself degraded (YAML key
// "collector.health"). Zero fields take their defaults.
type HealthConfig struct {
	// StoreFailingAfter is how long store writes may keep failing before
	// health says "store" (default 30s). The spool takes requests meanwhile.
	StoreFailingAfter time.Duration `yaml:"store_failing_after"`
	// BacklogMaxAge is the age of the oldest spooled record beyond which
	// health says "backlog_age" (default 5m): the store is behind.
	BacklogMaxAge time.Duration `yaml:"backlog_max_age"`
	// BacklogMaxFill is the fraction of max_spool_bytes beyond which health
	// says "backlog_full" and readiness fails (default 0.8): soon requests
	// get 429.
	BacklogMaxFill float64 `yaml:"backlog_max_fill"`
}

// DefaultHealthConfig is the HealthConfig used for zero fields.
var DefaultHealthConfig = HealthConfig{StoreFailingAfter: 30 * time.Second, BacklogMaxAge: 5 * time.Minute, BacklogMaxFill: 0.8}

func (h HealthConfig) withDefaults() HealthConfig {
	d := DefaultHealthConfig
	if h.StoreFailingAfter == 0 {
		h.StoreFailingAfter = d.StoreFailingAfter
	}
	if h.BacklogMaxAge == 0 {
		h.BacklogMaxAge = d.BacklogMaxAge
	}
	if h.BacklogMaxFill == 0 {
		h.BacklogMaxFill = d.BacklogMaxFill
	}
	return h
}

// Validate reports the first invalid setting.
func (h HealthConfig) Validate() error {
	h = h.withDefaults()
	switch {
	case h.StoreFailingAfter < 0 || h.BacklogMaxAge < 0:
		return errors.New("health.store_failing_after and health.backlog_max_age must be positive")
	case h.BacklogMaxFill <= 0 || h.BacklogMaxFill > 1:
		return fmt.Errorf("health.backlog_max_fill %v must be in (0, 1]", h.BacklogMaxFill)
	}
	return nil
}

// HealthStatus is "ok" or "degraded".
type HealthStatus string

// Health statuses.
const (
	HealthOK       HealthStatus = "ok"
	HealthDegraded HealthStatus = "degraded"
)

// HealthReason says why a collector is degraded.
type HealthReason string

// Reasons for a degraded collector. Unready says which of them mean "send
// no data here now".
const (
	// ReasonDisk: the spool cannot write (a full disk, an I/O error); OTLP
	// requests get 503 with Retry-After until a probe finds it can again.
	// Unready.
	ReasonDisk HealthReason = "disk"
	// ReasonBacklogFull: the spool holds more than backlog_max_fill of
	// max_spool_bytes; requests will soon get 429. Unready.
	ReasonBacklogFull HealthReason = "backlog_full"
	// ReasonStore: store writes have failed for longer than
	// store_failing_after. Requests are still spooled: ready.
	ReasonStore HealthReason = "store"
	// ReasonBacklogAge: the oldest spooled record is older than
	// backlog_max_age (the store is behind). Ready.
	ReasonBacklogAge HealthReason = "backlog_age"
)

// Unready reports whether a load balancer should stop sending data to a
// collector degraded for this reason.
func (r HealthReason) Unready() bool { return r == ReasonDisk || r == ReasonBacklogFull }

// HealthIssue is one reason a collector is degraded.
type HealthIssue struct {
	Reason HealthReason `json:"reason"`
	// Message says what is wrong, for people.
	Message string `json:"message"`
	// Since is when it started, where known.
	Since time.Time `json:"since,omitzero"`
}

// Health is a collector's state for liveness and readiness checks.
type Health struct {
	// Status is "ok", or "degraded" with Reasons.
	Status HealthStatus `json:"status"`
	// Ready is false when a reason means "send no data here now"
	// (HealthReason.Unready).
	Ready bool `json:"ready"`
	// Reasons are why it is degraded, unready ones first.
	Reasons []HealthIssue `json:"reasons,omitempty"`
}

// storeWatch wraps the store writer to know since when writes fail.
type storeWatch struct {
	store.Writer
	failingSince atomic.Int64 // Unix ns of the first failure of the current run; 0 when the last write succeeded
	mu           sync.Mutex
	lastErr      error
}

// Write writes b and records whether the store took it.
func (s *storeWatch) Write(ctx context.Context, b *store.Batch) error {
	err := s.Writer.Write(ctx, b)
	switch {
	case err == nil:
		s.failingSince.Store(0)
	case ctx.Err() != nil:
		// Cancelled (shutting down): says nothing about the store.
	default:
		s.failingSince.CompareAndSwap(0, time.Now().UnixNano())
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
	}
	return err
}

// failing returns since when writes fail and the last error; zero when
// the last write succeeded.
func (s *storeWatch) failing() (time.Time, error) {
	ns := s.failingSince.Load()
	if ns == 0 {
		return time.Time{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Unix(0, ns), s.lastErr
}

// Health reports whether the collector can take and store data: the
// spool's ability to write, the store's, and the spool's backlog.
func (c *Collector) Health() Health {
	h := c.cfg.Health
	now := time.Now()
	var issues []HealthIssue
	if c.spool != nil {
		if since, err := c.spool.Failure(); err != nil {
			issues = append(issues, HealthIssue{Reason: ReasonDisk, Since: since,
				Message: fmt.Sprintf("the spool cannot write, OTLP requests get 503: %v", err)})
		}
		st := c.spool.Stats()
		// Bytes are what count against max_spool_bytes; they include the
		// committed start of the segment being written (at most a quarter
		// of the bound), so only a spool with records waiting is "full".
		if limit := h.BacklogMaxFill * float64(c.cfg.MaxSpoolBytes); st.Records > 0 && float64(st.Bytes) > limit {
			issues = append(issues, HealthIssue{Reason: ReasonBacklogFull,
				Message: fmt.Sprintf("the spool holds %d bytes, over %.0f%% of max_spool_bytes (%d): the store is behind", st.Bytes, 100*h.BacklogMaxFill, c.cfg.MaxSpoolBytes)})
		}
		if !st.Oldest.IsZero() && now.Sub(st.Oldest) > h.BacklogMaxAge {
			issues = append(issues, HealthIssue{Reason: ReasonBacklogAge, Since: st.Oldest.Add(h.BacklogMaxAge),
				Message: fmt.Sprintf("the oldest spooled record is %s old (over %s): the store is behind", now.Sub(st.Oldest).Round(time.Second), h.BacklogMaxAge)})
		}
	}
	if since, err := c.storeWatch.failing(); !since.IsZero() && now.Sub(since) > h.StoreFailingAfter {
		issues = append(issues, HealthIssue{Reason: ReasonStore, Since: since,
			Message: fmt.Sprintf("store writes have failed for %s: %v", now.Sub(since).Round(time.Second), err)})
	}
	out := Health{Status: HealthOK, Ready: true}
	for _, is := range issues {
		if is.Reason.Unready() {
			out.Ready = false
			out.Reasons = append(out.Reasons, is)
		}
	}
	for _, is := range issues {
		if !is.Reason.Unready() {
			out.Reasons = append(out.Reasons, is)
		}
	}
	if len(out.Reasons) > 0 {
		out.Status = HealthDegraded
	}
	return out
}

// Paths of the health endpoints on the OTLP/HTTP listener.
const (
	HealthPath = "/health" // HealthHandler
	ReadyPath  = "/ready"  // ReadyHandler
)

// HealthHandler answers GET with the collector's Health as JSON, always
// 200 (liveness: the process answers; the body says how it is).
func (c *Collector) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeHealth(w, http.StatusOK, c.Health())
	})
}

// ReadyHandler answers GET with the collector's Health as JSON: 200 when
// it is ready for data, 503 when a reason says to send it none now
// (HealthReason.Unready), for load balancers.
func (c *Collector) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := c.Health()
		status := http.StatusOK
		if !h.Ready {
			status = http.StatusServiceUnavailable
		}
		writeHealth(w, status, h)
	})
}

func writeHealth(w http.ResponseWriter, status int, h Health) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(h)
}

// probeInterval is how often a failing spool is probed when no request
// comes to try it (clients told 503 may wait, load balancers send none
// while the collector is unready).
const probeInterval = 500 * time.Millisecond

// probeLoop probes the spool while it cannot write, so it recovers without
// traffic, and logs when it starts and stops failing. It returns when ctx
// ends.
func (c *Collector) probeLoop(ctx context.Context) {
	t := time.NewTicker(probeInterval)
	defer t.Stop()
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		since, err := c.spool.Failure()
		if err != nil {
			err = c.spool.Probe()
		}
		switch {
		case err != nil && failingSince.IsZero():
			failingSince = since
			c.log.Error("the spool cannot write; OTLP requests get 503 until a probe finds it can (free disk space)", "error", err)
		case err == nil && !failingSince.IsZero():
			c.log.Info("the spool writes again; accepting OTLP requests", "failed_for", time.Since(failingSince).Round(time.Millisecond))
			failingSince = time.Time{}
		}
	}
}
