package lineage

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestNATSMessageKey: a foreign NATS span's messaging.message.id (the
// publisher's Nats-Msg-Id) is its message key; the agent's is its event
// id and not repeated as a key.
func TestNATSMessageKey(t *testing.T) {
	for _, tc := range []struct {
		agent bool
		want  string
	}{{false, "order-77"}, {true, ""}} {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(traceA)
		sp.SetSpanID(spanP)
		sp.SetKind(ptrace.SpanKindProducer)
		sp.Attributes().PutStr("messaging.system", "nats")
		sp.Attributes().PutStr("messaging.destination.name", "orders.created")
		sp.Attributes().PutStr("messaging.message.id", "order-77")
		if tc.agent {
			sp.Attributes().PutStr("causeway.correlation.id", "")
		}
		b := Derive(td)
		if len(b.Events) != 1 || b.Events[0].MessageKey != tc.want || b.Events[0].EventID != "order-77" {
			t.Errorf("agent=%v: events = %+v, want key %q", tc.agent, b.Events, tc.want)
		}
	}
}
