package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/journey"
)

// JourneySource answers the journey rules (journey_stuck, journey_slo):
// the studio's *journey.Service.
type JourneySource interface {
	Stuck(ctx context.Context, name, step string) (journey.Stuck, error)
	Summary(ctx context.Context, name string, w journey.Window, buckets int) (journey.Summary, error)
	Entities(ctx context.Context, name string, q journey.EntityQuery) ([]store.LedgerEntry, error)
}

// errNoJourneys: a journey rule on an engine without a JourneySource.
var errNoJourneys = errors.New("this studio keeps no journeys")

// SetJourneys gives the engine the journeys its journey rules watch. Call
// it before Run.
func (e *Engine) SetJourneys(j JourneySource) { e.journeys = j }

// journeyStuck evaluates a journey_stuck rule: the stuck entities at
// r.Step, or at the step with the most of them. It links that step's
// stuck list, the oldest stuck entity's graph at its last event and, when
// they were dead-lettered, the DLQ filtered to their most common reason.
func (e *Engine) journeyStuck(ctx context.Context, r *Rule, now time.Time) (finding, error) {
	if e.journeys == nil {
		return finding{}, errNoJourneys
	}
	st, err := e.journeys.Stuck(ctx, r.Journey, r.Step)
	if err != nil {
		return finding{}, err
	}
	if len(st.Steps) == 0 {
		where := "any step"
		if r.Step != "" {
			where = r.Step
		}
		return finding{summary: fmt.Sprintf("nothing of journey %s is stuck at %s", r.Journey, where)}, nil
	}
	top := st.Steps[0] // the largest first
	f := finding{holds: float64(top.Count) > r.Threshold, value: float64(top.Count), samples: top.Samples,
		summary: fmt.Sprintf("%d entities of journey %s stuck at %s since %s (started %s ago)", top.Count, r.Journey, top.Step,
			time.Unix(0, int64(top.OldestNS)).UTC().Format(time.TimeOnly), now.Sub(time.Unix(0, int64(top.OldestNS))).Round(time.Second)),
		links: []link{journeyLink(r.Journey, top.Step)}}
	if top.DeadLettered > 0 && len(top.Reasons) > 0 {
		f.summary += fmt.Sprintf(", %d dead-lettered (%s)", top.DeadLettered, top.Reasons[0].Reason)
	}
	oldest, err := e.journeys.Entities(ctx, r.Journey, journey.EntityQuery{Stuck: true, Step: top.Step, Limit: 1})
	if err != nil {
		return finding{}, err
	}
	if len(oldest) == 1 {
		f.links = append(f.links, graphLink(oldest[0].CorrelationID, oldest[0].EventID))
	}
	if top.DeadLettered > 0 && len(top.Reasons) > 0 {
		f.links = append(f.links, dlqLink(top.Reasons[0].Reason, ""))
	}
	return f, nil
}

// journeySLO evaluates a journey_slo rule over the entities that started
// in [since, until); it links the journey and its slowest entity's graph.
func (e *Engine) journeySLO(ctx context.Context, r *Rule, since, until time.Time) (finding, error) {
	if e.journeys == nil {
		return finding{}, errNoJourneys
	}
	sum, err := e.journeys.Summary(ctx, r.Journey, journey.Window{Since: since, Until: until}, 0)
	if err != nil {
		return finding{}, err
	}
	target := r.Threshold
	if target == 0 {
		target = sum.Definition.SLO.Target
	}
	if sum.Attainment == nil {
		return finding{summary: fmt.Sprintf("no entity of journey %s has an SLO verdict in the last %s", r.Journey, until.Sub(since))}, nil
	}
	a := *sum.Attainment
	f := finding{holds: a < target, value: a, links: []link{journeyLink(r.Journey, "")},
		summary: fmt.Sprintf("journey %s: %.2f%% of %d entities ended within %s in the last %s (target %.2f%%); p99 %s",
			r.Journey, 100*a, sum.Stats.Eligible, time.Duration(sum.Definition.SLO.Within), until.Sub(since), 100*target,
			time.Duration(sum.Stats.P99NS).Round(time.Millisecond))}
	if sum.Stats.Slowest != "" {
		f.links = append(f.links, graphLink(sum.Stats.Slowest, ""))
		f.samples = []string{sum.Stats.Slowest}
	}
	return f, nil
}
