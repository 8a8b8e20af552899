package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/event"
)

// entry is one span waiting for export: the agent's own record, or a
// span of the SDK tracer (Agent.Tracer).
type entry struct {
	own *span
	sdk sdktrace.ReadOnlySpan
}

// queue holds ended spans until export, up to cfg.queueSize of them:
// spans are appended to the batch being filled under a mutex, and a full
// batch is handed to the exporter goroutine at once (one channel send per
// batch, not per span). It is also the SDK tracer's SpanProcessor. push
// never blocks: past the bound, spans are dropped and counted.
type queue struct {
	exp   sdktrace.SpanExporter
	cfg   config
	res   *resource.Resource
	scope instrumentation.Scope

	mu     sync.Mutex
	cur    []entry // the batch being filled
	closed bool

	full     chan []entry // full batches for the exporter goroutine
	free     chan []entry // exported batches, for reuse
	flush    chan chan struct{}
	done     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once

	queued            atomic.Int64 // spans pushed and not yet exported or dropped
	exported, dropped atomic.Uint64

	// exporter goroutine only
	names   map[destKey]*destInfo
	ros     []sdktrace.ReadOnlySpan
	batches [][]entry
	reuse   bool // the exporter keeps nothing: views and attrs serve every batch
	views   []spanView
	attrs   []attribute.KeyValue
	backoff time.Duration    // after the last failed export, 0 after a success
	resume  <-chan time.Time // ends the pause after a failed export

	// paused: exports wait after a failure (set by the exporter
	// goroutine; read by yield too).
	paused atomic.Bool
}

func newQueue(exp sdktrace.SpanExporter, cfg config, res *resource.Resource, scope instrumentation.Scope) *queue {
	// queued ≤ queueSize bounds the full batches waiting; one more slot
	// for the batch being exported keeps the send from ever blocking.
	batches := max(cfg.queueSize/cfg.batchSize, 1) + 1
	q := &queue{exp: exp, cfg: cfg, res: res, scope: scope,
		full: make(chan []entry, batches), free: make(chan []entry, batches),
		flush: make(chan chan struct{}), done: make(chan struct{}), stopped: make(chan struct{}),
		names: map[destKey]*destInfo{}, reuse: cfg.exporter == nil}
	q.cur = make([]entry, 0, min(cfg.batchSize, cfg.queueSize))
	go q.run()
	return q
}

// push queues an ended span, or drops and counts it.
func (q *queue) push(e entry) {
	q.mu.Lock()
	if q.closed || q.queued.Load() >= int64(q.cfg.queueSize) {
		q.mu.Unlock()
		q.dropped.Add(1)
		return
	}
	n := q.queued.Add(1)
	q.cur = append(q.cur, e)
	if len(q.cur) < q.cfg.batchSize {
		q.mu.Unlock()
		q.yield(n)
		return
	}
	b := q.cur
	q.cur = q.batch()
	q.mu.Unlock()
	q.full <- b
	q.yield(n)
}

// yield lets the exporter goroutine run when the queue is three quarters
// full: on a busy machine, the goroutines ending spans can otherwise keep
// both processors until the queue overflows. runtime.Gosched does not
// block; the caller goes on at its next turn. Not while exports pause
// after a failure: the queue is meant to fill then.
func (q *queue) yield(queued int64) {
	if queued > int64(q.cfg.queueSize)/4*3 && !q.paused.Load() {
		runtime.Gosched()
	}
}

// batch returns an empty batch, reused when one is free. Called with q.mu held.
func (q *queue) batch() []entry {
	select {
	case b := <-q.free:
		return b
	default:
		return make([]entry, 0, q.cfg.batchSize)
	}
}

// take removes the batch being filled.
func (q *queue) take() []entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.cur) == 0 {
		return nil
	}
	b := q.cur
	q.cur = q.batch()
	return b
}

// OnStart implements sdktrace.SpanProcessor.
func (q *queue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: spans of Agent.Tracer.
func (q *queue) OnEnd(s sdktrace.ReadOnlySpan) { q.push(entry{sdk: s}) }

func (q *queue) run() {
	defer close(q.stopped)
	tick := time.NewTicker(q.cfg.interval)
	defer tick.Stop()
	drain := func() {
		for {
			select {
			case b := <-q.full:
				q.export(b)
			default:
				q.export(q.take())
				return
			}
		}
	}
	for {
		full := q.full
		if q.paused.Load() {
			full = nil // batches wait in the queue (new spans drop once it is full)
		}
		select {
		case b := <-full:
			q.export(b)
		case <-q.resume:
			q.resume = nil
			q.paused.Store(false) // the next batch probes the collector
		case <-tick.C:
			if !q.paused.Load() {
				q.export(q.take())
			}
		case ack := <-q.flush:
			drain()
			close(ack)
		case <-q.done:
			drain()
			return
		}
	}
}

// Backoff after a failed export: exports pause for minBackoff, doubled
// after each further failure up to maxBackoff. Meanwhile spans wait in the
// queue (up to its bound) and go out when the collector is back, and a
// down collector costs no encoding.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// maxCoalesce is how many full batches one export may carry when they
// wait: when the exporter has fallen behind, fewer and larger requests
// catch up sooner than one round trip per batch.
const maxCoalesce = 8

// export sends batch b, and the full batches waiting behind it (up to
// maxCoalesce in all), in one ExportSpans call: the agent's own spans
// become spanViews, their attributes built here, off the application's
// goroutines.
func (q *queue) export(b []entry) {
	if len(b) == 0 {
		return
	}
	q.batches = append(q.batches[:0], b)
	for len(q.batches) < maxCoalesce {
		select {
		case more := <-q.full:
			q.batches = append(q.batches, more)
			continue
		default:
		}
		break
	}
	n, own := 0, 0
	for _, b := range q.batches {
		n += len(b)
		for _, e := range b {
			if e.own != nil {
				own++
			}
		}
	}
	views, attrs := q.buffers(own)
	q.ros = q.ros[:0]
	v := 0
	for _, b := range q.batches {
		for _, e := range b {
			if e.own == nil {
				q.ros = append(q.ros, e.sdk)
				continue
			}
			attrs = views[v].fill(q, e.own, attrs)
			q.ros = append(q.ros, &views[v])
			v++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.timeout)
	err := q.exp.ExportSpans(ctx, q.ros)
	cancel()
	if err != nil {
		q.dropped.Add(uint64(n))
		q.backoff = min(max(2*q.backoff, q.cfg.minBackoff), maxBackoff)
		q.paused.Store(true)
		q.resume = time.After(q.backoff)
	} else {
		q.exported.Add(uint64(n))
		q.backoff = 0
	}
	q.queued.Add(-int64(n))
	clear(q.ros)
	if q.reuse { // let go of the spans and their strings
		clear(views)
		clear(attrs)
		if cap(attrs) > cap(q.attrs) {
			q.attrs = attrs[:0]
		}
	}
	for i, b := range q.batches {
		clear(b)
		select {
		case q.free <- b[:0]:
		default:
		}
		q.batches[i] = nil
	}
}

// buffers returns room for the views of own spans and their attributes.
// The agent's own OTLP exporter copies what it is handed into its request
// and keeps nothing, so its buffers serve batch after batch; an exporter
// given with WithExporter may keep the spans (tracetest.InMemoryExporter
// does), so it gets fresh ones every time.
func (q *queue) buffers(own int) ([]spanView, []attribute.KeyValue) {
	if !q.reuse {
		return make([]spanView, own), make([]attribute.KeyValue, 0, own*attrsPerSpan)
	}
	if cap(q.views) < own {
		q.views = make([]spanView, own)
	}
	if cap(q.attrs) < own*attrsPerSpan {
		q.attrs = make([]attribute.KeyValue, 0, own*attrsPerSpan)
	}
	return q.views[:own], q.attrs[:0]
}

// ForceFlush exports what is queued.
func (q *queue) ForceFlush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case q.flush <- ack:
	case <-q.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown flushes, stops accepting spans and stops the exporter.
func (q *queue) Shutdown(ctx context.Context) error {
	err := q.ForceFlush(ctx)
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.stopOnce.Do(func() { close(q.done) })
	select {
	case <-q.stopped:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return errors.Join(err, q.exp.Shutdown(ctx))
}

// attrsPerSpan is room for a span's attributes in the batch's buffer
// (13 at most without old names; more just grow it).
const attrsPerSpan = 14

// destKey names the constant part of a span: where and what.
type destKey struct {
	system, name, group string
	op                  event.Op
	action              string
}

// destInfo is what spans of one destination and operation share: the
// span name and the constant attributes, built once.
type destInfo struct {
	name  string
	attrs []attribute.KeyValue
}

// maxDestinations bounds the cache of destInfo: beyond it (many distinct
// subjects), the rest are built per batch.
const maxDestinations = 4096

// dest returns the shared part of s's span, cached per destination.
func (q *queue) dest(s *span) *destInfo {
	k := destKey{system: s.d.System, name: s.d.Name, group: s.d.Group, op: s.op, action: s.action}
	if di, ok := q.names[k]; ok {
		return di
	}
	opType, name := "send", s.d.Name+" publish"
	switch s.op {
	case event.OpProcess:
		opType, name = "process", s.d.Name+" process"
	case event.OpSettle:
		opType, name = "settle", s.d.Name+" "+s.action
	}
	attrs := []attribute.KeyValue{
		attribute.String(event.AttrMessagingSystem, s.d.System),
		attribute.String(event.AttrMessagingDestinationName, s.d.Name),
		attribute.String(event.AttrMessagingOperationType, opType),
		attribute.String(event.AttrMessagingOperationName, string(s.op)),
	}
	if s.d.Group != "" {
		attrs = append(attrs, attribute.String(event.AttrMessagingConsumerGroupName, s.d.Group))
	}
	if s.op == event.OpSettle {
		attrs = append(attrs, attribute.String("messaging.settle.action", s.action))
	}
	if q.cfg.oldSemconv {
		attrs = append(attrs, attribute.String(event.AttrMessagingOperation, opType), attribute.String(event.AttrMessagingDestinationOld, s.d.Name))
		if s.d.Group != "" && s.d.System == event.SystemKafka {
			attrs = append(attrs, attribute.String(event.AttrMessagingKafkaConsumerGrp, s.d.Group))
		}
	}
	di := &destInfo{name: name, attrs: attrs}
	if len(q.names) < maxDestinations {
		q.names[k] = di
	}
	return di
}

// spanView is a span as the exporter reads it: an sdktrace.ReadOnlySpan
// over the span's fields and the attributes built for this batch. The
// embedded interface is nil; it only supplies the interface's unexported
// method, as the SDK's tracetest stubs do.
type spanView struct {
	sdktrace.ReadOnlySpan
	s      *span
	q      *queue
	name   string
	attrs  []attribute.KeyValue
	link   [1]sdktrace.Link
	links  []sdktrace.Link
	events []sdktrace.Event
}

// fill builds the view of s, its attributes appended to buf (the batch's
// buffer) and returned.
func (v *spanView) fill(q *queue, s *span, buf []attribute.KeyValue) []attribute.KeyValue {
	v.s, v.q = s, q
	di := q.dest(s)
	v.name = di.name
	if s.name != "" {
		v.name = s.name
	}
	from := len(buf)
	buf = append(buf, di.attrs...)
	d := &s.d
	if d.PayloadSize >= 0 {
		buf = append(buf, attribute.Int(event.AttrMessagingMessageBodySize, d.PayloadSize))
	}
	switch s.op {
	case event.OpPublish:
		buf = append(buf,
			attribute.String(event.AttrMessagingMessageID, s.ev.ID),
			attribute.String(event.AttrMessagingConversationID, s.ev.CorrelationID),
			attribute.String(event.AttrCorrelationID, s.ev.CorrelationID))
		if s.pubOp != "" {
			buf = append(buf, attribute.String(event.AttrOp, string(s.pubOp)))
		}
		if s.ev.Type != "" {
			buf = append(buf, attribute.String(event.AttrEventType, s.ev.Type))
		}
		if s.ev.SchemaVersion != "" {
			buf = append(buf, attribute.String(event.AttrSchemaVersion, s.ev.SchemaVersion))
		}
		if s.ev.CausationID != "" {
			buf = append(buf, attribute.String(event.AttrCausationID, s.ev.CausationID))
		}
	case event.OpProcess:
		buf = append(buf, attribute.Int(event.AttrAttempt, s.attempt))
		if s.hasID {
			buf = append(buf, attribute.String(event.AttrMessagingMessageID, s.ev.ID))
		}
		if s.hasCorr {
			buf = append(buf, attribute.String(event.AttrMessagingConversationID, s.ev.CorrelationID),
				attribute.String(event.AttrCorrelationID, s.ev.CorrelationID))
		}
		if s.ev.Type != "" {
			buf = append(buf, attribute.String(event.AttrEventType, s.ev.Type))
		}
		if s.ev.SchemaVersion != "" {
			buf = append(buf, attribute.String(event.AttrSchemaVersion, s.ev.SchemaVersion))
		}
	case event.OpSettle:
		if s.hasID {
			buf = append(buf, attribute.String(event.AttrMessagingMessageID, s.ev.ID),
				attribute.String(event.AttrCorrelationID, s.ev.CorrelationID))
		}
	}
	if s.replayOf != "" {
		buf = append(buf, attribute.String(event.AttrReplayOf, s.replayOf))
	}
	if d.Partition >= 0 {
		buf = append(buf, attribute.String(event.AttrMessagingDestinationPartID, strconv.Itoa(int(d.Partition))))
		if q.cfg.oldSemconv {
			buf = append(buf, attribute.Int(event.AttrMessagingKafkaPartitionOld, int(d.Partition)))
		}
	}
	if d.Offset >= 0 {
		if d.System == event.SystemKafka {
			buf = append(buf, attribute.Int64(event.AttrMessagingKafkaOffset, d.Offset))
			if q.cfg.oldSemconv {
				buf = append(buf, attribute.Int64(event.AttrMessagingKafkaOffsetOld, d.Offset))
			}
		} else {
			buf = append(buf, attribute.Int64(event.AttrMessagingNATSStreamSequence, d.Offset))
		}
	}
	if s.outcome != "" {
		buf = append(buf, attribute.String(event.AttrOutcome, string(s.outcome)))
	}
	var more added
	if s.added != nil {
		more = *s.added
	}
	buf = append(buf, more.attrs...)
	v.attrs = buf[from:len(buf):len(buf)]

	v.links = more.links
	if s.link.IsValid() {
		v.link[0] = sdktrace.Link{SpanContext: s.link}
		v.links = v.link[:]
		if len(more.links) > 0 {
			v.links = append(v.link[:], more.links...)
		}
	}
	v.events = more.events
	if s.err != nil {
		v.events = append(more.events, sdktrace.Event{Name: "exception", Time: time.Unix(0, s.end), Attributes: exceptionAttrs(s.err)})
	}
	return buf
}

// exceptionAttrs are an error's attributes on an "exception" event.
func exceptionAttrs(err error) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("exception.type", fmt.Sprintf("%T", err)),
		attribute.String(event.AttrExceptionMessage, err.Error()),
	}
}

// Name implements sdktrace.ReadOnlySpan.
func (v *spanView) Name() string { return v.name }

// SpanContext implements sdktrace.ReadOnlySpan.
func (v *spanView) SpanContext() trace.SpanContext { return v.s.sc }

// Parent implements sdktrace.ReadOnlySpan.
func (v *spanView) Parent() trace.SpanContext { return v.s.parent }

// SpanKind implements sdktrace.ReadOnlySpan.
func (v *spanView) SpanKind() trace.SpanKind { return v.s.kind }

// StartTime implements sdktrace.ReadOnlySpan.
func (v *spanView) StartTime() time.Time { return time.Unix(0, v.s.start) }

// EndTime implements sdktrace.ReadOnlySpan.
func (v *spanView) EndTime() time.Time { return time.Unix(0, v.s.end) }

// Attributes implements sdktrace.ReadOnlySpan.
func (v *spanView) Attributes() []attribute.KeyValue { return v.attrs }

// Links implements sdktrace.ReadOnlySpan.
func (v *spanView) Links() []sdktrace.Link { return v.links }

// Events implements sdktrace.ReadOnlySpan.
func (v *spanView) Events() []sdktrace.Event { return v.events }

// Status implements sdktrace.ReadOnlySpan.
func (v *spanView) Status() sdktrace.Status { return v.s.status }

// InstrumentationScope implements sdktrace.ReadOnlySpan.
func (v *spanView) InstrumentationScope() instrumentation.Scope { return v.q.scope }

// InstrumentationLibrary implements sdktrace.ReadOnlySpan.
func (v *spanView) InstrumentationLibrary() instrumentation.Library { return v.q.scope } //nolint:staticcheck // the interface requires it

// Resource implements sdktrace.ReadOnlySpan.
func (v *spanView) Resource() *resource.Resource { return v.q.res }

// DroppedAttributes implements sdktrace.ReadOnlySpan.
func (v *spanView) DroppedAttributes() int { return 0 }

// DroppedLinks implements sdktrace.ReadOnlySpan.
func (v *spanView) DroppedLinks() int { return 0 }

// DroppedEvents implements sdktrace.ReadOnlySpan.
func (v *spanView) DroppedEvents() int { return 0 }

// ChildSpanCount implements sdktrace.ReadOnlySpan.
func (v *spanView) ChildSpanCount() int { return 0 }
