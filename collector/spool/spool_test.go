package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustOpen(t *testing.T, dir string, o Options) *Spool {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func read(t *testing.T, s *Spool, n int) []Record {
	t.Helper()
	var out []Record
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := s.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Next %d: %v", i, err)
		}
		out = append(out, r)
	}
	return out
}

func TestAppendReadCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentBytes: 100})
	for i := 0; i < 20; i++ {
		if err := s.Append([]byte(fmt.Sprintf("record-%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	recs := read(t, s, 12)
	for i, r := range recs {
		if r.Seq != uint64(i) || string(r.Data) != fmt.Sprintf("record-%02d", i) {
			t.Fatalf("record %d = %d %q", i, r.Seq, r.Data)
		}
	}
	if err := s.Commit(9); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*"))
	if len(segs) >= 5 {
		t.Errorf("%d segments left after commit, want committed ones deleted", len(segs))
	}
	s.Close()

	s = mustOpen(t, dir, Options{SegmentBytes: 100})
	defer s.Close()
	if s.Recovered != 10 {
		t.Fatalf("Recovered = %d, want 10", s.Recovered)
	}
	recs = read(t, s, 10) // 10..19 again: uncommitted
	if recs[0].Seq != 10 || string(recs[9].Data) != "record-19" {
		t.Fatalf("after reopen got %d %q .. %q", recs[0].Seq, recs[0].Data, recs[9].Data)
	}
	if err := s.Append([]byte("record-20")); err != nil {
		t.Fatal(err)
	}
	if r := read(t, s, 1)[0]; r.Seq != 20 || string(r.Data) != "record-20" {
		t.Fatalf("appended after reopen: %d %q", r.Seq, r.Data)
	}
}

func TestTornRecordIsCut(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	for i := 0; i < 3; i++ {
		s.Append([]byte("abcdefgh"))
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*"))
	fi, _ := os.Stat(segs[0])
	os.Truncate(segs[0], fi.Size()-3) // a crash in the middle of the third record
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	if s.Recovered != 2 {
		t.Fatalf("Recovered = %d, want 2", s.Recovered)
	}
	read(t, s, 2)
	s.Append([]byte("after"))
	if r := read(t, s, 1)[0]; r.Seq != 2 || string(r.Data) != "after" {
		t.Fatalf("after torn record: %d %q", r.Seq, r.Data)
	}
	// a flipped byte fails the checksum the same way
	s.Close()
	b, _ := os.ReadFile(segs[0])
	b[len(b)-1] ^= 0xff
	os.WriteFile(segs[0], b, 0o644)
	s2 := mustOpen(t, dir, Options{})
	defer s2.Close()
	if s2.Recovered != 2 {
		t.Fatalf("after corrupt last record: Recovered = %d, want 2", s2.Recovered)
	}
}

func TestFull(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{MaxBytes: 1000})
	defer s.Close()
	var err error
	n := 0
	for ; n < 100; n++ {
		if err = s.Append(make([]byte, 92)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) || n != 10 {
		t.Fatalf("after %d appends err = %v, want ErrFull after 10", n, err)
	}
	read(t, s, 10)
	if err := s.Commit(9); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(make([]byte, 92)); err != nil {
		t.Fatalf("append after commit freed segments: %v (bytes %d)", err, s.Bytes())
	}
}

func TestConcurrentAppendsGroupCommit(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{SegmentBytes: 4096})
	defer s.Close()
	const writers, per = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if err := s.Append([]byte(fmt.Sprintf("%d-%d", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	seen := map[string]bool{}
	for i := 0; i < writers*per; i++ {
		r := read(t, s, 1)[0]
		if r.Seq != uint64(i) || seen[string(r.Data)] {
			t.Fatalf("record %d: seq %d data %q (dup %v)", i, r.Seq, r.Data, seen[string(r.Data)])
		}
		seen[string(r.Data)] = true
		if i%100 == 99 {
			s.Commit(r.Seq)
		}
	}
	wg.Wait()
}

func TestNextWaitsAndCloseWakes(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on empty spool: %v", err)
	}
	done := make(chan error)
	go func() { _, err := s.Next(context.Background()); done <- err }()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
}

func BenchmarkAppend(b *testing.B) {
	s, err := Open(b.TempDir(), Options{MaxBytes: 8 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Append(p); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// FuzzOpen writes arbitrary bytes as a segment and opens the spool: it must
// recover the valid prefix or fail with an error, never panic, and accept
// appends afterwards.
func FuzzOpen(f *testing.F) {
	valid := func() []byte {
		dir := f.TempDir()
		s, _ := Open(dir, Options{})
		s.Append([]byte("hello"))
		s.Append([]byte("world"))
		s.Close()
		segs, _ := filepath.Glob(filepath.Join(dir, "seg-*"))
		b, _ := os.ReadFile(segs[0])
		return b
	}()
	f.Add(valid)
	f.Add(valid[:len(valid)-2])
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, seg []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "seg-00000000000000000000.log"), seg, 0o644)
		s, err := Open(dir, Options{})
		if err != nil {
			return
		}
		defer s.Close()
		n := s.Recovered
		read(t, s, int(n))
		if err := s.Append([]byte("after")); err != nil {
			t.Fatal(err)
		}
		if r := read(t, s, 1)[0]; r.Seq != n || string(r.Data) != "after" {
			t.Fatalf("after recovering %d records: %d %q", n, r.Seq, r.Data)
		}
	})
}
