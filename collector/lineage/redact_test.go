package lineage

import (
	"encoding/base64"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

func TestRedactorDecisions(t *testing.T) {
	r := DefaultRedactor
	for _, h := range []string{"Authorization", "proxy-authorization", "Cookie", "set-cookie", "X-API-Key", "x-auth-token",
		"x-amz-security-token", "api_key", "x-session-id", "x-github-token", "db-password", "client_secret", "X-CSRF-Token"} {
		if !r.Header(h) {
			t.Errorf("header %q is stored", h)
		}
	}
	for _, h := range []string{"content-type", "ce_id", "causeway-correlation-id", "traceparent", "kafka_dlt-original-topic"} {
		if r.Header(h) {
			t.Errorf("header %q is redacted", h)
		}
	}
	for _, k := range []string{"messaging.header.authorization", "http.request.header.cookie", "http.response.header.set-cookie",
		"causeway.dlq.header.x-api-key", "rpc.grpc.request.metadata.header.x-auth-token", "messaging.kafka.headers.api_key",
		"db.password", "auth.client_secret", "x.api_key"} {
		if !r.Attr(k) {
			t.Errorf("attribute %q is stored", k)
		}
	}
	for _, k := range []string{"messaging.destination.name", "http.request.header.content-type", "gen_ai.usage.input_tokens",
		"causeway.dlq.header.ce_id", "messaging.message.id"} {
		if r.Attr(k) {
			t.Errorf("attribute %q is redacted", k)
		}
	}
	custom := NewRedactor([]string{"X-Tenant-Key"})
	if !custom.Header("x-tenant-key") || custom.Header("x-api-key") || !custom.Header("x-session") {
		t.Error("a configured list replaces the defaults; the secret words always apply")
	}
}

// TestDeriveRedactsEverywhere: a dead-letter span and an ordinary span
// carrying secrets and a payload. No secret or payload byte is in the
// span rows, the event rows or the DLQ entry's headers; the payload is
// only in the DLQ entry.
func TestDeriveRedactsEverywhere(t *testing.T) {
	const secret, payload = "Bearer s3cr3t-v4lue", "card=4111111111111111"
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "payments")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i, dlq := range []bool{true, false} {
		sp := spans.AppendEmpty()
		sp.SetTraceID(traceA)
		sp.SetSpanID([8]byte{1, byte(i + 1)})
		a := sp.Attributes()
		a.PutStr("messaging.system", "kafka")
		a.PutStr("messaging.operation.type", "process")
		a.PutStr("messaging.destination.name", "payments.dlq")
		for _, h := range DefaultRedactHeaders {
			a.PutStr("messaging.header."+h, secret)
			a.PutStr(event.AttrDLQHeaderPrefix+h, secret)
		}
		a.PutStr("http.request.header.x-session-id", secret)
		a.PutStr(event.AttrDLQHeaderPrefix+event.HeaderCorrelationID, "order-7")
		if dlq {
			a.PutBool(event.AttrDLQEntry, true)
			a.PutStr(event.AttrDLQSource, "payments.dlq")
			a.PutEmptyBytes(event.AttrDLQPayload).FromRaw([]byte(payload))
		}
	}
	b := Derive(td)
	dlq := DeriveDLQ(td, DLQOptions{MaxPayload: 1 << 10})
	if len(b.Spans) != 2 || len(b.Events) != 2 || len(dlq) != 1 {
		t.Fatalf("%d spans, %d events, %d DLQ entries", len(b.Spans), len(b.Events), len(dlq))
	}
	leaks := func(where string, m map[string]string) {
		for k, v := range m {
			if strings.Contains(v, "s3cr3t") || strings.Contains(v, payload) || strings.Contains(v, base64.StdEncoding.EncodeToString([]byte(payload))) {
				t.Errorf("%s: %s = %q", where, k, v)
			}
		}
		if _, ok := m[event.AttrDLQPayload]; ok {
			t.Errorf("%s keeps the payload attribute", where)
		}
	}
	for _, s := range b.Spans {
		leaks("span "+s.SpanID, s.Attributes)
		if s.Attributes["messaging.header.authorization"] != store.Redacted {
			t.Errorf("span %s: authorization = %q", s.SpanID, s.Attributes["messaging.header.authorization"])
		}
	}
	for _, e := range b.Events {
		leaks("event "+e.EventID, e.Attributes)
	}
	leaks("DLQ headers", dlq[0].Headers)
	if dlq[0].Headers["authorization"] != store.Redacted || dlq[0].CorrelationID != "order-7" {
		t.Errorf("DLQ headers %v", dlq[0].Headers)
	}
	if string(dlq[0].Payload) != payload {
		t.Errorf("the DLQ entry lost its payload: %q", dlq[0].Payload)
	}
}
