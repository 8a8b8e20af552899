package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/store"
)

// ErrBroken is wrapped by the *BrokenError Verify returns.
var ErrBroken = errors.New("audit log does not verify")

// BrokenError names the first record of a chain that does not verify.
type BrokenError struct {
	// Writer and Seq name the record (Seq is the one expected when records are missing).
	Writer string
	Seq    uint64
	// Reason says what is wrong.
	Reason string
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("audit chain %s, record %d: %s", e.Writer, e.Seq, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBroken) true.
func (e *BrokenError) Unwrap() error { return ErrBroken }

// Summary is what Verify checked.
type Summary struct {
	// Chains is the number of writers' chains, Records the records in them.
	Chains, Records int
	// Heads are each chain's last record, by writer: note their hashes
	// somewhere else to detect a later removal of a chain's end.
	Heads map[string]store.AuditRecord
}

// page is how many records Verify reads at a time.
const page = 1000

// Verify walks every chain in st from its first record: Seq must count
// from 1 without gaps or repeats, each PrevHash must be the hash of the
// record before it, and each Hash must be AuditHash of the record. The
// first record that fails is returned as a *BrokenError.
func Verify(ctx context.Context, st store.AuditLog) (Summary, error) {
	sum := Summary{Heads: map[string]store.AuditRecord{}}
	writers, err := st.AuditWriters(ctx)
	if err != nil {
		return sum, err
	}
	for _, w := range writers {
		sum.Chains++
		var prev store.AuditRecord
		for {
			rs, err := st.AuditRecords(ctx, store.AuditQuery{Writer: w, AfterSeq: prev.Seq, Limit: page})
			if err != nil {
				return sum, err
			}
			full := len(rs) == page
			if full {
				// Records stored twice at the page's last seq may straddle
				// the page: leave them to the next page, read after the
				// seq before, so they are checked side by side.
				cut := len(rs)
				for cut > 0 && rs[cut-1].Seq == rs[len(rs)-1].Seq {
					cut--
				}
				if cut > 0 {
					rs = rs[:cut]
				}
			}
			for _, r := range rs {
				if err := check(w, prev, r); err != nil {
					return sum, err
				}
				prev = r
				sum.Records++
			}
			if !full {
				break
			}
		}
		sum.Heads[w] = prev
	}
	return sum, nil
}

// check verifies r as the record after prev (zero for the first).
func check(w string, prev, r store.AuditRecord) error {
	broken := func(seq uint64, format string, args ...any) error {
		return &BrokenError{Writer: w, Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	switch want := prev.Seq + 1; {
	case r.Seq == prev.Seq:
		return broken(r.Seq, "stored more than once")
	case r.Seq > want:
		return broken(want, "missing: the chain goes on at record %d", r.Seq)
	}
	if r.PrevHash != prev.Hash {
		return broken(r.Seq, "its previous hash %.16s… is not the hash %.16s… of record %d", r.PrevHash, prev.Hash, prev.Seq)
	}
	if got := store.AuditHash(r.PrevHash, r); got != r.Hash {
		return broken(r.Seq, "its contents do not match its hash (%s %s by %s)", r.Action, r.Subject, r.Actor)
	}
	return nil
}
