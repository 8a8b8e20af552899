package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/collector/spool/spooltest"
)

// fill writes a file of zeros until the filesystem refuses more.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

// TestDiskFull fills the spool's filesystem while 8 goroutines append:
// appends fail with ErrWrite (never a false acknowledgement), the spool
// reports the failure, recovers by itself once space is freed, and the
// reader sees every acknowledged record exactly once and nothing else,
// before and after a reopen.
func TestDiskFull(t *testing.T) {
	dir := filepath.Join(spooltest.MountTmpfs(t, "2m"), "spool")
	s := mustOpen(t, dir, Options{MaxBytes: 64 << 20, SegmentBytes: 256 << 10})
	defer s.Close()

	var id atomic.Uint64
	var mu sync.Mutex
	acked := map[uint64]bool{} // record ids acknowledged
	var failed atomic.Int64
	record := func() []byte {
		p := make([]byte, 3000)
		binary.LittleEndian.PutUint64(p, id.Add(1))
		return p
	}
	appendUntil := func(stop func() bool) {
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop() {
					p := record()
					err := s.Append(p)
					switch {
					case err == nil:
						mu.Lock()
						acked[binary.LittleEndian.Uint64(p)] = true
						mu.Unlock()
					case errors.Is(err, ErrWrite):
						failed.Add(1)
						time.Sleep(time.Millisecond)
					default:
						t.Errorf("append: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}

	// A filler takes most of the space; the spool fills the rest.
	filler := filepath.Join(filepath.Dir(dir), "filler")
	f, _ := os.Create(filler)
	f.Write(make([]byte, 1<<20))
	f.Close()
	appendUntil(func() bool { return failed.Load() >= 50 })
	since, err := s.Failure()
	if !errors.Is(err, ErrWrite) || since.IsZero() {
		t.Fatalf("after failed appends: Failure() = %v, %v", since, err)
	}
	if n := len(acked); n == 0 {
		t.Fatal("nothing was acknowledged before the disk filled")
	}
	// Cutting the lost tail frees some space: a probe may succeed once.
	// Then the rest is filled too, and appends and probes keep failing.
	time.Sleep(maxBackoff + 100*time.Millisecond)
	s.Probe()
	filler2 := filler + "2"
	fill(t, filler2)
	if err := s.Append(record()); !errors.Is(err, ErrWrite) {
		t.Fatalf("append on a full disk: %v", err)
	}
	time.Sleep(maxBackoff + 100*time.Millisecond)
	if err := s.Probe(); !errors.Is(err, ErrWrite) {
		t.Fatalf("probe on a full disk: %v", err)
	}
	mu.Lock()
	ackedWhileFull := len(acked)
	mu.Unlock()

	// Space returns: a probe after the back-off succeeds, appends resume.
	os.Remove(filler)
	os.Remove(filler2)
	deadline := time.Now().Add(3 * maxBackoff)
	for s.Probe() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("still failing %s after space was freed", 3*maxBackoff)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if since, err := s.Failure(); err != nil || !since.IsZero() {
		t.Fatalf("after a good probe: Failure() = %v, %v", since, err)
	}
	var more atomic.Int64
	appendUntil(func() bool { return more.Add(1) > 200 })
	if len(acked) <= ackedWhileFull {
		t.Fatal("no append acknowledged after space returned")
	}

	check := func(s *Spool, what string) {
		t.Helper()
		seen := map[uint64]bool{}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			r, err := s.Next(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			if err != nil {
				t.Fatalf("%s: Next: %v", what, err)
			}
			rid := binary.LittleEndian.Uint64(r.Data)
			if !acked[rid] {
				t.Fatalf("%s: record %d (seq %d) was never acknowledged", what, rid, r.Seq)
			}
			if seen[rid] {
				t.Fatalf("%s: record %d read twice", what, rid)
			}
			seen[rid] = true
		}
		if len(seen) != len(acked) {
			t.Fatalf("%s: read %d records, %d were acknowledged", what, len(seen), len(acked))
		}
	}
	check(s, "same process")
	t.Logf("%d records acknowledged, %d appends refused while the disk was full", len(acked), failed.Load())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := mustOpen(t, dir, Options{MaxBytes: 64 << 20, SegmentBytes: 256 << 10})
	defer s2.Close()
	check(s2, "after reopen")
}

// TestAbandonCutsTail: after a failure the abandoned segment's file is
// cut back to its acknowledged records before the next segment starts,
// so Open finds no torn segment before the last.
func TestAbandonCutsTail(t *testing.T) {
	dir := filepath.Join(spooltest.MountTmpfs(t, "1m"), "spool")
	s := mustOpen(t, dir, Options{MaxBytes: 64 << 20})
	if err := s.Append(make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	fill(t, filepath.Join(filepath.Dir(dir), "filler"))
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = s.Append(make([]byte, 100<<10))
	}
	if !errors.Is(err, ErrWrite) {
		t.Fatalf("appends on a full disk: %v", err)
	}
	os.Remove(filepath.Join(filepath.Dir(dir), "filler"))
	time.Sleep(maxBackoff)
	if err := s.Append([]byte("after")); err != nil {
		t.Fatalf("append after space returned: %v", err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if len(segs) < 2 {
		t.Fatalf("segments %v: want the abandoned one and a new one", segs)
	}
	fi, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != headerLen+100 {
		t.Fatalf("abandoned segment is %d bytes, want its one acknowledged record (%d)", fi.Size(), headerLen+100)
	}
	s.Close()
	s = mustOpen(t, dir, Options{MaxBytes: 64 << 20})
	defer s.Close()
	recs := read(t, s, 2)
	if len(recs[0].Data) != 100 || string(recs[1].Data) != "after" || recs[1].Seq != 1 {
		t.Fatalf("after reopen: %d bytes at %d, %q at %d", len(recs[0].Data), recs[0].Seq, recs[1].Data, recs[1].Seq)
	}
}
