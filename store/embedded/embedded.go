// Package embedded is Causeway's default store: pure Go (modernc.org/sqlite,
// no cgo), one directory on disk, for `causeway demo`, the desktop app and
// small teams. It registers the "embedded" URL scheme:
// embedded:///abs/path/to/dir.
//
// The database runs in WAL mode with synchronous=NORMAL: a committed write
// survives a crash of the process (the guarantee the collector's spool
// relies on), though not necessarily a power loss of the machine. Every
// write is an upsert keyed by (trace_id, span_id) for events and spans and
// by the full edge for edges, so retried batches never duplicate rows.
package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

func init() {
	store.Register("embedded", func(ctx context.Context, u *url.URL) (store.Store, error) {
		dir := u.Path
		if u.Opaque != "" {
			dir = u.Opaque
		}
		if dir == "" {
			return nil, fmt.Errorf("embedded store URL %q has no directory (want embedded:///path/to/dir)", u.String())
		}
		return Open(filepath.FromSlash(dir))
	})
}

// DefaultDir is the per-user data directory Causeway keeps its data in by
// default: $XDG_DATA_HOME/causeway or ~/.local/share/causeway on Linux,
// ~/Library/Application Support/causeway on macOS, %LocalAppData%\causeway on Windows.
func DefaultDir() string {
	home, _ := os.UserHomeDir()
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(home, "Library", "Application Support", "causeway")
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "causeway")
		}
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "causeway")
	}
	return filepath.Join(home, ".local", "share", "causeway")
}

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	dir string
	w   *sql.DB // one connection: SQLite has one writer
	r   *sql.DB // readers, concurrent under WAL
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir and applies migrations.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded store %q: %w", dir, err)
	}
	dsn := "file:" + filepath.ToSlash(filepath.Join(dir, "causeway.db")) +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(off)"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: open: %w", dir, err)
	}
	w.SetMaxOpenConns(1)
	s := &Store{dir: dir, w: w}
	if err := s.migrate(); err != nil {
		w.Close()
		return nil, fmt.Errorf("embedded store %q: %w", dir, err)
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(true)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("embedded store %q: open: %w", dir, err)
	}
	r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	s.r = r
	return s, nil
}

// Close closes the database. Written data stays on disk.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// migrations are applied in order; PRAGMA user_version records how many ran.
var migrations = []string{
	`CREATE TABLE events (
		trace_id TEXT NOT NULL, span_id TEXT NOT NULL, event_id TEXT NOT NULL,
		event_type TEXT NOT NULL, schema_version TEXT NOT NULL, correlation_id TEXT NOT NULL,
		causation_id TEXT NOT NULL, parent_span_id TEXT NOT NULL, links TEXT NOT NULL,
		service TEXT NOT NULL, handler TEXT NOT NULL, system TEXT NOT NULL, cluster TEXT NOT NULL,
		destination TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
		consumer_group TEXT NOT NULL, op TEXT NOT NULL, outcome TEXT NOT NULL, error TEXT NOT NULL,
		attempt INTEGER NOT NULL, start_ns INTEGER NOT NULL, duration_ns INTEGER NOT NULL,
		payload_size INTEGER NOT NULL, replay_of TEXT NOT NULL, attributes TEXT NOT NULL,
		PRIMARY KEY (trace_id, span_id)
	) WITHOUT ROWID;
	CREATE INDEX events_start ON events (start_ns DESC, span_id DESC);
	CREATE INDEX events_correlation ON events (correlation_id, start_ns) WHERE correlation_id != '';
	CREATE INDEX events_event_id ON events (event_id);
	CREATE INDEX events_service ON events (service, start_ns DESC);
	CREATE TABLE edges (
		from_trace_id TEXT NOT NULL, from_span_id TEXT NOT NULL, from_event_id TEXT NOT NULL,
		to_trace_id TEXT NOT NULL, to_span_id TEXT NOT NULL, correlation_id TEXT NOT NULL,
		kind TEXT NOT NULL, start_ns INTEGER NOT NULL,
		PRIMARY KEY (to_trace_id, to_span_id, from_trace_id, from_span_id, from_event_id, kind)
	) WITHOUT ROWID;
	CREATE INDEX edges_from_trace ON edges (from_trace_id) WHERE from_trace_id != '';
	CREATE INDEX edges_from_event ON edges (from_event_id) WHERE from_event_id != '';
	CREATE TABLE spans (
		trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_span_id TEXT NOT NULL,
		service TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
		start_ns INTEGER NOT NULL, duration_ns INTEGER NOT NULL,
		status_code TEXT NOT NULL, status_message TEXT NOT NULL, links TEXT NOT NULL, attributes TEXT NOT NULL,
		PRIMARY KEY (trace_id, span_id)
	) WITHOUT ROWID;`,
	`CREATE TABLE lag (
		time_ns INTEGER NOT NULL, system TEXT NOT NULL, cluster TEXT NOT NULL, group_name TEXT NOT NULL,
		topic TEXT NOT NULL, partition INTEGER NOT NULL, committed INTEGER NOT NULL, end_offset INTEGER NOT NULL,
		lag INTEGER NOT NULL, lag_seconds REAL NOT NULL, status TEXT NOT NULL, group_status TEXT NOT NULL,
		PRIMARY KEY (group_name, topic, partition, time_ns, system)
	) WITHOUT ROWID;
	CREATE INDEX lag_time ON lag (time_ns);
	CREATE TABLE dlq (
		id TEXT PRIMARY KEY, time_ns INTEGER NOT NULL, system TEXT NOT NULL, source TEXT NOT NULL,
		source_partition INTEGER NOT NULL, source_offset INTEGER NOT NULL, original TEXT NOT NULL,
		original_partition INTEGER NOT NULL, original_offset INTEGER NOT NULL, reason TEXT NOT NULL,
		deliveries INTEGER NOT NULL, event_id TEXT NOT NULL, correlation_id TEXT NOT NULL, headers TEXT NOT NULL,
		payload BLOB, payload_size INTEGER NOT NULL, truncated INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX dlq_time ON dlq (time_ns DESC, id DESC);`,
}

func (s *Store) migrate() error {
	var v int
	if err := s.w.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build knows (%d): upgrade causeway", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.w.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

const (
	eventCols = `trace_id, span_id, event_id, event_type, schema_version, correlation_id, causation_id,
		parent_span_id, links, service, handler, system, cluster, destination, partition, "offset",
		consumer_group, op, outcome, error, attempt, start_ns, duration_ns, payload_size, replay_of, attributes`
	edgeCols = `from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id, correlation_id, kind, start_ns`
	spanCols = `trace_id, span_id, parent_span_id, service, name, kind, start_ns, duration_ns,
		status_code, status_message, links, attributes`
)

func insertSQL(table, cols string) string {
	n := strings.Count(cols, ",") + 1
	return "INSERT OR IGNORE INTO " + table + " (" + cols + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

var (
	insertEvent = insertSQL("events", eventCols)
	insertEdge  = insertSQL("edges", edgeCols)
	insertSpan  = insertSQL("spans", spanCols)
)

// Write stores b in one transaction. Every row is an upsert, so b.Retry
// needs no special handling.
func (s *Store) Write(ctx context.Context, b *store.Batch) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded store: begin: %w", err)
	}
	defer tx.Rollback()
	if err := s.writeRows(ctx, tx, b); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded store: commit: %w", err)
	}
	return nil
}

func (s *Store) writeRows(ctx context.Context, tx *sql.Tx, b *store.Batch) error {
	if len(b.Events) > 0 {
		st, err := tx.PrepareContext(ctx, insertEvent)
		if err != nil {
			return fmt.Errorf("embedded store: prepare events: %w", err)
		}
		defer st.Close()
		for i := range b.Events {
			e := &b.Events[i]
			if _, err := st.ExecContext(ctx, e.TraceID, e.SpanID, e.EventID, e.EventType, e.SchemaVersion,
				e.CorrelationID, e.CausationID, e.ParentSpanID, jsonText(e.Links), e.Service, e.Handler,
				e.System, e.Cluster, e.Destination, e.Partition, e.Offset, e.ConsumerGroup, string(e.Op),
				string(e.Outcome), e.Error, e.Attempt, int64(e.StartNS), int64(e.DurationNS), e.PayloadSize,
				e.ReplayOf, jsonText(e.Attributes)); err != nil {
				return fmt.Errorf("embedded store: insert event %s/%s: %w", e.TraceID, e.SpanID, err)
			}
		}
	}
	if len(b.Edges) > 0 {
		st, err := tx.PrepareContext(ctx, insertEdge)
		if err != nil {
			return fmt.Errorf("embedded store: prepare edges: %w", err)
		}
		defer st.Close()
		for _, e := range b.Edges {
			if _, err := st.ExecContext(ctx, e.FromTraceID, e.FromSpanID, e.FromEventID, e.ToTraceID, e.ToSpanID,
				e.CorrelationID, string(e.Kind), int64(e.StartNS)); err != nil {
				return fmt.Errorf("embedded store: insert edge: %w", err)
			}
		}
	}
	if err := writeBroker(ctx, tx, b); err != nil {
		return err
	}
	if len(b.Spans) > 0 {
		st, err := tx.PrepareContext(ctx, insertSpan)
		if err != nil {
			return fmt.Errorf("embedded store: prepare spans: %w", err)
		}
		defer st.Close()
		for i := range b.Spans {
			sp := &b.Spans[i]
			if _, err := st.ExecContext(ctx, sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.Service, sp.Name, sp.Kind,
				int64(sp.StartNS), int64(sp.DurationNS), sp.StatusCode, sp.StatusMessage, jsonText(sp.Links),
				jsonText(sp.Attributes)); err != nil {
				return fmt.Errorf("embedded store: insert span %s/%s: %w", sp.TraceID, sp.SpanID, err)
			}
		}
	}
	return nil
}

// jsonText encodes links or attributes; empty values become "".
func jsonText(v any) string {
	switch x := v.(type) {
	case []event.Link:
		if len(x) == 0 {
			return ""
		}
	case map[string]string:
		if len(x) == 0 {
			return ""
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func decodeJSON[T any](s string, dst *T) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

// placeholders returns "?,?,…" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// Events implements store.Reader.
func (s *Store) Events(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	limit, err := store.Limit(q.Limit)
	if err != nil {
		return store.EventPage{}, err
	}
	cur, err := store.ParseCursor(q.Cursor)
	if err != nil {
		return store.EventPage{}, err
	}
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	in := func(col string, vs []string) {
		if len(vs) > 0 {
			where = append(where, col+" IN ("+placeholders(len(vs))+")")
			for _, v := range vs {
				args = append(args, v)
			}
		}
	}
	eq("correlation_id", q.CorrelationID)
	in("trace_id", q.TraceIDs)
	in("event_id", q.EventIDs)
	eq("service", q.Service)
	eq("destination", q.Destination)
	eq("event_type", q.EventType)
	eq("outcome", string(q.Outcome))
	if !q.Since.IsZero() {
		where = append(where, "start_ns >= ?")
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where = append(where, "start_ns < ?")
		args = append(args, q.Until.UnixNano())
	}
	if q.Cursor != "" {
		where = append(where, "(start_ns < ? OR (start_ns = ? AND span_id < ?))")
		args = append(args, int64(cur.StartNS), int64(cur.StartNS), cur.SpanID)
	}
	query := "SELECT " + eventCols + " FROM events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY start_ns DESC, span_id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return store.EventPage{}, fmt.Errorf("embedded store: events: %w", err)
	}
	defer rows.Close()
	page := store.EventPage{Events: []event.Event{}}
	for rows.Next() {
		var e event.Event
		var links, attrs, op, outcome string
		var start, dur int64
		if err := rows.Scan(&e.TraceID, &e.SpanID, &e.EventID, &e.EventType, &e.SchemaVersion, &e.CorrelationID,
			&e.CausationID, &e.ParentSpanID, &links, &e.Service, &e.Handler, &e.System, &e.Cluster, &e.Destination,
			&e.Partition, &e.Offset, &e.ConsumerGroup, &op, &outcome, &e.Error, &e.Attempt, &start, &dur,
			&e.PayloadSize, &e.ReplayOf, &attrs); err != nil {
			return store.EventPage{}, fmt.Errorf("embedded store: events: %w", err)
		}
		e.Op, e.Outcome, e.StartNS, e.DurationNS = event.Op(op), event.Outcome(outcome), uint64(start), uint64(dur)
		if err := errors.Join(decodeJSON(links, &e.Links), decodeJSON(attrs, &e.Attributes)); err != nil {
			return store.EventPage{}, fmt.Errorf("embedded store: event %s/%s: %w", e.TraceID, e.SpanID, err)
		}
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return store.EventPage{}, fmt.Errorf("embedded store: events: %w", err)
	}
	if len(page.Events) > limit {
		page.Events = page.Events[:limit]
		page.Next = store.CursorAfter(page.Events[limit-1])
	}
	return page, nil
}

// Edges implements store.Reader.
func (s *Store) Edges(ctx context.Context, q store.EdgeQuery) ([]event.Edge, error) {
	var parts []string
	var args []any
	add := func(col string, vs []string) {
		if len(vs) == 0 {
			return
		}
		parts = append(parts, "SELECT "+edgeCols+" FROM edges WHERE "+col+" IN ("+placeholders(len(vs))+")")
		for _, v := range vs {
			args = append(args, v)
		}
	}
	add("to_trace_id", q.TraceIDs)
	add("from_trace_id", q.TraceIDs)
	add("from_event_id", q.FromEventIDs)
	out := []event.Edge{}
	if len(parts) == 0 {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, strings.Join(parts, " UNION ")+" ORDER BY start_ns", args...)
	if err != nil {
		return nil, fmt.Errorf("embedded store: edges: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e event.Edge
		var kind string
		var start int64
		if err := rows.Scan(&e.FromTraceID, &e.FromSpanID, &e.FromEventID, &e.ToTraceID, &e.ToSpanID,
			&e.CorrelationID, &kind, &start); err != nil {
			return nil, fmt.Errorf("embedded store: edges: %w", err)
		}
		e.Kind, e.StartNS = event.EdgeKind(kind), uint64(start)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded store: edges: %w", err)
	}
	return out, nil
}

// Spans implements store.Reader.
func (s *Store) Spans(ctx context.Context, traceID string) ([]event.Span, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+spanCols+" FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id", traceID)
	if err != nil {
		return nil, fmt.Errorf("embedded store: spans: %w", err)
	}
	defer rows.Close()
	out := []event.Span{}
	for rows.Next() {
		var sp event.Span
		var links, attrs string
		var start, dur int64
		if err := rows.Scan(&sp.TraceID, &sp.SpanID, &sp.ParentSpanID, &sp.Service, &sp.Name, &sp.Kind, &start, &dur,
			&sp.StatusCode, &sp.StatusMessage, &links, &attrs); err != nil {
			return nil, fmt.Errorf("embedded store: spans: %w", err)
		}
		sp.StartNS, sp.DurationNS = uint64(start), uint64(dur)
		if err := errors.Join(decodeJSON(links, &sp.Links), decodeJSON(attrs, &sp.Attributes)); err != nil {
			return nil, fmt.Errorf("embedded store: span %s/%s: %w", sp.TraceID, sp.SpanID, err)
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded store: spans: %w", err)
	}
	return out, nil
}

// flowSample caps the durations kept per flow group for quantiles.
const flowSample = 10000

// Flows implements store.Reader. Quantiles are exact for groups of up to
// flowSample operations and computed over the most recent flowSample
// durations beyond that.
func (s *Store) Flows(ctx context.Context, q store.FlowQuery) (store.FlowMap, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT service, system, destination, consumer_group, op, outcome != 'ok', duration_ns
		FROM events WHERE start_ns >= ? AND start_ns < ? AND destination != '' ORDER BY start_ns DESC`,
		q.Since.UnixNano(), q.Until.UnixNano())
	if err != nil {
		return store.FlowMap{}, fmt.Errorf("embedded store: flows: %w", err)
	}
	defer rows.Close()
	type group struct {
		row  store.FlowRow
		durs []uint64
	}
	groups := map[store.FlowRow]*group{}
	for rows.Next() {
		var key store.FlowRow
		var op string
		var failed bool
		var dur int64
		if err := rows.Scan(&key.Service, &key.System, &key.Destination, &key.ConsumerGroup, &op, &failed, &dur); err != nil {
			return store.FlowMap{}, fmt.Errorf("embedded store: flows: %w", err)
		}
		key.Op = event.Op(op)
		g := groups[key]
		if g == nil {
			g = &group{row: key}
			groups[key] = g
		}
		g.row.Count++
		if failed {
			g.row.Errors++
		}
		if len(g.durs) < flowSample {
			g.durs = append(g.durs, uint64(dur))
		}
	}
	if err := rows.Err(); err != nil {
		return store.FlowMap{}, fmt.Errorf("embedded store: flows: %w", err)
	}
	out := make([]store.FlowRow, 0, len(groups))
	for _, g := range groups {
		sort.Slice(g.durs, func(i, j int) bool { return g.durs[i] < g.durs[j] })
		g.row.P50NS, g.row.P99NS = quantile(g.durs, 0.5), quantile(g.durs, 0.99)
		out = append(out, g.row)
	}
	return store.BuildFlowMap(out), nil
}

// quantile returns the nearest-rank quantile of sorted values.
func quantile(sorted []uint64, q float64) uint64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return sorted[i]
}
