// Package sidecar holds what `causeway agent` runs next to the brokers.
// This file is the Kafka consumer-lag monitor: it samples every consumer
// group's committed and end offsets (kadm), keeps a short history per
// partition, and derives lag in messages, lag in seconds and a
// Burrow-style status.
//
// Lag in seconds is exact when the monitor can read produce timestamps
// (LagOptions.Brokers set): it fetches the record at each lagging
// partition's committed offset — the oldest message not yet consumed — and
// reports now minus its timestamp (PartitionLag.Exact). Otherwise, or when
// that read fails, it is interpolated from the sampled end offsets: the
// committed offset c was produced when the end offset passed c, which lies
// between two samples (t1, e1) and (t2, e2) with e1 ≤ c < e2, at
// t1 + (c−e1)/(e2−e1)·(t2−t1). When c is older than the oldest sample the
// monitor never extrapolates backwards: it reports the age of the oldest
// sample as a lower bound (LagSecondsLowerBound).
//
// Partition status, over the last Window samples:
//   - OK: no lag in the latest sample, or the consumer commits and its lag
//     is not growing.
//   - WARN: the consumer commits, but lag grew in every sample of the window.
//   - REWIND: the committed offset went backwards.
//   - STALL: the committed offset has not moved during the whole window
//     while there is lag.
//   - STOP: as STALL, for longer than StopAfter.
//
// Group status is the worst partition's: STOP, then STALL, then ERR for a
// REWIND (or when the group's offsets cannot be read), then WARN, then OK.
package sidecar

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Status is a Burrow-style consumer status.
type Status string

// Statuses, for partitions (all but ERR) and groups.
const (
	StatusOK     Status = "OK"
	StatusWarn   Status = "WARN"
	StatusErr    Status = "ERR"
	StatusStop   Status = "STOP"
	StatusStall  Status = "STALL"
	StatusRewind Status = "REWIND"
)

// PartitionLag is one partition's lag in a sample.
type PartitionLag struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Committed int64   `json:"committed"`
	End       int64   `json:"end"`
	Lag       int64   `json:"lag"`
	Seconds   float64 `json:"lag_seconds"`
	// LowerBound is set when Seconds is only a lower bound (the committed
	// offset is older than the monitor's history).
	LowerBound bool `json:"lag_seconds_lower_bound"`
	// Exact is set when Seconds comes from the produce timestamp of the
	// record at the committed offset.
	Exact  bool   `json:"lag_seconds_exact"`
	Status Status `json:"status"`
}

// GroupLag is a consumer group's lag in a sample.
type GroupLag struct {
	Group      string         `json:"group"`
	Time       time.Time      `json:"time"`
	Status     Status         `json:"status"`
	TotalLag   int64          `json:"total_lag"`
	MaxSeconds float64        `json:"max_lag_seconds"`
	Partitions []PartitionLag `json:"partitions"`
	Err        string         `json:"error,omitempty"`
}

// LagOptions tune the monitor.
type LagOptions struct {
	// Window is how many samples the status looks at (default 5).
	Window int `yaml:"window"`
	// StopAfter is how long a stalled partition takes to become STOP (default 5 minutes).
	StopAfter time.Duration `yaml:"stop_after"`
	// History is how many end-offset samples are kept per partition for
	// lag seconds (default 720: an hour at 5 s).
	History int `yaml:"history"`
	// Brokers, when set, are the seed brokers the monitor reads produce
	// timestamps from, for exact lag seconds.
	Brokers []string `yaml:"-"`
	// ClientOpts are added to the options of the client that reads those
	// timestamps: SASL and TLS (see brokerconn.Kafka.Opts).
	ClientOpts []kgo.Opt `yaml:"-"`
	// MaxExact bounds the lagging partitions whose timestamps one sample
	// reads (default 1000); the rest are interpolated.
	MaxExact int `yaml:"max_exact"`
}

type point struct {
	t         time.Time
	committed int64
	end       int64
}

type partHistory struct {
	points     []point   // the last History samples
	lastMoveAt time.Time // when the committed offset last changed
}

// LagMonitor samples consumer-group lag. Sample is safe to call from one
// goroutine at a time.
type LagMonitor struct {
	adm  *kadm.Client
	opts LagOptions
	mu   sync.Mutex
	hist map[string]*partHistory // group/topic/partition
}

// NewLagMonitor returns a monitor using adm.
func NewLagMonitor(adm *kadm.Client, opts LagOptions) *LagMonitor {
	if opts.Window <= 1 {
		opts.Window = 5
	}
	if opts.StopAfter <= 0 {
		opts.StopAfter = 5 * time.Minute
	}
	if opts.History < opts.Window {
		opts.History = max(720, opts.Window)
	}
	return &LagMonitor{adm: adm, opts: opts, hist: map[string]*partHistory{}}
}

// Sample reads the lag of the given groups (all groups when none are
// given) and evaluates it as of now.
func (m *LagMonitor) Sample(ctx context.Context, now time.Time, groups ...string) ([]GroupLag, error) {
	if len(groups) == 0 {
		listed, err := m.adm.ListGroups(ctx)
		if err != nil {
			return nil, fmt.Errorf("list consumer groups: %w", err)
		}
		groups = listed.Groups()
	}
	if len(groups) == 0 {
		return nil, nil
	}
	lags, err := m.adm.Lag(ctx, groups...)
	if err != nil {
		return nil, fmt.Errorf("consumer lag: %w", err)
	}
	var out []GroupLag
	for _, g := range lags.Sorted() {
		out = append(out, m.observe(now, g))
	}
	m.exact(ctx, now, out)
	return out, nil
}

// exact replaces interpolated lag seconds with the age of the record at
// each lagging partition's committed offset, where it can read it.
func (m *LagMonitor) exact(ctx context.Context, now time.Time, groups []GroupLag) {
	if len(m.opts.Brokers) == 0 {
		return
	}
	maxN := m.opts.MaxExact
	if maxN <= 0 {
		maxN = 1000
	}
	type at struct {
		topic     string
		partition int32
		offset    int64
	}
	want := map[at][]*PartitionLag{}
	offsets := map[string]map[int32]kgo.Offset{}
	for gi := range groups {
		for pi := range groups[gi].Partitions {
			p := &groups[gi].Partitions[pi]
			if p.Lag <= 0 {
				continue
			}
			k := at{p.Topic, p.Partition, p.Committed}
			if _, ok := want[k]; !ok {
				if len(want) >= maxN {
					continue
				}
				// Several groups may wait at different offsets of one
				// partition: one read from the lowest covers them all.
				if offsets[p.Topic] == nil {
					offsets[p.Topic] = map[int32]kgo.Offset{}
				}
				if o, ok := offsets[p.Topic][p.Partition]; !ok || p.Committed < o.EpochOffset().Offset {
					offsets[p.Topic][p.Partition] = kgo.NewOffset().At(p.Committed)
				}
			}
			want[k] = append(want[k], p)
		}
	}
	if len(want) == 0 {
		return
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(m.opts.Brokers...), kgo.ConsumePartitions(offsets), kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.FetchMaxPartitionBytes(64 << 10)}, m.opts.ClientOpts...)...)
	if err != nil {
		return
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for len(want) > 0 && rctx.Err() == nil {
		cl.PollRecords(rctx, 0).EachRecord(func(r *kgo.Record) {
			for k, ps := range want {
				// The record at the committed offset, or the first after it
				// when that one is gone (compaction, transactions).
				if k.topic != r.Topic || k.partition != r.Partition || r.Offset < k.offset {
					continue
				}
				for _, p := range ps {
					p.Seconds, p.LowerBound, p.Exact = max(now.Sub(r.Timestamp).Seconds(), 0), false, true
				}
				delete(want, k)
			}
		})
	}
	for gi := range groups {
		g := &groups[gi]
		g.MaxSeconds = 0
		for _, p := range g.Partitions {
			g.MaxSeconds = max(g.MaxSeconds, p.Seconds)
		}
	}
}

func (m *LagMonitor) observe(now time.Time, g kadm.DescribedGroupLag) GroupLag {
	gl := GroupLag{Group: g.Group, Time: now, Status: StatusOK}
	if err := g.Error(); err != nil {
		gl.Status, gl.Err = StatusErr, err.Error()
		return gl
	}
	for _, l := range g.Lag.Sorted() {
		if l.Err != nil || l.End.Err != nil {
			gl.Status, gl.Err = StatusErr, fmt.Sprintf("%s[%d]: %v", l.Topic, l.Partition, l.Err)
			continue
		}
		committed := l.Commit.At
		if committed < 0 { // nothing committed yet: the whole partition is lag
			committed = max(l.Start.Offset, 0)
		}
		p := m.observePartition(now, g.Group, l.Topic, l.Partition, committed, l.End.Offset)
		gl.TotalLag += p.Lag
		gl.MaxSeconds = max(gl.MaxSeconds, p.Seconds)
		gl.Partitions = append(gl.Partitions, p)
	}
	gl.Status = worst(gl.Status, gl.Partitions)
	return gl
}

// observePartition records one sample of a partition (or a NATS consumer,
// partition -1) and evaluates it.
func (m *LagMonitor) observePartition(now time.Time, group, topic string, partition int32, committed, end int64) PartitionLag {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := group + "\x00" + topic + "\x00" + fmt.Sprint(partition)
	h := m.hist[key]
	if h == nil {
		h = &partHistory{lastMoveAt: now}
		m.hist[key] = h
	}
	if n := len(h.points); n > 0 && h.points[n-1].committed != committed {
		h.lastMoveAt = now
	}
	h.points = append(h.points, point{t: now, committed: committed, end: end})
	if len(h.points) > m.opts.History {
		h.points = h.points[len(h.points)-m.opts.History:]
	}
	p := PartitionLag{Topic: topic, Partition: partition, Committed: committed, End: end, Lag: max(end-committed, 0)}
	p.Seconds, p.LowerBound = lagSeconds(h.points, committed, now)
	p.Status = partitionStatus(h, m.opts, now)
	return p
}

// lagSeconds is how long ago the message at offset c was produced, from
// the end-offset history; see the package doc.
func lagSeconds(points []point, c int64, now time.Time) (float64, bool) {
	n := len(points)
	if n == 0 || c >= points[n-1].end {
		return 0, false
	}
	// The first sample whose end offset passed c.
	i := sort.Search(n, func(i int) bool { return points[i].end > c })
	if i == 0 {
		return now.Sub(points[0].t).Seconds(), true
	}
	a, b := points[i-1], points[i]
	frac := float64(c-a.end) / float64(b.end-a.end)
	produced := a.t.Add(time.Duration(frac * float64(b.t.Sub(a.t))))
	return max(now.Sub(produced).Seconds(), 0), false
}

func partitionStatus(h *partHistory, o LagOptions, now time.Time) Status {
	pts := h.points
	last := pts[len(pts)-1]
	if len(pts) > o.Window {
		pts = pts[len(pts)-o.Window:]
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].committed < pts[i-1].committed {
			return StatusRewind
		}
	}
	if last.end-last.committed <= 0 {
		return StatusOK
	}
	if len(pts) < o.Window {
		return StatusOK // not enough history to judge
	}
	if pts[0].committed == last.committed {
		if now.Sub(h.lastMoveAt) >= o.StopAfter {
			return StatusStop
		}
		return StatusStall
	}
	growing := true
	for i := 1; i < len(pts); i++ {
		if pts[i].end-pts[i].committed <= pts[i-1].end-pts[i-1].committed {
			growing = false
		}
	}
	if growing {
		return StatusWarn
	}
	return StatusOK
}

// worst folds partition statuses into a group status.
func worst(current Status, parts []PartitionLag) Status {
	rank := map[Status]int{StatusOK: 0, StatusWarn: 1, StatusErr: 2, StatusStall: 3, StatusStop: 4}
	s := current
	for _, p := range parts {
		ps := p.Status
		if ps == StatusRewind {
			ps = StatusErr
		}
		if rank[ps] > rank[s] {
			s = ps
		}
	}
	return s
}
