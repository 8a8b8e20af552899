// Package embedded is Causeway's default store: pure Go (modernc.org/sqlite,
// no cgo), one directory on disk holding one database file, for
// `causeway demo`, the desktop app and small teams. It registers the
// "embedded" URL scheme: embedded:///abs/path/to/dir.
//
// Durability: the database runs in WAL mode with synchronous=NORMAL. A
// Write that returned nil survives a crash or kill of the process (the
// guarantee the collector's spool relies on before it commits), though the
// last transactions may be lost if the machine loses power before the WAL
// is checkpointed. synchronous=FULL would close that gap at the cost of an
// fsync per batch; the collector's spool, fsync'd on its own, already
// covers a power loss for data it has not yet seen stored.
//
// Concurrency: one writer connection (SQLite has one writer at a time;
// writes are serialised in the process rather than retried on SQLITE_BUSY)
// and a pool of read-only connections that read concurrently with it under
// WAL. busy_timeout covers another process holding the write lock.
//
// Idempotency: every insert is INSERT OR IGNORE on the row's key,
// (trace_id, span_id) for events and spans and the full edge for edges,
// so retried and repeated batches never duplicate rows; the flow rollups
// count only the events a write actually inserted.
//
// Layout (schema 2, migration 010; eventrow.go, pack.go, dict.go): each
// messaging span is stored once, in its event's row, which keeps what the
// span adds to the event (name, kind, status, the attributes lineage
// mapped to the event's fields, most as one-byte references to those
// fields); spans holds plain spans only. Hex ids are stored as bytes,
// repeated strings (services, destinations, types, span names, attribute
// key sets, the values of attributes with few distinct values) as numbers
// into the dict table, and what queries do not filter on is packed into
// one body column. Edges an event row implies (parent, causation,
// same-trace links) are derived when read, not stored. About 280 bytes
// per event on disk with every index (docs/benchmarks.md).
//
// Reads: every lookup (by trace, correlation id, message key, event id,
// edge end) is an index search, checked by TestQueryPlans. Flow maps come
// from per-minute rollups kept on ingest (flow_minute, rollup.go): counts
// are exact, p50/p99 come from merged log-bucket histograms (within 1%),
// and a window's ragged ends (under a minute each) are read from the
// events, so a flow map costs the same at 10M events as at 10k.
//
// Schema: versioned migrations embedded from schema/*.sql, applied in
// order on Open; PRAGMA user_version records how many ran. Migration 010
// renames the schema-1 tables; Open then moves their rows through the
// write path in resumable chunks (upgrade.go) and drops them.
//
// Retention (retention.go): ApplyRetention deletes by start time in
// batches of a few thousand rows, each a short transaction on the writer,
// then gives the pages back with PRAGMA incremental_vacuum (databases
// created since schema 7 are in auto_vacuum=INCREMENTAL mode; older ones
// reuse freed pages instead of returning them).
package embedded

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/causeway-dev/causeway/store"
)

// dbFile is the database's file name inside the store's directory.
const dbFile = "causeway.db"

// writerCacheKiB is the writer connection's page cache (PRAGMA
// cache_size): 64 MiB, the index pages of some tens of millions of events.
const writerCacheKiB = 64 << 10

func init() {
	store.Register("embedded", func(_ context.Context, u *url.URL) (store.Store, error) {
		dir, err := dirFromURL(u, runtime.GOOS)
		if err != nil {
			return nil, err
		}
		return Open(dir)
	})
}

// dirFromURL returns the directory an embedded:// URL names. The path must
// be absolute: embedded:///var/lib/causeway. On Windows the drive may be
// written embedded:///C:/data or embedded://C:/data.
func dirFromURL(u *url.URL, goos string) (string, error) {
	const want = "want embedded:///absolute/path/to/dir"
	if u.Opaque != "" {
		return "", fmt.Errorf("embedded store URL %q: the path must be absolute (%s)", u.String(), want)
	}
	p, host := u.Path, u.Host
	if isDrive(host) { // embedded://C:/data
		p, host = host+p, ""
	}
	if host != "" && host != "localhost" {
		return "", fmt.Errorf("embedded store URL %q: unexpected host %q; the store is a local directory (%s)", u.String(), host, want)
	}
	if p == "" || p == "/" {
		return "", fmt.Errorf("embedded store URL %q has no directory (%s)", u.String(), want)
	}
	if goos == "windows" && len(p) > 2 && p[0] == '/' && isDrive(p[1:3]) { // embedded:///C:/data
		p = p[1:]
	}
	if goos == "windows" {
		return filepath.FromSlash(p), nil
	}
	return path.Clean(p), nil
}

func isDrive(s string) bool {
	return len(s) == 2 && s[1] == ':' && ('a' <= s[0]|0x20 && s[0]|0x20 <= 'z')
}

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	dir string
	w   *sql.DB // one connection: SQLite has one writer
	r   *sql.DB // read-only connections, concurrent under WAL
	// inserts are the prepared multi-row inserts on w, by table.
	inserts map[string]*sql.Stmt
	// oldest is the events horizon of the last retention pass.
	oldest oldestRetained
	// dict caches the numbers of repeated strings (dict.go).
	dict *dict
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Retainer = (*Store)(nil)
)

// Open opens the store in dir, creating the directory and the database if
// needed, and applies any migrations the database lacks.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("embedded store: no directory given")
	}
	// Only its owner reads the store: it holds what services sent. SQLite
	// gives the -wal and -shm files the database file's mode, so creating
	// that file 0600 covers them.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded store %q: create directory: %w", dir, err)
	}
	file := filepath.Join(dir, dbFile)
	if f, err := os.OpenFile(file, os.O_CREATE|os.O_RDONLY, 0o600); err == nil {
		f.Close()
	}
	// A file: URI: escape what would end the path or start the query.
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(file))
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	// The writer's page cache holds the indexes' hot pages: inserts land
	// at random places in events_key and events_event_id, and with the
	// default 2 MiB cache a third of ingest went to re-reading pages.
	w, err := sql.Open("sqlite", uri+pragmas+"&_pragma=cache_size(-"+strconv.Itoa(writerCacheKiB)+")&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("embedded store %q: open: %w", dir, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{dir: dir, w: w, dict: newDict()}
	if err := s.incrementalVacuum(); err != nil {
		w.Close()
		return nil, fmt.Errorf("embedded store %q: %w", dir, err)
	}
	if err := s.migrate(); err != nil {
		w.Close()
		return nil, fmt.Errorf("embedded store %q: %w", dir, err)
	}
	if err := s.prepareInserts(); err != nil {
		w.Close() // closes the statements prepared on it too
		return nil, fmt.Errorf("embedded store %q: %w", dir, err)
	}
	if err := s.upgradeRows(context.Background()); err != nil {
		s.closeInserts()
		w.Close()
		return nil, fmt.Errorf("embedded store %q: %w", dir, err)
	}
	// Migrations free pages (010 drops the schema-1 indexes and tables):
	// give them back, so that the store's free pages are what retention
	// freed (the watermark counts them as free disk).
	if err := s.vacuum(context.Background()); err != nil {
		s.closeInserts()
		w.Close()
		return nil, fmt.Errorf("embedded store %q: %w", dir, err)
	}
	r, err := sql.Open("sqlite", uri+pragmas+"&_pragma=query_only(true)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("embedded store %q: open: %w", dir, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	return s, nil
}

// Dir returns the directory the store keeps its data in.
func (s *Store) Dir() string { return s.dir }

// Close closes the database. Written data stays on disk; the last
// connection to close checkpoints the WAL into the database file.
func (s *Store) Close() error {
	errs := append(s.closeInserts(), s.r.Close(), s.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("embedded store %q: close: %w", s.dir, err)
	}
	return nil
}

// closeInserts closes the prepared statements on the writer.
func (s *Store) closeInserts() []error {
	errs := make([]error, 0, len(s.inserts)+2)
	for _, st := range s.inserts {
		errs = append(errs, st.Close())
	}
	return errs
}

//go:embed schema/*.sql
var schemaFS embed.FS

// migrations returns the schema files in order: NNN_name.sql, numbered
// from 001 without gaps.
func migrations() ([]string, error) {
	names, err := fs.Glob(schemaFS, "schema/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, name := range names {
		if want := fmt.Sprintf("schema/%03d_", i+1); !strings.HasPrefix(name, want) {
			return nil, fmt.Errorf("migration %s: want a name starting %s", name, want)
		}
		b, err := schemaFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

// incrementalVacuum puts a new database (no schema yet) in
// auto_vacuum=INCREMENTAL mode, so that retention can give deleted rows'
// space back to the file system. The file already has a header (WAL mode
// wrote it), so the mode takes effect with a VACUUM, instant on an empty
// database. Older databases keep their mode and reuse freed pages (a
// VACUUM of a big store would hold the writer for minutes).
func (s *Store) incrementalVacuum() error {
	var v int
	if err := s.w.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v != 0 {
		return nil
	}
	if _, err := s.w.Exec(`PRAGMA auto_vacuum = INCREMENTAL`); err != nil {
		return fmt.Errorf("auto_vacuum: %w", err)
	}
	if _, err := s.w.Exec(`VACUUM`); err != nil {
		return fmt.Errorf("auto_vacuum: %w", err)
	}
	return nil
}

// migrate applies the migrations the database has not run yet, each in
// its own transaction together with the new user_version.
func (s *Store) migrate() error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	var v int
	if err := s.w.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(ms) {
		return fmt.Errorf("schema version %d is newer than this build knows (%d): upgrade causeway", v, len(ms))
	}
	for i := v; i < len(ms); i++ {
		if err := s.migrateOne(i+1, ms[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

func (s *Store) migrateOne(version int, ddl string) error {
	tx, err := s.w.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(ddl); err != nil {
		return err
	}
	// PRAGMA takes no bound parameters; version is our own integer.
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, version)); err != nil {
		return err
	}
	return tx.Commit()
}
