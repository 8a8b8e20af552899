package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// edgeReadCols are the columns an edge is read from (edgeCols without date).
const edgeReadCols = "from_trace_id, from_span_id, from_event_id, to_trace_id, to_span_id, correlation_id, kind, start_ns"

// Edges implements store.Reader. The edges are kept three times, each
// copy sorted for one lookup (schema 001): by the causing span's trace
// (edges_by_from_trace, which holds the edges that have one), by the
// caused span's trace (edges) and by the causing event id
// (edges_by_from_event). On one server the three lookups are one query,
// a UNION ALL, with the ids as external tables (idSets); the second and
// third leave out the edges the first returns (a causing trace among
// q.TraceIDs), so no edge crosses the wire twice and, in PREWHERE, the
// other columns of those rows are not read. A cluster asks the three
// lookups at once (clusterEdges).
func (s *Store) Edges(ctx context.Context, q store.EdgeQuery) (_ []event.Edge, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	if len(q.TraceIDs) == 0 && len(q.FromEventIDs) == 0 {
		return []event.Edge{}, nil
	}
	if s.cluster != "" {
		return s.clusterEdges(ctx, q)
	}
	var names []string
	var lists [][]string
	if len(q.TraceIDs) > 0 {
		names, lists = append(names, "edge_traces"), append(lists, q.TraceIDs)
	}
	if len(q.FromEventIDs) > 0 {
		names, lists = append(names, "edge_events"), append(lists, q.FromEventIDs)
	}
	ctx, sets, err := s.idSets(ctx, names, lists...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: edges: %w", err)
	}
	var parts []string
	var args []any
	notFromTraces, notFromArgs := "", []any(nil)
	if len(q.TraceIDs) > 0 {
		traces := sets[0]
		// Not the rows the first part returns: edges_by_from_trace has
		// every edge with a causing trace (its view skips the others).
		notFromTraces = " AND (from_trace_id = '' OR from_trace_id NOT IN " + traces.expr + ")"
		notFromArgs = traces.args
		parts = append(parts,
			"SELECT "+edgeReadCols+" FROM edges_by_from_trace PREWHERE from_trace_id IN "+traces.expr,
			"SELECT "+edgeReadCols+" FROM edges PREWHERE to_trace_id IN "+traces.expr+notFromTraces)
		args = append(append(append(args, traces.args...), traces.args...), notFromArgs...)
	}
	if len(q.FromEventIDs) > 0 {
		events := sets[len(sets)-1]
		parts = append(parts, "SELECT "+edgeReadCols+" FROM edges_by_from_event PREWHERE from_event_id IN "+events.expr+notFromTraces)
		args = append(append(args, events.args...), notFromArgs...)
	}
	rows, err := s.conn.Query(ctx, strings.Join(parts, " UNION ALL "), args...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: edges: %w", err)
	}
	defer rows.Close()
	out, err := scanEdges(rows, nil)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: edges: %w", err)
	}
	return dedupeEdges(out), nil
}

// edgeRows is what scanEdges reads (driver.Rows).
type edgeRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanEdges appends the rows of an edgeReadCols query to out.
func scanEdges(rows edgeRows, out []event.Edge) ([]event.Edge, error) {
	for rows.Next() {
		var e event.Edge
		var kind string
		if err := rows.Scan(&e.FromTraceID, &e.FromSpanID, &e.FromEventID, &e.ToTraceID, &e.ToSpanID, &e.CorrelationID, &kind, &e.StartNS); err != nil {
			return nil, err
		}
		e.Kind = event.EdgeKind(kind)
		out = append(out, e)
	}
	return out, rows.Err()
}

// dedupeEdges drops repeated edges (an edge written twice), keeping the
// first; never nil.
func dedupeEdges(found []event.Edge) []event.Edge {
	out := make([]event.Edge, 0, len(found))
	seen := make(map[event.Edge]bool, len(found))
	for _, e := range found {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// clusterEdges is Edges on a cluster: the three lookups at once, each on
// its copy of the edges, with lists of literals of at most maxIn ids.
func (s *Store) clusterEdges(ctx context.Context, q store.EdgeQuery) ([]event.Edge, error) {
	lookup := func(table, col string, ids []string) ([]event.Edge, error) {
		var found []event.Edge
		err := chunks(ids, func(ids []string) error {
			in, args := inList(col, ids)
			rows, err := s.conn.Query(ctx, "SELECT "+edgeReadCols+" FROM "+table+" WHERE "+in, args...)
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			defer rows.Close()
			found, err = scanEdges(rows, found)
			return err
		})
		return found, err
	}
	lookups := []struct {
		table, col string
		ids        []string
	}{{"edges", "to_trace_id", q.TraceIDs}, {"edges_by_from_trace", "from_trace_id", q.TraceIDs}, {"edges_by_from_event", "from_event_id", q.FromEventIDs}}
	results := make([][]event.Edge, len(lookups))
	errs := make([]error, len(lookups))
	var wg sync.WaitGroup
	for i, l := range lookups {
		if len(l.ids) == 0 {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); results[i], errs[i] = lookup(l.table, l.col, l.ids) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("clickhouse store: edges: %w", err)
	}
	var all []event.Edge
	for _, found := range results {
		all = append(all, found...)
	}
	return dedupeEdges(all), nil
}
