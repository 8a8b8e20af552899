package agent

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/event"
)

// Policy says how a message is handled: retries, dead-lettering, and
// skipping messages already processed. The zero Policy runs the handler
// once and reports its error.
type Policy struct {
	// MaxAttempts is how many times the handler runs before giving up (default 1).
	MaxAttempts int
	// Backoff is the wait before the second attempt; it doubles after
	// each failure, up to MaxBackoff (default 10 × Backoff).
	Backoff, MaxBackoff time.Duration
	// DeadLetter, when set, is called after the last failed attempt (or at
	// once for a Permanent error) to move the message to a dead-letter
	// queue. The broker packages provide it.
	DeadLetter bool
	// Dedup, when set, skips messages whose event id it has seen processed.
	Dedup Dedup
}

// Permanent marks an error that no retry can fix (a poison message): the
// message is dead-lettered, or reported, at once.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool { return errors.As(err, new(permanentError)) }

// Result is how handling a message ended.
type Result struct {
	Outcome  event.Outcome
	Attempts int
	// Err is the handler's last error (nil when Outcome is ok or duplicate_skipped).
	Err error
}

// Handle runs fn for one message under policy p, each attempt in its own
// process span. deadLetter moves the message to its DLQ when p.DeadLetter
// is set and the handler gave up; it runs with the last attempt's context
// so the DLQ message names this event as its cause.
func (a *Agent) Handle(ctx context.Context, h Headers, d Destination, p Policy,
	fn func(ctx context.Context) error, deadLetter func(ctx context.Context, cause error) error) Result {
	attempts := max(p.MaxAttempts, 1)
	backoff := p.Backoff
	maxBackoff := p.MaxBackoff
	if maxBackoff == 0 {
		maxBackoff = 10 * backoff
	}
	for attempt := 1; ; attempt++ {
		actx, span, ev := a.StartProcess(ctx, h, d, attempt)
		if p.Dedup != nil && attempt == 1 {
			if seen, err := p.Dedup.Seen(actx, ev.ID); err == nil && seen {
				a.EndProcess(span, event.OutcomeDuplicateSkipped, nil)
				return Result{Outcome: event.OutcomeDuplicateSkipped, Attempts: 1}
			}
		}
		err := fn(actx)
		if err == nil {
			if p.Dedup != nil {
				p.Dedup.Mark(actx, ev.ID)
			}
			a.EndProcess(span, event.OutcomeOK, nil)
			return Result{Outcome: event.OutcomeOK, Attempts: attempt}
		}
		last := attempt >= attempts || IsPermanent(err) || ctx.Err() != nil
		if !last {
			a.EndProcess(span, event.OutcomeRetry, err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		if p.DeadLetter && deadLetter != nil {
			if dlqErr := deadLetter(ContextWithOp(actx, event.OpDeadLetter), err); dlqErr == nil {
				a.EndProcess(span, event.OutcomeDeadLettered, err)
				return Result{Outcome: event.OutcomeDeadLettered, Attempts: attempt, Err: err}
			} else {
				err = errors.Join(err, dlqErr)
			}
		}
		a.EndProcess(span, event.OutcomeError, err)
		return Result{Outcome: event.OutcomeError, Attempts: attempt, Err: err}
	}
}

// Dedup remembers which events were processed, for idempotent consumers.
type Dedup interface {
	// Seen reports whether id was marked processed.
	Seen(ctx context.Context, id string) (bool, error)
	// Mark records id as processed.
	Mark(ctx context.Context, id string) error
}

// MemoryDedup is an in-memory Dedup that remembers the most recent ids,
// up to a capacity (least recently marked forgotten first).
type MemoryDedup struct {
	mu    sync.Mutex
	cap   int
	order *list.List
	ids   map[string]*list.Element
}

// NewMemoryDedup returns a MemoryDedup holding up to capacity ids.
func NewMemoryDedup(capacity int) *MemoryDedup {
	return &MemoryDedup{cap: max(capacity, 1), order: list.New(), ids: map[string]*list.Element{}}
}

// Seen implements Dedup.
func (m *MemoryDedup) Seen(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ids[id]
	return ok, nil
}

// Mark implements Dedup.
func (m *MemoryDedup) Mark(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.ids[id]; ok {
		m.order.MoveToFront(el)
		return nil
	}
	m.ids[id] = m.order.PushFront(id)
	if m.order.Len() > m.cap {
		oldest := m.order.Back()
		m.order.Remove(oldest)
		delete(m.ids, oldest.Value.(string))
	}
	return nil
}
