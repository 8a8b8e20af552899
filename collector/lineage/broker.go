package lineage

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// DeriveMetrics turns consumer-lag gauges into lag samples: the data
// points of the lag, lag-seconds, committed and end-offset metrics that
// share a time, system, group, topic and partition become one sample.
// Other metrics are ignored.
func DeriveMetrics(md pmetric.Metrics) []store.LagSample {
	samples := map[string]*store.LagSample{}
	var order []string
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				default:
					continue
				}
				switch m.Name() {
				case event.MetricLag, event.MetricLagSeconds, event.MetricCommitted, event.MetricEndOffset, event.MetricKafkaGroupLag, event.MetricKafkaGroupOffs:
				default:
					continue
				}
				for p := 0; p < dps.Len(); p++ {
					dp := dps.At(p)
					a := dp.Attributes()
					s := store.LagSample{
						TimeNS:    uint64(dp.Timestamp()),
						System:    first(a, event.AttrMessagingSystem),
						Cluster:   first(a, event.AttrCluster),
						Group:     first(a, event.AttrMessagingConsumerGroupName, "group"),
						Topic:     first(a, event.AttrMessagingDestinationName, "topic"),
						Partition: int32(firstInt(a, -1, event.AttrMessagingDestinationPartID, "partition")),
						Committed: -1, End: -1,
					}
					if s.System == "" {
						s.System = event.SystemKafka
					}
					if s.Group == "" || s.Topic == "" {
						continue
					}
					key := strconv.FormatUint(s.TimeNS, 10) + "\x00" + s.System + "\x00" + s.Group + "\x00" + s.Topic + "\x00" + strconv.Itoa(int(s.Partition))
					cur := samples[key]
					if cur == nil {
						cur = &s
						samples[key] = cur
						order = append(order, key)
					}
					v := number(dp)
					switch m.Name() {
					case event.MetricLag, event.MetricKafkaGroupLag:
						cur.Lag = int64(v)
						if st := first(a, event.AttrLagStatus); st != "" {
							cur.Status = st
						}
						if st := first(a, event.AttrLagGroupStatus); st != "" {
							cur.GroupStatus = st
						}
					case event.MetricLagSeconds:
						cur.LagSeconds = v
					case event.MetricCommitted, event.MetricKafkaGroupOffs:
						cur.Committed = int64(v)
					case event.MetricEndOffset:
						cur.End = int64(v)
					}
				}
			}
		}
	}
	out := make([]store.LagSample, 0, len(order))
	for _, k := range order {
		s := samples[k]
		if s.End < 0 && s.Committed >= 0 {
			s.End = s.Committed + s.Lag // kafkametrics sends lag and offset only
		}
		out = append(out, *s)
	}
	return out
}

func number(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

// DLQOptions bound what is kept of a DLQ entry.
type DLQOptions struct {
	// MaxPayload caps the stored payload (bytes); beyond it the entry is
	// marked Truncated. 0 keeps nothing but the size.
	MaxPayload int
	// Redact decides which headers' values are stored as store.Redacted;
	// nil uses NewRedactor(RedactHeaders).
	Redact *Redactor
	// RedactHeaders lists the denied header names when Redact is nil (nil:
	// DefaultRedactHeaders).
	RedactHeaders []string
	// Trusted are the keys of trusted DLQ sources by signer name: an entry
	// whose event.AttrDLQSignature verifies with its signer's key is
	// marked Trusted; any other entry (unsigned, unknown signer, bad
	// signature) is stored untrusted.
	Trusted map[string][]byte
}

// DeriveDLQ returns the DLQ entries carried by spans marked event.AttrDLQEntry.
func DeriveDLQ(td ptrace.Traces, o DLQOptions) []store.DLQEntry {
	if o.Redact == nil {
		o.Redact = NewRedactor(o.RedactHeaders)
	}
	var out []store.DLQEntry
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				a := sp.Attributes()
				if v, ok := a.Get(event.AttrDLQEntry); !ok || !v.Bool() {
					continue
				}
				out = append(out, dlqEntry(sp, a, o))
			}
		}
	}
	return out
}

func dlqEntry(sp ptrace.Span, a pcommon.Map, o DLQOptions) store.DLQEntry {
	d := store.DLQEntry{
		TimeNS:            uint64(sp.StartTimestamp()),
		System:            first(a, event.AttrMessagingSystem),
		Source:            first(a, event.AttrDLQSource),
		SourcePartition:   int32(firstInt(a, -1, event.AttrDLQSourcePartition)),
		SourceOffset:      firstInt(a, -1, event.AttrDLQSourceOffset),
		Original:          first(a, event.AttrDLQOriginal),
		OriginalPartition: int32(firstInt(a, -1, event.AttrDLQOriginalPartition)),
		OriginalOffset:    firstInt(a, -1, event.AttrDLQOriginalOffset),
		Reason:            first(a, event.AttrDLQReason),
		Deliveries:        firstInt(a, 0, event.AttrDLQDeliveries),
		PayloadSize:       firstInt(a, 0, event.AttrDLQPayloadSize),
	}
	raw := map[string]string{} // headers as sent, for the signature
	a.Range(func(k string, v pcommon.Value) bool {
		if h, ok := strings.CutPrefix(k, event.AttrDLQHeaderPrefix); ok {
			if d.Headers == nil {
				d.Headers = map[string]string{}
			}
			val := v.AsString()
			raw[h] = val
			if o.Redact.Header(h) {
				val = store.Redacted
			}
			d.Headers[h] = val
		}
		return true
	})
	d.EventID = d.Headers[event.HeaderEventID]
	d.CorrelationID = d.Headers[event.HeaderCorrelationID]
	var sent []byte // the payload as sent, for the signature
	if v, ok := a.Get(event.AttrDLQPayload); ok && v.Type() == pcommon.ValueTypeBytes {
		p := v.Bytes().AsRaw()
		sent = p
		if d.PayloadSize < int64(len(p)) {
			d.PayloadSize = int64(len(p))
		}
		if len(p) > o.MaxPayload {
			p = p[:o.MaxPayload]
		}
		d.Payload = append([]byte(nil), p...)
	}
	d.Truncated = int64(len(d.Payload)) < d.PayloadSize
	if key, ok := o.Trusted[first(a, event.AttrDLQSigner)]; ok && len(key) > 0 {
		d.Trusted = event.VerifyDLQ(key, event.DLQSigned{System: d.System, Source: d.Source, SourcePartition: d.SourcePartition,
			SourceOffset: d.SourceOffset, Original: d.Original, TimeNS: d.TimeNS, PayloadSize: firstInt(a, 0, event.AttrDLQPayloadSize),
			Payload: sent, Headers: raw}, first(a, event.AttrDLQSignature))
	}
	d.ID = store.DLQID(d.System, d.Source, d.SourcePartition, d.SourceOffset, d.TimeNS)
	return d
}
