// Package alert is the studio's alert engine: rules over consumer lag, DLQ
// arrivals, handler error rates and end-to-end latency between two event
// types, evaluated on a schedule against the
// store, with `for` durations, and firing / resolved notifications to
// webhooks (generic JSON signed with HMAC-SHA256, or Slack-compatible).
//
// A rule fires when its condition has held for its For duration, and
// resolves when the condition stops holding; each transition is notified
// once. Rules from the configuration file are loaded at every start; rules
// saved through the API and the alert history are kept in the store.
package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/journey"
)

// Kind is what a rule watches.
type Kind string

// Rule kinds.
const (
	// KindLagMessages: a group's total lag in messages above Threshold.
	KindLagMessages Kind = "lag_messages"
	// KindLagSeconds: a group's largest lag in seconds above Threshold.
	KindLagSeconds Kind = "lag_seconds"
	// KindLagStatus: a group's status is one of Statuses (e.g. STALL, STOP).
	KindLagStatus Kind = "lag_status"
	// KindDLQArrivals: more than Threshold DLQ arrivals within Window.
	KindDLQArrivals Kind = "dlq_arrivals"
	// KindErrorRate: errors / operations on a destination within Window
	// above Threshold (0..1).
	KindErrorRate Kind = "error_rate"
	// KindLatency: the p99 end-to-end latency, in seconds, from the
	// publish of a FromEventType event to the first publish of a
	// ToEventType event of the same correlation id, over the flows that
	// reached ToEventType within Window, above Threshold.
	KindLatency Kind = "e2e_latency"
	// KindJourneyStuck: more than Threshold entities of Journey stuck (at
	// Step, or at any one step when Step is empty), see package journey.
	KindJourneyStuck Kind = "journey_stuck"
	// KindJourneySLO: Journey's SLO attainment over Window (the entities
	// that started in it) below Threshold (0..1; 0: the journey's target).
	KindJourneySLO Kind = "journey_slo"
)

// Rule is an alert rule.
type Rule struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
	Kind Kind   `json:"kind" yaml:"kind"`
	// Group narrows lag rules to one consumer group ("" = every group).
	Group string `json:"group,omitempty" yaml:"group"`
	// Destination narrows error-rate and DLQ rules ("" = all).
	Destination string `json:"destination,omitempty" yaml:"destination"`
	// Threshold is the limit the value must exceed.
	Threshold float64 `json:"threshold" yaml:"threshold"`
	// FromEventType and ToEventType are the two ends of an e2e_latency rule.
	FromEventType string `json:"from_event_type,omitempty" yaml:"from_event_type"`
	ToEventType   string `json:"to_event_type,omitempty" yaml:"to_event_type"`
	// Journey names the journey of journey_stuck and journey_slo rules;
	// Step narrows journey_stuck to one step.
	Journey string `json:"journey,omitempty" yaml:"journey"`
	Step    string `json:"step,omitempty" yaml:"step"`
	// Statuses are the lag statuses that fire a lag_status rule.
	Statuses []string `json:"statuses,omitempty" yaml:"statuses"`
	// Window is the look-back of dlq_arrivals and error_rate (default 5m).
	Window Duration `json:"window,omitempty" yaml:"window"`
	// For is how long the condition must hold before firing.
	For Duration `json:"for,omitempty" yaml:"for"`
	// Webhooks are the targets notified on firing and resolving.
	Webhooks []Webhook `json:"webhooks" yaml:"webhooks"`
	// UpdatedBy and UpdatedAt say which API token last created or changed
	// the rule, and when; the API sets them (a client's values are
	// replaced), rules from the configuration file have none.
	UpdatedBy string    `json:"updated_by,omitempty" yaml:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero" yaml:"updated_at,omitempty"`
}

// Duration is a time.Duration written as "30s" in JSON and YAML: the
// type journeys' SLOs are written in, so rules and journeys read alike.
type Duration = journey.Duration

// Validate reports the first problem with a rule.
func (r *Rule) Validate() error {
	switch {
	case r.ID == "":
		return errors.New("rule has no id")
	case r.Name == "":
		return fmt.Errorf("rule %s has no name", r.ID)
	case r.For < 0 || r.Window < 0:
		return fmt.Errorf("rule %s: negative duration", r.ID)
	}
	switch r.Kind {
	case KindLagMessages, KindLagSeconds, KindDLQArrivals:
		if r.Threshold < 0 {
			return fmt.Errorf("rule %s: threshold must not be negative", r.ID)
		}
	case KindErrorRate:
		if r.Threshold < 0 || r.Threshold > 1 {
			return fmt.Errorf("rule %s: error-rate threshold must be within 0..1", r.ID)
		}
	case KindLagStatus:
		if len(r.Statuses) == 0 {
			return fmt.Errorf("rule %s: lag_status needs statuses", r.ID)
		}
	case KindJourneyStuck, KindJourneySLO:
		if r.Journey == "" {
			return fmt.Errorf("rule %s: %s needs a journey", r.ID, r.Kind)
		}
		if r.Threshold < 0 || r.Kind == KindJourneySLO && r.Threshold > 1 {
			return fmt.Errorf("rule %s: %s threshold out of range (journey_stuck: a count; journey_slo: a fraction within 0..1)", r.ID, r.Kind)
		}
	case KindLatency:
		if r.FromEventType == "" || r.ToEventType == "" || r.FromEventType == r.ToEventType {
			return fmt.Errorf("rule %s: e2e_latency needs two different event types, from_event_type and to_event_type", r.ID)
		}
		if r.Threshold <= 0 {
			return fmt.Errorf("rule %s: e2e_latency needs a threshold in seconds", r.ID)
		}
	default:
		return fmt.Errorf("rule %s: unknown kind %q (want lag_messages, lag_seconds, lag_status, dlq_arrivals, error_rate, e2e_latency, journey_stuck, journey_slo)", r.ID, r.Kind)
	}
	for i, w := range r.Webhooks {
		if err := w.validate(); err != nil {
			return fmt.Errorf("rule %s webhook %d: %w", r.ID, i+1, err)
		}
	}
	return nil
}

// State is where a rule stands.
type State string

// Rule states.
const (
	StateOK      State = "ok"
	StatePending State = "pending" // the condition holds, not yet for long enough
	StateFiring  State = "firing"
)

// Event is a recorded transition, as notified.
type Event struct {
	RuleID   string    `json:"rule_id"`
	RuleName string    `json:"rule_name"`
	Status   string    `json:"status"` // "firing", "resolved" or "test"
	Value    float64   `json:"value"`
	Summary  string    `json:"summary"`
	At       time.Time `json:"at"`
	// Links open the views that explain the alert (built on the studio's
	// public URL); Samples are ids to look at (correlation ids, DLQ entries).
	Links   []Link   `json:"links,omitempty"`
	Samples []string `json:"samples,omitempty"`
	// Delivered counts the webhooks that accepted the notification.
	Delivered int `json:"delivered"`
	// Failed lists webhook errors, after retries.
	Failed []string `json:"failed,omitempty"`
}

type ruleState struct {
	state State
	since time.Time // when the condition started holding
	// firing is what the rule fired with: its resolution links there too.
	firing finding
}

// Store is what the engine reads (lag, DLQ entries, events, flows) and
// where it keeps the rules made through the API and the alert history.
type Store interface {
	store.Reader
	store.AlertLog
}

// Engine evaluates rules and sends notifications.
type Engine struct {
	r      Store
	sender *Sender
	log    *slog.Logger
	now    func() time.Time
	sealer *Sealer // nil: rules are stored as they are (see seal.go)

	links    linker
	journeys JourneySource // nil: journey rules fail to evaluate

	mu      sync.Mutex
	onEvent func(Event)
	rules   map[string]*Rule
	states  map[string]*ruleState
	history []Event
}

// maxHistory bounds the kept transitions.
const maxHistory = 1000

// NewEngine returns an engine over r notifying through s. Load brings
// back the rules and the history r keeps.
func NewEngine(r Store, s *Sender, log *slog.Logger) *Engine {
	return &Engine{r: r, sender: s, log: log, now: time.Now, rules: map[string]*Rule{}, states: map[string]*ruleState{}}
}

// OnEvent registers fn to be called with every alert event (firing,
// resolved, test) once it is recorded.
func (e *Engine) OnEvent(fn func(Event)) {
	e.mu.Lock()
	e.onEvent = fn
	e.mu.Unlock()
}

// Put adds or replaces a rule.
func (e *Engine) Put(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	for _, w := range r.Webhooks {
		if err := e.sender.Check(w.URL); err != nil {
			return fmt.Errorf("rule %s: %w", r.ID, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules[r.ID] = &r
	if _, ok := e.states[r.ID]; !ok {
		e.states[r.ID] = &ruleState{state: StateOK}
	}
	return nil
}

// SetSealer makes Save store rules encrypted with s, and Load open them.
// Call it before Load.
func (e *Engine) SetSealer(s *Sealer) { e.sealer = s }

// Load brings back the rules saved through Save and the latest history.
// A saved rule the sender now refuses (its target became forbidden) is
// skipped with a warning.
func (e *Engine) Load(ctx context.Context) error {
	recs, err := e.r.AlertRules(ctx)
	if err != nil {
		return fmt.Errorf("alert rules: %w", err)
	}
	for _, rec := range recs {
		var r Rule
		spec, err := e.sealer.open(rec.ID, rec.Spec)
		if err != nil {
			e.log.Error("stored alert rule cannot be opened with this studio's secret key; skipped", "rule", rec.ID, "error", err)
			continue
		}
		if err := yaml.Unmarshal(spec, &r); err != nil {
			e.log.Warn("stored alert rule unreadable; skipped", "rule", rec.ID, "error", err)
			continue
		}
		if err := e.Put(r); err != nil {
			e.log.Warn("stored alert rule refused; skipped", "rule", rec.ID, "error", err)
		}
	}
	evs, err := e.r.AlertEvents(ctx, maxHistory)
	if err != nil {
		return fmt.Errorf("alert history: %w", err)
	}
	history := make([]Event, 0, len(evs))
	for i := len(evs) - 1; i >= 0; i-- {
		var ev Event
		if json.Unmarshal([]byte(evs[i].Body), &ev) == nil {
			history = append(history, ev)
		}
	}
	e.mu.Lock()
	e.history = append(history, e.history...)
	e.mu.Unlock()
	return nil
}

// Save adds or replaces a rule and keeps it in the store. A webhook URL
// given as "[set]" (as the API shows it) keeps the URL of the rule's
// current webhook at the same position; a secret given as "[set]" keeps
// the current secret of that webhook (the same position when the URL is
// "[set]", else the same URL).
func (e *Engine) Save(ctx context.Context, r Rule) error {
	if old, ok := e.Rule(r.ID); ok {
		for i, w := range r.Webhooks {
			var prev *Webhook
			if w.URL == secretShown && i < len(old.Webhooks) {
				prev = &old.Webhooks[i]
				r.Webhooks[i].URL = prev.URL
			} else {
				for j := range old.Webhooks {
					if old.Webhooks[j].URL == w.URL {
						prev = &old.Webhooks[j]
					}
				}
			}
			if w.Secret == secretShown {
				r.Webhooks[i].Secret = ""
				if prev != nil {
					r.Webhooks[i].Secret = prev.Secret
				}
			}
		}
	}
	for i, w := range r.Webhooks {
		if w.URL == secretShown {
			return fmt.Errorf("rule %s: webhook %d: %q stands for an existing URL, and the rule has no webhook there", r.ID, i+1, secretShown)
		}
		if w.Secret == secretShown {
			return fmt.Errorf("rule %s: webhook %s: %q stands for an existing secret, and this webhook has none", r.ID, w.URL, secretShown)
		}
	}
	if err := e.Put(r); err != nil {
		return err
	}
	spec, err := yaml.Marshal(r)
	if err == nil {
		stored := string(spec)
		if e.sealer != nil {
			stored = e.sealer.seal(r.ID, spec)
		}
		err = e.r.PutAlertRule(ctx, store.AlertRuleRecord{ID: r.ID, Spec: stored, UpdatedNS: uint64(time.Now().UnixNano())})
	}
	if err != nil {
		return fmt.Errorf("rule %s: %w: %w", r.ID, ErrNotSaved, err)
	}
	return nil
}

// ErrNotSaved wraps a Save error from the store: the rule is active but
// will not survive a restart.
var ErrNotSaved = errors.New("rule active but not saved")

// Remove deletes a rule, also from the store; it reports whether the rule existed.
func (e *Engine) Remove(ctx context.Context, id string) (bool, error) {
	if !e.Delete(id) {
		return false, nil
	}
	return true, e.r.PutAlertRule(ctx, store.AlertRuleRecord{ID: id, Deleted: true, UpdatedNS: uint64(time.Now().UnixNano())})
}

// Delete removes a rule; it reports whether the rule existed.
func (e *Engine) Delete(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.rules[id]
	delete(e.rules, id)
	delete(e.states, id)
	return ok
}

// RuleStatus is a rule with its current state.
type RuleStatus struct {
	Rule
	State State     `json:"state"`
	Since time.Time `json:"since,omitzero"`
}

// Rules lists the rules, sorted by id.
func (e *Engine) Rules() []RuleStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]RuleStatus, 0, len(e.rules))
	for id, r := range e.rules {
		st := e.states[id]
		out = append(out, RuleStatus{Rule: *r, State: st.state, Since: st.since})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Rule returns one rule.
func (e *Engine) Rule(id string) (Rule, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.rules[id]
	if !ok {
		return Rule{}, false
	}
	return *r, true
}

// History returns the recorded transitions, newest first.
func (e *Engine) History() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Event, len(e.history))
	for i, ev := range e.history {
		out[len(e.history)-1-i] = ev
	}
	return out
}

// Run evaluates every interval until ctx is done.
func (e *Engine) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		e.Evaluate(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Evaluate checks every rule once and notifies transitions.
func (e *Engine) Evaluate(ctx context.Context) {
	e.mu.Lock()
	rules := make([]Rule, 0, len(e.rules))
	for _, r := range e.rules {
		rules = append(rules, *r)
	}
	e.mu.Unlock()
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	now := e.now()
	for _, r := range rules {
		f, err := e.check(ctx, &r, now)
		holds := f.holds
		if err != nil {
			e.log.Warn("alert rule evaluation failed", "rule", r.ID, "error", err)
			continue
		}
		var notify string
		shown := f
		e.mu.Lock()
		st := e.states[r.ID]
		if st == nil { // deleted meanwhile
			e.mu.Unlock()
			continue
		}
		switch {
		case holds && st.state == StateOK:
			st.state, st.since = StatePending, now
			if r.For <= 0 {
				st.state, notify, st.firing = StateFiring, "firing", f
			}
		case holds && st.state == StatePending && now.Sub(st.since) >= time.Duration(r.For):
			st.state, notify, st.firing = StateFiring, "firing", f
		case !holds && st.state == StateFiring:
			st.state, st.since, notify = StateOK, time.Time{}, "resolved"
			if len(shown.links) == 0 {
				shown.links, shown.samples = st.firing.links, st.firing.samples
			}
		case !holds:
			st.state, st.since = StateOK, time.Time{}
		}
		e.mu.Unlock()
		if notify != "" {
			e.record(ctx, r, Event{RuleID: r.ID, RuleName: r.Name, Status: notify, Value: f.value, Summary: f.summary, At: now,
				Links: e.links.urls(shown.links), Samples: shown.samples})
		}
	}
}

// Test sends a test notification for a rule to its webhooks.
func (e *Engine) Test(ctx context.Context, id string) (Event, error) {
	r, ok := e.Rule(id)
	if !ok {
		return Event{}, fmt.Errorf("rule %q: %w", id, store.ErrNotFound)
	}
	return e.record(ctx, r, Event{RuleID: r.ID, RuleName: r.Name, Status: "test", Summary: "test notification from Causeway", At: e.now()}), nil
}

func (e *Engine) record(ctx context.Context, r Rule, ev Event) Event {
	for _, w := range r.Webhooks {
		if err := e.sender.Send(ctx, w, ev); err != nil {
			ev.Failed = append(ev.Failed, err.Error())
			e.log.Warn("alert webhook failed", "rule", r.ID, "host", hostOf(w.URL), "error", err)
		} else {
			ev.Delivered++
		}
	}
	e.mu.Lock()
	e.history = append(e.history, ev)
	if len(e.history) > maxHistory {
		e.history = e.history[len(e.history)-maxHistory:]
	}
	notify := e.onEvent
	e.mu.Unlock()
	if body, err := json.Marshal(ev); err == nil {
		if err := e.r.PutAlertEvent(ctx, store.AlertEventRecord{TimeNS: uint64(ev.At.UnixNano()), RuleID: ev.RuleID, Status: ev.Status, Body: string(body)}); err != nil {
			e.log.Error("alert history: store write failed", "rule", ev.RuleID, "error", err)
		}
	}
	if notify != nil {
		notify(ev)
	}
	e.log.Info("alert", "rule", r.ID, "status", ev.Status, "value", ev.Value, "summary", ev.Summary)
	return ev
}

// finding is what one evaluation of a rule found: whether its condition
// holds, the value it compares, a summary for people, the views that
// explain it and sample ids.
type finding struct {
	holds   bool
	value   float64
	summary string
	links   []link
	samples []string
}

// check evaluates a rule's condition now.
func (e *Engine) check(ctx context.Context, r *Rule, now time.Time) (finding, error) {
	window := time.Duration(r.Window)
	if window <= 0 {
		window = 5 * time.Minute
	}
	switch r.Kind {
	case KindLagMessages, KindLagSeconds, KindLagStatus:
		samples, err := e.r.Lag(ctx, store.LagQuery{Group: r.Group, Since: now.Add(-5 * time.Minute), Until: now.Add(time.Second)})
		if err != nil {
			return finding{}, err
		}
		return lagCondition(r, samples), nil
	case KindDLQArrivals:
		return e.dlqArrivals(ctx, r, now.Add(-window), now)
	case KindErrorRate:
		fm, err := e.r.Flows(ctx, store.FlowQuery{Since: now.Add(-window), Until: now})
		if err != nil {
			return finding{}, err
		}
		var ops, errs uint64
		for _, ed := range fm.Edges {
			if r.Destination == "" || ed.Source == store.DestinationNodeID("kafka", r.Destination) || ed.Source == store.DestinationNodeID("nats", r.Destination) {
				if ed.Op == "process" {
					ops, errs = ops+ed.Count, errs+ed.Errors
				}
			}
		}
		if ops == 0 {
			return finding{summary: "no handler runs"}, nil
		}
		rate := float64(errs) / float64(ops)
		return finding{holds: rate > r.Threshold, value: rate,
			summary: fmt.Sprintf("%.1f%% of %d handler runs failed in the last %s", 100*rate, ops, window),
			links:   []link{eventsLink(r.Destination, event.OutcomeError)}}, nil
	case KindLatency:
		return e.latency(ctx, r, now.Add(-window), now)
	case KindJourneyStuck:
		return e.journeyStuck(ctx, r, now)
	case KindJourneySLO:
		return e.journeySLO(ctx, r, now.Add(-window), now)
	}
	return finding{}, fmt.Errorf("unknown kind %q", r.Kind)
}

// latency evaluates an e2e_latency rule over the flows that reached
// r.ToEventType within [since, until); it links the slowest flow's graph.
func (e *Engine) latency(ctx context.Context, r *Rule, since, until time.Time) (finding, error) {
	firstPublish := func(eventType string, since time.Time) (map[string]uint64, error) {
		page, err := e.r.Events(ctx, store.EventQuery{EventType: eventType, Since: since, Until: until, Limit: store.MaxLimit})
		if err != nil {
			return nil, err
		}
		first := map[string]uint64{}
		for _, ev := range page.Events {
			if ev.Op != event.OpPublish || ev.CorrelationID == "" {
				continue
			}
			if t, ok := first[ev.CorrelationID]; !ok || ev.StartNS < t {
				first[ev.CorrelationID] = ev.StartNS
			}
		}
		return first, nil
	}
	ends, err := firstPublish(r.ToEventType, since)
	if err != nil {
		return finding{}, err
	}
	// A flow may have started well before its end: look back an hour more.
	starts, err := firstPublish(r.FromEventType, since.Add(-time.Hour))
	if err != nil {
		return finding{}, err
	}
	var lat []float64
	var slowest string
	var worst float64
	for corr, end := range ends {
		if start, ok := starts[corr]; ok && end >= start {
			l := float64(end-start) / 1e9
			lat = append(lat, l)
			if slowest == "" || l > worst || l == worst && corr < slowest {
				slowest, worst = corr, l
			}
		}
	}
	if len(lat) == 0 {
		return finding{summary: fmt.Sprintf("no flow from %s to %s in the last %s", r.FromEventType, r.ToEventType, until.Sub(since))}, nil
	}
	sort.Float64s(lat)
	p99 := lat[min(len(lat)-1, int(float64(len(lat))*0.99))]
	return finding{holds: p99 > r.Threshold, value: p99,
		summary: fmt.Sprintf("p99 latency from %s to %s is %.2f s over %d flows in the last %s (slowest: %s, %.2f s)",
			r.FromEventType, r.ToEventType, p99, len(lat), until.Sub(since), slowest, worst),
		links: []link{graphLink(slowest, "")}, samples: []string{slowest}}, nil
}

// lagCondition looks at each group's latest sample set.
func lagCondition(r *Rule, samples []store.LagSample) finding {
	type groupState struct {
		t      uint64
		total  int64
		maxSec float64
		status string
	}
	latest := map[string]map[string]store.LagSample{} // group → partition key → sample
	for _, s := range samples {
		k := fmt.Sprintf("%s/%s/%d", s.System, s.Topic, s.Partition)
		if latest[s.Group] == nil {
			latest[s.Group] = map[string]store.LagSample{}
		}
		latest[s.Group][k] = s // samples come oldest first
	}
	var worstGroup string
	var worst float64
	holds := false
	for g, parts := range latest {
		var st groupState
		for _, s := range parts {
			st.total += s.Lag
			st.maxSec = max(st.maxSec, s.LagSeconds)
			if s.TimeNS >= st.t {
				st.t, st.status = s.TimeNS, s.GroupStatus
			}
		}
		var v float64
		var h bool
		switch r.Kind {
		case KindLagMessages:
			v, h = float64(st.total), float64(st.total) > r.Threshold
		case KindLagSeconds:
			v, h = st.maxSec, st.maxSec > r.Threshold
		case KindLagStatus:
			for _, want := range r.Statuses {
				if st.status == want {
					h = true
				}
			}
			if h {
				v = 1
			}
		}
		if h && (!holds || v > worst) {
			holds, worst, worstGroup = true, v, g
		}
	}
	if !holds {
		return finding{}
	}
	f := finding{holds: true, value: worst, links: []link{lagLink(worstGroup)}}
	switch r.Kind {
	case KindLagMessages:
		f.summary = fmt.Sprintf("consumer group %s is %.0f messages behind (limit %.0f)", worstGroup, worst, r.Threshold)
	case KindLagSeconds:
		f.summary = fmt.Sprintf("consumer group %s is %.1f s behind (limit %.1f s)", worstGroup, worst, r.Threshold)
	default:
		f.summary = fmt.Sprintf("consumer group %s is in status %v", worstGroup, r.Statuses)
	}
	return f
}

// dlqArrivals counts the DLQ arrivals of [since, until) and links the
// DLQ filtered to the most frequent reason (with its destination).
func (e *Engine) dlqArrivals(ctx context.Context, r *Rule, since, until time.Time) (finding, error) {
	n := 0
	type place struct{ reason, original string }
	counts := map[place]int{}
	var samples []string
	q := store.DLQQuery{Original: r.Destination, Since: since, Until: until, Limit: store.MaxLimit}
	for {
		p, err := e.r.DLQ(ctx, q)
		if err != nil {
			return finding{}, err
		}
		n += len(p.Entries)
		for _, d := range p.Entries {
			counts[place{d.Reason, d.Original}]++
			if len(samples) < maxSamples {
				samples = append(samples, d.ID)
			}
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	f := finding{holds: float64(n) > r.Threshold, value: float64(n), summary: fmt.Sprintf("%d DLQ arrivals in the last %s", n, until.Sub(since)), samples: samples}
	var top place
	for p, c := range counts {
		if c > counts[top] || c == counts[top] && (p.reason < top.reason || p.reason == top.reason && p.original < top.original) {
			top = p
		}
	}
	if n > 0 {
		reason := top.reason
		if reason == "" {
			reason = "no reason given"
		}
		f.summary += fmt.Sprintf("; most (%d) from %s: %s", counts[top], top.original, reason)
		f.links = []link{dlqLink(top.reason, top.original)}
	}
	return f, nil
}
