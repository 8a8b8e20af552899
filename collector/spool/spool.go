// Package spool is the collector's disk write-ahead log. Requests are
// appended and fsync'd before the client is acknowledged; a single reader
// takes them in order and commits a position once the store has them. After
// a crash, everything after the committed position is read again.
//
// On disk a spool is a directory of segment files named by the sequence
// number of their first record, and a small "committed" file. A record is
// a 4-byte little-endian length, a 4-byte CRC-32C of the payload, and the
// payload. A record torn by a crash (short or failing its CRC) at the end
// of the last segment is cut off when the spool is opened; it was never
// acknowledged, since acknowledgement follows the fsync. A "LOCK" file
// (flock) keeps a second process from opening the same spool.
//
// A failed write or fsync (a full disk, an I/O error) abandons the segment
// being written, never to write to it again: what the kernel did with its
// unsynced pages is unknown (an fsync that fails once may succeed the next
// time without the data reaching the disk: "fsyncgate"). The records
// acknowledged before the failure were fsync'd and stay readable; the
// unacknowledged tail after them is never acknowledged, never read, and is
// cut off the file before anything else is written. Appends fail with
// ErrWrite for a back-off; then the next Append (or Probe) tries again in a
// fresh segment, so the spool recovers by itself once space returns
// (abandon.go).
package spool

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrFull is returned by Append when the record would take the spool over
// its size bound. The caller should ask the client to retry later.
var ErrFull = errors.New("spool is full")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("spool is closed")

// ErrTooLarge is returned by Append for a record that could never fit:
// larger than MaxBytes or than the 4 GiB a record header can describe.
var ErrTooLarge = errors.New("record is larger than the spool can hold")

// Options bound a spool.
type Options struct {
	// MaxBytes bounds the bytes on disk (segments not yet fully committed).
	MaxBytes int64
	// SegmentBytes is the size at which a new segment is started.
	SegmentBytes int64
}

const headerLen = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type segment struct {
	first   uint64 // sequence number of the first record
	path    string
	size    int64
	count   uint64 // records in the segment
	durable int64  // bytes known fsync'd (the rest may be lost in a crash)
	sealed  bool   // abandoned after a failed write: never appended to again
}

// Spool is a durable FIFO of records. Append, Bytes, Done and Pending are
// safe for concurrent use; Next must be called by one reader goroutine and
// Commit by one goroutine (the reader or another, committing records
// Next returned), neither concurrently with Close.
type Spool struct {
	dir  string
	opts Options

	mu        sync.Mutex
	cond      *sync.Cond // signalled when synced grows or on close
	segs      []*segment // oldest first; the last one is written to
	f         *os.File   // the last segment, open for append
	bw        *bufio.Writer
	next      uint64 // sequence number of the next appended record
	synced    uint64 // records below this are on disk and fsync'd
	bytes     int64
	committed uint64       // records below this are done
	marks     []appendMark // append times of the records not yet committed, oldest first (stats.go)
	closed    bool
	err       error // the last write/fsync failure while appends are failing, else nil (abandon.go)
	failure   failure
	lock      *os.File

	syncMu sync.Mutex // held while one goroutine fsyncs for everyone

	// reader state (one reader)
	rseq  uint64
	rseg  *segment
	rfile *os.File
	rbuf  *bufio.Reader

	// Recovered is the number of records that were appended but not
	// committed when the spool was opened: they may already be stored.
	// Set by Open; read-only.
	Recovered uint64
	// RecoveredUpTo is the sequence number after the last recovered record.
	// Set by Open; read-only.
	RecoveredUpTo uint64
}

// Open opens or creates the spool in dir.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 30
	}
	// Only whole segments are freed: keep several under the bound.
	opts.SegmentBytes = max(min(opts.SegmentBytes, opts.MaxBytes/4), 1)
	if err := os.MkdirAll(dir, 0o700); err != nil { // what clients sent: its owner's only
		return nil, fmt.Errorf("spool %q: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool %q: %w", dir, err)
	}
	s := &Spool{dir: dir, opts: opts, lock: lock}
	s.cond = sync.NewCond(&s.mu)
	if err := s.recover(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool %q: %w", dir, err)
	}
	return s, nil
}

func (s *Spool) recover() error {
	b, err := os.ReadFile(filepath.Join(s.dir, "committed"))
	switch {
	case err == nil:
		if s.committed, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return fmt.Errorf("committed file: %w", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	names, err := filepath.Glob(filepath.Join(s.dir, "seg-*.log"))
	if err != nil {
		return err
	}
	for _, name := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), "seg-"), ".log"), 10, 64)
		if err != nil {
			return fmt.Errorf("segment name %q: %w", name, err)
		}
		s.segs = append(s.segs, &segment{first: first, path: name})
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i].first < s.segs[j].first })
	s.next = s.committed
	for i, seg := range s.segs {
		if i > 0 && seg.first != s.next {
			return fmt.Errorf("segment %s starts at record %d but the one before ends at %d: records are missing", seg.path, seg.first, s.next)
		}
		n, valid, err := scan(seg.path)
		if err != nil {
			return err
		}
		fi, err := os.Stat(seg.path)
		if err != nil {
			return err
		}
		if valid < fi.Size() {
			if i != len(s.segs)-1 {
				return fmt.Errorf("segment %s is corrupt at byte %d (not the last segment)", seg.path, valid)
			}
			if err := os.Truncate(seg.path, valid); err != nil {
				return fmt.Errorf("cutting torn record off %s: %w", seg.path, err)
			}
		}
		seg.count, seg.size, seg.durable = n, valid, valid
		s.markLocked(seg.first, fi.ModTime()) // records of an earlier run: when their segment was last written
		s.bytes += valid
		s.next = seg.first + n
	}
	if s.next < s.committed {
		s.next = s.committed
	}
	s.synced = s.next
	s.rseq = s.committed
	s.Recovered = s.next - s.committed
	s.RecoveredUpTo = s.next
	s.dropCommitted()
	return nil
}

// scan counts the valid records of a segment and the length they span.
func scan(path string) (n uint64, valid int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [headerLen]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return n, valid, nil // clean end or torn header
		}
		size := binary.LittleEndian.Uint32(hdr[0:4])
		if int64(size) > fi.Size()-valid-headerLen {
			return n, valid, nil // a length beyond the file: torn or corrupt
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(r, buf); err != nil {
			return n, valid, nil // torn payload
		}
		if crc32.Checksum(buf, castagnoli) != binary.LittleEndian.Uint32(hdr[4:8]) {
			return n, valid, nil
		}
		n++
		valid += headerLen + int64(size)
	}
}

// Append writes a record and returns once it is fsync'd: when it returns
// nil the record survives a crash of the process or of the machine.
// Concurrent appends share fsyncs (group commit). It returns ErrFull when
// the record would take the spool over MaxBytes (retry after the reader
// commits), ErrTooLarge when it never could fit, ErrClosed after Close, and
// the first I/O error for every append after one (see the package doc).
// When Append returns an error other than ErrFull and ErrTooLarge, the
// record may still be read later.
//
// Append takes no context on purpose: once the record is in the file the
// only honest answers are "durable" or "failed", and waiting for the
// shared fsync is bounded by the disk, not by the caller.
func (s *Spool) Append(p []byte) error {
	need := int64(headerLen + len(p))
	if need > s.opts.MaxBytes || uint64(len(p)) > math.MaxUint32 {
		return ErrTooLarge
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.err != nil {
		// Failing: after the back-off, this append is the probe.
		if err := s.reviveLocked(time.Now()); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	if s.bytes+need > s.opts.MaxBytes {
		s.mu.Unlock()
		return ErrFull
	}
	if err := s.writeLocked(p); err != nil {
		s.abandonLocked(err)
		err = s.err
		s.mu.Unlock()
		return err
	}
	seq, gen := s.next-1, s.failure.gen
	s.mu.Unlock()
	return s.sync(seq, gen)
}

func (s *Spool) writeLocked(p []byte) error {
	last := len(s.segs) - 1
	if s.f == nil || s.segs[last].size >= s.opts.SegmentBytes {
		if err := s.rotateLocked(); err != nil {
			return err
		}
		last = len(s.segs) - 1
	}
	var hdr [headerLen]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(p)))
	binary.LittleEndian.PutUint32(hdr[4:8], crc32.Checksum(p, castagnoli))
	if _, err := s.bw.Write(hdr[:]); err != nil {
		return fmt.Errorf("spool write: %w", err)
	}
	if _, err := s.bw.Write(p); err != nil {
		return fmt.Errorf("spool write: %w", err)
	}
	seg := s.segs[last]
	seg.size += int64(headerLen + len(p))
	seg.count++
	s.bytes += int64(headerLen + len(p))
	s.markLocked(s.next, time.Now())
	s.next++
	return nil
}

// rotateLocked starts a new segment (or reopens the last one for append
// right after Open).
func (s *Spool) rotateLocked() error {
	if s.f != nil {
		if err := s.bw.Flush(); err != nil {
			return fmt.Errorf("spool flush: %w", err)
		}
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("spool fsync: %w", err)
		}
		// Everything appended so far is durable now; appenders waiting in
		// sync may find the file they meant to fsync already closed.
		s.markSyncedLocked(s.next)
		last := s.segs[len(s.segs)-1]
		last.durable = last.size
		s.f.Close()
		s.f = nil
	}
	if n := len(s.segs); n > 0 && !s.segs[n-1].sealed && s.segs[n-1].size < s.opts.SegmentBytes && s.segs[n-1].first+s.segs[n-1].count == s.next {
		f, err := os.OpenFile(s.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("spool reopen segment: %w", err)
		}
		s.f, s.bw = f, bufio.NewWriterSize(f, 1<<20)
		return nil
	}
	seg := &segment{first: s.next, path: filepath.Join(s.dir, fmt.Sprintf("seg-%020d.log", s.next))}
	f, err := os.OpenFile(seg.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool new segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.segs = append(s.segs, seg)
	s.f, s.bw = f, bufio.NewWriterSize(f, 1<<20)
	return nil
}

// sync makes every record up to seq, appended in failure generation gen,
// durable, fsyncing at most once for all the appends waiting at the same
// time.
func (s *Spool) sync(seq, gen uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	if done, err := s.settledLocked(seq, gen); done {
		s.mu.Unlock()
		return err
	}
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	// Flush under mu (the buffer is shared), fsync outside it so appends
	// keep going into the buffer meanwhile.
	upto, seg := s.next, s.segs[len(s.segs)-1]
	off := seg.size
	if err := s.bw.Flush(); err != nil {
		s.abandonLocked(fmt.Errorf("spool flush: %w", err))
		err = s.err
		s.mu.Unlock()
		return err
	}
	f := s.f
	s.mu.Unlock()
	err := f.Sync()
	s.mu.Lock()
	defer s.mu.Unlock()
	if done, err := s.settledLocked(seq, gen); done {
		// A rotation fsync'd and closed the file under us, or a failure
		// elsewhere abandoned the segment meanwhile.
		return err
	}
	if err != nil {
		s.abandonLocked(fmt.Errorf("spool fsync: %w", err))
		return s.err
	}
	s.markSyncedLocked(upto)
	seg.durable = max(seg.durable, off)
	s.failure.backoff = 0 // the disk takes writes again
	return nil
}

// markSyncedLocked records that the records below upto are durable and
// wakes the reader. Called with mu held.
func (s *Spool) markSyncedLocked(upto uint64) {
	if upto > s.synced {
		s.synced = upto
		s.cond.Broadcast()
	}
}

// Record is one spooled record.
type Record struct {
	Seq  uint64
	Data []byte
}

// Next returns the next durable record after the last one returned,
// waiting for one until ctx is done. Records between the committed
// position and the end are returned again after a restart.
func (s *Spool) Next(ctx context.Context) (Record, error) {
	s.mu.Lock()
	for s.rseq >= s.synced && !s.closed && ctx.Err() == nil {
		stop := context.AfterFunc(ctx, func() {
			s.mu.Lock()
			s.cond.Broadcast()
			s.mu.Unlock()
		})
		s.cond.Wait()
		stop()
	}
	if ctx.Err() != nil {
		s.mu.Unlock()
		return Record{}, ctx.Err()
	}
	if s.rseq >= s.synced {
		s.mu.Unlock()
		return Record{}, ErrClosed
	}
	seq := s.rseq
	var seg *segment
	for _, sg := range s.segs {
		if seq >= sg.first && seq < sg.first+sg.count {
			seg = sg
			break
		}
	}
	s.mu.Unlock()
	if seg == nil {
		return Record{}, fmt.Errorf("spool: record %d is in no segment", seq)
	}
	if s.rseg != seg {
		s.closeReader()
		f, err := os.Open(seg.path)
		if err != nil {
			return Record{}, fmt.Errorf("spool read: %w", err)
		}
		s.rseg, s.rfile, s.rbuf = seg, f, bufio.NewReaderSize(f, 1<<20)
		for i := seg.first; i < seq; i++ { // skip records already taken
			if _, err := readRecord(s.rbuf); err != nil {
				s.closeReader()
				return Record{}, fmt.Errorf("spool read %s record %d: %w", seg.path, i, err)
			}
		}
	}
	data, err := readRecord(s.rbuf)
	if err != nil {
		// Start over from rseq on the next call rather than from the
		// middle of a record.
		s.closeReader()
		return Record{}, fmt.Errorf("spool read %s record %d: %w", seg.path, seq, err)
	}
	s.mu.Lock() // Commit and Pending read rseq
	s.rseq++
	s.mu.Unlock()
	return Record{Seq: seq, Data: data}, nil
}

// closeReader forgets the reader's open segment.
func (s *Spool) closeReader() {
	if s.rfile != nil {
		s.rfile.Close()
	}
	s.rseg, s.rfile, s.rbuf = nil, nil, nil
}

// Pending reports whether a durable record is waiting for Next.
func (s *Spool) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rseq < s.synced
}

func readRecord(r *bufio.Reader) ([]byte, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	// The length was checked against the file by Open or written by this
	// process, so allocating it is safe.
	p := make([]byte, binary.LittleEndian.Uint32(hdr[0:4]))
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(hdr[4:8]) {
		return nil, errors.New("checksum mismatch")
	}
	return p, nil
}

// Commit records that every record up to and including seq is stored. It
// is durable when it returns; segments wholly committed are deleted.
// Committing a position at or before the committed one does nothing;
// committing a record not yet returned by Next is an error.
func (s *Spool) Commit(seq uint64) error {
	s.mu.Lock()
	committed, read := s.committed, s.rseq
	s.mu.Unlock()
	if seq+1 <= committed {
		return nil
	}
	if seq >= read {
		return fmt.Errorf("spool commit: record %d has not been read (next is %d)", seq, read)
	}
	// Write aside, fsync, rename over, fsync the directory: the committed
	// file is always either the old position or the new one.
	tmp := filepath.Join(s.dir, "committed.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool commit: %w", err)
	}
	_, err = f.WriteString(strconv.FormatUint(seq+1, 10))
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("spool commit: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "committed")); err != nil {
		return fmt.Errorf("spool commit: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq+1 > s.committed {
		s.committed = seq + 1
	}
	s.dropCommitted()
	return nil
}

// dropCommitted deletes wholly committed segments except the one being
// written. Called with mu held. The reader may still hold a deleted
// segment open (its state is the reader's own, and Commit may run on
// another goroutine): its next Next, in a later segment, closes it.
func (s *Spool) dropCommitted() {
	s.dropMarksLocked()
	for len(s.segs) > 1 && s.segs[0].first+s.segs[0].count <= s.committed {
		seg := s.segs[0]
		os.Remove(seg.path)
		s.bytes -= seg.size
		s.segs = s.segs[1:]
	}
	if len(s.segs) == 1 && s.segs[0].first+s.segs[0].count <= s.committed && s.f == nil && s.segs[0].count > 0 {
		// Only at Open: the single segment is wholly committed and not open
		// for writing; remove it so the next append starts a fresh one.
		os.Remove(s.segs[0].path)
		s.bytes -= s.segs[0].size
		s.segs = nil
	}
}

// Done reports whether every appended record is committed.
func (s *Spool) Done() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed >= s.next
}

// Bytes is the size of the segments on disk.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Close flushes, fsyncs and closes the spool; Next then returns ErrClosed.
func (s *Spool) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.cond.Broadcast()
	var err error
	if s.f != nil {
		if err = errors.Join(s.bw.Flush(), s.f.Sync()); err == nil {
			// Appends waiting for their fsync get this one.
			s.markSyncedLocked(s.next)
		}
		err = errors.Join(err, s.f.Close())
	}
	if s.failure.abandoned != nil {
		// Cut the unacknowledged tail now rather than leave it to Open.
		s.cleanAbandonedLocked()
	}
	s.closeReader()
	return errors.Join(err, s.lock.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool sync dir: %w", err)
	}
	return nil
}
