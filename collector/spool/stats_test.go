package spool

import (
	"testing"
	"time"
)

func TestStatsBacklogAndOldest(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentBytes: 64})
	if st := s.Stats(); st.Records != 0 || !st.Oldest.IsZero() || st.Bytes != 0 {
		t.Fatalf("empty spool: %+v", st)
	}
	beforeA := time.Now()
	if err := s.Append([]byte("a")); err != nil {
		t.Fatal(err)
	}
	afterA := time.Now()
	time.Sleep(markEvery + 100*time.Millisecond) // B gets a mark of its own
	beforeB := time.Now()
	for range 3 {
		if err := s.Append([]byte("b")); err != nil {
			t.Fatal(err)
		}
	}
	afterB := time.Now()
	st := s.Stats()
	if st.Records != 4 || st.Bytes != 4*(headerLen+1) {
		t.Fatalf("after 4 appends: %+v", st)
	}
	if st.Oldest.Before(beforeA) || st.Oldest.After(afterA) {
		t.Fatalf("oldest %v, want A's append time in [%v, %v]", st.Oldest, beforeA, afterA)
	}
	read(t, s, 2)
	if err := s.Commit(0); err != nil { // A is stored: B's records are the oldest
		t.Fatal(err)
	}
	st = s.Stats()
	if st.Records != 3 || st.Oldest.Before(beforeB) || st.Oldest.After(afterB) {
		t.Fatalf("after committing A: %+v, want 3 records from [%v, %v]", st, beforeB, afterB)
	}
	read(t, s, 2)
	if err := s.Commit(3); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Records != 0 || !st.Oldest.IsZero() {
		t.Fatalf("all committed: %+v", st)
	}
	// A stale mark from before the commit must not stand for a new record.
	time.Sleep(markEvery + 100*time.Millisecond)
	beforeC := time.Now()
	if err := s.Append([]byte("c")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Records != 1 || st.Oldest.Before(beforeC) {
		t.Fatalf("new record after a full commit: %+v, want oldest ≥ %v", st, beforeC)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, the uncommitted record counts from its segment's mtime.
	s = mustOpen(t, dir, Options{SegmentBytes: 64})
	defer s.Close()
	st = s.Stats()
	if st.Records != 1 || st.Oldest.IsZero() || st.Oldest.After(time.Now()) {
		t.Fatalf("reopened: %+v", st)
	}
}
