// Package otlptest builds OTLP/HTTP protobuf requests of messaging spans
// for tests and benchmarks that feed a collector.
package otlptest

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Publishes returns a request of n Kafka publish spans of service to
// destination, started now. Span i has trace id (batch, i/perTrace) and
// span id (batch, i): ids are unique across batches and never zero.
// SpanIDs lists the span ids in hex.
func Publishes(service, destination string, batch uint32, n, perTrace int) (body []byte, spanIDs []string) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := pcommon.NewTimestampFromTime(time.Now())
	spanIDs = make([]string, n)
	for i := range n {
		var tid [16]byte
		var sid [8]byte
		tid[0], sid[0] = 0xc0, 0x5e
		binary.BigEndian.PutUint32(tid[4:], batch)
		binary.BigEndian.PutUint64(tid[8:], uint64(i/max(perTrace, 1)))
		binary.BigEndian.PutUint32(sid[1:], batch)
		binary.BigEndian.PutUint16(sid[5:], uint16(i))
		sid[7] = byte(i >> 16)
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetName(destination + " publish")
		sp.SetKind(ptrace.SpanKindProducer)
		sp.SetStartTimestamp(now)
		sp.SetEndTimestamp(now + 1000)
		sp.Attributes().PutStr("messaging.system", "kafka")
		sp.Attributes().PutStr("messaging.destination.name", destination)
		spanIDs[i] = pcommon.SpanID(sid).String()
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		panic(err) // marshalling what was just built cannot fail
	}
	return body, spanIDs
}
