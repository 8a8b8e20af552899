package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// AuditRecord is one entry of the audit log: who did what to what, when.
// Records form hash chains, one per writer (a studio process): Seq counts
// from 1 within the chain, PrevHash is the Hash of the record before it
// ("" for the first) and Hash is AuditHash(PrevHash, record). Changing,
// removing or inserting a record breaks the chain at that point, which
// `causeway audit verify` reports.
type AuditRecord struct {
	// Writer identifies the chain: the studio process instance that wrote it.
	Writer string `json:"writer"`
	// Seq is the record's position in its chain, from 1.
	Seq uint64 `json:"seq"`
	// TimeNS is when the action happened, Unix nanoseconds.
	TimeNS uint64 `json:"time_ns"`
	// Actor is the API token's name that acted (or the studio itself).
	Actor string `json:"actor"`
	// Action names what was done, e.g. "replay.created", "alert_rule.updated".
	Action string `json:"action"`
	// Subject is what it was done to: a replay id, a rule id.
	Subject string `json:"subject"`
	// Detail is a JSON object with the action's particulars, stored as given.
	Detail string `json:"detail"`
	// PrevHash is the Hash of the record before this one in the chain.
	PrevHash string `json:"prev_hash"`
	// Hash is AuditHash(PrevHash, this record), hex.
	Hash string `json:"hash"`
}

// AuditHash is the SHA-256, in hex, of prev followed by the record's
// canonical bytes: each field (writer, seq, time, actor, action, subject,
// detail) as an 8-byte big-endian length and its bytes, numbers as 8-byte
// big-endian values. The record's own PrevHash and Hash are not part of
// the canonical bytes; prev is given separately so that a verifier checks
// the record against the hash it really follows.
func AuditHash(prev string, r AuditRecord) string {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v uint64) {
		binary.BigEndian.PutUint64(n[:], v)
		h.Write(n[:])
	}
	field(prev)
	field(r.Writer)
	num(r.Seq)
	num(r.TimeNS)
	field(r.Actor)
	field(r.Action)
	field(r.Subject)
	field(r.Detail)
	return hex.EncodeToString(h.Sum(nil))
}

// ErrAuditExists is returned (wrapped) by AppendAudit when the chain
// already holds a record at that Seq.
var ErrAuditExists = errors.New("audit record exists")

// AuditQuery selects one writer's records in Seq order.
type AuditQuery struct {
	// Writer is the chain to read; required.
	Writer string
	// AfterSeq skips records up to and including this Seq.
	AfterSeq uint64
	// Limit caps the records returned; 0 means MaxLimit.
	Limit int
}

// AuditLog is the append-only audit log. Appends are durable when they
// return. The store never changes or removes a record; a backend whose
// rows can be changed by whoever holds its files or credentials still
// keeps the hash chain, which makes such a change visible.
type AuditLog interface {
	// AppendAudit stores r as given (the caller computes Seq, PrevHash and
	// Hash). A record with r's Writer and Seq already stored is an error
	// wrapping ErrAuditExists where the backend can tell (the embedded
	// store); ClickHouse stores it again and verification reports the
	// duplicate.
	AppendAudit(ctx context.Context, r AuditRecord) error
	// AuditWriters lists every writer that has records, sorted.
	AuditWriters(ctx context.Context) ([]string, error)
	// AuditRecords returns q.Writer's records with Seq above q.AfterSeq in
	// Seq order (records stored twice at one Seq are all returned).
	AuditRecords(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
	// LastAudit returns q.Writer's record with the highest Seq, or an error
	// wrapping ErrNotFound when the writer has none.
	LastAudit(ctx context.Context, writer string) (AuditRecord, error)
}
