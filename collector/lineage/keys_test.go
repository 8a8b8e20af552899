package lineage

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestNATSMessageKey: a foreign NATS span's messaging.message.id (the
// publisher's Nats-Msg-Id) is its message key; the agent's is its event
// id and not repeated as a key; a number is a stream sequence (otx), the
// offset.
func TestNATSMessageKey(t *testing.T) {
	for _, tc := range []struct {
		agent     bool
		id        string
		want, eid string
		offset    int64
	}{{false, "order-77", "order-77", "order-77", -1}, {true, "order-77", "", "order-77", -1}, {false, "42", "", spanP.String(), 42}} {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetTraceID(traceA)
		sp.SetSpanID(spanP)
		sp.SetKind(ptrace.SpanKindProducer)
		sp.Attributes().PutStr("messaging.system", "nats")
		sp.Attributes().PutStr("messaging.destination.name", "orders.created")
		sp.Attributes().PutStr("messaging.message.id", tc.id)
		if tc.agent {
			sp.Attributes().PutStr("causeway.correlation.id", "")
		}
		b := Derive(td)
		if len(b.Events) != 1 || b.Events[0].MessageKey != tc.want || b.Events[0].EventID != tc.eid || b.Events[0].Offset != tc.offset {
			t.Errorf("agent=%v id=%s: events = %+v, want key %q, event id %q, offset %d", tc.agent, tc.id, b.Events, tc.want, tc.eid, tc.offset)
		}
	}
}
