package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/event"
)

// insertEvents sends events as one block built column by column: a
// slice per column appended whole, instead of a row of interfaces per
// event that the driver takes apart again (which was most of the store's
// CPU per event on ingest). The columns are eventCols, in order.
func (s *Store) insertEvents(ctx context.Context, events []event.Event, folded map[spanKey]foldedSpan) error {
	n := len(events)
	var (
		dates                                     = make([]time.Time, n)
		starts, durations                         = make([]uint64, n), make([]uint64, n)
		partitions, attempts                      = make([]int32, n), make([]int32, n)
		offsets, payloads                         = make([]int64, n), make([]int64, n)
		spanFlags                                 = make([]uint8, n)
		linkTraces, linkSpans, keys, values       = make([][]string, n), make([][]string, n), make([][]string, n), make([][]string, n)
		extraKeys, extraValues                    = make([][]string, n), make([][]string, n)
		traces, spanIDs, ids, types, versions     = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		correlations, causations, parents         = make([]string, n), make([]string, n), make([]string, n)
		services, handlers, systems, clusters     = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		destinations, groups, ops, outcomes, errs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		replays, messageKeys                      = make([]string, n), make([]string, n)
		names, kinds, statusCodes, statusMessages = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	)
	for i := range events {
		e := &events[i]
		dates[i], starts[i], durations[i] = day(e.StartNS), e.StartNS, e.DurationNS
		partitions[i], attempts[i], offsets[i], payloads[i] = e.Partition, e.Attempt, e.Offset, e.PayloadSize
		linkTraces[i], linkSpans[i] = links(e.Links)
		keys[i], values[i] = attrs(e.Attributes)
		traces[i], spanIDs[i], ids[i], types[i], versions[i] = e.TraceID, compactID(e.SpanID), e.EventID, e.EventType, e.SchemaVersion
		correlations[i], causations[i], parents[i] = e.CorrelationID, e.CausationID, compactID(e.ParentSpanID)
		services[i], handlers[i], systems[i], clusters[i] = e.Service, e.Handler, e.System, e.Cluster
		destinations[i], groups[i], ops[i], outcomes[i], errs[i] = e.Destination, e.ConsumerGroup, string(e.Op), string(e.Outcome), e.Error
		replays[i], messageKeys[i] = e.ReplayOf, e.MessageKey
		if f, ok := folded[spanKey{e.TraceID, e.SpanID}]; ok {
			spanFlags[i], names[i], kinds[i], statusCodes[i], statusMessages[i] = 1, f.name, f.kind, f.statusCode, f.statusMessage
			extraKeys[i], extraValues[i] = f.extraKeys, f.extraValues
		} else {
			extraKeys[i], extraValues[i] = []string{}, []string{}
		}
	}
	columns := []any{dates, starts, traces, spanIDs, ids, types, versions, correlations, causations, parents,
		linkTraces, linkSpans, services, handlers, systems, clusters, destinations, partitions, offsets, groups, ops,
		outcomes, errs, attempts, durations, payloads, replays, keys, values, messageKeys,
		spanFlags, names, kinds, statusCodes, statusMessages, extraKeys, extraValues}
	return s.insertColumns(ctx, "events", eventCols, columns...)
}

// insertColumns sends one block of table's cols (in order), each column
// a slice of its values, all of the same length.
func (s *Store) insertColumns(ctx context.Context, table, cols string, columns ...any) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+cols+")")
	if err != nil {
		return fmt.Errorf("clickhouse store: insert %s: %w", table, err)
	}
	defer batch.Abort()
	for i, c := range columns {
		if err := batch.Column(i).Append(c); err != nil {
			return fmt.Errorf("clickhouse store: insert %s column %d: %w", table, i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse store: insert %s: %w", table, err)
	}
	return nil
}
