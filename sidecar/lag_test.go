package sidecar

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLagSecondsInterpolation(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pts := []point{{t: t0, end: 100}, {t: t0.Add(10 * time.Second), end: 200}, {t: t0.Add(20 * time.Second), end: 200}}
	now := t0.Add(30 * time.Second)
	for _, c := range []struct {
		committed int64
		want      float64
		lower     bool
	}{
		{200, 0, false},  // caught up
		{150, 25, false}, // produced halfway between the first two samples
		{100, 30, false}, // produced right at the first sample
		{50, 30, true},   // older than the history: a lower bound, no extrapolation
	} {
		got, lower := lagSeconds(pts, c.committed, now)
		if math.Abs(got-c.want) > 1e-9 || lower != c.lower {
			t.Errorf("committed %d: %v s (lower bound %v), want %v (%v)", c.committed, got, lower, c.want, c.lower)
		}
	}
}

func TestPartitionStatus(t *testing.T) {
	o := LagOptions{Window: 3, StopAfter: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	mk := func(cs, es []int64, lastMove time.Duration) *partHistory {
		h := &partHistory{lastMoveAt: t0.Add(lastMove)}
		for i := range cs {
			h.points = append(h.points, point{t: t0.Add(time.Duration(i) * time.Second), committed: cs[i], end: es[i]})
		}
		return h
	}
	now := t0.Add(3 * time.Second)
	for name, c := range map[string]struct {
		h    *partHistory
		want Status
	}{
		"caught up":        {mk([]int64{5, 5, 5}, []int64{5, 5, 5}, 0), StatusOK},
		"committing":       {mk([]int64{1, 3, 5}, []int64{6, 7, 8}, 2*time.Second), StatusOK},
		"lag growing":      {mk([]int64{1, 2, 3}, []int64{5, 8, 12}, 2*time.Second), StatusWarn},
		"stalled":          {mk([]int64{4, 4, 4}, []int64{5, 6, 7}, 0), StatusStall},
		"stopped":          {mk([]int64{4, 4, 4}, []int64{5, 6, 7}, -8*time.Second), StatusStop},
		"rewound":          {mk([]int64{4, 2, 3}, []int64{5, 6, 7}, 2*time.Second), StatusRewind},
		"too short to say": {mk([]int64{4, 4}, []int64{5, 6}, 0), StatusOK},
	} {
		if got := partitionStatus(c.h, o, now); got != c.want {
			t.Errorf("%s: %s, want %s", name, got, c.want)
		}
	}
}

// TestLagAgainstKfake runs a producer at a steady rate and a consumer
// group that commits, stops committing, then catches up, and checks the
// monitor's lag, lag seconds (against the recorded produce times; both
// interpolated and exact from the records' timestamps) and statuses.
func TestLagAgainstKfake(t *testing.T) {
	for _, exact := range []bool{false, true} {
		t.Run(map[bool]string{false: "interpolated", true: "exact"}[exact], func(t *testing.T) { testLagAgainstKfake(t, exact) })
	}
}

func testLagAgainstKfake(t *testing.T, exact bool) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "lagged"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prod, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("lagged"))
	defer prod.Close()
	var mu sync.Mutex
	producedAt := map[int64]time.Time{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // 50 records/s
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			<-tick.C
			now := time.Now()
			r, err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).First()
			if err == nil {
				mu.Lock()
				producedAt[r.Offset] = now
				mu.Unlock()
			}
		}
	}()
	cons, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumerGroup("slow"), kgo.ConsumeTopics("lagged"),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cons.Close()
	var committing atomic.Bool
	committing.Store(true)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			cons.PollFetches(ctx)
			if committing.Load() {
				cons.CommitUncommittedOffsets(ctx)
			}
		}
	}()
	admCl, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	defer admCl.Close()
	opts := LagOptions{Window: 5, StopAfter: 2 * time.Second}
	if exact {
		opts.Brokers = c.ListenAddrs()
	}
	m := NewLagMonitor(kadm.NewClient(admCl), opts)
	sample := func() GroupLag {
		t.Helper()
		now := time.Now()
		gs, err := m.Sample(ctx, now, "slow")
		if err != nil || len(gs) != 1 || len(gs[0].Partitions) != 1 {
			t.Fatalf("sample: %+v, %v", gs, err)
		}
		return gs[0]
	}
	deadline := time.Now().Add(10 * time.Second)
	for { // wait for the group to join and commit
		gs, err := m.Sample(ctx, time.Now(), "slow")
		if err == nil && len(gs) == 1 && len(gs[0].Partitions) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group never appeared: %+v, %v", gs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	run := func(d time.Duration) (statuses []Status, last GroupLag) {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			last = sample()
			statuses = append(statuses, last.Status)
		}
		return statuses, last
	}

	st, last := run(2 * time.Second)
	if last.Status != StatusOK {
		t.Fatalf("committing consumer: statuses %v", st)
	}
	committing.Store(false)
	st, last = run(3500 * time.Millisecond)
	seen := map[Status]bool{}
	for _, s := range st {
		seen[s] = true
	}
	if !seen[StatusStall] || last.Status != StatusStop {
		t.Fatalf("consumer that stopped committing: statuses %v, want STALL then STOP", st)
	}
	p := last.Partitions[0]
	mu.Lock()
	truth := last.Time.Sub(producedAt[p.Committed]).Seconds()
	mu.Unlock()
	if p.Lag < 100 || p.LowerBound || p.Exact != exact || math.Abs(p.Seconds-truth) > 0.1*truth {
		t.Fatalf("lag %d messages, %.3f s (lower bound %v, exact %v); truth %.3f s", p.Lag, p.Seconds, p.LowerBound, p.Exact, truth)
	}
	t.Logf("stopped consumer: lag %d messages, %.3f s estimated, %.3f s true", p.Lag, p.Seconds, truth)

	committing.Store(true)
	st, last = run(1500 * time.Millisecond)
	if last.Status != StatusOK || last.TotalLag > 10 {
		t.Fatalf("catching-up consumer: statuses %v, lag %d", st, last.TotalLag)
	}
	cancel()
	wg.Wait()
}
