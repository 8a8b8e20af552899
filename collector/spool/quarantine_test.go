package spool

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestQuarantineRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"first", "poison", "third"} {
		if err := s.Append([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	var poison Record
	for range 2 {
		if poison, err = s.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	info, err := s.Quarantine(poison, QuarantineInfo{Reason: "decode", Error: "bad", Attempts: 1, Kind: "traces", Spans: 3})
	if err != nil {
		t.Fatal(err)
	}
	if info.Seq != 1 || info.Bytes != len("poison") || info.ID == "" || info.Time.IsZero() {
		t.Fatalf("info %+v", info)
	}
	// Quarantining the same record again (a restart before the commit)
	// keeps the first copy.
	again, err := s.Quarantine(poison, QuarantineInfo{Reason: "decode"})
	if err != nil || again.ID != info.ID {
		t.Fatalf("second quarantine: %+v %v, want the first (%s)", again, err, info.ID)
	}
	if err := s.Commit(poison.Seq); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".rec", ".json"} {
		fi, err := os.Stat(filepath.Join(dir, QuarantineDir, info.ID+ext))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", ext, fi, err)
		}
	}
	list, err := ListQuarantine(dir)
	if err != nil || len(list) != 1 || list[0].ID != info.ID || list[0].Reason != "decode" || list[0].Spans != 3 || CountQuarantined(dir) != 1 {
		t.Fatalf("list %+v %v", list, err)
	}
	got, data, err := ReadQuarantined(dir, info.ID)
	if err != nil || !bytes.Equal(data, []byte("poison")) || got.Error != "bad" {
		t.Fatalf("read %+v %q %v", got, data, err)
	}
	for _, bad := range []string{"../../etc/passwd", "1-2.json", "x", ""} {
		if _, _, err := ReadQuarantined(dir, bad); !errors.Is(err, ErrNotQuarantined) {
			t.Errorf("id %q: %v, want ErrNotQuarantined", bad, err)
		}
	}

	// Requeue: the record is appended again and leaves the quarantine.
	if _, err := s.Requeue(info.ID); err != nil {
		t.Fatal(err)
	}
	if CountQuarantined(dir) != 0 {
		t.Fatal("still quarantined after requeue")
	}
	var seen []string
	for s.Pending() {
		r, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, string(r.Data))
	}
	if len(seen) != 2 || seen[0] != "third" || seen[1] != "poison" {
		t.Fatalf("after requeue the spool holds %q, want third, poison", seen)
	}

	// Drop.
	r := Record{Seq: 9, Data: []byte("x")}
	info, err = s.Quarantine(r, QuarantineInfo{Reason: "write"})
	if err != nil {
		t.Fatal(err)
	}
	if err := DropQuarantined(dir, info.ID); err != nil {
		t.Fatal(err)
	}
	if err := DropQuarantined(dir, info.ID); !errors.Is(err, ErrNotQuarantined) {
		t.Fatalf("second drop: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenLockedSpool(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}
