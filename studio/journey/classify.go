package journey

import (
	"slices"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// role is what a step is to its journey.
type role uint8

const (
	roleStep role = iota
	roleStart
	roleSuccess
	roleFailure
	roleCompensated
)

// rule is one step of one journey in a Set's index.
type rule struct {
	journey int
	step    Step
	role    role
	// index is the step's position in its journey (Journey.StepNames).
	index int
}

// Set is a compiled list of journeys that classifies events. It is
// immutable and safe for concurrent use.
type Set struct {
	journeys []Journey
	byType   map[string][]rule
	byDest   map[string][]rule // rules with a destination and no event type
}

// NewSet compiles journeys (each valid, names unique: the caller checked).
func NewSet(js []Journey) *Set {
	s := &Set{byType: map[string][]rule{}, byDest: map[string][]rule{}}
	for i, j := range js {
		j = j.WithDefaults()
		s.journeys = append(s.journeys, j)
		index := 0
		add := func(r role, steps ...Step) {
			for _, st := range steps {
				ru := rule{journey: i, step: st, role: r, index: index}
				index++
				if st.EventType != "" {
					s.byType[st.EventType] = append(s.byType[st.EventType], ru)
				} else {
					s.byDest[st.Destination] = append(s.byDest[st.Destination], ru)
				}
			}
		}
		add(roleStart, j.Start)
		add(roleStep, j.Steps...)
		add(roleStep, j.Compensation...)
		add(roleSuccess, j.Success...)
		add(roleFailure, j.Failure...)
		add(roleCompensated, j.Compensated...)
	}
	return s
}

// Journeys returns the set's journeys, defaults filled in, in order.
func (s *Set) Journeys() []Journey { return slices.Clone(s.journeys) }

// Journey returns the journey named name.
func (s *Set) Journey(name string) (Journey, bool) {
	for _, j := range s.journeys {
		if j.Name == name {
			return j, true
		}
	}
	return Journey{}, false
}

// Len is the number of journeys.
func (s *Set) Len() int { return len(s.journeys) }

// match is the best rule of one journey an event matched, by priority:
// a terminal outcome (published, or its op), the start (published, or
// its op), a step, then a start or outcome step met by another op (the
// payment service processing order.placed is still at that step). rule
// points into the Set's index, which never changes.
type match struct {
	rule     *rule
	priority int
}

func (m *match) offer(r *rule, e *event.Event) {
	p := 0
	switch {
	case r.role >= roleSuccess && r.step.matches(e, true):
		p = 4
	case r.role == roleStart && r.step.matches(e, true):
		p = 3
	case r.role == roleStep && r.step.matches(e, false):
		p = 2
	case r.step.matches(e, false):
		p = 1
	}
	if p > m.priority {
		m.rule, m.priority = r, p
	}
}

// state is the state e puts its entity in, for the matched rule.
func (m match) state(e *event.Event) store.JourneyState {
	switch {
	case m.priority == 4 && m.rule.role == roleSuccess:
		return store.JourneyCompleted
	case m.priority == 4 && m.rule.role == roleFailure:
		return store.JourneyFailed
	case m.priority == 4 && m.rule.role == roleCompensated:
		return store.JourneyCompensated
	case e.Op == event.OpDeadLetter || e.Outcome == event.OutcomeDeadLettered:
		return store.JourneyDeadLettered
	}
	return store.JourneyInFlight
}

// reason is the error e gives its entity: a failed event's error.
func reason(e *event.Event) string {
	if e.Outcome != event.OutcomeOK && e.Outcome != "" {
		return e.Error
	}
	return ""
}

// update is the ledger update of e for the matched rule.
func (s *Set) update(m match, e *event.Event) store.LedgerUpdate {
	return store.LedgerUpdate{Journey: s.journeys[m.rule.journey].Name, CorrelationID: e.CorrelationID, AtNS: e.StartNS,
		Step: m.rule.step.StepName(), StepIndex: m.rule.index, Service: e.Service, Destination: e.Destination, Op: e.Op, EventID: e.EventID,
		State: m.state(e), Reason: reason(e), Start: m.priority == 3}
}

// Updates classifies events and returns the ledger updates they make:
// one per journey and correlation, the update of greatest rank (what the
// entry shows) folding in the earliest time of them all (FirstNS) and
// whether a start was among them. Events without a correlation id belong
// to no entity.
func (s *Set) Updates(events []event.Event) []store.LedgerUpdate {
	if len(s.journeys) == 0 {
		return nil
	}
	type key struct {
		journey int
		corr    string
	}
	// entry is one entity's fold so far: its event of greatest rank (the
	// update is built once, at the end), the earliest time, a start seen.
	type entry struct {
		m     match
		e     *event.Event
		rank  uint64
		first uint64
		start bool
	}
	at := map[key]int{}
	var entries []entry
	best := make([]match, len(s.journeys))
	var touched []int
	for i := range events {
		e := &events[i]
		if e.CorrelationID == "" {
			continue
		}
		touched = touched[:0]
		for _, list := range [][]rule{s.byType[e.EventType], s.byDest[e.Destination]} {
			for k := range list {
				r := &list[k]
				if best[r.journey].priority == 0 && !slices.Contains(touched, r.journey) {
					touched = append(touched, r.journey)
				}
				best[r.journey].offer(r, e)
			}
		}
		for _, j := range touched {
			m := best[j]
			best[j] = match{}
			if m.priority == 0 {
				continue
			}
			// LedgerRank reads the time, state, reason and step only.
			rank := store.LedgerRank(store.LedgerUpdate{AtNS: e.StartNS, State: m.state(e), Reason: reason(e), StepIndex: m.rule.index})
			start := m.priority == 3
			k := key{j, e.CorrelationID}
			n, seen := at[k]
			if !seen {
				at[k] = len(entries)
				entries = append(entries, entry{m: m, e: e, rank: rank, first: e.StartNS, start: start})
				continue
			}
			en := &entries[n]
			en.first, en.start = min(en.first, e.StartNS), en.start || start
			if rank > en.rank {
				en.m, en.e, en.rank = m, e, rank
			}
		}
	}
	out := make([]store.LedgerUpdate, len(entries))
	for i, en := range entries {
		out[i] = s.update(en.m, en.e)
		out[i].Start = en.start
		if en.first < out[i].AtNS {
			out[i].FirstNS = en.first // else 0: the update's own time
		}
	}
	return out
}

// stepOf returns the step of journey ji that e belongs to, if any.
func (s *Set) stepOf(ji int, e *event.Event) (string, bool) {
	var m match
	for _, list := range [][]rule{s.byType[e.EventType], s.byDest[e.Destination]} {
		for k := range list {
			if list[k].journey == ji {
				m.offer(&list[k], e)
			}
		}
	}
	if m.priority == 0 {
		return "", false
	}
	return m.rule.step.StepName(), true
}

// index returns the position of the journey named name.
func (s *Set) index(name string) int {
	return slices.IndexFunc(s.journeys, func(j Journey) bool { return j.Name == name })
}
