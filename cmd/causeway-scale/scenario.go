package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// loadSpan is how far back the loaded orders reach: a day, so that the
// last hour holds 1/24 of them, as on a store under steady traffic.
const loadSpan = 24 * time.Hour

// openEmbedded opens a fresh embedded store in the bench's directory.
func (b *bench) openEmbedded(ctx context.Context, name string) (store.Store, string, error) {
	dir := filepath.Join(b.root, name)
	s, err := store.Open(ctx, (&url.URL{Scheme: "embedded", Path: dir}).String())
	return s, dir, err
}

// messaging loads n messaging events, times the queries and measures the
// store's size on disk.
func (b *bench) messaging(ctx context.Context, n int) error {
	orders := n / chainLen
	name := fmt.Sprintf("%s/events=%d", b.label, orders*chainLen)
	s, size, err := b.openStore(ctx, "messaging")
	if err != nil {
		return err
	}
	defer s.Close()
	w := workload{orders: orders, span: loadSpan, now: b.now, perRequest: 200}
	rate, err := b.load(ctx, s, "messaging", w)
	if err != nil {
		return err
	}
	b.log.Info("loaded", "events", orders*chainLen, "events_per_s", int(rate))
	qs, err := b.queries(ctx, s, w)
	if err != nil {
		return err
	}
	bytes, err := size()
	if err != nil {
		return err
	}
	pairs := []any{rate, "events/s", float64(bytes) / float64(orders*chainLen), "bytes/event"}
	for _, q := range qs {
		pairs = append(pairs, q.p50, q.name+"-p50-ms", q.p99, q.name+"-p99-ms")
	}
	result(name, pairs...)
	return nil
}

// plainSpans loads n plain spans into a fresh embedded store.
func (b *bench) plainSpans(ctx context.Context, n int) error {
	s, _, err := b.openEmbedded(ctx, "plain")
	if err != nil {
		return err
	}
	defer s.Close()
	orders := n / chainLen
	rate, err := b.load(ctx, s, "plain", workload{orders: orders, plain: true, span: loadSpan, now: b.now, perRequest: 200})
	if err != nil {
		return err
	}
	result(fmt.Sprintf("%s-plain/spans=%d", b.label, orders*chainLen), rate, "spans/s")
	return nil
}

// timing is one query's latency quantiles in milliseconds.
type timing struct {
	name     string
	p50, p99 float64
}

// queries runs each of the studio's queries b.runs times against orders
// picked at random (seeded) and returns their latency quantiles.
func (b *bench) queries(ctx context.Context, s store.Store, w workload) ([]timing, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	order := func() int { return rng.IntN(w.orders) }
	hour := store.FlowQuery{Since: w.now.Add(-time.Hour), Until: w.now}
	types := []string{"order.placed", "payment.taken", "order.shipped"}
	qs := []struct {
		name string
		run  func() (int, error)
	}{
		{"flowmap-1h", func() (int, error) {
			fm, err := s.Flows(ctx, hour)
			return len(fm.Edges), err
		}},
		{"graph-correlation", func() (int, error) {
			g, err := store.Walk(ctx, s, store.GraphQuery{CorrelationID: correlationID(order())})
			if err != nil {
				return 0, err
			}
			return len(g.Nodes), nil
		}},
		{"events-by-type-1h", func() (int, error) {
			p, err := s.Events(ctx, store.EventQuery{EventType: types[rng.IntN(len(types))], Since: hour.Since, Until: hour.Until, Limit: 100})
			return len(p.Events), err
		}},
		{"events-by-correlation", func() (int, error) {
			p, err := s.Events(ctx, store.EventQuery{CorrelationID: correlationID(order())})
			return len(p.Events), err
		}},
		{"newest-100", func() (int, error) {
			p, err := s.Events(ctx, store.EventQuery{Limit: 100})
			return len(p.Events), err
		}},
	}
	var out []timing
	for _, q := range qs {
		ms := make([]float64, 0, b.runs)
		for i := 0; i < b.runs; i++ {
			t0 := time.Now()
			got, err := q.run()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
			if got == 0 {
				return nil, fmt.Errorf("%s: empty result", q.name)
			}
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(ms)
		out = append(out, timing{name: q.name, p50: nearestRank(ms, 0.50), p99: nearestRank(ms, 0.99)})
	}
	return out, nil
}

func nearestRank(sorted []float64, q float64) float64 {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// dirSize is the bytes of every file under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// discard is a store.Writer that keeps nothing.
type discard struct{}

func (discard) Write(context.Context, *store.Batch) error { return nil }

// discarding loads n messaging events into a collector that discards
// them: the events/s the rest of the pipeline allows on this machine.
func (b *bench) discarding(ctx context.Context, n int) error {
	orders := n / chainLen
	w := workload{orders: orders, span: loadSpan, now: b.now, perRequest: 200}
	rate, err := b.load(ctx, discard{}, "discard", w)
	if err != nil {
		return err
	}
	result(fmt.Sprintf("discard/events=%d", orders*chainLen), rate, "events/s")
	return nil
}
