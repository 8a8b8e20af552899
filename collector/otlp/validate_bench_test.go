package otlp

import (
	"math"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/causeway-dev/causeway/collector/lineage"
)

// noLimits runs the validation walk as it was before RequestLimits: every
// limit out of reach (the comparisons remain, a few per map and value),
// and no pre-scan.
var noLimits = RequestLimits{MaxAttrDepth: math.MaxInt, MaxAttributes: math.MaxInt, MaxEventsPerSpan: math.MaxInt,
	MaxLinksPerSpan: math.MaxInt, MaxKeyBytes: math.MaxInt, MaxValueBytes: math.MaxInt, MaxArrayLen: math.MaxInt,
	MaxSpansPerRequest: math.MaxInt}

// ingestRequest is the request of the collector's ingest benchmark: 1,000
// Kafka publish spans with messaging attributes.
func ingestRequest(b *testing.B) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := 0; i < 1000; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{1, byte(i >> 8), byte(i)}))
		sp.SetSpanID(pcommon.SpanID([8]byte{2, byte(i >> 8), byte(i)}))
		sp.SetName("orders.placed publish")
		sp.SetKind(ptrace.SpanKindProducer)
		sp.Attributes().PutStr("messaging.system", "kafka")
		sp.Attributes().PutStr("messaging.destination.name", "orders.placed")
		sp.Attributes().PutStr("messaging.kafka.message.key", "order-8123")
		sp.Attributes().PutInt("messaging.kafka.destination.partition", 3)
	}
	return protoOf(b, td)
}

// BenchmarkValidateIngest measures the CPU work of ingesting a request
// with and without the request limits, in one process and one run: the
// receiver (pre-scan, decode, validation walk, encoding for the spool)
// and the writer (decode, lineage; it pre-scans only records it did not
// spool itself, which steady-state ingest has none of). The spool's fsync and the
// store are left out, so the cost is the limits' share of the CPU work of
// ingest, an upper bound of their share of ingest throughput. The two
// modes alternate request by request, so that a busy machine slows both
// alike; it reports each mode's rate and limits-cost-% = 1 - on/off.
func BenchmarkValidateIngest(b *testing.B) {
	body := ingestRequest(b)
	ingest := func(prescan bool, l RequestLimits) {
		if prescan {
			if e := l.prescan(ctProtobuf, body, pbTraceRequest); e != nil {
				b.Fatal(e)
			}
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
		if err := validateTraces(req.Traces(), l); err != nil {
			b.Fatal(err)
		}
		spooled, err := req.MarshalProto()
		if err != nil {
			b.Fatal(err)
		}
		back := ptraceotlp.NewExportRequest()
		if err := back.UnmarshalProto(spooled); err != nil {
			b.Fatal(err)
		}
		lineage.Derive(back.Traces())
	}
	var off, on []time.Duration
	b.SetBytes(int64(2 * len(body)))
	for i := 0; b.Loop(); i++ {
		// Alternate which mode goes first, so neither always runs warm.
		for j := range 2 {
			start := time.Now()
			if (i+j)%2 == 0 {
				ingest(false, noLimits)
				off = append(off, time.Since(start))
			} else {
				ingest(true, DefaultRequestLimits)
				on = append(on, time.Since(start))
			}
		}
	}
	// Medians: a GC pause or another process landing on one request
	// would skew a mean of this shared machine towards either mode.
	offT, onT := median(off).Seconds(), median(on).Seconds()
	b.ReportMetric(1000/offT, "off-spans/s")
	b.ReportMetric(1000/onT, "on-spans/s")
	b.ReportMetric(100*(1-offT/onT), "limits-cost-%")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkPrescan measures the pre-scan alone on the same request.
func BenchmarkPrescan(b *testing.B) {
	body := ingestRequest(b)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := PrescanTracesProto(body, RequestLimits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "spans/s")
}
