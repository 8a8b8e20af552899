package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/store"
)

// auditChain makes n sealed audit records of writer, continuing after prev.
func auditChain(writer string, n int) []store.AuditRecord {
	var out []store.AuditRecord
	prev := ""
	for i := range n {
		r := store.AuditRecord{Writer: writer, Seq: uint64(i + 1), TimeNS: base + uint64(i), Actor: "alice",
			Action: "replay.created", Subject: fmt.Sprintf("replay-%d", i),
			Detail: fmt.Sprintf(`{"reason":"r%d","quote":"\"é\u00e9\"","n":%d}`, i, i), PrevHash: prev}
		r.Hash = store.AuditHash(prev, r)
		prev = r.Hash
		out = append(out, r)
	}
	return out
}

// testAuditLog: records come back exactly as appended (detail bytes and
// hashes unchanged), per writer in Seq order, from AfterSeq on; the last
// record of each writer; writers listed sorted; an unknown writer has none.
func testAuditLog(t *testing.T, h Harness) {
	s, ctx := h.New(t), context.Background()
	a, b := auditChain("studio-a", 5), auditChain("studio-b", 3)
	for i := range 5 { // interleaved, as two studios on one store would
		must(t, s.AppendAudit(ctx, a[i]))
		if i < len(b) {
			must(t, s.AppendAudit(ctx, b[i]))
		}
	}
	ws, err := s.AuditWriters(ctx)
	must(t, err)
	if fmt.Sprint(ws) != "[studio-a studio-b]" {
		t.Fatalf("writers %q", ws)
	}
	got, err := s.AuditRecords(ctx, store.AuditQuery{Writer: "studio-a"})
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(a) {
		t.Fatalf("records:\n got %+v\nwant %+v", got, a)
	}
	for i, r := range got {
		if store.AuditHash(r.PrevHash, r) != r.Hash || i > 0 && r.PrevHash != got[i-1].Hash {
			t.Fatalf("record %d does not verify after the round trip: %+v", i, r)
		}
	}
	got, err = s.AuditRecords(ctx, store.AuditQuery{Writer: "studio-a", AfterSeq: 2, Limit: 2})
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(a[2:4]) {
		t.Fatalf("records after 2, limit 2: %+v", got)
	}
	last, err := s.LastAudit(ctx, "studio-b")
	must(t, err)
	if last != b[2] {
		t.Fatalf("last of studio-b %+v, want %+v", last, b[2])
	}
	if _, err := s.LastAudit(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("last of an unknown writer: %v, want ErrNotFound", err)
	}
	if rs, err := s.AuditRecords(ctx, store.AuditQuery{Writer: "nobody"}); err != nil || len(rs) != 0 {
		t.Fatalf("records of an unknown writer: %+v, %v", rs, err)
	}
}

// testAuditHash: the hash covers every field and the previous hash.
func testAuditHash(t *testing.T, _ Harness) {
	r := auditChain("w", 1)[0]
	seen := map[string]bool{store.AuditHash("", r): true}
	for _, change := range []func(*store.AuditRecord){
		func(r *store.AuditRecord) { r.Writer += "x" }, func(r *store.AuditRecord) { r.Seq++ },
		func(r *store.AuditRecord) { r.TimeNS++ }, func(r *store.AuditRecord) { r.Actor += "x" },
		func(r *store.AuditRecord) { r.Action += "x" }, func(r *store.AuditRecord) { r.Subject += "x" },
		func(r *store.AuditRecord) { r.Detail += " " },
		// Moving bytes between fields changes the hash too (lengths are hashed).
		func(r *store.AuditRecord) { r.Actor, r.Action = r.Actor+"r", r.Action[1:] },
	} {
		c := r
		change(&c)
		h := store.AuditHash("", c)
		if seen[h] {
			t.Fatalf("a changed record hashes like another: %+v", c)
		}
		seen[h] = true
	}
	if store.AuditHash("00", r) == store.AuditHash("", r) {
		t.Fatal("the previous hash is not covered")
	}
}
