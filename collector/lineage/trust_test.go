package lineage

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/causeway-dev/causeway/event"
)

// signedDLQ is a DLQ-entry span as a sidecar signs it; change alters the
// span after signing, as a forger would.
func signedDLQ(signer string, key []byte, change func(pcommon.Map)) ptrace.Traces {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	at := pcommon.NewTimestampFromTime(time.Unix(1700000000, 5))
	sp.SetStartTimestamp(at)
	a := sp.Attributes()
	a.PutBool(event.AttrDLQEntry, true)
	a.PutStr(event.AttrMessagingSystem, event.SystemKafka)
	a.PutStr(event.AttrDLQSource, "orders.dlq")
	a.PutInt(event.AttrDLQSourcePartition, 1)
	a.PutInt(event.AttrDLQSourceOffset, 42)
	a.PutStr(event.AttrDLQOriginal, "orders")
	a.PutInt(event.AttrDLQPayloadSize, 5)
	a.PutEmptyBytes(event.AttrDLQPayload).FromRaw([]byte("hello"))
	a.PutStr(event.AttrDLQHeaderPrefix+"authorization", "Bearer s3cret") // redacted when stored, signed as sent
	a.PutStr(event.AttrDLQHeaderPrefix+"ce_id", "evt-1")
	if key != nil {
		a.PutStr(event.AttrDLQSigner, signer)
		a.PutStr(event.AttrDLQSignature, event.SignDLQ(key, event.DLQSigned{System: event.SystemKafka, Source: "orders.dlq",
			SourcePartition: 1, SourceOffset: 42, Original: "orders", TimeNS: uint64(at), PayloadSize: 5, Payload: []byte("hello"),
			Headers: map[string]string{"authorization": "Bearer s3cret", "ce_id": "evt-1"}}))
	}
	if change != nil {
		change(a)
	}
	return td
}

// TestDLQTrust: an entry is trusted only when its signature verifies with
// the key listed for its signer; unsigned, unknown signers, wrong keys and
// any field changed after signing are untrusted.
func TestDLQTrust(t *testing.T) {
	key := []byte("sidecar-key-0123456789")
	opts := DLQOptions{MaxPayload: 1 << 10, Trusted: map[string][]byte{"edge": key}}
	for _, tc := range []struct {
		name    string
		td      ptrace.Traces
		trusted bool
	}{
		{"signed by a trusted sidecar", signedDLQ("edge", key, nil), true},
		{"unsigned", signedDLQ("", nil, nil), false},
		{"unknown signer", signedDLQ("other", key, nil), false},
		{"wrong key", signedDLQ("edge", []byte("not-the-key-0123456789"), nil), false},
		{"original changed", signedDLQ("edge", key, func(a pcommon.Map) { a.PutStr(event.AttrDLQOriginal, "attacker") }), false},
		{"offset changed", signedDLQ("edge", key, func(a pcommon.Map) { a.PutInt(event.AttrDLQSourceOffset, 43) }), false},
		{"payload changed", signedDLQ("edge", key, func(a pcommon.Map) { a.PutEmptyBytes(event.AttrDLQPayload).FromRaw([]byte("evil!")) }), false},
		{"header added", signedDLQ("edge", key, func(a pcommon.Map) { a.PutStr(event.AttrDLQHeaderPrefix+"x-original-topic", "attacker") }), false},
		{"signature garbled", signedDLQ("edge", key, func(a pcommon.Map) { a.PutStr(event.AttrDLQSignature, "zz") }), false},
	} {
		ds := DeriveDLQ(tc.td, opts)
		if len(ds) != 1 || ds[0].Trusted != tc.trusted {
			t.Errorf("%s: %+v, want trusted %v", tc.name, ds, tc.trusted)
		}
	}
	if ds := DeriveDLQ(signedDLQ("edge", key, nil), DLQOptions{MaxPayload: 1 << 10}); ds[0].Trusted {
		t.Error("trusted without any trusted source configured")
	}
}
