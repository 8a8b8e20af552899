package journey

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Service answers the journeys API from the registry, the store's ledger
// and, for the per-step breakdown, a sample of the correlations' events.
type Service struct {
	reg    *Registry
	ledger store.Ledger
	r      store.Reader
	now    func() time.Time
	// backfills fills the ledger of journeys defined through the API
	// (backfill.go).
	backfills backfills
}

// NewService returns the service over reg's journeys.
func NewService(reg *Registry, l store.Ledger, r store.Reader) *Service {
	return &Service{reg: reg, ledger: l, r: r, now: time.Now, backfills: newBackfills()}
}

// Registry returns the journeys in effect and their definitions.
func (s *Service) Registry() *Registry { return s.reg }

// Window is a time window [Since, Until).
type Window struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Summary is a journey with its figures over a window: the tile of the
// journeys list.
type Summary struct {
	Name string `json:"name"`
	// Definition is the journey with its defaults filled in.
	Definition Journey `json:"definition"`
	Source     Source  `json:"source"`
	Saga       bool    `json:"saga"`
	// StepNames are the steps in the order an entity meets them.
	StepNames []string `json:"step_names"`
	Window    Window   `json:"window"`
	// Stats are the ledger's figures over the window (stuck: now).
	Stats store.JourneyStats `json:"stats"`
	// Attainment is Good / Eligible, absent when nothing is eligible yet.
	Attainment *float64 `json:"attainment,omitempty"`
	// MeetsSLO is Attainment ≥ SLO.Target (true when nothing is eligible).
	MeetsSLO bool `json:"meets_slo"`
	// StuckSteps counts the stuck entities by the step they stopped at,
	// the largest first.
	StuckSteps []StepCount `json:"stuck_steps"`
	// Series splits the window into equal buckets (when asked), oldest first.
	Series []Bucket `json:"series,omitempty"`
}

// StepCount is a count at one step.
type StepCount struct {
	Step  string `json:"step"`
	Count uint64 `json:"count"`
}

// Bucket is one slice of a summary's window: the entities that started in it.
type Bucket struct {
	Since      time.Time `json:"since"`
	Started    uint64    `json:"started"`
	Completed  uint64    `json:"completed"`
	Eligible   uint64    `json:"eligible"`
	Good       uint64    `json:"good"`
	Attainment *float64  `json:"attainment,omitempty"`
	P99NS      uint64    `json:"p99_ns"`
}

// MaxBuckets bounds a summary's series.
const MaxBuckets = 48

// ErrUnknown is returned (wrapping store.ErrNotFound) for a journey that is not defined.
var ErrUnknown = fmt.Errorf("journey %w", store.ErrNotFound)

// Journey returns the journey named name with its defaults, or an error wrapping store.ErrNotFound.
func (s *Service) Journey(name string) (Journey, error) {
	j, ok := s.reg.Set().Journey(name)
	if !ok {
		return Journey{}, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	return j, nil
}

func (s *Service) statsQuery(j Journey, w Window, now time.Time) store.JourneyStatsQuery {
	return store.JourneyStatsQuery{Journey: j.Name, Since: w.Since, Until: w.Until, Now: now,
		Within: time.Duration(j.SLO.Within), StuckAfter: time.Duration(j.SLO.StuckAfter)}
}

func attainment(good, eligible uint64) *float64 {
	if eligible == 0 {
		return nil
	}
	a := float64(good) / float64(eligible)
	return &a
}

// Summaries returns every journey's summary over w, with buckets equal
// slices of it (0 for none, at most MaxBuckets).
func (s *Service) Summaries(ctx context.Context, w Window, buckets int) ([]Summary, error) {
	out := []Summary{}
	for _, j := range s.reg.Set().Journeys() {
		sum, err := s.summary(ctx, j, w, buckets)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}

// Summary returns one journey's summary.
func (s *Service) Summary(ctx context.Context, name string, w Window, buckets int) (Summary, error) {
	j, err := s.Journey(name)
	if err != nil {
		return Summary{}, err
	}
	return s.summary(ctx, j, w, buckets)
}

func (s *Service) summary(ctx context.Context, j Journey, w Window, buckets int) (Summary, error) {
	if buckets < 0 || buckets > MaxBuckets {
		return Summary{}, store.Invalid("buckets %d: want 0 to %d", buckets, MaxBuckets)
	}
	now := s.now()
	q := s.statsQuery(j, w, now)
	q.Buckets = buckets
	st, err := s.ledger.JourneyStats(ctx, q)
	if err != nil {
		return Summary{}, fmt.Errorf("journey %s: %w", j.Name, err)
	}
	series := st.Series
	st.Series = nil
	src, _ := s.reg.Source(j.Name)
	sum := Summary{Name: j.Name, Definition: j, Source: src, Saga: j.Saga(), StepNames: j.StepNames(), Window: w, Stats: st,
		Attainment: attainment(st.Good, st.Eligible), StuckSteps: []StepCount{}}
	sum.MeetsSLO = sum.Attainment == nil || *sum.Attainment >= j.SLO.Target
	if st.Stuck > 0 {
		groups, err := s.ledger.StuckGroups(ctx, store.StuckQuery{Journey: j.Name, Now: now, StuckAfter: time.Duration(j.SLO.StuckAfter), Samples: 1})
		if err != nil {
			return Summary{}, fmt.Errorf("journey %s: %w", j.Name, err)
		}
		for _, st := range FoldStuck(groups) {
			sum.StuckSteps = append(sum.StuckSteps, StepCount{Step: st.Step, Count: st.Count})
		}
	}
	for i, bs := range series {
		lo, _ := q.BucketBounds(i)
		sum.Series = append(sum.Series, Bucket{Since: time.Unix(0, int64(lo)), Started: bs.Started, Completed: bs.Completed,
			Eligible: bs.Eligible, Good: bs.Good, Attainment: attainment(bs.Good, bs.Eligible), P99NS: bs.P99NS})
	}
	return sum, nil
}

// StuckStep is the stuck entities of a journey at one step.
type StuckStep struct {
	Step  string `json:"step"`
	Count uint64 `json:"count"`
	// DeadLettered of them were dead-lettered; the others are past the
	// journey's stuck age with nothing after their last event.
	DeadLettered uint64 `json:"dead_lettered"`
	// OldestNS is the earliest start among them.
	OldestNS uint64 `json:"oldest_ns"`
	// Samples are correlation ids, the oldest of each place first.
	Samples []string `json:"samples"`
	// Reasons are the DLQ (or error) reasons, the most frequent first.
	Reasons []ReasonCount `json:"reasons"`
	// Places are where they stopped within the step.
	Places []StuckPlace `json:"places"`
}

// ReasonCount is a reason and how many entities it stopped.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  uint64 `json:"count"`
}

// StuckPlace is one store.StuckGroup: the last event's service,
// destination and operation, the state and the reason.
type StuckPlace struct {
	Service     string             `json:"service"`
	Destination string             `json:"destination"`
	Op          event.Op           `json:"op"`
	State       store.JourneyState `json:"state"`
	Reason      string             `json:"reason,omitempty"`
	Count       uint64             `json:"count"`
	OldestNS    uint64             `json:"oldest_ns"`
	Samples     []string           `json:"samples"`
}

// maxStepSamples bounds a step's samples.
const maxStepSamples = 10

// FoldStuck folds the store's stuck groups into one StuckStep per step,
// the largest first (then the step met first by its oldest entity).
func FoldStuck(groups []store.StuckGroup) []StuckStep {
	at := map[string]int{}
	var out []StuckStep
	reasons := map[string]map[string]uint64{}
	for _, g := range groups {
		i, ok := at[g.Step]
		if !ok {
			i = len(out)
			at[g.Step] = i
			out = append(out, StuckStep{Step: g.Step, OldestNS: g.OldestNS, Samples: []string{}, Reasons: []ReasonCount{}})
			reasons[g.Step] = map[string]uint64{}
		}
		st := &out[i]
		st.Count += g.Count
		if g.State == store.JourneyDeadLettered {
			st.DeadLettered += g.Count
		}
		st.OldestNS = min(st.OldestNS, g.OldestNS)
		for _, id := range g.Samples {
			if len(st.Samples) < maxStepSamples {
				st.Samples = append(st.Samples, id)
			}
		}
		if g.Reason != "" {
			reasons[g.Step][g.Reason] += g.Count
		}
		st.Places = append(st.Places, StuckPlace{Service: g.Service, Destination: g.Destination, Op: g.Op, State: g.State,
			Reason: g.Reason, Count: g.Count, OldestNS: g.OldestNS, Samples: slices.Clone(g.Samples)})
	}
	for i := range out {
		for r, n := range reasons[out[i].Step] {
			out[i].Reasons = append(out[i].Reasons, ReasonCount{Reason: r, Count: n})
		}
		sort.Slice(out[i].Reasons, func(a, b int) bool {
			ra, rb := out[i].Reasons[a], out[i].Reasons[b]
			return ra.Count > rb.Count || ra.Count == rb.Count && ra.Reason < rb.Reason
		})
	}
	sort.SliceStable(out, func(a, b int) bool {
		return out[a].Count > out[b].Count || out[a].Count == out[b].Count && out[a].OldestNS < out[b].OldestNS
	})
	return out
}

// Stuck is a journey's stuck entities, grouped by step.
type Stuck struct {
	Journey    string      `json:"journey"`
	At         time.Time   `json:"at"`
	StuckAfter Duration    `json:"stuck_after"`
	Total      uint64      `json:"total"`
	Steps      []StuckStep `json:"steps"`
}

// Stuck returns the journey's stuck entities now, at one step when step
// is not empty.
func (s *Service) Stuck(ctx context.Context, name, step string) (Stuck, error) {
	j, err := s.Journey(name)
	if err != nil {
		return Stuck{}, err
	}
	now := s.now()
	groups, err := s.ledger.StuckGroups(ctx, store.StuckQuery{Journey: j.Name, Now: now, StuckAfter: time.Duration(j.SLO.StuckAfter), Step: step})
	if err != nil {
		return Stuck{}, fmt.Errorf("journey %s: %w", j.Name, err)
	}
	out := Stuck{Journey: j.Name, At: now, StuckAfter: j.SLO.StuckAfter, Steps: FoldStuck(groups)}
	if out.Steps == nil {
		out.Steps = []StuckStep{}
	}
	for _, st := range out.Steps {
		out.Total += st.Count
	}
	return out, nil
}

// EntityQuery lists a journey's entities: Stuck ones (oldest first), or
// those in States that started in the window (newest first).
type EntityQuery struct {
	Step   string
	Stuck  bool
	States []store.JourneyState
	Window Window
	Limit  int
}

// Entities lists ledger entries of a journey.
func (s *Service) Entities(ctx context.Context, name string, q EntityQuery) ([]store.LedgerEntry, error) {
	j, err := s.Journey(name)
	if err != nil {
		return nil, err
	}
	lq := store.LedgerQuery{Journey: j.Name, Step: q.Step, States: q.States, Limit: q.Limit}
	if q.Stuck {
		lq.StuckAt, lq.StuckAfter = s.now(), time.Duration(j.SLO.StuckAfter)
	} else {
		lq.Since, lq.Until = q.Window.Since, q.Window.Until
	}
	out, err := s.ledger.LedgerEntries(ctx, lq)
	if err != nil {
		return nil, fmt.Errorf("journey %s: %w", j.Name, err)
	}
	steps := j.StepNames()
	for i := range out {
		out[i].StepIndex = max(slices.Index(steps, out[i].Step), 0)
	}
	return out, nil
}
