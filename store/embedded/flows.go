package embedded

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"modernc.org/sqlite"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// flowSample caps the durations kept per flow-map group for its
// quantiles. Up to flowSample operations the quantiles are exact (nearest
// rank); beyond, they come from a uniform random sample of flowSample
// durations (reservoir sampling, algorithm R, seeded so that the same data
// gives the same answer), whose p50 and p99 are within about half a
// percentile rank of the true ones.
const flowSample = 10000

// quantilesFunc is the SQL aggregate that returns "p50 p99" of its
// argument over a group, computed in Go by a quantiles value. The driver
// registers functions process-wide, hence the prefixed name.
const quantilesFunc = "causeway_p50_p99"

func init() {
	sqlite.MustRegisterFunction(quantilesFunc, &sqlite.FunctionImpl{
		NArgs: 1,
		MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) {
			return &quantiles{rng: rand.New(rand.NewPCG(0x636175736577, 0x6179))}, nil
		},
	})
}

// flowSQL aggregates a window's events per flow-map row in one pass:
// counts and errors in SQL, quantiles in quantiles. Rows without a
// destination or a service are not on a flow map (see store.BuildFlowMap).
const flowSQL = `SELECT service, system, destination, consumer_group, op, count(*), sum(outcome != 'ok'), ` +
	quantilesFunc + `(duration_ns)
	FROM events WHERE start_ns >= ? AND start_ns < ? AND destination != '' AND service != ''
	GROUP BY service, system, destination, consumer_group, op`

// Flows implements store.Reader. Counts and errors are exact; p50 and p99
// are nearest-rank quantiles of at most flowSample durations per row.
func (s *Store) Flows(ctx context.Context, q store.FlowQuery) (_ store.FlowMap, err error) {
	defer store.MarkTimeout(ctx, &err)
	rows, err := s.r.QueryContext(ctx, flowSQL, q.Since.UnixNano(), q.Until.UnixNano())
	if err != nil {
		return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, err)
	}
	defer rows.Close()
	var out []store.FlowRow
	for rows.Next() {
		var r store.FlowRow
		var op, qs string
		if err := rows.Scan(&r.Service, &r.System, &r.Destination, &r.ConsumerGroup, &op, &r.Count, &r.Errors, &qs); err != nil {
			return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, err)
		}
		r.Op = event.Op(op)
		if r.P50NS, r.P99NS, err = parseQuantiles(qs); err != nil {
			return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return store.FlowMap{}, fmt.Errorf("embedded store %q: flows: %w", s.dir, err)
	}
	return store.BuildFlowMap(out), nil
}

// quantiles is one evaluation of the quantilesFunc aggregate: a reservoir
// of at most flowSample values.
type quantiles struct {
	seen uint64
	vals []uint64
	rng  *rand.Rand
}

var _ sqlite.AggregateFunction = (*quantiles)(nil)

// Step offers one value to the reservoir.
func (a *quantiles) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	v, ok := args[0].(int64)
	if !ok {
		return nil // NULL: the column is NOT NULL, so never
	}
	a.seen++
	if len(a.vals) < flowSample {
		a.vals = append(a.vals, uint64(v))
	} else if j := a.rng.Uint64N(a.seen); j < flowSample {
		a.vals[j] = uint64(v)
	}
	return nil
}

// WindowInverse refuses use as a window function.
func (a *quantiles) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New(quantilesFunc + " is not a window function")
}

// WindowValue returns "p50 p99".
func (a *quantiles) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	slices.Sort(a.vals)
	return strconv.FormatUint(quantile(a.vals, 0.50), 10) + " " + strconv.FormatUint(quantile(a.vals, 0.99), 10), nil
}

// Final releases the reservoir.
func (a *quantiles) Final(*sqlite.FunctionContext) { a.vals = nil }

func parseQuantiles(s string) (p50, p99 uint64, err error) {
	a, b, ok := strings.Cut(s, " ")
	if ok {
		if p50, err = strconv.ParseUint(a, 10, 64); err == nil {
			p99, err = strconv.ParseUint(b, 10, 64)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("quantiles %q: not two numbers", s)
	}
	return p50, p99, nil
}

// quantile returns the nearest-rank q-quantile of sorted values: the
// smallest value with at least q of the values at or below it.
func quantile(sorted []uint64, q float64) uint64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
