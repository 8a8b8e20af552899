package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// chainLen is the number of messaging events of one order: publish,
// process, publish, process, publish, across three services.
const chainLen = 5

// hop is one step of an order's chain.
type hop struct {
	service, destination, eventType, group string
	kind                                   ptrace.SpanKind
}

// chain is the flow every order takes. Consumer hops process what the hop
// before published and share its destination.
var chain = [chainLen]hop{
	{service: "orders", destination: "orders.placed", eventType: "order.placed", kind: ptrace.SpanKindProducer},
	{service: "billing", destination: "orders.placed", eventType: "order.placed", group: "billing", kind: ptrace.SpanKindConsumer},
	{service: "billing", destination: "payments.taken", eventType: "payment.taken", kind: ptrace.SpanKindProducer},
	{service: "shipping", destination: "payments.taken", eventType: "payment.taken", group: "shipping", kind: ptrace.SpanKindConsumer},
	{service: "shipping", destination: "orders.shipped", eventType: "order.shipped", kind: ptrace.SpanKindProducer},
}

// workload describes the spans a load sends.
type workload struct {
	// orders is the number of chains; each is one trace and one correlation id.
	orders int
	// plain sends the same spans without messaging attributes (server and
	// internal spans), so that no store derives events from them.
	plain bool
	// span is the spacing of order starts: the orders end now and reach back
	// span into the past.
	span time.Duration
	// now is the load's reference time.
	now time.Time
	// perRequest is the number of orders in one OTLP request.
	perRequest int
}

// traceID and spanID are deterministic ids of order o and its hop h.
func traceID(o int) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], 0xca05e3a7_00000000|uint64(o)>>32)
	binary.BigEndian.PutUint64(id[8:], uint64(o)*0x9e3779b97f4a7c15+1)
	return id
}

func spanID(o, h int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], (uint64(o)*chainLen+uint64(h))*0xbf58476d1ce4e5b9+1)
	return id
}

// correlationID is order o's correlation id; queries pick orders by it.
func correlationID(o int) string { return "order-" + strconv.Itoa(o) }

// start is when order o's first span starts: orders are spread evenly
// over the workload's span, the newest ending now.
func (w workload) start(o int) time.Time {
	if w.orders <= 1 {
		return w.now.Add(-time.Second)
	}
	step := w.span / time.Duration(w.orders)
	return w.now.Add(-w.span + time.Duration(o)*step)
}

// request builds the OTLP request of orders [from, to).
func (w workload) request(from, to int) []byte {
	body, err := ptraceotlp.NewExportRequestFromTraces(w.traces(from, to)).MarshalProto()
	if err != nil {
		panic(err) // a request built here always encodes
	}
	return body
}

// traces builds the spans of orders [from, to).
func (w workload) traces(from, to int) ptrace.Traces {
	td := ptrace.NewTraces()
	rss := map[string]ptrace.SpanSlice{}
	for _, h := range chain {
		if _, ok := rss[h.service]; ok {
			continue
		}
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", h.service)
		rs.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
		rs.Resource().Attributes().PutStr("service.version", "1.4.2")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("github.com/twmb/franz-go/plugin/kotel")
		rss[h.service] = ss.Spans()
	}
	for o := from; o < to; o++ {
		t := w.start(o)
		tid := traceID(o)
		for i, h := range chain {
			sp := rss[h.service].AppendEmpty()
			sp.SetTraceID(tid)
			sp.SetSpanID(spanID(o, i))
			if i > 0 {
				sp.SetParentSpanID(spanID(o, i-1))
			}
			begin := t.Add(time.Duration(i) * 3 * time.Millisecond)
			dur := time.Duration(200+(o*7+i*13)%1800) * time.Microsecond
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(begin))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(begin.Add(dur)))
			a := sp.Attributes()
			if w.plain {
				sp.SetName(h.eventType + " handler")
				sp.SetKind(ptrace.SpanKindInternal)
				if i == 0 {
					sp.SetKind(ptrace.SpanKindServer)
				}
				a.PutStr("order.id", correlationID(o))
				a.PutStr("code.function", h.service+".handle")
				continue
			}
			sp.SetKind(h.kind)
			op := "publish"
			if h.kind == ptrace.SpanKindConsumer {
				op = "process"
			}
			sp.SetName(h.destination + " " + op)
			a.PutStr("messaging.system", "kafka")
			a.PutStr("messaging.destination.name", h.destination)
			a.PutStr("messaging.operation.type", op)
			a.PutStr("messaging.message.id", fmt.Sprintf("%016x-%d", uint64(o)*0x9e3779b97f4a7c15, i/2*2))
			a.PutStr("messaging.kafka.message.key", correlationID(o))
			a.PutInt("messaging.destination.partition.id", int64(o%12))
			a.PutInt("messaging.kafka.offset", int64(o))
			a.PutInt("messaging.message.body.size", int64(180+o%200))
			a.PutStr("causeway.correlation.id", correlationID(o))
			a.PutStr("causeway.event.type", h.eventType)
			a.PutStr("messaging.client.id", h.service+"-1")
			if h.group != "" {
				a.PutStr("messaging.consumer.group.name", h.group)
			}
			if (o+i)%50 == 0 && h.kind == ptrace.SpanKindConsumer {
				sp.Status().SetCode(ptrace.StatusCodeError)
				sp.Status().SetMessage("payment declined")
			}
		}
	}
	return td
}

// send posts every order of w to url from clients goroutines, each
// building its own requests, and returns when all were accepted.
func send(ctx context.Context, url string, w workload, clients int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 2 * time.Minute}
	defer client.CloseIdleConnections()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				from := int(next.Add(int64(w.perRequest))) - w.perRequest
				if from >= w.orders {
					return
				}
				body := w.request(from, min(from+w.perRequest, w.orders))
				if err := post(ctx, client, url, body); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// post sends one request, retrying while the receiver says it is busy
// (429 or 503: its spool or in-flight bound is full).
func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("post to %s: %w", url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		default:
			return fmt.Errorf("post to %s: status %d", url, resp.StatusCode)
		}
	}
}
