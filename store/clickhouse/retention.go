package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/causeway-dev/causeway/store"
)

// Retention on ClickHouse 18.16, which has no TTL: tables are partitioned
// by month (toYYYYMM(date)), so a pass drops the whole months older than
// the horizon's day (ALTER TABLE … DROP PARTITION, instant) and removes
// the older days of the horizon's own month with a mutation (ALTER TABLE
// … DELETE WHERE date < day), which rewrites that month's parts holding
// such rows in the background. Whole days go: a row is deleted within a
// day after it passed the horizon, and a month's mutation runs once a day
// however often passes run, since a pass skips tables with nothing to
// delete. Tables without a partition key (alert history, replays) are
// small and get the mutation alone. A pass waits for its mutations, so
// its counts are of rows gone. In cluster mode it runs on every node's
// local tables (Distributed tables take no ALTER). The audit log is never
// touched.

// chRetentionTable is one table retention deletes from: its partition
// expression's column (date or minute) or, for unpartitioned tables, a
// nanosecond time column.
type chRetentionTable struct {
	name      string
	broker    bool
	dateCol   string // partitioned by toYYYYMM(dateCol)
	timeNSCol string // unpartitioned: rows with timeNSCol < the day's start go
}

var chRetentionTables = []chRetentionTable{
	{name: "events", dateCol: "date"},
	{name: "events_by_trace", dateCol: "date"},
	{name: "events_by_correlation", dateCol: "date"},
	{name: "events_by_event_id", dateCol: "date"},
	{name: "spans", dateCol: "date"},
	{name: "edges", dateCol: "date"},
	{name: "edges_by_from_trace", dateCol: "date"},
	{name: "edges_by_from_event", dateCol: "date"},
	{name: "flows_1m", dateCol: "minute"},
	{name: "dlq", broker: true, dateCol: "date"},
	{name: "lag", broker: true, dateCol: "date"},
	{name: "alert_events", broker: true, timeNSCol: "time_ns"},
	{name: "replay_items", broker: true, timeNSCol: "time_ns"},
	{name: "replays", broker: true, timeNSCol: "updated_ns"},
}

// RetentionTables lists the tables retention deletes from.
func (s *Store) RetentionTables() []string {
	out := make([]string, len(chRetentionTables))
	for i, t := range chRetentionTables {
		out[i] = t.name
	}
	return out
}

// chOldest holds the EventsBefore of the last completed pass, in ns.
type chOldest struct{ ns atomic.Int64 }

var _ store.Retainer = (*Store)(nil)

// OldestRetained returns the events horizon of the last completed
// retention pass of this process (zero before the first).
func (s *Store) OldestRetained(context.Context) (time.Time, error) {
	ns := s.oldest.ns.Load()
	if ns == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, ns).UTC(), nil
}

// retentionNode is a connection to one server's tables: the store's own
// database, or a cluster node's local database.
type retentionNode struct {
	conn driver.Conn
	db   string
}

// retentionNodes returns the servers whose tables a pass alters and a
// function that closes the connections it opened.
func (s *Store) retentionNodes(ctx context.Context) ([]retentionNode, func(), error) {
	if s.cluster == "" {
		return []retentionNode{{s.conn, s.db}}, func() {}, nil
	}
	opts := *s.opts
	opts.Auth.Database = "default"
	boot, err := ch.Open(&opts)
	if err != nil {
		return nil, nil, err
	}
	nodes, err := clusterNodes(ctx, boot, s.cluster)
	boot.Close()
	if err != nil {
		return nil, nil, err
	}
	var out []retentionNode
	closeAll := func() {
		for _, n := range out {
			n.conn.Close()
		}
	}
	for _, n := range nodes {
		o := opts
		o.Addr = []string{n.addr}
		o.Auth.Database = s.db + "_local"
		conn, err := ch.Open(&o)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("cluster %s shard %d (%s): %w", s.cluster, n.shard, n.addr, err)
		}
		out = append(out, retentionNode{conn, o.Auth.Database})
	}
	return out, closeAll, nil
}

// ApplyRetention drops and deletes, on every node, the days before each
// horizon's day (UTC), and returns the rows that went.
func (s *Store) ApplyRetention(ctx context.Context, p store.RetentionPolicy) (store.RetentionResult, error) {
	res := store.RetentionResult{Deleted: map[string]int64{}}
	nodes, closeNodes, err := s.retentionNodes(ctx)
	if err != nil {
		return res, fmt.Errorf("clickhouse store: retention: %w", err)
	}
	defer closeNodes()
	for _, t := range chRetentionTables {
		before := p.EventsBefore
		if t.broker {
			before = p.BrokerBefore
		}
		if before.IsZero() {
			continue
		}
		day := before.UTC().Truncate(24 * time.Hour)
		for _, n := range nodes {
			deleted, err := retainTable(ctx, n, t, day)
			if deleted > 0 {
				res.Deleted[t.name] += deleted
			}
			if err != nil {
				return res, fmt.Errorf("clickhouse store: retention of %s.%s: %w", n.db, t.name, err)
			}
		}
	}
	if !p.EventsBefore.IsZero() {
		s.oldest.ns.Store(p.EventsBefore.UnixNano())
	}
	return res, nil
}

// retainTable removes t's rows of days before day on one node.
func retainTable(ctx context.Context, n retentionNode, t chRetentionTable, day time.Time) (int64, error) {
	table := n.db + "." + t.name
	var cond string
	if t.dateCol != "" {
		col := t.dateCol
		if col != "date" {
			col = "toDate(" + col + ")"
		}
		cond = fmt.Sprintf("%s < toDate('%s')", col, day.Format("2006-01-02"))
	} else {
		cond = fmt.Sprintf("%s < %d", t.timeNSCol, day.UnixNano())
	}
	var count uint64
	if err := n.conn.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE "+cond).Scan(&count); err != nil {
		return 0, err
	}
	if count == 0 {
		return 0, nil
	}
	if t.dateCol != "" {
		month, _ := strconv.Atoi(day.Format("200601"))
		parts, err := oldPartitions(ctx, n, t.name, month)
		if err != nil {
			return 0, err
		}
		for _, part := range parts {
			if err := n.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %d", table, part)); err != nil {
				return 0, fmt.Errorf("drop partition %d: %w", part, err)
			}
		}
		var left uint64
		if err := n.conn.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE "+cond).Scan(&left); err != nil {
			return 0, err
		}
		if left == 0 {
			return int64(count), nil
		}
	}
	if err := n.conn.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+cond); err != nil {
		return 0, fmt.Errorf("delete mutation: %w", err)
	}
	return int64(count), waitMutations(ctx, n, t.name)
}

// oldPartitions lists the active monthly partitions of a table older than month (YYYYMM).
func oldPartitions(ctx context.Context, n retentionNode, table string, month int) ([]int, error) {
	rows, err := n.conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = ? AND active", n.db, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		if v, err := strconv.Atoi(p); err == nil && v < month {
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// waitMutations waits until the table has no mutation in progress.
func waitMutations(ctx context.Context, n retentionNode, table string) error {
	for {
		var pending uint64
		if err := n.conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0", n.db, table).Scan(&pending); err != nil {
			return fmt.Errorf("mutation status: %w", err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the delete mutation: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
