package spool

import "time"

// markEvery is the resolution of the append times the spool remembers:
// one mark per run of records appended within it, so the memory is
// bounded by the backlog's age, not its record count.
const markEvery = time.Second

// appendMark says that the records from seq on were appended at or
// after at (until the next mark).
type appendMark struct {
	seq uint64
	at  time.Time
}

// Stats is a snapshot of the spool's backlog.
type Stats struct {
	// Bytes is the size of the segments on disk.
	Bytes int64
	// Records is the number of records appended and not yet committed.
	Records uint64
	// Oldest is when the oldest record not yet committed was appended,
	// up to markEvery (1 s) early; zero when every record is committed.
	// Records found by Open count from their segment file's last
	// modification, so their age is understated.
	Oldest time.Time
}

// Stats returns the backlog in O(1).
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropMarksLocked() // a mark left from before the last commit may now be stale
	st := Stats{Bytes: s.bytes}
	if s.next > s.committed {
		st.Records = s.next - s.committed
		if len(s.marks) > 0 {
			st.Oldest = s.marks[0].at
		}
	}
	return st
}

// markLocked notes that record seq was appended at t, unless the last
// mark is recent enough to stand for it. Called with mu held.
func (s *Spool) markLocked(seq uint64, t time.Time) {
	if n := len(s.marks); n > 0 && t.Sub(s.marks[n-1].at) < markEvery {
		return
	}
	s.marks = append(s.marks, appendMark{seq: seq, at: t})
}

// dropMarksLocked forgets marks that only cover committed records: the
// first mark left covers the oldest uncommitted record. Called with mu held.
func (s *Spool) dropMarksLocked() {
	i := 0
	for i+1 < len(s.marks) && s.marks[i+1].seq <= s.committed {
		i++
	}
	if i > 0 {
		s.marks = s.marks[i:]
	}
}
