package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// Column lists of schema v2, in the order rows are bound and scanned.
const (
	eventCols = `trace_id, span_id, start_ns, service, destination, event_type, op, system, consumer_group,
		outcome, correlation_id, event_id, causation_id, message_key, body`
	edgeCols = `from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id, correlation_id, kind, start_ns`
	spanCols = `trace_id, span_id, start_ns, body`
)

// eventColCount is the number of eventCols.
const eventColCount = 15

// eventsPerInsert is the rows of one multi-row event INSERT.
const eventsPerInsert = 256

// eventKey is an event's or a span's row key within a batch.
type eventKey struct{ trace, span string }

// rowsWriter writes one batch's events, spans and edges in the writer's
// transaction.
type rowsWriter struct {
	s    *Store
	ctx  context.Context
	tx   *sql.Tx
	dict dictWriter
	// keys and set are packEvent's buffers, reused row after row.
	keys []string
	set  packer
}

// writeRows stores b's events, spans and edges (schema v2):
//   - an event's span, when it came in the same batch and agrees with the
//     event, is kept in the event's row (absorbs), not in spans;
//   - an edge the event row implies (candidateEdges) is not stored again;
//   - events already stored (a retried batch) are not inserted again, and
//     what their new rows would have held goes to spans and edges instead,
//     so that nothing a batch carried is lost;
//   - flow_minute counts the events actually inserted (insertEvents), so
//     that a retry does not count an event twice.
func (s *Store) writeRows(ctx context.Context, tx *sql.Tx, b *store.Batch) (*rowsWriter, error) {
	w := &rowsWriter{s: s, ctx: ctx, tx: tx, dict: dictWriter{d: s.dict, ctx: ctx, tx: tx}}
	w.dict.lock()
	err := w.write(b)
	w.dict.unlock()
	if err == nil {
		err = w.dict.err
	}
	return w, err
}

// committed publishes what the transaction of writeRows assigned; Write
// calls it after the commit.
func (w *rowsWriter) committed() { w.dict.committed() }

func (w *rowsWriter) write(b *store.Batch) error {
	// Events, first of each key.
	idx := make(map[eventKey]int, len(b.Events))
	events := make([]*event.Event, 0, len(b.Events))
	for i := range b.Events {
		e := &b.Events[i]
		k := eventKey{e.TraceID, e.SpanID}
		if _, ok := idx[k]; !ok {
			idx[k] = len(events)
			events = append(events, e)
		}
	}
	// Spans kept in their event's row.
	spanOf := make([]*event.Span, len(events))
	var plain []*event.Span
	for i := range b.Spans {
		sp := &b.Spans[i]
		if j, ok := idx[eventKey{sp.TraceID, sp.SpanID}]; ok && spanOf[j] == nil && absorbs(events[j], sp) {
			spanOf[j] = sp
			continue
		} else if ok && spanOf[j] != nil && sameSpan(spanOf[j], sp) {
			continue // the same span twice in the batch
		}
		plain = append(plain, sp)
	}
	// Edges implied by event rows.
	implied := make([]uint64, len(events))
	var edges []*event.Edge
	for i := range b.Edges {
		ed := &b.Edges[i]
		j, ok := idx[eventKey{ed.ToTraceID, ed.ToSpanID}]
		bit := uint64(0)
		if ok {
			candidateEdges(events[j], func(b uint64, c event.Edge) bool {
				if c == *ed {
					bit = b
					return false
				}
				return true
			})
		}
		if bit == 0 {
			edges = append(edges, ed)
			continue
		}
		implied[j] |= bit
	}
	inserted, err := w.insertEvents(events, spanOf, implied)
	if err != nil {
		return err
	}
	// Rows of events stored before: their span and implied edges go to
	// their own tables.
	var rollup []*event.Event
	for i, e := range events {
		if inserted[i] {
			rollup = append(rollup, e)
			continue
		}
		if spanOf[i] != nil {
			plain = append(plain, spanOf[i])
		}
		for _, ed := range impliedEdges(e, implied[i]) {
			edges = append(edges, &ed)
		}
	}
	if err := w.insertSpans(plain); err != nil {
		return err
	}
	if err := w.insertEdges(edges); err != nil {
		return err
	}
	return w.rollup(rollup)
}

func sameSpan(a, b *event.Span) bool {
	return a.TraceID == b.TraceID && a.SpanID == b.SpanID && a.Name == b.Name && a.Kind == b.Kind &&
		a.StatusCode == b.StatusCode && a.StatusMessage == b.StatusMessage && a.StartNS == b.StartNS &&
		a.DurationNS == b.DurationNS && a.ParentSpanID == b.ParentSpanID && a.Service == b.Service &&
		slices.Equal(a.Links, b.Links) && len(a.Attributes) == len(b.Attributes) && func() bool {
		for k, v := range a.Attributes {
			if w, ok := b.Attributes[k]; !ok || w != v {
				return false
			}
		}
		return true
	}()
}

// insertEvents inserts the rows and reports which were inserted (not
// stored before). A chunk whose every row went in (RowsAffected) is the
// common case; otherwise a row was inserted now when its rowid is above
// the largest one before the chunk.
//
// Rows are packed (packEvent, dict numbers) on a second goroutine, a chunk
// ahead of the inserts, so that the Go half of the work overlaps SQLite's.
// The transaction serialises the two goroutines' statements (a new dict
// string is looked up and inserted through it while a chunk is inserted).
func (w *rowsWriter) insertEvents(events []*event.Event, spanOf []*event.Span, implied []uint64) ([]bool, error) {
	inserted := make([]bool, len(events))
	type chunk struct {
		from, to int
		args     []any
	}
	ready := make(chan chunk, 1)
	spare := make(chan []any, 2) // argument slices back from the inserts
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ready)
		d := &w.dict
		for from := 0; from < len(events); from += eventsPerInsert {
			to := min(from+eventsPerInsert, len(events))
			var args []any
			select {
			case args = <-spare:
			default:
				args = make([]any, 0, eventColCount*eventsPerInsert)
			}
			for i := from; i < to; i++ {
				e := events[i]
				body := w.packEvent(e, spanOf[i], implied[i])
				args = append(args, encID(e.TraceID), encID(e.SpanID), int64(e.StartNS), d.id(e.Service), d.id(e.Destination),
					d.id(e.EventType), d.id(string(e.Op)), d.id(e.System), d.id(e.ConsumerGroup), string(e.Outcome),
					e.CorrelationID, encID(e.EventID), encID(e.CausationID), messageKeyColumn(e), body)
			}
			select {
			case ready <- chunk{from, to, args}:
			case <-stop:
				return
			}
		}
	}()
	finish := func(err error) ([]bool, error) {
		close(stop)
		<-done
		if err != nil {
			return nil, err
		}
		return inserted, nil
	}
	for c := range ready {
		if err := w.insertChunk(events[c.from:c.to], c.args, inserted[c.from:c.to]); err != nil {
			return finish(err)
		}
		clear(c.args)
		select {
		case spare <- c.args[:0]:
		default:
		}
	}
	return finish(nil)
}

// insertChunk inserts the rows of events, whose values are args, in one
// statement, and marks in inserted those not stored before.
func (w *rowsWriter) insertChunk(events []*event.Event, args []any, inserted []bool) error {
	rows := len(events)
	var before int64
	if err := w.tx.QueryRowContext(w.ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&before); err != nil {
		return fmt.Errorf("insert into events: %w", err)
	}
	var res sql.Result
	var err error
	if rows == eventsPerInsert {
		res, err = w.tx.StmtContext(w.ctx, w.s.inserts["events"]).ExecContext(w.ctx, args...)
	} else {
		res, err = w.tx.ExecContext(w.ctx, insertSQL("events", eventCols, eventColCount, rows), args...)
	}
	if err != nil {
		return fmt.Errorf("insert into events: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("insert into events: %w", err)
	} else if n == int64(rows) {
		for i := range inserted {
			inserted[i] = true
		}
		return nil
	}
	for i, e := range events {
		var id int64
		if err := w.tx.QueryRowContext(w.ctx, `SELECT id FROM events WHERE trace_id = ? AND span_id = ?`,
			encID(e.TraceID), encID(e.SpanID)).Scan(&id); err != nil {
			return fmt.Errorf("insert into events: %w", err)
		}
		inserted[i] = id > before
	}
	return nil
}

func (w *rowsWriter) insertSpans(spans []*event.Span) error {
	if len(spans) == 0 {
		return nil
	}
	in := w.s.newInserter("spans", spanCols)
	for _, sp := range spans {
		if err := in.add(w.ctx, w.tx, encID(sp.TraceID), encID(sp.SpanID), int64(sp.StartNS), w.packSpan(sp)); err != nil {
			return err
		}
	}
	return in.flush(w.ctx, w.tx)
}

func (w *rowsWriter) insertEdges(edges []*event.Edge) error {
	if len(edges) == 0 {
		return nil
	}
	in := w.s.newInserter("edges", edgeCols)
	for _, e := range edges {
		if err := in.add(w.ctx, w.tx, encID(e.FromTraceID), encID(e.FromSpanID), encID(e.FromEventID), encID(e.ToTraceID),
			encID(e.ToSpanID), e.CorrelationID, string(e.Kind), int64(e.StartNS)); err != nil {
			return err
		}
	}
	return in.flush(w.ctx, w.tx)
}

// insertSQL is a multi-row INSERT OR IGNORE of rows rows.
func insertSQL(table, cols string, ncols, rows int) string {
	row := "(" + placeholders(ncols) + ")"
	return "INSERT OR IGNORE INTO " + table + " (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
}

// messageKeyColumn is what the message_key column holds: empty when the key
// is the correlation id (flagKeyIsCorrelation).
func messageKeyColumn(e *event.Event) string {
	if e.MessageKey == e.CorrelationID {
		return ""
	}
	return e.MessageKey
}
