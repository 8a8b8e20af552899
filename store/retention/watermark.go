package retention

import (
	"context"
	"fmt"
	"time"
)

// The free-space watermark (issue #15): for a store on a local disk (the
// embedded store), every DiskCheckInterval the runner measures the free
// share of the file system holding it, counting the database's own free
// pages as free since new rows take them first. Below MinFree, it
// shortens the events retention to three quarters of what it was (never
// under MinEvents) and runs a pass at once, so the oldest events, spans
// and edges go before the disk fills and ingest has to refuse data; it
// goes on shortening at every check while the disk stays below. Once the
// free share is back at twice MinFree, the configured retention applies
// again (what was deleted stays deleted).

// MinEvents is the shortest events retention the watermark goes down to.
const MinEvents = time.Hour

// localStore is a store whose data lives in a local directory.
type localStore interface {
	Dir() string
	// ReusableBytes is space inside the store's files that new rows take
	// before the files grow.
	ReusableBytes(ctx context.Context) (int64, error)
}

// diskState is the watermark's state, guarded by Runner.mu.
type diskState struct {
	// events is the events retention in force: Config.Events, or shorter
	// while the disk is below the watermark.
	events time.Duration
	// pressure is set from a check below MinFree until one at twice it.
	pressure bool
	// passes counts the passes the watermark ran; freeShare is the last measured.
	passes    int64
	freeShare float64
}

// freeShare measures the free share of the disk holding the store.
func (r *Runner) freeShare(ctx context.Context, ls localStore) (float64, error) {
	free, total, err := r.diskSpace(ls.Dir())
	if err != nil {
		return 0, err
	}
	if total == 0 {
		return 0, fmt.Errorf("free disk space of %s: the file system reports no size", ls.Dir())
	}
	reusable, err := ls.ReusableBytes(ctx)
	if err != nil {
		return 0, err
	}
	return min(1, (float64(free)+float64(reusable))/float64(total)), nil
}

// CheckDisk runs one watermark check: when the free share of the store's
// disk is below MinFree it shortens the events retention and runs a
// pass. It reports whether it ran one. Stores without a local directory,
// or with the watermark off, never do.
func (r *Runner) CheckDisk(ctx context.Context) (bool, error) {
	if r == nil {
		return false, nil
	}
	ls, ok := r.st.(localStore)
	if !ok || r.cfg.MinFree <= 0 || r.cfg.Events == 0 {
		return false, nil
	}
	share, err := r.freeShare(ctx, ls)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	r.disk.freeShare = share
	if share >= r.cfg.MinFree {
		if r.disk.pressure && share >= 2*r.cfg.MinFree {
			r.disk.pressure, r.disk.events = false, time.Duration(r.cfg.Events)
			r.log.Info("free disk space back above twice the watermark: the configured retention applies again",
				"free_share", share, "events", r.cfg.Events)
		}
		r.mu.Unlock()
		return false, nil
	}
	r.disk.pressure = true
	r.disk.events = max(MinEvents, r.disk.events*3/4)
	r.disk.passes++
	events := r.disk.events
	r.mu.Unlock()
	r.log.Warn("free disk space below the watermark: deleting the oldest events early",
		"free_share", share, "min_free", r.cfg.MinFree, "events_retention", events.Round(time.Minute))
	_, err = r.RunOnce(ctx)
	return true, err
}
