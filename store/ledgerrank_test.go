package store

import (
	"math"
	"testing"
	"time"
)

// TestLedgerRank: the order of LedgerRank's rules, and its range: every
// rank fits a signed 64-bit integer (the embedded store's column) until
// the year 2112, and time never spills into the step or class bits.
func TestLedgerRank(t *testing.T) {
	t0 := uint64(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC).UnixNano())
	late := uint64(time.Date(2111, 12, 31, 0, 0, 0, 0, time.UTC).UnixNano())
	u := func(at uint64, step int, st JourneyState, reason string) LedgerUpdate {
		return LedgerUpdate{AtNS: at, StepIndex: step, State: st, Reason: reason}
	}
	sec := uint64(time.Second)
	above := []struct {
		what   string
		hi, lo LedgerUpdate
	}{
		{"terminal over a later step", u(t0, 0, JourneyCompleted, ""), u(t0+sec, 5, JourneyInFlight, "")},
		{"terminal over a later dead-lettering", u(t0, 3, JourneyFailed, "x"), u(t0+sec, 3, JourneyDeadLettered, "y")},
		{"the later terminal", u(t0+sec, 4, JourneyCompensated, ""), u(t0, 6, JourneyFailed, "")},
		{"a further step over a later event of an earlier one", u(t0, 1, JourneyInFlight, ""), u(t0+sec, 0, JourneyInFlight, "")},
		{"a further step over a dead-lettering", u(t0, 1, JourneyInFlight, ""), u(t0+sec, 0, JourneyDeadLettered, "x")},
		{"a dead-lettering over a later event of its step", u(t0, 0, JourneyDeadLettered, ""), u(t0+sec, 0, JourneyInFlight, "")},
		{"a dead-lettering with a reason over a later one without", u(t0, 0, JourneyDeadLettered, "x"), u(t0+sec, 0, JourneyDeadLettered, "")},
		{"the later dead-lettering", u(t0+sec, 0, JourneyDeadLettered, "y"), u(t0, 0, JourneyDeadLettered, "x")},
		{"the later event of a step", u(t0+1000, 2, JourneyInFlight, ""), u(t0, 2, JourneyInFlight, "")},
		{"the year 2111 stays in the time bits", u(t0, 1, JourneyInFlight, ""), u(late, 0, JourneyDeadLettered, "x")},
		{"steps past the last clamp to it", u(t0, MaxLedgerSteps+5, JourneyInFlight, ""), u(t0+sec, MaxLedgerSteps-2, JourneyInFlight, "")},
	}
	for _, c := range above {
		if hi, lo := LedgerRank(c.hi), LedgerRank(c.lo); hi <= lo {
			t.Errorf("%s: %#x is not above %#x", c.what, hi, lo)
		}
	}
	for _, x := range []LedgerUpdate{u(late, MaxLedgerSteps-1, JourneyDeadLettered, "x"), u(late, 0, JourneyCompleted, ""), u(math.MaxUint64, -1, JourneyFailed, "")} {
		if r := LedgerRank(x); r > math.MaxInt64 {
			t.Errorf("%+v: rank %#x does not fit an int64", x, r)
		}
	}
}
