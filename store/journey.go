package store

import (
	"context"
	"time"

	"github.com/causeway-dev/causeway/event"
)

// JourneyState is where one entity (one correlation) of a journey stands.
type JourneyState string

// Journey states. The first five are stored; JourneyStuck is derived at
// query time: an open entity (not terminal) that is dead-lettered or
// started longer ago than its journey's stuck age.
const (
	JourneyInFlight     JourneyState = "in_flight"
	JourneyCompleted    JourneyState = "completed"
	JourneyFailed       JourneyState = "failed"
	JourneyCompensated  JourneyState = "compensated"
	JourneyDeadLettered JourneyState = "dead_lettered"
	JourneyStuck        JourneyState = "stuck"
)

// Terminal reports whether s ends a journey: completed, failed or compensated.
func (s JourneyState) Terminal() bool {
	return s == JourneyCompleted || s == JourneyFailed || s == JourneyCompensated
}

// The bits of LedgerRank, highest first (bit 63 stays clear: the
// embedded store keeps ranks as SQLite's signed integers; ClickHouse's
// journey_open tells a terminal entity by rank >= 1<<62).
const (
	rankTerminal   = uint64(1) << 62 // a terminal update
	rankStepShift  = 54              // 8 bits of step position
	rankDLQShift   = 52              // 2 bits: dead-lettered, with a reason
	rankTimeBits   = 52              // event time in µs: until the year 2112
	rankTimeMask   = uint64(1)<<rankTimeBits - 1
	rankDLQ        = uint64(2) << rankDLQShift
	rankDLQReason  = uint64(1) << rankDLQShift
	rankStepValues = 256
)

// MaxLedgerSteps is the most steps (start, steps, compensation and
// outcomes together) a journey can have: LedgerUpdate.StepIndex is below it.
const MaxLedgerSteps = rankStepValues

// LedgerRank orders the updates of one ledger entry: the entry shows the
// update of greatest rank. The rules, most significant first:
//
//  1. A terminal update (completed, failed, compensated) ranks above every
//     other: a straggler after completion does not reopen the entry;
//     between terminal updates the later event wins (failed then
//     compensated ends compensated).
//  2. Then the place in the journey: the update of the furthest step
//     (StepIndex) wins, so an entity only moves forward. A later event of
//     an earlier step (a replay published again at the start step, a slow
//     side consumer processing the start event) never moves it back.
//  3. At the same step, a dead-lettering ranks above any other update:
//     a dead-lettered entity stays dead-lettered until an update of a
//     later step or a terminal one arrives (a replay whose downstream
//     steps succeed moves it on; the replayed message processed again at
//     the dead-lettered step does not by itself). Among dead-letterings,
//     one that says why (Reason) ranks above one that does not (the
//     process event that failed carries the error, the publish to the DLQ
//     that follows it does not).
//  4. Then the later event (by microsecond): a dead-lettered entity
//     replayed and dead-lettered again shows the second reason.
//
// Equal ranks are updates of the same step, class and microsecond.
func LedgerRank(u LedgerUpdate) uint64 {
	r := (u.AtNS / 1000) & rankTimeMask
	switch {
	case u.State.Terminal():
		return r | rankTerminal
	case u.State == JourneyDeadLettered && u.Reason != "":
		r |= rankDLQ | rankDLQReason
	case u.State == JourneyDeadLettered:
		r |= rankDLQ
	}
	return r | uint64(min(max(u.StepIndex, 0), rankStepValues-1))<<rankStepShift
}

// LedgerUpdate is what one event, or several events of one entity in a
// batch folded into one update, says about an entity of a journey.
type LedgerUpdate struct {
	Journey       string `json:"journey"`
	CorrelationID string `json:"correlation_id"`
	// AtNS is the event's start, in Unix nanoseconds.
	AtNS uint64 `json:"at_ns"`
	// FirstNS is the earliest start of the events this update folds in
	// (the writer sends one update per entity and batch); 0 means AtNS.
	FirstNS uint64 `json:"first_ns,omitempty"`
	// Start is set when the event, or one it folds in, is the journey's start.
	Start bool `json:"start"`
	// Step is the name of the journey step the event belongs to.
	Step string `json:"step"`
	// StepIndex is Step's position in the journey (the start 0, then its
	// steps, compensation steps and outcomes in order), below
	// MaxLedgerSteps: an entity's place moves only forward (LedgerRank).
	StepIndex int `json:"step_index"`
	// Service, Destination and Op are the event's.
	Service     string   `json:"service"`
	Destination string   `json:"destination"`
	Op          event.Op `json:"op"`
	// State is the state the event puts the entity in.
	State JourneyState `json:"state"`
	// EventID is the event's id (its causation graph).
	EventID string `json:"event_id"`
	// Reason is the error of a dead-lettering or failure, else empty.
	Reason string `json:"reason,omitempty"`
}

// LedgerEntry is one entity of a journey as the ledger keeps it.
type LedgerEntry struct {
	Journey       string       `json:"journey"`
	CorrelationID string       `json:"correlation_id"`
	StartedNS     uint64       `json:"started_ns"`
	LastNS        uint64       `json:"last_ns"`
	Step          string       `json:"step"`
	Service       string       `json:"service"`
	Destination   string       `json:"destination"`
	Op            event.Op     `json:"op"`
	State         JourneyState `json:"state"`
	EventID       string       `json:"event_id"`
	Reason        string       `json:"reason,omitempty"`
	// StepIndex is Step's position in the journey (LedgerUpdate.StepIndex):
	// the stores leave it 0, the journey service fills it from the
	// definition, so that a client can rank live updates against the entry.
	StepIndex int `json:"step_index"`
}

// JourneyStatsQuery asks for a journey's figures: over the entities that
// started within [Since, Until), and the entities stuck at Now.
type JourneyStatsQuery struct {
	Journey      string
	Since, Until time.Time
	// Now is the time stuck ages and SLO eligibility are measured at.
	Now time.Time
	// Within is the SLO's time: a terminal entity that took at most Within
	// counts as good; an open one that started longer than Within before
	// Now counts as bad.
	Within time.Duration
	// StuckAfter is the journey's stuck age.
	StuckAfter time.Duration
	// Buckets, when above 0 (at most MaxJourneyBuckets), also splits
	// [Since, Until) into that many equal slices: JourneyStats.Series.
	// Both bounds must then be set.
	Buckets int
}

// MaxJourneyBuckets bounds JourneyStatsQuery.Buckets.
const MaxJourneyBuckets = 100

// JourneyStats are a journey's figures (see JourneyStatsQuery). Entities
// whose start was never seen are not counted.
type JourneyStats struct {
	// Started counts the entities that started in the window, by state below.
	Started      uint64 `json:"started"`
	InFlight     uint64 `json:"in_flight"`
	Completed    uint64 `json:"completed"`
	Failed       uint64 `json:"failed"`
	Compensated  uint64 `json:"compensated"`
	DeadLettered uint64 `json:"dead_lettered"`
	// Eligible counts the window's entities whose SLO verdict is known:
	// terminal, or open for longer than Within. Good those terminal
	// within Within.
	Eligible uint64 `json:"eligible"`
	Good     uint64 `json:"good"`
	// P50NS and P99NS are end-to-end times (start to terminal event) of the
	// window's terminal entities.
	P50NS uint64 `json:"p50_ns"`
	P99NS uint64 `json:"p99_ns"`
	// Slowest is the correlation id of the window's terminal entity that
	// took longest (any one among equals), empty when none ended.
	Slowest string `json:"slowest,omitempty"`
	// Stuck counts every entity stuck at Now, whenever it started.
	Stuck uint64 `json:"stuck"`
	// Series are the figures of each slice when Buckets was asked for,
	// oldest first (their Stuck and Slowest are not set).
	Series []JourneyStats `json:"series,omitempty"`
}

// BucketOf returns the slice of q's window that t (ns) falls in, or -1.
func (q JourneyStatsQuery) BucketOf(t uint64) int {
	lo, hi := uint64(q.Since.UnixNano()), uint64(q.Until.UnixNano())
	if q.Buckets <= 0 || t < lo || t >= hi {
		return -1
	}
	return int((t - lo) * uint64(q.Buckets) / (hi - lo))
}

// BucketBounds returns slice i of q's window, [lo, hi) in ns: the times
// BucketOf puts in slice i.
func (q JourneyStatsQuery) BucketBounds(i int) (lo, hi uint64) {
	from, to := uint64(q.Since.UnixNano()), uint64(q.Until.UnixNano())
	n, w := uint64(q.Buckets), to-from
	at := func(i uint64) uint64 { return from + (i*w+n-1)/n } // ceil(i·w/n)
	return at(uint64(i)), at(uint64(i) + 1)
}

// CheckBuckets validates Buckets (errors wrap ErrInvalidQuery).
func (q JourneyStatsQuery) CheckBuckets() error {
	switch {
	case q.Buckets < 0 || q.Buckets > MaxJourneyBuckets:
		return Invalid("%d buckets, at most %d", q.Buckets, MaxJourneyBuckets)
	case q.Buckets > 0 && (q.Since.IsZero() || q.Until.IsZero() || !q.Since.Before(q.Until)):
		return Invalid("buckets need a window with both ends")
	}
	return nil
}

// StuckQuery selects the stuck entities of a journey at Now: open ones
// that are dead-lettered or started before Now - StuckAfter.
type StuckQuery struct {
	Journey    string
	Now        time.Time
	StuckAfter time.Duration
	// Step narrows to one step when not empty.
	Step string
	// Samples caps the sample correlation ids per group (0 means 5).
	Samples int
}

// StuckGroup is the stuck entities of a journey that stopped at the same
// place: step, service, destination, operation, state and reason.
type StuckGroup struct {
	Step        string
	Service     string
	Destination string
	Op          event.Op
	// State is JourneyDeadLettered or JourneyInFlight (stuck past the age).
	State  JourneyState
	Reason string
	Count  uint64
	// OldestNS is the earliest start among them.
	OldestNS uint64
	// Samples are correlation ids of the group, the oldest first.
	Samples []string
}

// LedgerQuery lists ledger entries of one journey.
type LedgerQuery struct {
	Journey string
	// Since and Until bound the start to [Since, Until) when non-zero.
	Since, Until time.Time
	// Step narrows to the entries whose current step is Step.
	Step string
	// State narrows to the entries in one of these stored states.
	States []JourneyState
	// StuckAt, when non-zero, narrows to the entities stuck at that time
	// (with StuckAfter), listed oldest first; otherwise newest first.
	StuckAt    time.Time
	StuckAfter time.Duration
	// Limit caps the result; 0 means DefaultLimit, more than MaxLimit is an error.
	Limit int
}

// JourneyRecord is a journey defined through the API: its spec (the
// journey package's encoding) and whether it was deleted. The latest
// write of a Name wins.
type JourneyRecord struct {
	Name      string
	Spec      string
	Deleted   bool
	UpdatedNS uint64
}

// Ledger is the optional capability of a store that keeps the journey
// ledger (issue #17): one entry per journey and correlation, updated on
// ingest from what the ledger writer (package journey) derives from each
// stored batch, never recomputed by scanning events. Retention deletes
// entries with the events: those that started before the events horizon
// (the embedded store), or the updates of the days before it (ClickHouse:
// an entity whose start went stops counting, as one never started).
// Writes are durable when they return.
type Ledger interface {
	// UpdateLedger merges updates into the ledger. It is idempotent:
	// writing the same updates again, in any order and any grouping,
	// leaves the same entries (the merge keeps the earliest First, whether
	// a start was seen, and the update of greatest LedgerRank).
	UpdateLedger(ctx context.Context, updates []LedgerUpdate) error
	// JourneyStats returns a journey's figures.
	JourneyStats(ctx context.Context, q JourneyStatsQuery) (JourneyStats, error)
	// StuckGroups returns the stuck entities of a journey grouped by
	// where they stopped, the largest group first.
	StuckGroups(ctx context.Context, q StuckQuery) ([]StuckGroup, error)
	// LedgerEntries returns entries matching q.
	LedgerEntries(ctx context.Context, q LedgerQuery) ([]LedgerEntry, error)
	// PutJourney stores a journey definition, replacing earlier writes of
	// r.Name with an older or equal UpdatedNS.
	PutJourney(ctx context.Context, r JourneyRecord) error
	// Journeys returns the latest write of every journey not deleted, by name.
	Journeys(ctx context.Context) ([]JourneyRecord, error)
}

// First is the earliest time the update stands for: FirstNS, or AtNS.
func (u LedgerUpdate) First() uint64 {
	if u.FirstNS != 0 && u.FirstNS < u.AtNS {
		return u.FirstNS
	}
	return u.AtNS
}
