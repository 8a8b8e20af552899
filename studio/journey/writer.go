package journey

import (
	"context"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// ReloadEvery is how often a Writer reloads the journeys defined through
// the API from the store (another studio may have defined them).
const ReloadEvery = 30 * time.Second

// Writer is the store.Writer the collector writes through when journeys
// are kept: it writes each batch to the store, then merges the batch's
// ledger updates into the store's ledger. When the ledger write fails,
// Write fails: the collector retries the batch (Batch.Retry), the store
// keeps its rows once and the ledger merge is idempotent, so nothing is
// counted twice.
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

// Write implements store.Writer.
func (w *Writer) Write(ctx context.Context, b *store.Batch) error {
	if err := w.w.Write(ctx, b); err != nil {
		return err
	}
	w.reg.refresh(ctx, ReloadEvery)
	ups := w.reg.Set().Updates(b.Events)
	if len(ups) == 0 {
		return nil
	}
	if err := w.ledger.UpdateLedger(ctx, ups); err != nil {
		return fmt.Errorf("journey ledger: %w", err)
	}
	if w.onUpdate != nil {
		w.onUpdate(ups)
	}
	return nil
}
