package replay

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// chunk is how many messages are read from the broker at a time.
const chunk = 500

// progressEvery throttles progress notifications and audit writes.
const progressEvery = 250 * time.Millisecond

// job is one running replay.
type job struct {
	e      *Engine
	items  []*item
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	r         store.Replay
	results   []store.ReplayItem // not yet written to the store
	stoppedBy string
	notified  time.Time
	inflight  sync.WaitGroup // publishes whose result is not recorded yet

	pub       sync.Mutex // serialises audit writes and notifications
	published uint64     // UpdatedNS of the last one
}

func (j *job) snapshot() store.Replay {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.r
}

func (j *job) stop(who string) {
	j.mu.Lock()
	if j.stoppedBy == "" {
		j.stoppedBy = who
	}
	j.mu.Unlock()
	j.cancel()
}

// run publishes every item at the replay's rate, then records the outcome.
func (j *job) run() {
	e := j.e
	defer e.wg.Done()
	defer close(j.done)
	defer func() {
		e.mu.Lock()
		delete(e.jobs, j.r.ID)
		e.mu.Unlock()
	}()
	j.update(func(r *store.Replay) { r.State, r.StartedNS = store.ReplayRunning, now() }, true)
	started := j.snapshot()
	e.record(started.RequestedBy, "replay.started", started, map[string]any{"total": started.Total, "rate_per_sec": started.RatePerSec})

	// Publishing uses a context the cancel does not reach: a message
	// handed to the client is finished, not torn.
	pctx, stopPublishing := context.WithTimeout(context.WithoutCancel(j.ctx), 24*time.Hour)
	defer stopPublishing()
	interval := time.Duration(float64(time.Second) / j.r.RatePerSec)
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var brokenOff error
loop:
	for start := 0; start < len(j.items); start += chunk {
		part := j.items[start:min(start+chunk, len(j.items))]
		msgs := j.read(part)
		for _, it := range part {
			if d := time.Until(next); d > 0 {
				timer.Reset(d)
				select {
				case <-timer.C:
				case <-j.ctx.Done():
					break loop
				}
			} else if j.ctx.Err() != nil {
				break loop
			}
			next = next.Add(interval)
			if now := time.Now(); next.Before(now.Add(-time.Second)) {
				next = now // do not burst to catch up after a slow broker
			}
			m := msgs[it.seq]
			if m.err != nil {
				j.finish(it, "", m.err)
				continue
			}
			h, newID := replayHeaders(m.headers, it, j.r.ID)
			ctx := agent.ContextWithOp(pctx, event.OpReplay)
			ctx = agent.ContextWithEvent(ctx, agent.Event{ID: it.eventID, CorrelationID: it.corrID})
			j.inflight.Add(1)
			e.brokers[it.system].publish(ctx, it.to, message{key: m.key, value: m.value, headers: h}, func(err error) {
				j.finish(it, newID, err)
				j.inflight.Done()
			})
		}
		for _, b := range e.brokers {
			if err := b.flush(pctx); err != nil && brokenOff == nil {
				brokenOff = err
			}
		}
	}
	for _, b := range e.brokers {
		if err := b.flush(pctx); err != nil && brokenOff == nil {
			brokenOff = err
		}
	}
	j.inflight.Wait() // every result counted before the final state
	j.update(func(r *store.Replay) {
		r.FinishedNS = now()
		switch {
		case j.ctx.Err() != nil:
			r.State = store.ReplayCancelled
			r.Error = fmt.Sprintf("cancelled by %s after %d of %d messages", j.stoppedBy, r.Sent+r.Failed, r.Total)
		case r.Failed > 0 || brokenOff != nil:
			r.State = store.ReplayFailed
			r.Error = fmt.Sprintf("%d of %d messages could not be published", r.Failed, r.Total)
			if brokenOff != nil {
				r.Error += fmt.Sprintf(" (%v)", brokenOff)
			}
		default:
			r.State = store.ReplaySucceeded
		}
		j.e.counts.finished(r.State)
	}, true)
	final := j.snapshot()
	if final.State == store.ReplayCancelled {
		j.mu.Lock()
		by := j.stoppedBy
		j.mu.Unlock()
		e.record(by, "replay.cancelled", final, outcome(final))
	} else {
		e.record(final.RequestedBy, "replay.finished", final, outcome(final))
	}
}

// read fetches a chunk's messages from their brokers, by item seq.
func (j *job) read(part []*item) map[int64]fetched {
	out := make(map[int64]fetched, len(part))
	by := map[string][]*item{}
	for _, it := range part {
		by[it.system] = append(by[it.system], it)
	}
	for sys, its := range by {
		rctx, cancel := context.WithTimeout(j.ctx, 30*time.Second)
		j.e.brokers[sys].read(rctx, its, out)
		cancel()
	}
	for _, it := range part {
		if f, ok := out[it.seq]; !ok || f.err != nil {
			out[it.seq] = j.e.storedCopy(it, f.err)
		}
	}
	return out
}

// finish records one message's result.
func (j *job) finish(it *item, newID string, err error) {
	res := store.ReplayItem{ReplayID: j.r.ID, Seq: it.seq, DLQID: it.dlqID, EventID: it.eventID, NewEventID: newID,
		System: it.system, Destination: it.to, Status: store.ItemSent, TimeNS: now()}
	if err != nil {
		res.Status, res.Error, res.NewEventID = store.ItemFailed, err.Error(), ""
	}
	j.mu.Lock()
	j.results = append(j.results, res)
	j.mu.Unlock()
	j.e.counts.message(err == nil)
	j.update(func(r *store.Replay) {
		if err != nil {
			r.Failed++
		} else {
			r.Sent++
		}
	}, false)
}

// update changes the replay; a final or throttled update writes the
// audit log (results first) and notifies.
func (j *job) update(change func(*store.Replay), force bool) {
	j.mu.Lock()
	change(&j.r)
	j.r.UpdatedNS = max(now(), j.r.UpdatedNS+1)
	if !force && time.Since(j.notified) < progressEvery {
		j.mu.Unlock()
		return
	}
	j.notified = time.Now()
	r, results := j.r, j.results
	j.results = nil
	j.mu.Unlock()
	// One writer at a time, newest state last: a slow progress write must
	// not land (or be announced) after the final one.
	j.pub.Lock()
	defer j.pub.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.e.st.PutReplayItems(ctx, results); err != nil {
		j.e.log.Error("replay: writing item results to the audit log failed", "replay", r.ID, "items", len(results), "error", err)
		j.mu.Lock()
		j.results = append(results, j.results...) // try again with the next write
		j.mu.Unlock()
	}
	if r.UpdatedNS <= j.published {
		return
	}
	j.published = r.UpdatedNS
	if err := j.e.st.PutReplay(ctx, r); err != nil {
		j.e.log.Error("replay: writing the audit log failed", "replay", r.ID, "error", err)
	}
	j.e.notify(r)
}

func now() uint64 { return uint64(time.Now().UnixNano()) }
