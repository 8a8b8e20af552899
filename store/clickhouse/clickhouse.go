// Package clickhouse is the ClickHouse store, for production volumes. It
// speaks the native protocol (clickhouse-go/v2) and runs on ClickHouse
// 18.16 (the oldest server we test) and on current releases. It registers
// the "clickhouse" URL scheme: clickhouse://user:pass@host:9000/db.
//
// Schema (schema/*.sql, applied in order on open and recorded in
// schema_migrations): events, spans and edges in MergeTree tables,
// partitioned by day so retention drops whole days (retention.go); a
// messaging span is kept in its event's row, not as a span row too
// (spans.go), with span ids in binary (ids.go); index tables fed by
// materialized views give the start times of a trace's, a correlation's,
// an event id's or a message key's events within the events query itself
// (read.go: only the granules holding them are read); edges are kept
// sorted three ways for the graph walk, read in one query (edgeread.go);
// flows_1m is a per-minute
// AggregatingMergeTree fed by a materialized view, so flow maps never
// scan raw events (and are minute-granular).
//
// Exactly-once: a first write inserts directly. A write with Batch.Retry
// first reads which of the batch's rows are already stored (by primary
// key or time range) and inserts only the others, so neither the raw
// tables nor the flow aggregates count anything twice. Reads also collapse
// rows with the same key (LIMIT 1 BY), so a client that sends the same
// span twice is still shown once.
package clickhouse

import (
	"context"
	"embed"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/causeway-dev/causeway/store"
)

func init() {
	store.Register("clickhouse", func(ctx context.Context, u *url.URL) (store.Store, error) {
		return Open(ctx, u.String())
	})
}

//go:embed schema/*.sql
var schemaFS embed.FS

// Store is the ClickHouse store. It is safe for concurrent use.
type Store struct {
	conn   driver.Conn
	db     string
	limits ReadLimits
	// cluster and opts are set in cluster mode: retention opens each
	// node's local tables with them.
	cluster string
	opts    *ch.Options
	// oldest is the events horizon of the last retention pass.
	oldest chOldest
	// ttl is the TTL retention last set per table (servers with TTL only).
	ttl ttlState
	// places are the journey places written (ledgerplaces.go).
	places placeCache
}

var _ store.Store = (*Store)(nil)

var validDB = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open connects, creates the database if needed and applies migrations.
// With ?cluster=NAME in the DSN it sets up and uses a cluster (cluster.go).
func Open(ctx context.Context, dsn string) (*Store, error) {
	cluster := ""
	var limits ReadLimits
	var files connFiles
	if u, err := url.Parse(dsn); err == nil {
		q := u.Query()
		cluster = q.Get("cluster")
		q.Del("cluster")
		files = takeConnFiles(q)
		if limits, err = takeReadLimits(q); err != nil {
			return nil, err
		}
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	if cluster != "" && !validDB.MatchString(cluster) {
		return nil, fmt.Errorf("clickhouse store: cluster name %q: want letters, digits and _", cluster)
	}
	opts, err := ch.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store %q: %w", store.Redact(dsn), err)
	}
	if err := files.apply(opts); err != nil {
		return nil, fmt.Errorf("clickhouse store %q: %w", store.Redact(dsn), err)
	}
	db := opts.Auth.Database
	if db == "" {
		db = "causeway"
	}
	if !validDB.MatchString(db) {
		return nil, fmt.Errorf("clickhouse store: database name %q: want letters, digits and _", db)
	}
	if opts.DialTimeout == 0 || opts.DialTimeout == 30*time.Second {
		opts.DialTimeout = 5 * time.Second
	}
	opts.ReadTimeout = time.Minute
	if cluster != "" {
		if opts.Settings == nil {
			opts.Settings = ch.Settings{}
		}
		opts.Settings["insert_distributed_sync"] = 1
		if err := setupCluster(ctx, *opts, db, cluster); err != nil {
			return nil, fmt.Errorf("clickhouse store %q: %w", store.Redact(dsn), err)
		}
		opts.Auth.Database = db
		conn, err := ch.Open(opts)
		if err != nil {
			return nil, fmt.Errorf("clickhouse store %q: %w", store.Redact(dsn), err)
		}
		return &Store{conn: conn, db: db, limits: limits, cluster: cluster, opts: opts}, nil
	}
	opts.Auth.Database = "default"
	boot, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store %q: %w", store.Redact(dsn), err)
	}
	err = boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db)
	boot.Close()
	if err != nil {
		return nil, fmt.Errorf("clickhouse store %q: create database: %w", store.Redact(dsn), err)
	}
	opts.Auth.Database = db
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store %q: %w", store.Redact(dsn), err)
	}
	s := &Store{conn: conn, db: db, limits: limits}
	if err := s.migrate(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse store %q: %w", store.Redact(dsn), err)
	}
	return s, nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.conn.Close() }

func (s *Store) migrate(ctx context.Context) error { return s.migrateTo(ctx, 0) }

// migrateTo applies the migrations up to version last (0: all of them).
func (s *Store) migrateTo(ctx context.Context, last uint32) error {
	if err := s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, applied_at DateTime) ENGINE = TinyLog`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	var applied uint32
	if err := s.conn.QueryRow(ctx, `SELECT toUInt32(max(version)) FROM schema_migrations`).Scan(&applied); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	files, err := schemaFS.ReadDir("schema")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, f.Name())
	}
	sort.Strings(names)
	for i, name := range names {
		version := uint32(i + 1)
		if version <= applied || last > 0 && version > last {
			continue
		}
		b, err := schemaFS.ReadFile("schema/" + name)
		if err != nil {
			return err
		}
		for _, stmt := range statements(string(b)) {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("migration %s: %w\n%s", name, err, stmt)
			}
		}
		batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, applied_at)")
		if err != nil {
			return fmt.Errorf("record migration %s: %w", name, err)
		}
		if err := batch.Append(version, time.Now()); err != nil {
			return fmt.Errorf("record migration %s: %w", name, err)
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("record migration %s: %w", name, err)
		}
	}
	return nil
}

// statements splits a schema file on lines holding only ";" and drops
// comments.
func statements(sql string) []string {
	var out []string
	for _, part := range strings.Split(sql, "\n;") {
		var lines []string
		for _, l := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			out = append(out, strings.Join(lines, "\n"))
		}
	}
	return out
}

// maxIn bounds the values bound into one IN list, to stay under the
// server's max_query_size.
const maxIn = 2000

// inList returns "col IN (?,?,…)" and its args for vs.
func inList(col string, vs []string) (string, []any) {
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(vs)), ",") + ")", args
}

// chunks calls fn for slices of at most maxIn values.
func chunks(vs []string, fn func([]string) error) error {
	for len(vs) > 0 {
		n := min(len(vs), maxIn)
		if err := fn(vs[:n]); err != nil {
			return err
		}
		vs = vs[n:]
	}
	return nil
}

func day(ns uint64) time.Time { return time.Unix(0, int64(ns)).UTC() }
