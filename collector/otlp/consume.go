package otlp

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// consumeTraces validates a decoded trace request and hands it to c,
// counting its spans under p: received, then accepted or rejected with
// the reason. Both receivers use it, so they validate and count alike.
// raw, when not nil, is the protobuf td was decoded from, for a
// RawTracesConsumer.
func consumeTraces(ctx context.Context, c TracesConsumer, cnt *Counters, p Protocol, td ptrace.Traces, raw []byte, l RequestLimits) *reqError {
	n := uint64(td.SpanCount())
	pc := &cnt.p[p]
	pc.spans.Add(n)
	e := func() *reqError {
		if err := validateTraces(td, l); err != nil {
			return validationError(err)
		}
		var err error
		if rc, ok := c.(RawTracesConsumer); ok && raw != nil {
			err = rc.ConsumeTracesRaw(ctx, td, raw)
		} else {
			err = c.ConsumeTraces(ctx, td)
		}
		if err != nil {
			return consumeError(err)
		}
		return nil
	}()
	if e != nil {
		pc.spansRejected[e.reason].Add(n)
		return e
	}
	pc.spansAccepted.Add(n)
	pc.ok.Add(1)
	return nil
}

// consumeMetrics is consumeTraces for metrics requests, counting data points.
func consumeMetrics(ctx context.Context, c MetricsConsumer, cnt *Counters, p Protocol, md pmetric.Metrics, l RequestLimits) *reqError {
	n := uint64(md.DataPointCount())
	pc := &cnt.p[p]
	pc.points.Add(n)
	if err := validateMetrics(md, l); err != nil {
		return validationError(err)
	}
	if err := c.ConsumeMetrics(ctx, md); err != nil {
		return consumeError(err)
	}
	pc.pointsOK.Add(n)
	pc.ok.Add(1)
	return nil
}
