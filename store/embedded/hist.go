package embedded

import (
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"modernc.org/sqlite"
)

// histGamma is the ratio between a duration histogram's bucket bounds:
// a quantile read from the histogram is within 1% of a value in its
// bucket, well inside what store.FlowEdge allows for P50NS and P99NS.
const histGamma = 1.02

var histLogGamma = math.Log(histGamma)

// hist is a mergeable duration histogram: counts per logarithmic bucket
// (bucket 0 holds zero durations). flow_minute keeps one per row, so
// that the quantiles of any set of minutes come from merging them.
type hist map[int32]uint64

func histBucket(ns uint64) int32 {
	if ns == 0 {
		return 0
	}
	return 1 + int32(math.Floor(math.Log(float64(ns))/histLogGamma))
}

// histValue is the middle of bucket b's range.
func histValue(b int32) uint64 {
	if b <= 0 {
		return 0
	}
	lo := math.Pow(histGamma, float64(b-1))
	return uint64(math.Round(lo * (1 + histGamma) / 2))
}

func (h hist) add(ns uint64, n uint64) { h[histBucket(ns)] += n }

func (h hist) merge(o hist) {
	for b, n := range o {
		h[b] += n
	}
}

// encode packs the histogram as (bucket delta, count) varint pairs in
// bucket order.
func (h hist) encode() []byte {
	bs := make([]int32, 0, len(h))
	for b := range h {
		bs = append(bs, b)
	}
	slices.Sort(bs)
	out := make([]byte, 0, 4*len(bs))
	prev := int32(0)
	for _, b := range bs {
		out = binary.AppendUvarint(out, uint64(b-prev))
		out = binary.AppendUvarint(out, h[b])
		prev = b
	}
	return out
}

// decodeHist adds an encoded histogram into h.
func (h hist) decode(p []byte) error {
	prev := int32(0)
	for len(p) > 0 {
		d, n := binary.Uvarint(p)
		if n <= 0 {
			return errCorrupt
		}
		p = p[n:]
		c, m := binary.Uvarint(p)
		if m <= 0 {
			return errCorrupt
		}
		p = p[m:]
		prev += int32(d)
		h[prev] += c
	}
	return nil
}

// quantiles returns the nearest-rank p50 and p99 of the histogram.
func (h hist) quantiles() (p50, p99 uint64) {
	bs := make([]int32, 0, len(h))
	var total uint64
	for b, n := range h {
		bs = append(bs, b)
		total += n
	}
	if total == 0 {
		return 0, 0
	}
	slices.Sort(bs)
	rank := func(q float64) uint64 {
		want := uint64(math.Ceil(q * float64(total)))
		want = max(want, 1)
		var seen uint64
		for _, b := range bs {
			seen += h[b]
			if seen >= want {
				return histValue(b)
			}
		}
		return histValue(bs[len(bs)-1])
	}
	return rank(0.50), rank(0.99)
}

// histMergeFunc is the SQL function flow_minute's upsert merges two
// encoded histograms with. The driver registers functions process-wide,
// hence the prefixed name.
const histMergeFunc = "causeway_hist_merge"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(histMergeFunc, 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		h := hist{}
		for _, a := range args {
			b, ok := a.([]byte)
			if !ok {
				return nil, fmt.Errorf("%s: want two histograms, got %T", histMergeFunc, a)
			}
			if err := h.decode(b); err != nil {
				return nil, err
			}
		}
		return h.encode(), nil
	})
}
