package clickhouse

import (
	"context"
	"fmt"
	"net"
	"strconv"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// Cluster mode (clickhouse://host:9000/db?cluster=NAME): every node listed
// for NAME in system.clusters gets the local tables in database
// <db>_local (the same migrations as a single server) and, in database
// <db>, a Distributed table over each of them, so the store's queries run
// unchanged against <db>. No ON CLUSTER (18.16 lacks it): Open connects to
// each node in turn. Inserts are synchronous (insert_distributed_sync), so
// a write returns only when every shard has its rows; with a shard down it
// fails, the collector keeps the batch in its spool and retries, and the
// retry inserts only the rows not stored yet.

// shardKeys are the Distributed tables' sharding expressions: the events
// of one correlation on one shard (a causation graph is mostly answered
// by one shard's rows) and those without a correlation id by their trace
// (else every event of an instrumentation that sets none, kafkajs say,
// would land on one shard), a trace's spans on one shard, and every version
// of a DLQ entry, a replay or a rule on one shard so that FINAL and
// LIMIT 1 BY collapse them. Tables fed by materialized views are written
// on each shard locally; their key does not matter.
var shardKeys = map[string]string{
	"events":       "cityHash64(if(correlation_id = '', trace_id, correlation_id))",
	"spans":        "cityHash64(trace_id)",
	"dlq":          "cityHash64(id)",
	"replays":      "cityHash64(id)",
	"replay_items": "cityHash64(replay_id)",
	"alert_rules":  "cityHash64(id)",
	"audit":        "cityHash64(writer)",
	// A correlation's ledger updates on one shard: its states merge there.
	"journey_ledger_in": "cityHash64(correlation_id)",
	"journeys":          "cityHash64(name)",
}

// node is one server of a cluster.
type node struct {
	shard uint32
	addr  string
}

// clusterNodes lists the cluster's servers from system.clusters.
func clusterNodes(ctx context.Context, conn ch.Conn, cluster string) ([]node, error) {
	rows, err := conn.Query(ctx, "SELECT shard_num, host_address, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cluster)
	if err != nil {
		return nil, fmt.Errorf("system.clusters: %w", err)
	}
	defer rows.Close()
	var out []node
	for rows.Next() {
		var n node
		var host string
		var port uint16
		if err := rows.Scan(&n.shard, &host, &port); err != nil {
			return nil, fmt.Errorf("system.clusters: %w", err)
		}
		n.addr = net.JoinHostPort(host, strconv.Itoa(int(port)))
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cluster %q is not defined on the server (system.clusters has no rows for it; see remote_servers in its configuration)", cluster)
	}
	return out, nil
}

// setupCluster migrates every node's local tables and creates the
// Distributed tables over them.
func setupCluster(ctx context.Context, opts ch.Options, db, cluster string) error {
	opts.Auth.Database = "default"
	boot, err := ch.Open(&opts)
	if err != nil {
		return err
	}
	nodes, err := clusterNodes(ctx, boot, cluster)
	boot.Close()
	if err != nil {
		return err
	}
	local := db + "_local"
	for _, n := range nodes {
		o := opts
		o.Addr = []string{n.addr}
		if err := setupNode(ctx, o, db, local, cluster); err != nil {
			return fmt.Errorf("cluster %s shard %d (%s): %w", cluster, n.shard, n.addr, err)
		}
	}
	return nil
}

func setupNode(ctx context.Context, opts ch.Options, db, local, cluster string) error {
	opts.Auth.Database = "default"
	conn, err := ch.Open(&opts)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, d := range []string{local, db} {
		if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+d); err != nil {
			return fmt.Errorf("create database %s: %w", d, err)
		}
	}
	opts.Auth.Database = local
	lconn, err := ch.Open(&opts)
	if err != nil {
		return err
	}
	err = (&Store{conn: lconn, db: local}).migrate(ctx)
	lconn.Close()
	if err != nil {
		return fmt.Errorf("migrate %s: %w", local, err)
	}
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND engine NOT LIKE '%View' AND name NOT LIKE '.inner.%' AND name != 'schema_migrations'", local)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	for _, t := range tables {
		key := shardKeys[t]
		if key == "" {
			key = "rand()"
		}
		q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s ENGINE = Distributed(%s, %s, %s, %s)", db, t, local, t, cluster, local, t, key)
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("distributed table %s: %w", t, err)
		}
		if err := addMissingColumns(ctx, conn, db, local, t); err != nil {
			return fmt.Errorf("distributed table %s: %w", t, err)
		}
	}
	return nil
}

// addMissingColumns adds to the Distributed table db.t the columns a later
// migration added to local.t: a Distributed table made before it (AS the
// local table as it was then) lacks them, and reads naming them would fail.
func addMissingColumns(ctx context.Context, conn ch.Conn, db, local, t string) error {
	rows, err := conn.Query(ctx, `SELECT name, type FROM system.columns WHERE database = ? AND table = ?
		AND name NOT IN (SELECT name FROM system.columns WHERE database = ? AND table = ?)`, local, t, db, t)
	if err != nil {
		return err
	}
	var add []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return err
		}
		add = append(add, fmt.Sprintf("ADD COLUMN `%s` %s", name, typ))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range add {
		if err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s %s", db, t, a)); err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
	}
	return nil
}
