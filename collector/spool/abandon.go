package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ErrWrite is returned (wrapped, with the cause) by Append while the spool
// cannot write: a write or fsync failed (a full disk, an I/O error) and
// the back-off before the next try has not passed, or the try failed. The
// record was not acknowledged and will never be read; the caller should
// ask the client to retry later.
var ErrWrite = errors.New("the spool cannot write")

// Back-off between tries after a write failure, doubling from the first to
// the last.
const (
	firstBackoff = 250 * time.Millisecond
	maxBackoff   = 2 * time.Second
)

// probeBytes is what Probe writes and fsyncs to see whether the disk takes
// writes again.
const probeBytes = 64 << 10

// failure is the spool's write-failure state, guarded by mu.
type failure struct {
	gen       uint64            // incremented at every abandonment
	ends      map[uint64]uint64 // generation → the first record it lost (the next generation's first)
	since     time.Time         // when appends started failing; zero when they do not
	retryAt   time.Time         // no try before this
	backoff   time.Duration     // the last back-off; reset by a successful fsync
	abandoned *segment          // a segment whose tail is still to be cut off the file
}

// abandonLocked handles a failed write or fsync: the segment being written
// is sealed and its unsynced tail dropped from the books (the file is cut
// by cleanAbandonedLocked before anything else is written), sequence
// numbers restart after the last durable record, and appends fail until
// the back-off has passed. Appenders waiting for an fsync of a dropped
// record get the error (settledLocked). Called with mu held.
func (s *Spool) abandonLocked(cause error) {
	now := time.Now()
	f := &s.failure
	if s.err == nil {
		f.since = now
	}
	s.err = fmt.Errorf("%w: %w", ErrWrite, cause)
	f.backoff = min(max(2*f.backoff, firstBackoff), maxBackoff)
	f.retryAt = now.Add(f.backoff)
	if n := len(s.segs); n > 0 && !s.segs[n-1].sealed {
		seg := s.segs[n-1]
		// Records before synced are in older segments or in this one's
		// durable bytes; the rest of this one is the lost tail.
		s.bytes -= seg.size - seg.durable
		seg.size, seg.count, seg.sealed = seg.durable, s.synced-seg.first, true
		f.abandoned = seg
	}
	if s.f != nil {
		s.f.Close() // its error tells nothing more: the segment is sealed
		s.f, s.bw = nil, nil
	}
	if f.ends == nil {
		f.ends = map[uint64]uint64{}
	}
	f.ends[f.gen] = s.synced
	delete(f.ends, f.gen-16) // an appender 16 failures behind gets the error (never a false ack)
	f.gen++
	s.next = s.synced
	for len(s.marks) > 0 && s.marks[len(s.marks)-1].seq >= s.next {
		s.marks = s.marks[:len(s.marks)-1]
	}
	s.cond.Broadcast()
}

// settledLocked says whether the append of record seq in generation gen
// has its answer already, and which: nil when the record is durable, the
// failure when it was dropped. Called with mu held.
func (s *Spool) settledLocked(seq, gen uint64) (bool, error) {
	if gen != s.failure.gen {
		if end, ok := s.failure.ends[gen]; ok && seq < end {
			return true, nil // fsync'd before its segment was abandoned
		}
		err := s.err
		if err == nil {
			err = fmt.Errorf("%w: the segment was abandoned after a write failure", ErrWrite)
		}
		return true, err
	}
	if s.synced > seq {
		return true, nil
	}
	if s.err != nil {
		return true, s.err
	}
	return false, nil
}

// reviveLocked lets writes resume after a failure, once the back-off has
// passed: the abandoned segment's tail is cut off its file (fsync'd), and
// the next write goes to a new segment. It returns the failure when it is
// too early or cleaning up fails. Called with mu held.
func (s *Spool) reviveLocked(now time.Time) error {
	if s.err == nil {
		return nil
	}
	if now.Before(s.failure.retryAt) {
		return s.err
	}
	if err := s.cleanAbandonedLocked(); err != nil {
		s.retryLaterLocked(now, err)
		return s.err
	}
	s.err = nil
	s.failure.since = time.Time{}
	return nil
}

// retryLaterLocked records a failed try: the failure stays, the back-off grows.
func (s *Spool) retryLaterLocked(now time.Time, cause error) {
	f := &s.failure
	s.err = fmt.Errorf("%w: %w", ErrWrite, cause)
	f.backoff = min(max(2*f.backoff, firstBackoff), maxBackoff)
	f.retryAt = now.Add(f.backoff)
}

// cleanAbandonedLocked cuts the abandoned segment's file back to its
// durable records and fsyncs it, or removes it when it holds none, so
// that the segment before the next one is whole on disk (Open accepts a
// torn tail only on the last segment). Called with mu held.
func (s *Spool) cleanAbandonedLocked() error {
	seg := s.failure.abandoned
	if seg == nil {
		return nil
	}
	i := slices.Index(s.segs, seg)
	switch {
	case i < 0:
		// Committed and deleted meanwhile: nothing left to cut.
	case seg.count == 0:
		// Nothing durable in it: remove it, so the next segment, which
		// starts at the same record and so has the same name, is a new file.
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool remove abandoned segment: %w", err)
		}
		if err := syncDir(s.dir); err != nil {
			return err
		}
		// The reader never opened it: Next opens only segments holding
		// the record it reads.
		s.segs = slices.Delete(s.segs, i, i+1)
	default:
		f, err := os.OpenFile(seg.path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("spool cut abandoned segment: %w", err)
		}
		err = f.Truncate(seg.durable)
		if err == nil {
			err = f.Sync()
		}
		if err = errors.Join(err, f.Close()); err != nil {
			return fmt.Errorf("spool cut abandoned segment: %w", err)
		}
	}
	s.failure.abandoned = nil
	return nil
}

// Probe tries whether the spool can write again after a failure, without
// a record to append (clients told to go away may send nothing): once the
// back-off has passed, it cuts the abandoned tail and writes and fsyncs a
// small file in the spool directory. On success appends are accepted
// again (the next opens a new segment). It returns nil when the spool is
// not failing, and the failure (wrapping ErrWrite) while it is.
func (s *Spool) Probe() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil || s.closed {
		return nil
	}
	now := time.Now()
	if now.Before(s.failure.retryAt) {
		return s.err
	}
	if err := s.cleanAbandonedLocked(); err != nil {
		s.retryLaterLocked(now, err)
		return s.err
	}
	if err := probeWrite(filepath.Join(s.dir, "probe.tmp")); err != nil {
		s.retryLaterLocked(now, err)
		return s.err
	}
	return s.reviveLocked(now)
}

// probeWrite writes, fsyncs and removes a file of probeBytes.
func probeWrite(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool probe: %w", err)
	}
	_, err = f.Write(make([]byte, probeBytes))
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close(), os.Remove(path))
	if err != nil {
		return fmt.Errorf("spool probe: %w", err)
	}
	return nil
}

// Failure reports whether appends are failing now: since when, and the
// last failure (wrapping ErrWrite); nil and the zero time when they are not.
func (s *Spool) Failure() (since time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failure.since, s.err
}
