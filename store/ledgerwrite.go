package store

import "context"

// LedgerWriter is the optional capability of a Ledger store that writes a
// batch and its ledger updates together (the embedded store: one
// transaction, one commit, instead of a second transaction for the
// ledger). The journey ledger writer uses it when the store has it.
type LedgerWriter interface {
	// WriteLedger writes b as Writer.Write does and merges updates into
	// the ledger as Ledger.UpdateLedger does, atomically: when it returns
	// nil both are durable, otherwise neither was written. Retrying the
	// same batch and updates is safe, as each of the two is idempotent.
	// The updates are the caller's; WriteLedger does not keep them.
	WriteLedger(ctx context.Context, b *Batch, updates []LedgerUpdate) error
}
