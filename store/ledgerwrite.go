package store

import "context"

// LedgerWriter is the optional capability of a Ledger store that writes a
// batch and its ledger updates together (the embedded store: one
// transaction, one commit, instead of a second transaction for the
// ledger). The journey ledger writer uses it when the store has it.
type LedgerWriter interface {
	// WriteLedger writes b as Writer.Write does and merges the updates
	// into the ledger as Ledger.UpdateLedger does, atomically: when it
	// returns nil both are durable, otherwise neither was written.
	// Retrying the same batch and updates is safe, as each of the two is
	// idempotent. updates is called at most once (not when the write
	// fails first), after b's rows are written and before the commit, so
	// that the caller may classify the batch while the store writes it;
	// the updates stay the caller's.
	WriteLedger(ctx context.Context, b *Batch, updates func() []LedgerUpdate) error
}
