package journey

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// Backfill bounds: a journey defined through the API has its ledger
// filled from the events already stored over the last BackfillWindow, at
// most BackfillMaxEvents of them, so that its stuck list shows the
// entities stuck since before it was defined. The ledger merges updates
// by rank whatever their order (store.LedgerRank), so the backfill and
// ingest may update the same entity at once.
const (
	BackfillWindow    = 24 * time.Hour
	BackfillMaxEvents = 1_000_000
)

// BackfillResult is what one backfill read and wrote.
type BackfillResult struct {
	// Events is the number of events read; Updates the ledger updates
	// they made (one per entity and page).
	Events, Updates int
	// Truncated says the window held more events than the backfill read.
	Truncated bool
}

// Backfill fills journey name's ledger from the events stored in w,
// newest first, reading at most maxEvents of them in pages of
// store.MaxLimit.
func (s *Service) Backfill(ctx context.Context, name string, w Window, maxEvents int) (BackfillResult, error) {
	j, err := s.Journey(name)
	if err != nil {
		return BackfillResult{}, err
	}
	one := NewSet([]Journey{j})
	var res BackfillResult
	if maxEvents <= 0 {
		return res, nil
	}
	q := store.EventQuery{Since: w.Since, Until: w.Until}
	for {
		q.Limit = min(store.MaxLimit, maxEvents-res.Events)
		page, err := s.r.Events(ctx, q)
		if err != nil {
			return res, fmt.Errorf("journey %s: backfill: %w", name, err)
		}
		res.Events += len(page.Events)
		if ups := one.Updates(page.Events); len(ups) > 0 {
			if err := s.ledger.UpdateLedger(ctx, ups); err != nil {
				return res, fmt.Errorf("journey %s: backfill: %w", name, err)
			}
			res.Updates += len(ups)
		}
		if page.Next == "" {
			return res, nil
		}
		if res.Events >= maxEvents {
			res.Truncated = true
			return res, nil
		}
		q.Cursor = page.Next
	}
}

// backfills runs the backfills of journeys defined through the API in the
// background, one at a time per journey, until Close.
type backfills struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	// running holds the journeys being backfilled; true when the journey
	// was defined again meanwhile, so its backfill runs once more.
	running map[string]bool
}

func newBackfills() backfills {
	ctx, cancel := context.WithCancel(context.Background())
	return backfills{ctx: ctx, cancel: cancel, running: map[string]bool{}}
}

// StartBackfill fills name's ledger from the last BackfillWindow of
// stored events in the background and logs the outcome. When a backfill
// of the journey is already running, it runs once more after it (the
// definition may have changed). Close stops them.
func (s *Service) StartBackfill(name string, log *slog.Logger) {
	b := &s.backfills
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil {
		return
	}
	if _, ok := b.running[name]; ok {
		b.running[name] = true
		return
	}
	b.running[name] = false
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for again := true; again; {
			now := s.now()
			start := time.Now()
			res, err := s.Backfill(b.ctx, name, Window{Since: now.Add(-BackfillWindow), Until: now}, BackfillMaxEvents)
			if err != nil {
				log.Warn("journey backfill stopped", "journey", name, "events", res.Events, "error", err)
			} else {
				log.Info("journey backfilled from stored events", "journey", name, "events", res.Events,
					"updates", res.Updates, "truncated", res.Truncated, "took", time.Since(start).Round(time.Millisecond))
			}
			b.mu.Lock()
			again = b.running[name] && b.ctx.Err() == nil
			if again {
				b.running[name] = false
			} else {
				delete(b.running, name)
			}
			b.mu.Unlock()
		}
	}()
}

// Close stops the backfills running and waits for them; none starts
// after it.
func (s *Service) Close() {
	s.backfills.cancel()
	s.backfills.wg.Wait()
}
