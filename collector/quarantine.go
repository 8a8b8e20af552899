package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/collector/otlp"
	"github.com/causeway-dev/causeway/collector/spool"
	"github.com/causeway-dev/causeway/store"
)

// Poison records. The writer takes spool records in order and commits a
// position only once everything before it is stored, so one record that
// can never be stored would stop ingest for good (and, crashing the
// process, make every restart crash again). Such a record is moved to the
// spool's quarantine (see spool.Quarantine) and the writer moves on:
//
//   - a record that does not decode, or whose decoding or deriving panics,
//     is quarantined at once: both are deterministic;
//   - a batch the store refuses Config.QuarantineAfter times in a row is
//     written again one record at a time; a record refused that many times
//     while the store accepts other writes in the same pass (other records
//     of the batch, or, once they are stored, one of them written again
//     with Retry, which the store deduplicates) is quarantined.
//
// A store that is down refuses every write: no pass has a success, so
// nothing is quarantined and the writer retries until the store returns.
// A single refused record with nothing spooled behind it is retried
// until another record arrives to tell a down store from a poison one.

// Reasons recorded with a quarantined record.
const (
	quarantineDecode = "decode"
	quarantinePanic  = "panic"
	quarantineWrite  = "write"
)

// errPanic marks an error recovered from a panic.
var errPanic = errors.New("panic")

// writerLimits bound what the writer decodes: the deepest nesting any
// configuration accepts, so a record spooled under other limits (or
// requeued) is never refused for a limit, while a value deep enough to
// overflow the decoder's stack is quarantined instead of crashing. Records
// this process spooled itself skip the check: its receivers pre-scanned
// them (and, when redaction changed them, pdata encoded them, recursing
// as deep as decoding will).
var writerLimits = otlp.RequestLimits{MaxAttrDepth: otlp.MaxAttrDepthCeiling, MaxSpansPerRequest: math.MaxInt}

// derive decodes a spooled or enqueued record and derives its rows into
// b, returning their count; own says the record was spooled by this
// process (see writerLimits). It never panics: a panic while decoding or
// deriving is returned as an error wrapping errPanic. On error nothing is
// added to b.
func (c *Collector) derive(b *store.Batch, rec []byte, own bool) (rows int, err error) {
	defer func() {
		if r := recover(); r != nil {
			rows, err = 0, fmt.Errorf("%w while deriving: %v", errPanic, r)
		}
	}()
	if len(rec) == 0 {
		return 0, errors.New("empty record")
	}
	switch kind, data := rec[0], rec[1:]; kind {
	case recordTraces:
		if !own {
			if err := otlp.PrescanTracesProto(data, writerLimits); err != nil {
				return 0, err
			}
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(data); err != nil {
			return 0, err
		}
		deriveTraces := c.deriveTraces
		if deriveTraces == nil {
			deriveTraces = func(td ptrace.Traces) *store.Batch { return lineage.DeriveRedacted(td, c.dlq.Redact) }
		}
		d := deriveTraces(req.Traces())
		if c.inherit != nil {
			c.inherit.Apply(d)
		}
		dlq := lineage.DeriveDLQ(req.Traces(), c.dlq)
		b.Events = append(b.Events, d.Events...)
		b.Edges = append(b.Edges, d.Edges...)
		b.Spans = append(b.Spans, d.Spans...)
		b.DLQ = append(b.DLQ, dlq...)
		return len(d.Spans), nil
	case recordMetrics:
		if !own {
			if err := otlp.PrescanMetricsProto(data, writerLimits); err != nil {
				return 0, err
			}
		}
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(data); err != nil {
			return 0, err
		}
		lag := lineage.DeriveMetrics(req.Metrics())
		b.Lag = append(b.Lag, lag...)
		return len(lag), nil
	default:
		return 0, fmt.Errorf("unknown record kind %q", kind)
	}
}

// take derives rec into b and adds it to recs, or quarantines it when it
// cannot be derived. It returns the rows added, and false only when ctx
// ended before a quarantined record was safely on disk.
func (c *Collector) take(ctx context.Context, b *store.Batch, recs *[]spool.Record, rec spool.Record) (int, bool) {
	n, err := c.derive(b, rec.Data, rec.Seq >= c.retryUpTo)
	if err != nil {
		reason := quarantineDecode
		if errors.Is(err, errPanic) {
			reason = quarantinePanic
		}
		return 0, c.quarantine(ctx, rec, reason, err, 1)
	}
	*recs = append(*recs, rec)
	return n, true
}

// tryWrite writes b once, recovering a panic of the store as an error.
func (c *Collector) tryWrite(ctx context.Context, b *store.Batch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w in the store's Write: %v", errPanic, r)
		}
	}()
	start := time.Now()
	err = c.w.Write(ctx, b)
	c.observeWrite(b, time.Since(start), err)
	return err
}

// stored counts a batch the store confirmed and hands it to OnStored.
func (c *Collector) stored(b *store.Batch) {
	c.written.Add(uint64(len(b.Spans)))
	if c.onStored != nil {
		c.onStored(b)
	}
}

// writeRecords stores batch, derived from recs, retrying with backoff; it
// returns false only when ctx ends first. After QuarantineAfter failures
// it goes record by record (writeSingly), taking the records of the next
// derived batch first when recs holds just one (takeMore); *last is moved
// past those.
func (c *Collector) writeRecords(ctx context.Context, batch *store.Batch, recs []spool.Record, last *uint64,
	next <-chan *pending, free chan<- *pending) bool {
	backoff := 100 * time.Millisecond
	for attempts := 1; ; attempts++ {
		err := c.tryWrite(ctx, batch)
		if err == nil {
			c.stored(batch)
			return true
		}
		c.writeErrors.Add(1)
		batch.Retry = true
		c.log.Warn("store write failed; retrying", "rows", batch.Len(), "records", len(recs), "attempt", attempts, "retry_in", backoff, "error", err)
		if attempts >= c.cfg.QuarantineAfter {
			if len(recs) == 1 {
				recs = takeMore(recs, last, next, free)
			}
			if len(recs) > 1 {
				return c.writeSingly(ctx, recs)
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// takeMore adds the records of the next derived batch to recs when gather
// has one ready, so that writing them tells a down store from a poison
// record, and returns that batch to free.
func takeMore(recs []spool.Record, last *uint64, next <-chan *pending, free chan<- *pending) []spool.Record {
	select {
	case p := <-next:
		if p == nil {
			return recs // gather stopped
		}
		recs = append(recs, p.recs...)
		*last = p.last
		p.reset()
		free <- p
	default:
	}
	return recs
}

// writeSingly stores recs one record per write, in passes, until each is
// stored or quarantined (see the comment at the top of this file). It
// returns false only when ctx ends first.
func (c *Collector) writeSingly(ctx context.Context, recs []spool.Record) bool {
	c.log.Warn("store keeps refusing a batch; writing its records one at a time", "records", len(recs))
	fails := make([]int, len(recs))
	errs := make([]error, len(recs))
	done := make([]bool, len(recs))
	probe := -1 // a record already stored, to write again as evidence
	one := &store.Batch{}
	backoff := 100 * time.Millisecond
	for {
		worked := false
		for i, rec := range recs {
			if done[i] {
				continue
			}
			reset(one)
			if _, err := c.derive(one, rec.Data, rec.Seq >= c.retryUpTo); err != nil { // derived before: cannot fail, but never write half a record
				if !c.quarantine(ctx, rec, quarantineDecode, err, 1) {
					return false
				}
				done[i] = true
				continue
			}
			one.Retry = true
			if err := c.tryWrite(ctx, one); err != nil {
				c.writeErrors.Add(1)
				fails[i]++
				errs[i] = err
				continue
			}
			c.stored(one)
			done[i], worked, probe = true, true, i
		}
		if !worked && probe >= 0 && ctx.Err() == nil {
			reset(one)
			if _, err := c.derive(one, recs[probe].Data, recs[probe].Seq >= c.retryUpTo); err == nil {
				one.Retry = true
				worked = c.tryWrite(ctx, one) == nil
			}
		}
		left := 0
		for i, rec := range recs {
			if done[i] {
				continue
			}
			if worked && fails[i] >= c.cfg.QuarantineAfter {
				if !c.quarantine(ctx, rec, quarantineWrite, errs[i], fails[i]) {
					return false
				}
				done[i] = true
				continue
			}
			left++
		}
		if left == 0 {
			return true
		}
		if worked {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// quarantine moves rec to the spool's quarantine, retrying while the disk
// refuses (the writer must not commit past a record that is not safely
// somewhere). It returns false only when ctx ends first.
func (c *Collector) quarantine(ctx context.Context, rec spool.Record, reason string, cause error, attempts int) bool {
	info := spool.QuarantineInfo{Reason: reason, Error: cause.Error(), Attempts: attempts, Kind: "unknown"}
	if len(rec.Data) > 0 {
		switch rec.Data[0] {
		case recordTraces:
			info.Kind = "traces"
			info.Spans, _ = otlp.CountSpansProto(rec.Data[1:])
		case recordMetrics:
			info.Kind = "metrics"
		}
	}
	backoff := 100 * time.Millisecond
	for {
		stored, err := c.spool.Quarantine(rec, info)
		if err == nil {
			c.quarantined.Add(1)
			c.log.Error("spool record quarantined; the writer moves on (see `causeway spool inspect`)",
				"id", stored.ID, "seq", rec.Seq, "reason", reason, "kind", info.Kind, "spans", info.Spans, "bytes", len(rec.Data), "attempts", attempts, "error", cause)
			return true
		}
		c.spoolErrors.Add(1)
		c.log.Error("quarantining a spool record failed; retrying", "seq", rec.Seq, "retry_in", backoff, "error", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// traceDeriver derives the rows of a trace request (lineage.Derive).
type traceDeriver func(ptrace.Traces) *store.Batch
