package clickhouse

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/store"
)

var _ store.TraceCounter = (*Store)(nil)

// TraceEventCounts implements store.TraceCounter from events_by_trace,
// sorted by trace id: a count reads a granule or two of the index per
// part, where reading the events reads every column of theirs.
func (s *Store) TraceEventCounts(ctx context.Context, traceIDs []string) (_ map[string]uint64, err error) {
	ctx = s.readContext(ctx)
	defer classify(ctx, &err)
	out := map[string]uint64{}
	err = chunks(traceIDs, func(ids []string) error {
		ctx, sets, err := s.idSets(ctx, []string{"count_traces"}, ids)
		if err != nil {
			return err
		}
		rows, err := s.conn.Query(ctx, "SELECT trace_id, count() FROM events_by_trace WHERE trace_id IN "+sets[0].expr+" GROUP BY trace_id", sets[0].args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t string
			var n uint64
			if err := rows.Scan(&t, &n); err != nil {
				return err
			}
			out[t] += n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: trace counts: %w", err)
	}
	return out, nil
}
