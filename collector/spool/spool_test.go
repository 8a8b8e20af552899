package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// BenchmarkAppend measures durable appends: each op is one record that is
// fsync'd before Append returns. "parallel" runs GOMAXPROCS×16 appenders
// so group commit shares fsyncs, as concurrent OTLP requests do.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, par := range []bool{false, true} {
			name := fmt.Sprintf("%dKiB/serial", size>>10)
			if par {
				name = fmt.Sprintf("%dKiB/parallel", size>>10)
			}
			b.Run(name, func(b *testing.B) {
				s, err := Open(b.TempDir(), Options{MaxBytes: 8 << 30})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				p := make([]byte, size)
				b.SetBytes(int64(len(p)))
				b.ResetTimer()
				if par {
					b.SetParallelism(16)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := s.Append(p); err != nil {
								b.Error(err)
								return
							}
						}
					})
				} else {
					for i := 0; i < b.N; i++ {
						if err := s.Append(p); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
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

// copyDir copies a spool directory as it is now: with the spool still
// open this is what the disk holds if the process is SIGKILLed.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	names, _ := filepath.Glob(filepath.Join(from, "*"))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(name)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func TestCrashImageReplaysUncommitted(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentBytes: 64})
	defer s.Close()
	for i := 0; i < 30; i++ {
		if err := s.Append([]byte(fmt.Sprintf("r%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	recs := read(t, s, 20)
	if err := s.Commit(recs[16].Seq); err != nil {
		t.Fatal(err)
	}
	// "kill -9" now: the open spool's files are the crash image.
	s2 := mustOpen(t, copyDir(t, dir), Options{SegmentBytes: 64})
	defer s2.Close()
	if s2.Recovered != 13 {
		t.Fatalf("Recovered = %d, want 13 (17..29)", s2.Recovered)
	}
	for i, r := range read(t, s2, 13) {
		if want := fmt.Sprintf("r%02d", 17+i); r.Seq != uint64(17+i) || string(r.Data) != want {
			t.Fatalf("replayed %d %q, want %d %q", r.Seq, r.Data, 17+i, want)
		}
	}
}

// TestTornAtEveryOffset cuts the last segment at every byte of its last
// two records, as a crash in the middle of a write can, and checks that
// exactly the whole records before the cut come back.
func TestTornAtEveryOffset(t *testing.T) {
	src := t.TempDir()
	s := mustOpen(t, src, Options{})
	sizes := []int{5, 0, 17, 3}
	for i, n := range sizes {
		if err := s.Append(bytes.Repeat([]byte{byte('a' + i)}, n)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	seg := filepath.Join(src, "seg-00000000000000000000.log")
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	ends := []int{}
	off := 0
	for _, n := range sizes {
		off += headerLen + n
		ends = append(ends, off)
	}
	for cut := ends[1]; cut <= len(full); cut++ {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, filepath.Base(seg)), full[:cut], 0o644)
		want := 0
		for want < len(ends) && ends[want] <= cut {
			want++
		}
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if s.Recovered != uint64(want) {
			t.Fatalf("cut at %d: Recovered = %d, want %d", cut, s.Recovered, want)
		}
		recs := read(t, s, want)
		for i, r := range recs {
			if len(r.Data) != sizes[i] {
				t.Fatalf("cut at %d: record %d has %d bytes, want %d", cut, i, len(r.Data), sizes[i])
			}
		}
		if err := s.Append([]byte("next")); err != nil {
			t.Fatal(err)
		}
		if r := read(t, s, 1)[0]; r.Seq != uint64(want) || string(r.Data) != "next" {
			t.Fatalf("cut at %d: appended after recovery: %d %q", cut, r.Seq, r.Data)
		}
		s.Close()
		if fi, _ := os.Stat(filepath.Join(dir, filepath.Base(seg))); fi.Size() != int64(ends[want-1]+headerLen+4) && want > 0 {
			t.Fatalf("cut at %d: segment is %d bytes after recovery and one append", cut, fi.Size())
		}
	}
}

func TestTooLarge(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{MaxBytes: 1000})
	defer s.Close()
	if err := s.Append(make([]byte, 1000)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("record larger than MaxBytes: %v, want ErrTooLarge", err)
	}
	if err := s.Append(make([]byte, 992)); err != nil {
		t.Fatalf("record of exactly MaxBytes: %v", err)
	}
	if err := s.Append(nil); !errors.Is(err, ErrFull) {
		t.Fatalf("then: %v, want ErrFull", err)
	}
}

func TestCommitRules(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	for i := 0; i < 5; i++ {
		s.Append([]byte{byte(i)})
	}
	read(t, s, 3)
	if err := s.Commit(3); err == nil {
		t.Fatal("commit of a record not yet read: want an error")
	}
	if err := s.Commit(2); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(0); err != nil { // going back is a no-op
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	if s.Recovered != 2 {
		t.Fatalf("Recovered = %d after committing 2 then 0, want 2", s.Recovered)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open of an open spool: %v, want an in-use error", err)
	}
	s.Close()
	s = mustOpen(t, dir, Options{})
	s.Close()
}

func TestMissingSegmentIsAnError(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentBytes: 20})
	for i := 0; i < 10; i++ {
		s.Append([]byte("0123456789"))
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*"))
	if len(segs) < 3 {
		t.Fatalf("%d segments, want at least 3", len(segs))
	}
	os.Remove(segs[1])
	if _, err := Open(dir, Options{SegmentBytes: 20}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Open with a segment gone: %v, want an error naming the gap", err)
	}
}

// TestConcurrentEverything runs appenders, the reader and commits at once
// over tiny segments (a rotation every record or two), then reopens: every
// record is read exactly once, in order, and nothing committed comes back.
func TestConcurrentEverything(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{SegmentBytes: 24, MaxBytes: 1 << 20})
	const writers, per = 6, 150
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				for {
					err := s.Append([]byte(fmt.Sprintf("%d-%03d", w, i)))
					if err == nil {
						break
					}
					if !errors.Is(err, ErrFull) {
						t.Error(err)
						return
					}
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}
	last := map[int]int{}
	for i := 0; i < writers*per-10; i++ {
		r := read(t, s, 1)[0]
		var w, n int
		fmt.Sscanf(string(r.Data), "%d-%d", &w, &n)
		if prev, ok := last[w]; r.Seq != uint64(i) || (ok && n != prev+1) || (!ok && n != 0) {
			t.Fatalf("record %d: seq %d %q after %d", i, r.Seq, r.Data, prev)
		}
		last[w] = n
		if i%7 == 0 {
			if err := s.Commit(r.Seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Commit(uint64(writers*per - 11)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{SegmentBytes: 24, MaxBytes: 1 << 20})
	defer s.Close()
	if s.Recovered != 10 {
		t.Fatalf("Recovered = %d, want the 10 uncommitted records", s.Recovered)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*"))
	if len(segs) > 12 {
		t.Fatalf("%d segments left for 10 records: committed segments were not deleted", len(segs))
	}
}
