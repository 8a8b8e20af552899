package clickhouse

import (
	"context"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/store"
)

// messageKeyIndex is the index table a lookup by message key reads first
// (schema 006, fed by events_by_message_key_mv), in the shape of Events'
// list of id filters: no ids when the query has no key.
func messageKeyIndex(key string) struct {
	table, col string
	ids        []string
} {
	return struct {
		table, col string
		ids        []string
	}{"events_by_message_key", "message_key", nonEmpty(key)}
}

var _ store.IDResolver = (*Store)(nil)

// idIndexes are the index tables ResolveID reads, in the order of
// store.IDKinds (each is sorted by its id, so a lookup reads a granule).
var idIndexes = []struct {
	kind       store.IDKind
	table, col string
}{
	{store.IDCorrelation, "events_by_correlation", "correlation_id"},
	{store.IDEvent, "events_by_event_id", "event_id"},
	{store.IDTrace, "events_by_trace", "trace_id"},
	{store.IDMessageKey, "events_by_message_key", "message_key"},
}

// ResolveID implements store.IDResolver in one query: a one-row lookup
// in each id's index table, united, and the first kind that answered.
func (s *Store) ResolveID(ctx context.Context, id, traceID string) (_ store.IDKind, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	var parts []string
	var args []any
	for i, x := range idIndexes {
		v := id
		if x.kind == store.IDTrace {
			if traceID == "" {
				continue
			}
			v = traceID
		}
		// k counts from 1: min() over no rows is 0.
		parts = append(parts, fmt.Sprintf("SELECT toUInt8(%d) AS k FROM %s WHERE %s = ? LIMIT 1", i+1, x.table, x.col))
		args = append(args, v)
	}
	var k uint8
	if err := s.conn.QueryRow(ctx, "SELECT min(k) FROM ("+strings.Join(parts, " UNION ALL ")+")", args...).Scan(&k); err != nil {
		return "", fmt.Errorf("clickhouse store: resolve id: %w", err)
	}
	if k == 0 {
		return store.NoMatch, nil
	}
	return idIndexes[k-1].kind, nil
}
