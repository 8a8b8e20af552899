package journey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// ReloadEvery is how often a Writer reloads the journeys defined through
// the API from the store (another studio may have defined them).
const ReloadEvery = 30 * time.Second

// Writer is the store.Writer the collector writes through when journeys
// are kept: it writes each batch to the store and merges the batch's
// ledger updates into the store's ledger. When either write fails, Write
// fails: the collector retries the batch (Batch.Retry), the store keeps
// its rows once and the ledger merge is idempotent, so nothing is counted
// twice.
type Writer struct {
	w        store.Writer
	ledger   store.Ledger
	reg      *Registry
	onUpdate func([]store.LedgerUpdate)
}

var _ store.Writer = (*Writer)(nil)

// NewWriter returns a writer to w keeping reg's journeys in l.
func NewWriter(w store.Writer, l store.Ledger, reg *Registry) *Writer {
	return &Writer{w: w, ledger: l, reg: reg}
}

// OnUpdate sets a function called with the ledger updates of every
// stored batch (the live websocket's journeys channel). Set it before
// the first Write; fn must not keep the slice.
func (w *Writer) OnUpdate(fn func([]store.LedgerUpdate)) { w.onUpdate = fn }

// Write implements store.Writer: the batch's ledger updates are written
// with the batch in one write when the store is a store.LedgerWriter (the
// embedded store: one transaction, the classifier running while the rows
// are written), else beside it: the batch's write
// starts first, and the classifier and the ledger insert run while it
// does (on ClickHouse the inserts overlap; store.Writer does not modify
// the batch). Write returns nil only when both are stored.
func (w *Writer) Write(ctx context.Context, b *store.Batch) error {
	w.reg.refresh(ctx, ReloadEvery)
	if lw, ok := w.w.(store.LedgerWriter); ok {
		// One write of both (the embedded store: one transaction); the
		// batch is classified while its rows are written.
		classified := make(chan []store.LedgerUpdate, 1)
		set := w.reg.Set()
		go func() { classified <- set.Updates(b.Events) }()
		var ups []store.LedgerUpdate
		taken := false
		err := lw.WriteLedger(ctx, b, func() []store.LedgerUpdate { ups, taken = <-classified, true; return ups })
		if !taken {
			<-classified // the classifier reads b: done with it before Write returns
		}
		if err != nil {
			return err
		}
		if w.onUpdate != nil && len(ups) > 0 {
			w.onUpdate(ups)
		}
		return nil
	}
	stored := make(chan error, 1)
	go func() { stored <- w.w.Write(ctx, b) }()
	ups := w.reg.Set().Updates(b.Events)
	var lerr error
	if len(ups) > 0 {
		lerr = w.ledger.UpdateLedger(ctx, ups)
	}
	err := <-stored
	if err == nil && lerr != nil {
		err = fmt.Errorf("journey ledger: %w", lerr)
	}
	if err != nil {
		return err
	}
	if w.onUpdate != nil && len(ups) > 0 {
		w.onUpdate(ups)
	}
	return nil
}

// Frame is what the live websocket's journeys channel sends for one
// journey after a stored batch: its ledger updates, at most MaxFrameUpdates
// of them, and how many more there were.
type Frame struct {
	Journey string               `json:"journey"`
	Updates []store.LedgerUpdate `json:"updates"`
	More    int                  `json:"more"`
}

// MaxFrameUpdates bounds the updates of one Frame.
const MaxFrameUpdates = 200

// Frames groups updates by journey, in the order journeys first appear.
func Frames(ups []store.LedgerUpdate) []Frame {
	var out []Frame
	at := map[string]int{}
	for _, u := range ups {
		i, ok := at[u.Journey]
		if !ok {
			i = len(out)
			at[u.Journey] = i
			out = append(out, Frame{Journey: u.Journey})
		}
		if f := &out[i]; len(f.Updates) < MaxFrameUpdates {
			f.Updates = append(f.Updates, u)
		} else {
			f.More++
		}
	}
	return out
}

// ErrNoLedger is returned by Open for a store that keeps no ledger.
var ErrNoLedger = errors.New("the store keeps no journey ledger")

// Open returns the writer through which a collector writes to st, keeping
// the configuration's journeys and those defined through the API (loaded
// from st now, reloaded every ReloadEvery). A configuration error wraps
// ErrInvalid.
func Open(ctx context.Context, st store.Store, config []Journey, log *slog.Logger) (*Writer, *Registry, error) {
	ledger, ok := st.(store.Ledger)
	if !ok {
		return nil, nil, ErrNoLedger
	}
	reg, err := NewRegistry(config, ledger, log)
	if err != nil {
		return nil, nil, err
	}
	if err := reg.Load(ctx); err != nil {
		return nil, nil, err
	}
	return NewWriter(st, ledger, reg), reg, nil
}

// Ledger returns the store's ledger the writer keeps.
func (w *Writer) Ledger() store.Ledger { return w.ledger }
