// Package replay is the studio's replay engine: it re-publishes messages
// from dead-letter queues, or stored events re-read from the broker, to
// their original destination or a chosen one, safely.
//
// Safety, in the order a request meets it: a dry run previews the count,
// the targets and a sample; a run needs a reason and, for more than one
// message, the expected count echoed back; an idempotency key makes a
// repeated request return the first replay instead of publishing again;
// publishing is rate limited and can be cancelled; every replay and the
// result for each message are written to the store's audit log.
//
// Replayed messages get a new event id and keep the original's other
// headers (correlation id included) except trace context and dead-letter
// bookkeeping, and carry causeway-replay-of (the original event id) and
// causeway-replay-id. The engine publishes through the agent library, so
// its publishes are traced like any service's and a replay shows up in
// the causation graph as a new branch of the original flow.
package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/brokerconn"
	"github.com/causeway-dev/causeway/store"
)

// Config configures the engine's broker connections and limits.
type Config struct {
	// KafkaBrokers are the Kafka seed brokers; none disables Kafka replays.
	KafkaBrokers []string `yaml:"kafka_brokers"`
	// Kafka is how replays authenticate to Kafka (SASL) and encrypt the
	// connection (TLS).
	Kafka brokerconn.Kafka `yaml:"kafka"`
	// NATSURL is the NATS server URL; empty disables NATS replays.
	NATSURL string `yaml:"nats_url"`
	// NATS is how replays authenticate to NATS (credentials file, nkey,
	// user and password, token) and encrypt the connection (TLS).
	NATS brokerconn.NATS `yaml:"nats"`
	// DefaultRate is the publish rate when a request gives none (default 100/s).
	DefaultRate float64 `yaml:"default_rate"`
	// MaxRate is the highest rate a request may ask for (default 10,000/s).
	MaxRate float64 `yaml:"max_rate"`
	// MaxMessages caps one replay (default 100,000).
	MaxMessages int `yaml:"max_messages"`
	// AllowedTargets are destinations (names or globs such as "orders.*")
	// a replay may be sent to besides each message's original destination
	// as the broker recorded it. Empty: only original destinations.
	AllowedTargets []string `yaml:"allowed_targets"`
}

// Validate checks the target patterns and the broker connection settings
// (without reading their files).
func (c Config) Validate() error {
	for _, p := range c.AllowedTargets {
		if _, err := path.Match(p, ""); err != nil || strings.TrimSpace(p) == "" {
			return fmt.Errorf("studio.replay.allowed_targets: %q is not a name or glob pattern", p)
		}
	}
	if err := c.Kafka.Validate(); err != nil {
		return fmt.Errorf("studio.replay.kafka: %w", err)
	}
	if err := c.NATS.Validate(); err != nil {
		return fmt.Errorf("studio.replay.nats: %w", err)
	}
	return nil
}

// DefaultConfig returns the limits' defaults; no broker is set.
func DefaultConfig() Config {
	return Config{DefaultRate: 100, MaxRate: 10000, MaxMessages: 100000}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	if c.DefaultRate <= 0 {
		c.DefaultRate = d.DefaultRate
	}
	if c.MaxRate <= 0 {
		c.MaxRate = d.MaxRate
	}
	if c.MaxMessages <= 0 {
		c.MaxMessages = d.MaxMessages
	}
}

// Request asks for a replay (or, with DryRun, a preview of one). Exactly
// one source is given: DLQIDs, DLQFilter or EventIDs.
type Request struct {
	// DLQIDs replays these DLQ entries.
	DLQIDs []string `json:"dlq_ids,omitempty"`
	// DLQFilter replays every DLQ entry it matches.
	DLQFilter *DLQFilter `json:"dlq_filter,omitempty"`
	// EventIDs replays stored events, re-read from the broker where they
	// were published (topic, partition and offset, or stream sequence).
	EventIDs []string `json:"event_ids,omitempty"`
	// Target overrides the destination; empty means each message's original one.
	Target string `json:"target,omitempty"`
	// Reason is why; required to run.
	Reason string `json:"reason,omitempty"`
	// DryRun asks for a preview only.
	DryRun bool `json:"dry_run,omitempty"`
	// ExpectedCount must equal the number of messages when there is more than one.
	ExpectedCount int `json:"expected_count,omitempty"`
	// RatePerSec limits publishing; 0 means the configured default.
	RatePerSec float64 `json:"rate_per_sec,omitempty"`
}

// DLQFilter selects DLQ entries; every non-empty field narrows.
type DLQFilter struct {
	// Source is the DLQ topic or stream.
	Source string `json:"source,omitempty"`
	// Destination is the original destination.
	Destination string `json:"destination,omitempty"`
	// Reason is the exact dead-lettering reason.
	Reason string `json:"reason,omitempty"`
	// Since and Until bound the arrival time.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// Preview is a dry run's answer.
type Preview struct {
	DryRun bool `json:"dry_run"`
	// Count is how many messages the replay would publish.
	Count int `json:"count"`
	// Targets are where they would go, with counts.
	Targets []Target `json:"targets"`
	// Sample shows the first few messages.
	Sample []Sample `json:"sample"`
	// ConfirmCount is set when a run must echo Count as expected_count.
	ConfirmCount bool `json:"confirm_count"`
	// RatePerSec is the rate a run would use, and Seconds its estimated duration.
	RatePerSec float64 `json:"rate_per_sec"`
	Seconds    float64 `json:"seconds"`
}

// Target is one destination of a replay.
type Target struct {
	System      string `json:"system"`
	Destination string `json:"destination"`
	Count       int    `json:"count"`
}

// Sample is one message of a preview.
type Sample struct {
	DLQID          string `json:"dlq_id,omitempty"`
	EventID        string `json:"event_id,omitempty"`
	CorrelationID  string `json:"correlation_id,omitempty"`
	System         string `json:"system"`
	Destination    string `json:"destination"`
	Reason         string `json:"reason,omitempty"`
	PayloadPreview string `json:"payload_preview,omitempty"`
	PayloadSize    int64  `json:"payload_size"`
	// PayloadHidden says why PayloadPreview is empty: the API hides it
	// from roles below studio.payloads_min_role.
	PayloadHidden string `json:"payload_hidden,omitempty"`
}

// Error is a request the engine refuses; Code is stable for clients:
// invalid_argument, count_mismatch, not_found, unavailable,
// idempotency_conflict, already_finished, and untrusted_source (an
// untrusted DLQ entry the broker no longer has) and target_not_allowed (a
// target that is neither the original destination nor allowed), which the
// API answers with 403.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Engine runs replays. Create it with New, stop it with Close.
type Engine struct {
	cfg     Config
	st      store.Store
	log     *slog.Logger
	brokers map[string]broker // by system
	notify  func(store.Replay)

	create sync.Mutex // serialises idempotency-key checks with creation
	mu     sync.Mutex
	jobs   map[string]*job
	closed bool
	wg     sync.WaitGroup

	counts counts // for Stats and the Prometheus metrics (metrics.go)

	audit Auditor // nil: no audit log
}

// Auditor appends to the audit log; *audit.Log is one.
type Auditor interface {
	Append(ctx context.Context, actor, action, subject string, detail any) (store.AuditRecord, error)
}

// SetAudit makes the engine append every replay's creation, start, end or
// cancellation to a. Call it before Recover and Start. A replay whose
// creation cannot be recorded is refused.
func (e *Engine) SetAudit(a Auditor) { e.audit = a }

// record appends to the audit log, if there is one; a failure is logged.
func (e *Engine) record(actor, action string, r store.Replay, detail map[string]any) {
	if e.audit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.audit.Append(ctx, actor, action, r.ID, detail); err != nil {
		e.log.Error("replay: appending to the audit log failed", "replay", r.ID, "action", action, "error", err)
	}
}

// outcome is the audit detail of a replay's end.
func outcome(r store.Replay) map[string]any {
	return map[string]any{"state": r.State, "requested_by": r.RequestedBy, "total": r.Total, "sent": r.Sent, "failed": r.Failed, "error": r.Error}
}

// New connects to the configured brokers. Publishes are traced through a,
// which names the replaying service (e.g. "causeway-replay"). notify, if
// not nil, is called with every progress update of every replay.
func New(ctx context.Context, cfg Config, st store.Store, a *agent.Agent, notify func(store.Replay), log *slog.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	e := &Engine{cfg: cfg, st: st, log: log, brokers: map[string]broker{}, notify: notify, jobs: map[string]*job{}}
	if e.notify == nil {
		e.notify = func(store.Replay) {}
	}
	if len(cfg.KafkaBrokers) > 0 {
		k, err := newKafka(ctx, cfg.KafkaBrokers, cfg.Kafka, a, log)
		if err != nil {
			return nil, err
		}
		e.brokers["kafka"] = k
	}
	if cfg.NATSURL != "" {
		n, err := newNATS(ctx, cfg.NATSURL, cfg.NATS, a, log)
		if err != nil {
			e.closeBrokers()
			return nil, err
		}
		e.brokers["nats"] = n
	}
	return e, nil
}

// Recover marks replays that were running when the studio last stopped as
// failed: what they sent is in their item results.
func (e *Engine) Recover(ctx context.Context) error {
	page, err := e.st.Replays(ctx, store.ReplayQuery{Limit: 1000})
	if err != nil {
		return fmt.Errorf("replay: recover: %w", err)
	}
	for _, r := range page.Replays {
		if r.Done() {
			continue
		}
		r.State, r.Error = store.ReplayFailed, "interrupted: the studio stopped while this replay ran; the item results show what was sent"
		r.FinishedNS = uint64(time.Now().UnixNano())
		r.UpdatedNS = max(r.FinishedNS, r.UpdatedNS+1)
		if err := e.st.PutReplay(ctx, r); err != nil {
			return fmt.Errorf("replay: recover %s: %w", r.ID, err)
		}
		e.record("studio", "replay.finished", r, outcome(r))
	}
	return nil
}

// Preview answers a dry run.
func (e *Engine) Preview(ctx context.Context, req Request) (Preview, error) {
	items, err := e.resolve(ctx, req)
	if err != nil {
		return Preview{}, err
	}
	rate, err := e.rate(req.RatePerSec)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{DryRun: true, Count: len(items), Targets: []Target{}, Sample: []Sample{}, ConfirmCount: len(items) > 1,
		RatePerSec: rate, Seconds: float64(len(items)) / rate}
	at := map[[2]string]int{}
	for _, it := range items {
		k := [2]string{it.system, it.to}
		if i, ok := at[k]; ok {
			p.Targets[i].Count++
			continue
		}
		at[k] = len(p.Targets)
		p.Targets = append(p.Targets, Target{System: it.system, Destination: it.to, Count: 1})
	}
	for _, it := range items[:min(len(items), 5)] {
		s := Sample{DLQID: it.dlqID, EventID: it.eventID, CorrelationID: it.corrID, System: it.system, Destination: it.to,
			Reason: it.reason, PayloadSize: it.size}
		if it.dlqID != "" {
			if d, err := e.st.DLQEntry(ctx, it.dlqID); err == nil {
				s.PayloadPreview = preview(d.Payload)
			}
		}
		p.Sample = append(p.Sample, s)
	}
	return p, nil
}

// preview shows the start of a payload: text as it is, binary in hex.
func preview(b []byte) string {
	const n = 256
	if len(b) > n {
		b = b[:n]
	}
	if s := string(b); strings.ToValidUTF8(s, "\uFFFD") == s {
		return s
	}
	return "hex:" + hex.EncodeToString(b)
}

func (e *Engine) rate(r float64) (float64, error) {
	switch {
	case r == 0:
		return e.cfg.DefaultRate, nil
	case r < 0 || r > e.cfg.MaxRate:
		return 0, refuse("invalid_argument", "rate_per_sec %g: want more than 0 and at most %g", r, e.cfg.MaxRate)
	}
	return r, nil
}

// Start validates req and starts the replay in the background, as who. With
// an idempotency key who already used, it returns that replay and created
// false; keys are scoped per requester, so another token's use of the same
// key does not count.
func (e *Engine) Start(ctx context.Context, who string, req Request, key string) (r store.Replay, created bool, err error) {
	if strings.TrimSpace(req.Reason) == "" {
		return r, false, refuse("invalid_argument", "a reason is required to replay")
	}
	rate, err := e.rate(req.RatePerSec)
	if err != nil {
		return r, false, err
	}
	req.RatePerSec, req.DryRun = rate, false
	reqJSON, _ := json.Marshal(req)
	e.create.Lock()
	defer e.create.Unlock()
	if key != "" {
		prev, err := e.st.ReplayByKey(ctx, who, key)
		switch {
		case err == nil && prev.Request != string(reqJSON):
			return r, false, refuse("idempotency_conflict", "idempotency key %q was used for a different request (replay %s)", key, prev.ID)
		case err == nil:
			return prev, false, nil
		case !errors.Is(err, store.ErrNotFound):
			return r, false, err
		}
	}
	items, err := e.resolve(ctx, req)
	if err != nil {
		return r, false, err
	}
	if n := len(items); n > 1 && req.ExpectedCount != n || n == 1 && req.ExpectedCount > 1 {
		return r, false, refuse("count_mismatch", "this replay publishes %d messages; confirm by sending expected_count %d", n, n)
	}
	for _, it := range items {
		if e.brokers[it.system] == nil {
			return r, false, refuse("unavailable", "no %s connection is configured for replays (studio.replay in the configuration)", it.system)
		}
	}
	now := uint64(time.Now().UnixNano())
	r = store.Replay{ID: newID(), IdempotencyKey: key, RequestedBy: who, Reason: req.Reason, Request: string(reqJSON),
		Target: req.Target, State: store.ReplayQueued, Total: int64(len(items)), RatePerSec: rate, CreatedNS: now, UpdatedNS: now}
	if e.audit != nil {
		if _, err := e.audit.Append(ctx, who, "replay.created", r.ID, map[string]any{"reason": r.Reason, "request": json.RawMessage(reqJSON),
			"target": r.Target, "total": r.Total, "idempotency_key": key}); err != nil {
			return store.Replay{}, false, fmt.Errorf("replay: the audit log cannot record it, so it does not start: %w", err)
		}
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return store.Replay{}, false, refuse("unavailable", "the studio is shutting down")
	}
	if err := e.st.PutReplay(ctx, r); err != nil {
		e.mu.Unlock()
		return store.Replay{}, false, err
	}
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	j := &job{e: e, r: r, items: items, ctx: jctx, cancel: cancel, done: make(chan struct{})}
	e.jobs[r.ID] = j
	e.wg.Add(1)
	e.mu.Unlock()
	e.counts.started.Add(1)
	go j.run()
	return r, true, nil
}

// Get returns a replay with up to itemLimit item results after seq from
// (-1 for the first). A running replay's counts are current.
func (e *Engine) Get(ctx context.Context, id string, from int64, itemLimit int) (store.Replay, []store.ReplayItem, error) {
	e.mu.Lock()
	j := e.jobs[id]
	e.mu.Unlock()
	r, err := e.st.Replay(ctx, id)
	if err != nil {
		return r, nil, err
	}
	if j != nil {
		r = j.snapshot()
	}
	items, err := e.st.ReplayItems(ctx, id, from, itemLimit)
	return r, items, err
}

// List returns a page of replays, newest first, with live counts for running ones.
func (e *Engine) List(ctx context.Context, q store.ReplayQuery) (store.ReplayPage, error) {
	page, err := e.st.Replays(ctx, q)
	if err != nil {
		return page, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, r := range page.Replays {
		if j := e.jobs[r.ID]; j != nil {
			page.Replays[i] = j.snapshot()
		}
	}
	return page, nil
}

// Cancel stops a running replay (messages already handed to the broker
// still arrive) and returns it in its final state.
func (e *Engine) Cancel(ctx context.Context, id, who string) (store.Replay, error) {
	e.mu.Lock()
	j := e.jobs[id]
	e.mu.Unlock()
	if j == nil {
		r, err := e.st.Replay(ctx, id)
		if err != nil {
			return r, err
		}
		return r, refuse("already_finished", "replay %s already finished: %s", id, r.State)
	}
	j.stop(who)
	select {
	case <-j.done:
	case <-ctx.Done():
		return j.snapshot(), ctx.Err()
	}
	return j.snapshot(), nil
}

// Close cancels running replays, waits for them to record their state and
// closes the broker connections.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	for _, j := range e.jobs {
		j.stop("the studio shutting down")
	}
	e.mu.Unlock()
	e.wg.Wait()
	e.closeBrokers()
}

func (e *Engine) closeBrokers() {
	for _, b := range e.brokers {
		b.close()
	}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
