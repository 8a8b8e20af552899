// Package audit keeps the studio's tamper-evident audit log: every replay
// (created, started, finished, cancelled) and every alert-rule change
// (created, updated, deleted, test) is appended as a store.AuditRecord to
// a hash chain, and Verify walks every chain.
//
// Each studio process writes its own chain, named by an instance id, so
// several studios sharing one ClickHouse never fork one chain; within a
// process appends are serialised. A record's hash covers the hash before
// it, so changing, removing or inserting a record breaks the chain from
// that record on.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// Log appends to one writer's chain. It is safe for concurrent use.
type Log struct {
	st     store.AuditLog
	writer string
	now    func() time.Time

	mu   sync.Mutex
	head *store.AuditRecord // the chain's last record; nil: read it from the store
}

// New returns a log appending to writer's chain in st.
func New(st store.AuditLog, writer string) *Log {
	return &Log{st: st, writer: writer, now: time.Now}
}

// NewWriter returns a fresh instance id for a studio process: the host
// name, the process id and 8 random bytes.
func NewWriter() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "studio"
	}
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Writer is the chain this log appends to.
func (l *Log) Writer() string { return l.writer }

// Append adds a record: actor did action to subject, with detail (any
// value encoding to a JSON object; nil for none). It returns the record
// as stored. After a failed append the next one re-reads the chain's end
// from the store, so a record that was stored despite the error is
// followed, not forked.
func (l *Log) Append(ctx context.Context, actor, action, subject string, detail any) (store.AuditRecord, error) {
	d := []byte("{}")
	if detail != nil {
		var err error
		if d, err = json.Marshal(detail); err != nil {
			return store.AuditRecord{}, fmt.Errorf("audit %s: detail: %w", action, err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head == nil {
		last, err := l.st.LastAudit(ctx, l.writer)
		switch {
		case errors.Is(err, store.ErrNotFound):
			last = store.AuditRecord{}
		case err != nil:
			return store.AuditRecord{}, fmt.Errorf("audit %s: reading the chain's end: %w", action, err)
		}
		l.head = &last
	}
	r := store.AuditRecord{Writer: l.writer, Seq: l.head.Seq + 1, TimeNS: uint64(l.now().UnixNano()), Actor: actor,
		Action: action, Subject: subject, Detail: string(d), PrevHash: l.head.Hash}
	r.Hash = store.AuditHash(r.PrevHash, r)
	if err := l.st.AppendAudit(ctx, r); err != nil {
		l.head = nil
		return store.AuditRecord{}, fmt.Errorf("audit %s %s: %w", action, subject, err)
	}
	l.head = &r
	return r, nil
}
