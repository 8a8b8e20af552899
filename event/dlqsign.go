package event

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
)

// A sidecar that reads DLQ messages from the broker signs each DLQ-entry
// span with a key it shares with the collector, so the collector can tell
// its entries from ones anybody could send over OTLP: AttrDLQSigner names
// the key (a name in collector.trusted_dlq_sources) and AttrDLQSignature is
// SignDLQ's hex HMAC-SHA256.
const (
	AttrDLQSigner    = "causeway.dlq.signer"
	AttrDLQSignature = "causeway.dlq.signature"
)

// DLQSigned is what a DLQ signature covers: where the broker holds the
// message, the original destination read from it, its time, payload and
// headers, as the sidecar sends them (payload capped, headers before the
// collector's redaction).
type DLQSigned struct {
	System, Source  string
	SourcePartition int32
	SourceOffset    int64
	Original        string
	TimeNS          uint64
	PayloadSize     int64
	Payload         []byte
	Headers         map[string]string
}

// bytes is d's canonical encoding: each field length-prefixed, headers
// sorted by name.
func (d DLQSigned) bytes() []byte {
	var b []byte
	field := func(s []byte) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	str := func(s string) { field([]byte(s)) }
	str(d.System)
	str(d.Source)
	str(strconv.FormatInt(int64(d.SourcePartition), 10))
	str(strconv.FormatInt(d.SourceOffset, 10))
	str(d.Original)
	str(strconv.FormatUint(d.TimeNS, 10))
	str(strconv.FormatInt(d.PayloadSize, 10))
	field(d.Payload)
	keys := make([]string, 0, len(d.Headers))
	for k := range d.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	str(strconv.Itoa(len(keys)))
	for _, k := range keys {
		str(k)
		str(d.Headers[k])
	}
	return b
}

// SignDLQ returns d's signature with key: hex HMAC-SHA256 of its canonical bytes.
func SignDLQ(key []byte, d DLQSigned) string {
	m := hmac.New(sha256.New, key)
	m.Write(d.bytes())
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyDLQ reports whether sig is d's signature with key (in constant time).
func VerifyDLQ(key []byte, d DLQSigned, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil || len(key) == 0 {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write(d.bytes())
	return hmac.Equal(got, m.Sum(nil))
}
