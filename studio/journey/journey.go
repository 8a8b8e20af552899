// Package journey is the studio's view of business processes (issue #17):
// a Journey names a process by its start, its steps, its terminal
// outcomes and an SLO; sagas are journeys with compensation steps.
//
// The ledger is kept on ingest: Writer wraps the store the collector
// writes to and, after each batch is stored, classifies its events against
// every journey (Set) and merges one update per journey and correlation
// into the store's ledger (store.Ledger). Nothing is recomputed by scanning
// events; a retried batch merges to the same entries.
//
// Service answers the API: each journey's SLO attainment, counts and
// end-to-end quantiles over a window, a per-step breakdown (queue wait
// versus handler time per hop, from a sample of recent correlations),
// the stuck entities grouped by the step where they stopped, and
// journeys suggested from traffic.
package journey

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Journey is a named business process.
type Journey struct {
	// Name identifies the journey (letters, digits, '.', '_', '-').
	Name string `yaml:"name" json:"name"`
	// Description says what the process is, for people.
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Start is the event that starts an entity (its correlation id); with
	// no op it matches publishes.
	Start Step `yaml:"start" json:"start"`
	// Steps are the steps between start and end, in order.
	Steps []Step `yaml:"steps,omitempty" json:"steps,omitempty"`
	// Compensation are a saga's compensating steps, in order.
	Compensation []Step `yaml:"compensation,omitempty" json:"compensation,omitempty"`
	// Success, Failure and Compensated are the terminal outcomes: an
	// entity ends when one of them is published (any op when set). A
	// journey needs a success outcome, or a saga a compensated one.
	Success     []Step `yaml:"success,omitempty" json:"success,omitempty"`
	Failure     []Step `yaml:"failure,omitempty" json:"failure,omitempty"`
	Compensated []Step `yaml:"compensated,omitempty" json:"compensated,omitempty"`
	// SLO is the journey's objective.
	SLO SLO `yaml:"slo" json:"slo"`
}

// Step is a named match on events: an event belongs to the step when
// every field set matches.
type Step struct {
	// Name names the step; default its event type, else its destination.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// EventType and Destination: at least one is required.
	EventType   string `yaml:"event_type,omitempty" json:"event_type,omitempty"`
	Destination string `yaml:"destination,omitempty" json:"destination,omitempty"`
	// Op narrows to one operation (publish, process, …).
	Op event.Op `yaml:"op,omitempty" json:"op,omitempty"`
	// Service narrows to one service.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
}

// SLO is a journey's objective: Target of the entities end within
// Within; an open entity older than StuckAfter is stuck.
type SLO struct {
	// Target is the fraction that must end in time (default 0.99).
	Target float64 `yaml:"target,omitempty" json:"target,omitempty"`
	// Within is the end-to-end time allowed (default 30s).
	Within Duration `yaml:"within,omitempty" json:"within,omitempty"`
	// StuckAfter is the age at which an open entity counts as stuck
	// (default 5m; at least Within).
	StuckAfter Duration `yaml:"stuck_after,omitempty" json:"stuck_after,omitempty"`
}

// Duration is a time.Duration written as "30s" in JSON and YAML.
type Duration time.Duration

// MarshalText writes the duration as "30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "30s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Default SLO values.
const (
	DefaultTarget     = 0.99
	DefaultWithin     = 30 * time.Second
	DefaultStuckAfter = 5 * time.Minute
)

// ErrInvalid marks a journey definition that cannot be used.
var ErrInvalid = errors.New("invalid journey")

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// reservedName is a path of the API (/api/v1/journeys/suggestions), not a journey.
const reservedName = "suggestions"

// StepName is the step's name: Name, else its event type, else its destination.
func (s Step) StepName() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.EventType != "":
		return s.EventType
	}
	return s.Destination
}

// matches reports whether e belongs to the step; with anyOp the step's
// op is not checked (publishOnly: no op matches publishes only).
func (s Step) matches(e *event.Event, publishOnly bool) bool {
	if s.EventType != "" && e.EventType != s.EventType || s.Destination != "" && e.Destination != s.Destination ||
		s.Service != "" && e.Service != s.Service {
		return false
	}
	switch {
	case s.Op != "":
		return e.Op == s.Op
	case publishOnly:
		return e.Op == event.OpPublish
	}
	return true
}

// WithDefaults returns j with the SLO's defaults filled in.
func (j Journey) WithDefaults() Journey {
	if j.SLO.Target == 0 {
		j.SLO.Target = DefaultTarget
	}
	if j.SLO.Within == 0 {
		j.SLO.Within = Duration(DefaultWithin)
	}
	if j.SLO.StuckAfter == 0 {
		j.SLO.StuckAfter = Duration(max(DefaultStuckAfter, time.Duration(j.SLO.Within)))
	}
	return j
}

// Validate reports the first problem with a journey (wrapping ErrInvalid).
func (j Journey) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalid, j.Name, fmt.Sprintf(format, args...))
	}
	if j.Name == reservedName {
		return fmt.Errorf("%w: the name %q is reserved", ErrInvalid, j.Name)
	}
	if !nameRE.MatchString(j.Name) {
		return fmt.Errorf("%w: name %q: want 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, j.Name)
	}
	check := func(what string, s Step) error {
		if s.EventType == "" && s.Destination == "" {
			return bad("%s needs an event_type or a destination", what)
		}
		switch s.Op {
		case "", event.OpPublish, event.OpReceive, event.OpProcess, event.OpSettle, event.OpDeadLetter, event.OpReplay:
		default:
			return bad("%s: unknown op %q", what, s.Op)
		}
		return nil
	}
	if err := check("start", j.Start); err != nil {
		return err
	}
	if len(j.Success) == 0 && len(j.Compensated) == 0 {
		return bad("no success (or, for a saga, compensated) outcome")
	}
	if n := len(j.StepNames()); n > store.MaxLedgerSteps {
		return bad("%d steps in all (start, steps, compensation, outcomes), at most %d", n, store.MaxLedgerSteps)
	}
	names := map[string]string{}
	for _, g := range []struct {
		what  string
		steps []Step
	}{{"start", []Step{j.Start}}, {"step", j.Steps}, {"compensation step", j.Compensation},
		{"success outcome", j.Success}, {"failure outcome", j.Failure}, {"compensated outcome", j.Compensated}} {
		for i, s := range g.steps {
			what := fmt.Sprintf("%s %d", g.what, i+1)
			if err := check(what, s); err != nil {
				return err
			}
			if prev, ok := names[s.StepName()]; ok && prev != what {
				return bad("%s and %s are both named %q", prev, what, s.StepName())
			}
			names[s.StepName()] = what
		}
	}
	slo := j.WithDefaults().SLO
	switch {
	case slo.Target <= 0 || slo.Target > 1:
		return bad("slo.target %v: want a fraction in (0, 1]", j.SLO.Target)
	case slo.Within < 0 || slo.StuckAfter < 0:
		return bad("negative slo duration")
	case slo.StuckAfter < slo.Within:
		return bad("slo.stuck_after %s is shorter than slo.within %s", time.Duration(slo.StuckAfter), time.Duration(slo.Within))
	}
	return nil
}

// StepNames lists the journey's step names in the order an entity meets
// them: start, steps, compensation, then the outcomes.
func (j Journey) StepNames() []string {
	var out []string
	for _, g := range [][]Step{{j.Start}, j.Steps, j.Compensation, j.Success, j.Failure, j.Compensated} {
		for _, s := range g {
			out = append(out, s.StepName())
		}
	}
	return out
}

// Saga reports whether the journey has compensation.
func (j Journey) Saga() bool { return len(j.Compensation) > 0 || len(j.Compensated) > 0 }
