// Package retention runs a store's retention passes (issue #15): every
// interval, it asks a store that implements store.Retainer to delete the
// events, spans and edges older than the events horizon and the broker
// data (DLQ entries, lag samples, alert history, replay records) older
// than the broker horizon, logs what each pass deleted and counts it for
// Prometheus. For a store on a local disk it also keeps a free-space
// watermark (watermark.go). The studio and `causeway collector` run one
// beside the store writer they own.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// Config is the `retention:` section of the configuration.
type Config struct {
	// Events is how long events, spans and causation edges (with their
	// indexes and flow aggregates) are kept; 0 keeps them forever.
	Events Duration `yaml:"events"`
	// Broker is how long DLQ entries, consumer-lag samples, alert history
	// and replay records are kept; 0 keeps them forever.
	Broker Duration `yaml:"broker"`
	// Interval is the time between passes; the first runs FirstDelay
	// after start.
	Interval Duration `yaml:"interval"`
	// MinFree is the free-space watermark: the share (0 to 1) of the
	// embedded store's disk that must stay free; below it the oldest
	// events go early (see watermark.go). 0 turns it off.
	MinFree float64 `yaml:"min_free"`
	// DiskCheckInterval is how often the free space is measured.
	DiskCheckInterval Duration `yaml:"disk_check_interval"`
}

// DefaultConfig keeps events 7 days and broker data 30, with a pass an hour.
func DefaultConfig() Config {
	return Config{Events: Duration(7 * 24 * time.Hour), Broker: Duration(30 * 24 * time.Hour), Interval: Duration(time.Hour),
		MinFree: 0.05, DiskCheckInterval: Duration(15 * time.Second)}
}

// Validate checks the durations and the watermark.
func (c Config) Validate() error {
	var errs []error
	if c.Events < 0 || c.Broker < 0 {
		errs = append(errs, errors.New("retention.events and retention.broker must not be negative (0 keeps forever)"))
	}
	if c.Events != 0 && c.Events < Duration(time.Hour) || c.Broker != 0 && c.Broker < Duration(time.Hour) {
		errs = append(errs, errors.New("retention.events and retention.broker must be at least 1h (or 0, forever)"))
	}
	if c.Interval < Duration(time.Second) {
		errs = append(errs, fmt.Errorf("retention.interval %s: want at least 1s", c.Interval))
	}
	if c.MinFree < 0 || c.MinFree >= 0.5 {
		errs = append(errs, fmt.Errorf("retention.min_free %v: want a share from 0 (off) to under 0.5", c.MinFree))
	}
	if c.MinFree > 0 && c.DiskCheckInterval < Duration(time.Second) {
		errs = append(errs, fmt.Errorf("retention.disk_check_interval %s: want at least 1s", c.DiskCheckInterval))
	}
	return errors.Join(errs...)
}

// Off reports whether nothing is ever deleted.
func (c Config) Off() bool { return c.Events == 0 && c.Broker == 0 }

// FirstDelay is how long after Start the first pass runs: soon, but not
// while the process is still starting up and recovering its spool.
const FirstDelay = 30 * time.Second

// Runner runs retention passes on a store. Its methods are safe for
// concurrent use.
type Runner struct {
	cfg Config
	st  store.Retainer
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	deleted map[string]int64 // rows deleted per table since start
	lastRun time.Time        // end of the last successful pass
	errors  int64            // failed passes
	disk    diskState

	// diskSpace measures a directory's file system (replaced in tests).
	diskSpace func(dir string) (free, total uint64, err error)

	stop context.CancelFunc
	done chan struct{}
}

// New returns a runner for st, or nil when st cannot delete old data
// (it does not implement store.Retainer) or cfg keeps everything; a nil
// *Runner's methods do nothing.
func New(cfg Config, st store.Store, log *slog.Logger) *Runner {
	rt, ok := st.(store.Retainer)
	if !ok || cfg.Off() {
		return nil
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Runner{cfg: cfg, st: rt, log: log.With("component", "retention"), now: time.Now, deleted: map[string]int64{},
		disk: diskState{events: time.Duration(cfg.Events)}, diskSpace: diskSpace}
	for _, t := range rt.RetentionTables() {
		r.deleted[t] = 0
	}
	return r
}

// SetClock replaces the clock the horizons are computed from (tests
// simulate time with it). Call it before Start.
func (r *Runner) SetClock(now func() time.Time) {
	if r != nil {
		r.now = now
	}
}

// Policy is what a pass at now deletes.
func (r *Runner) Policy(now time.Time) store.RetentionPolicy {
	var p store.RetentionPolicy
	r.mu.Lock()
	events := r.disk.events // Config.Events, or shorter below the watermark
	r.mu.Unlock()
	if events > 0 {
		p.EventsBefore = now.Add(-events)
	}
	if r.cfg.Broker > 0 {
		p.BrokerBefore = now.Add(-time.Duration(r.cfg.Broker))
	}
	return p
}

// RunOnce runs one pass now, logs and counts it.
func (r *Runner) RunOnce(ctx context.Context) (store.RetentionResult, error) {
	if r == nil {
		return store.RetentionResult{}, nil
	}
	start := time.Now()
	p := r.Policy(r.now())
	res, err := r.st.ApplyRetention(ctx, p)
	r.mu.Lock()
	for t, n := range res.Deleted {
		r.deleted[t] += n
	}
	if err == nil {
		r.lastRun = time.Now()
	} else {
		r.errors++
	}
	r.mu.Unlock()
	attrs := []any{"deleted_rows", res.Total(), "by_table", res.Deleted, "events_before", p.EventsBefore, "broker_before", p.BrokerBefore,
		"took", time.Since(start).Round(time.Millisecond)}
	switch {
	case err != nil && ctx.Err() != nil:
		r.log.Info("retention pass interrupted; the next continues it", append(attrs, "error", err)...)
		return res, err
	case err != nil:
		r.log.Error("retention pass failed", append(attrs, "error", err)...)
		return res, err
	}
	r.log.Info("retention pass", attrs...)
	return res, nil
}

// Start runs a pass FirstDelay after it is called, then every Interval,
// until Stop.
func (r *Runner) Start(ctx context.Context) {
	if r == nil {
		return
	}
	ctx, r.stop = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	var disk <-chan time.Time
	stopDisk := func() {}
	if ls, local := r.st.(localStore); local && r.cfg.MinFree > 0 && r.cfg.Events > 0 {
		if _, _, err := r.diskSpace(ls.Dir()); errors.Is(err, errors.ErrUnsupported) {
			r.log.Info("the free-space watermark is off", "reason", err)
		} else {
			tk := time.NewTicker(time.Duration(r.cfg.DiskCheckInterval))
			disk, stopDisk = tk.C, tk.Stop
		}
	}
	go func() {
		defer close(r.done)
		defer stopDisk()
		t := time.NewTimer(FirstDelay)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.RunOnce(ctx) // logged and counted; the next pass retries
				t.Reset(time.Duration(r.cfg.Interval))
			case <-disk:
				if _, err := r.CheckDisk(ctx); err != nil && ctx.Err() == nil {
					r.log.Error("free disk space check failed", "error", err)
				}
			}
		}
	}()
}

// Stop ends the loop, interrupting a pass in progress (the next run's
// first pass continues it), and waits for it.
func (r *Runner) Stop() {
	if r == nil || r.stop == nil {
		return
	}
	r.stop()
	<-r.done
}

// Stats is a snapshot of the runner's counters.
type Stats struct {
	// Deleted is the rows deleted per table since start.
	Deleted map[string]int64
	// LastRun is when the last successful pass ended (zero before one).
	LastRun time.Time
	// Errors counts failed passes.
	Errors int64
	// WatermarkPasses counts the passes the free-space watermark ran.
	WatermarkPasses int64
	// FreeShare is the free share of the store's disk at the last
	// watermark check (0 before one, or for a store not on a local disk).
	FreeShare float64
	// Events is the events retention in force: the configured one, or
	// shorter while the disk is below the watermark.
	Events time.Duration
}

// Stats returns the counters now.
func (r *Runner) Stats() Stats {
	if r == nil {
		return Stats{Deleted: map[string]int64{}}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return Stats{Deleted: maps.Clone(r.deleted), LastRun: r.lastRun, Errors: r.errors,
		WatermarkPasses: r.disk.passes, FreeShare: r.disk.freeShare, Events: r.disk.events}
}

// tables returns the tables of s in order.
func (s Stats) tables() []string { return slices.Sorted(maps.Keys(s.Deleted)) }
