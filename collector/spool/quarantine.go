package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Quarantine holds records the collector could not process: one that
// does not decode, panics the deriver, or that the store keeps refusing
// while it stores other records. Each is a pair of files in the spool's
// "quarantine" directory: <id>.rec, the record's bytes as spooled, and
// <id>.json, its QuarantineInfo. The id is "<seq>-<unix nanoseconds>".
// Both files are fsync'd, and the directory too, before Quarantine
// returns, so the reader may commit past the record. The directory is
// 0700 and the files 0600: records hold whatever clients sent.
//
// The functions taking a spool directory (ListQuarantine, ReadQuarantined,
// DropQuarantined) work while a collector runs; Requeue needs the spool
// itself and so the collector stopped.

// QuarantineDir is the name of the quarantine directory inside a spool.
const QuarantineDir = "quarantine"

// ErrNotQuarantined is returned (wrapped) for an id with no quarantined record.
var ErrNotQuarantined = errors.New("no such quarantined record")

// ErrLocked is returned (wrapped) by Open when another process, or another
// Spool in this one, holds the spool.
var ErrLocked = errors.New("the spool is in use by another process (or another collector in this one)")

// QuarantineInfo describes a quarantined record (its .json file).
type QuarantineInfo struct {
	// ID names the record's files; set by Quarantine.
	ID string `json:"id"`
	// Seq is the record's position in the spool it came from.
	Seq uint64 `json:"seq"`
	// Time is when it was quarantined; set by Quarantine when zero.
	Time time.Time `json:"time"`
	// Reason is why: "decode" (undecodable), "panic" (decoding or
	// deriving panicked), "write" (the store refused it repeatedly).
	Reason string `json:"reason"`
	// Error is the last error.
	Error string `json:"error"`
	// Attempts is how many times processing it failed.
	Attempts int `json:"attempts"`
	// Kind is "traces", "metrics" or "unknown".
	Kind string `json:"kind"`
	// Spans is the number of spans in a traces record (0 when unknown).
	Spans int `json:"spans"`
	// Bytes is the record's size.
	Bytes int `json:"bytes"`
}

var idPattern = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// quarantinePath returns the path of id's file with extension ext, or an
// error for an id that is not one (ids come from the command line).
func quarantinePath(dir, id, ext string) (string, error) {
	if !idPattern.MatchString(id) {
		return "", fmt.Errorf("%w: %q is not a quarantine id (<seq>-<nanoseconds>)", ErrNotQuarantined, id)
	}
	return filepath.Join(dir, QuarantineDir, id+ext), nil
}

// Quarantine stores rec in the quarantine directory with info and returns
// info as stored. A record already quarantined under the same sequence
// number (quarantined, then the collector stopped before committing past
// it) is not stored twice: its existing info is returned.
func (s *Spool) Quarantine(rec Record, info QuarantineInfo) (QuarantineInfo, error) {
	qdir := filepath.Join(s.dir, QuarantineDir)
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		return info, fmt.Errorf("quarantine: %w", err)
	}
	if prev, err := filepath.Glob(filepath.Join(qdir, strconv.FormatUint(rec.Seq, 10)+"-*.json")); err == nil && len(prev) > 0 {
		if old, err := readInfo(prev[0]); err == nil && old.Bytes == len(rec.Data) {
			return old, nil
		}
	}
	if info.Time.IsZero() {
		info.Time = time.Now().UTC()
	}
	info.Seq = rec.Seq
	info.Bytes = len(rec.Data)
	info.ID = fmt.Sprintf("%d-%d", rec.Seq, info.Time.UnixNano())
	meta, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return info, fmt.Errorf("quarantine: %w", err)
	}
	// The record first, the sidecar last: a listing shows only records
	// whose sidecar exists, so a crash in between leaves no half entry.
	for _, f := range []struct {
		ext  string
		data []byte
	}{{".rec", rec.Data}, {".json", append(meta, '\n')}} {
		if err := writeSynced(filepath.Join(qdir, info.ID+f.ext), f.data); err != nil {
			return info, fmt.Errorf("quarantine: %w", err)
		}
	}
	if err := syncDir(qdir); err != nil {
		return info, fmt.Errorf("quarantine: %w", err)
	}
	return info, nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func readInfo(path string) (QuarantineInfo, error) {
	var info QuarantineInfo
	b, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// ListQuarantine returns the records quarantined in the spool at dir,
// oldest first; none (and no error) when there is no quarantine directory.
func ListQuarantine(dir string) ([]QuarantineInfo, error) {
	names, err := filepath.Glob(filepath.Join(dir, QuarantineDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []QuarantineInfo
	for _, name := range names {
		id := strings.TrimSuffix(filepath.Base(name), ".json")
		if !idPattern.MatchString(id) {
			continue
		}
		info, err := readInfo(name)
		if err != nil {
			return out, fmt.Errorf("quarantine: %w", err)
		}
		info.ID = id
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Seq < out[j].Seq || out[i].Seq == out[j].Seq && out[i].ID < out[j].ID
	})
	return out, nil
}

// CountQuarantined is the number of records in the quarantine at dir.
func CountQuarantined(dir string) int {
	names, _ := filepath.Glob(filepath.Join(dir, QuarantineDir, "*.json"))
	return len(names)
}

// ReadQuarantined returns a quarantined record's info and bytes.
func ReadQuarantined(dir, id string) (QuarantineInfo, []byte, error) {
	meta, err := quarantinePath(dir, id, ".json")
	if err != nil {
		return QuarantineInfo{}, nil, err
	}
	info, err := readInfo(meta)
	if errors.Is(err, os.ErrNotExist) {
		return info, nil, fmt.Errorf("%w: %s", ErrNotQuarantined, id)
	}
	if err != nil {
		return info, nil, err
	}
	info.ID = id
	data, err := os.ReadFile(strings.TrimSuffix(meta, ".json") + ".rec")
	if err != nil {
		return info, nil, fmt.Errorf("quarantine %s: %w", id, err)
	}
	return info, data, nil
}

// DropQuarantined deletes a quarantined record.
func DropQuarantined(dir, id string) error {
	meta, err := quarantinePath(dir, id, ".json")
	if err != nil {
		return err
	}
	// The sidecar first: without it the record is no longer listed.
	if err := os.Remove(meta); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNotQuarantined, id)
		}
		return fmt.Errorf("quarantine %s: %w", id, err)
	}
	if err := os.Remove(strings.TrimSuffix(meta, ".json") + ".rec"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("quarantine %s: %w", id, err)
	}
	return syncDir(filepath.Join(dir, QuarantineDir))
}

// Requeue appends a quarantined record to s as a new record (durable when
// it returns) and then deletes it from the quarantine. s must be the spool
// the quarantine belongs to, opened by the caller (so no collector runs on
// it). A crash between the two steps leaves the record both requeued and
// quarantined; requeueing it again writes its spans again, which the store
// deduplicates.
func (s *Spool) Requeue(id string) (QuarantineInfo, error) {
	info, data, err := ReadQuarantined(s.dir, id)
	if err != nil {
		return info, err
	}
	if err := s.Append(data); err != nil {
		return info, fmt.Errorf("requeue %s: %w", id, err)
	}
	return info, DropQuarantined(s.dir, id)
}
