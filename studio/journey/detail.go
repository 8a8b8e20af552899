package journey

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// DetailSample is how many of the window's latest ended entities the
// per-step breakdown reads the events of.
const DetailSample = 50

// Detail is a journey's summary with its per-step breakdown.
type Detail struct {
	Summary
	// Breakdown has one row per step, in the order an entity meets them.
	Breakdown []StepDetail `json:"breakdown"`
	// Sampled is how many ended entities the breakdown's times come from.
	Sampled int `json:"sampled"`
}

// StepDetail is where time goes at one step.
type StepDetail struct {
	Step string `json:"step"`
	// Kind is start, step, compensation, success, failure or compensated.
	Kind string `json:"kind"`
	// Stuck entities stopped at this step now, DeadLettered of them in a DLQ.
	Stuck        uint64 `json:"stuck"`
	DeadLettered uint64 `json:"dead_lettered"`
	// Reached is the time from an entity's start to its first event at
	// this step, over the sampled entities that reached it.
	Reached Quantiles `json:"reached"`
	// Hops are the step's deliveries: a message published to a
	// destination and processed by a service.
	Hops []Hop `json:"hops"`
}

// Hop is the time a step's messages spend on one destination → service
// hop: waiting in the queue (publish end to handler start) and in the handler.
type Hop struct {
	Destination string    `json:"destination"`
	Service     string    `json:"service"`
	QueueWait   Quantiles `json:"queue_wait"`
	Handler     Quantiles `json:"handler"`
}

// Quantiles summarise durations in ns.
type Quantiles struct {
	Count int    `json:"count"`
	P50NS uint64 `json:"p50_ns"`
	P99NS uint64 `json:"p99_ns"`
}

func quantiles(ds []uint64) Quantiles {
	if len(ds) == 0 {
		return Quantiles{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) uint64 { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return Quantiles{Count: len(ds), P50NS: at(0.5), P99NS: at(0.99)}
}

// Detail returns a journey's summary over w and its per-step breakdown
// from the events of up to DetailSample of the window's latest ended entities.
func (s *Service) Detail(ctx context.Context, name string, w Window) (Detail, error) {
	set := s.reg.Set()
	ji := set.index(name)
	if ji < 0 {
		return Detail{}, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	j := set.journeys[ji]
	sum, err := s.summary(ctx, j, w, 0)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Summary: sum}
	stuck, err := s.ledger.StuckGroups(ctx, store.StuckQuery{Journey: j.Name, Now: s.now(), StuckAfter: time.Duration(j.SLO.StuckAfter), Samples: 1})
	if err != nil {
		return Detail{}, fmt.Errorf("journey %s: %w", j.Name, err)
	}
	stuckAt := map[string]StuckStep{}
	for _, st := range FoldStuck(stuck) {
		stuckAt[st.Step] = st
	}
	ended, err := s.ledger.LedgerEntries(ctx, store.LedgerQuery{Journey: j.Name, Since: w.Since, Until: w.Until, Limit: DetailSample,
		States: []store.JourneyState{store.JourneyCompleted, store.JourneyFailed, store.JourneyCompensated}})
	if err != nil {
		return Detail{}, fmt.Errorf("journey %s: %w", j.Name, err)
	}
	type hopKey struct{ step, dest, service string }
	reached := map[string][]uint64{}
	waits, handlers := map[hopKey][]uint64{}, map[hopKey][]uint64{}
	var hopOrder []hopKey
	for _, en := range ended {
		page, err := s.r.Events(ctx, store.EventQuery{CorrelationID: en.CorrelationID, Limit: 1000,
			Since: time.Unix(0, int64(en.StartedNS)).Add(-time.Minute), Until: time.Unix(0, int64(en.LastNS)).Add(time.Minute)})
		if err != nil {
			return Detail{}, fmt.Errorf("journey %s: events of %s: %w", j.Name, en.CorrelationID, err)
		}
		d.Sampled++
		evs := page.Events
		published := map[[2]string]uint64{} // (event id, destination) → publish end
		for i := range evs {
			if evs[i].Op == event.OpPublish || evs[i].Op == event.OpReplay {
				k := [2]string{evs[i].EventID, evs[i].Destination}
				if end := evs[i].StartNS + evs[i].DurationNS; published[k] == 0 || end < published[k] {
					published[k] = end
				}
			}
		}
		first := map[string]uint64{}
		for i := range evs {
			e := &evs[i]
			step, ok := set.stepOf(ji, e)
			if !ok {
				continue
			}
			if t, seen := first[step]; !seen || e.StartNS < t {
				first[step] = e.StartNS
			}
			if e.Op != event.OpProcess {
				continue
			}
			k := hopKey{step, e.Destination, e.Service}
			if _, ok := handlers[k]; !ok {
				hopOrder = append(hopOrder, k)
			}
			handlers[k] = append(handlers[k], e.DurationNS)
			if pub, ok := published[[2]string{e.EventID, e.Destination}]; ok {
				waits[k] = append(waits[k], e.StartNS-min(pub, e.StartNS))
			}
		}
		for step, t := range first {
			reached[step] = append(reached[step], t-min(t, en.StartedNS))
		}
	}
	kinds := map[string]string{}
	for _, g := range []struct {
		kind  string
		steps []Step
	}{{"start", []Step{j.Start}}, {"step", j.Steps}, {"compensation", j.Compensation},
		{"success", j.Success}, {"failure", j.Failure}, {"compensated", j.Compensated}} {
		for _, st := range g.steps {
			kinds[st.StepName()] = g.kind
		}
	}
	for _, name := range j.StepNames() {
		sd := StepDetail{Step: name, Kind: kinds[name], Stuck: stuckAt[name].Count, DeadLettered: stuckAt[name].DeadLettered,
			Reached: quantiles(reached[name]), Hops: []Hop{}}
		for _, k := range hopOrder {
			if k.step == name {
				sd.Hops = append(sd.Hops, Hop{Destination: k.dest, Service: k.service, QueueWait: quantiles(waits[k]), Handler: quantiles(handlers[k])})
			}
		}
		d.Breakdown = append(d.Breakdown, sd)
	}
	return d, nil
}
