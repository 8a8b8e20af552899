package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
)

func open(t *testing.T) *embedded.Store {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestChainVerifies: concurrent appends from two logs (two studios on one
// store) make two chains that verify, every record counted.
func TestChainVerifies(t *testing.T) {
	st, ctx := open(t), context.Background()
	a, b := New(st, "studio-a"), New(st, "studio-b")
	var wg sync.WaitGroup
	for i := range 20 {
		for _, l := range []*Log{a, b} {
			wg.Go(func() {
				if _, err := l.Append(ctx, "alice", "replay.created", fmt.Sprint(i), map[string]any{"n": i}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	sum, err := Verify(ctx, st)
	if err != nil || sum.Chains != 2 || sum.Records != 40 || sum.Heads["studio-a"].Seq != 20 {
		t.Fatalf("verify: %+v, %v", sum, err)
	}
	// A new Log on an existing chain (a restart with the same id) continues it.
	if r, err := New(st, "studio-a").Append(ctx, "bob", "alert_rule.deleted", "lag", nil); err != nil || r.Seq != 21 || r.Detail != "{}" {
		t.Fatalf("continued chain: %+v, %v", r, err)
	}
	if _, err := Verify(ctx, st); err != nil {
		t.Fatal(err)
	}
}

// mem is an AuditLog whose records a test can change.
type mem struct{ rs []store.AuditRecord }

func (m *mem) AppendAudit(_ context.Context, r store.AuditRecord) error {
	m.rs = append(m.rs, r)
	return nil
}
func (m *mem) AuditWriters(context.Context) ([]string, error) { return []string{"w"}, nil }
func (m *mem) AuditRecords(_ context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	var out []store.AuditRecord
	for _, r := range m.rs {
		if r.Seq > q.AfterSeq && len(out) < q.Limit {
			out = append(out, r)
		}
	}
	return out, nil
}
func (m *mem) LastAudit(context.Context, string) (store.AuditRecord, error) {
	if len(m.rs) == 0 {
		return store.AuditRecord{}, store.ErrNotFound
	}
	return m.rs[len(m.rs)-1], nil
}

// TestTamperingIsFound: each way of changing the log is reported at the
// record where it happened.
func TestTamperingIsFound(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(rs []store.AuditRecord) []store.AuditRecord
		seq    uint64
	}{
		{"detail changed", func(rs []store.AuditRecord) []store.AuditRecord { rs[3].Detail = `{"n":99}`; return rs }, 4},
		{"actor changed", func(rs []store.AuditRecord) []store.AuditRecord { rs[0].Actor = "mallory"; return rs }, 1},
		{"rehashed alone", func(rs []store.AuditRecord) []store.AuditRecord {
			rs[2].Actor = "mallory"
			rs[2].Hash = store.AuditHash(rs[2].PrevHash, rs[2])
			return rs
		}, 4},
		{"middle removed", func(rs []store.AuditRecord) []store.AuditRecord { return slices.Delete(rs, 5, 6) }, 6},
		{"first removed", func(rs []store.AuditRecord) []store.AuditRecord { return rs[1:] }, 1},
		{"duplicated", func(rs []store.AuditRecord) []store.AuditRecord { return slices.Insert(rs, 3, rs[2]) }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &mem{}
			l := New(m, "w")
			for i := range 10 {
				if _, err := l.Append(ctx, "alice", "replay.created", fmt.Sprint(i), map[string]int{"n": i}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Verify(ctx, m); err != nil {
				t.Fatalf("untouched: %v", err)
			}
			m.rs = tc.change(m.rs)
			_, err := Verify(ctx, m)
			var be *BrokenError
			if !errors.As(err, &be) || !errors.Is(err, ErrBroken) || be.Seq != tc.seq || be.Writer != "w" {
				t.Fatalf("got %v, want the chain broken at record %d", err, tc.seq)
			}
		})
	}
}

// TestVerifyAcrossPages: a chain longer than a page verifies, and a
// record stored twice where a page ends is still found.
func TestVerifyAcrossPages(t *testing.T) {
	ctx := context.Background()
	m := &mem{}
	l := New(m, "w")
	for i := range page + 5 {
		if _, err := l.Append(ctx, "alice", "replay.created", fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if sum, err := Verify(ctx, m); err != nil || sum.Records != page+5 {
		t.Fatalf("long chain: %+v, %v", sum, err)
	}
	m.rs = slices.Insert(m.rs, page, m.rs[page-1]) // record `page` twice, the second copy first on the next page
	var be *BrokenError
	if _, err := Verify(ctx, m); !errors.As(err, &be) || be.Seq != page {
		t.Fatalf("got %v, want record %d stored more than once", err, page)
	}
}
