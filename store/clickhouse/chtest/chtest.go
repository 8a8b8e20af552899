// Package chtest starts private ClickHouse servers for tests: a temporary
// directory, free ports, its own config, stopped and removed when the test
// ends. With CAUSEWAY_CLICKHOUSE_DSN set it uses that server instead.
// Without either, tests skip — except under CI=true, where a missing
// ClickHouse fails the test, since a skipped test proves nothing.
package chtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/ClickHouse/clickhouse-go/v2" // registers the "clickhouse" database/sql driver
)

// Server is a ClickHouse server for tests.
type Server struct {
	host    string // host:port of the native protocol
	user    string
	pass    string
	dir     string // private servers only
	config  string
	binary  string
	cmd     *exec.Cmd
	done    chan struct{}
	private bool
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	dbCounter atomic.Int64
)

// Shared returns a server shared by every test of the binary, started on
// first use. Call StopShared from TestMain after m.Run.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil {
		s, err := start()
		if err != nil {
			unavailable(t, err)
		}
		shared = s
	}
	return shared
}

// StopShared stops the shared server, if one was started.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Stop()
		shared.cleanup()
		shared = nil
	}
}

// Start starts a private server for one test, stopped and removed at the
// end of it. Use it when the test stops or restarts the server.
func Start(t testing.TB) *Server {
	t.Helper()
	if os.Getenv("CAUSEWAY_CLICKHOUSE_DSN") != "" {
		t.Skip("this test stops its own ClickHouse server; it does not run against CAUSEWAY_CLICKHOUSE_DSN")
	}
	s, err := start()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() { s.Stop(); s.cleanup() })
	return s
}

// StartProcess starts a private server outside a test (or uses the one
// CAUSEWAY_CLICKHOUSE_DSN names), for benchmark commands such as
// cmd/causeway-scale. Call Close when done.
func StartProcess() (*Server, error) { return start() }

// Close stops a server from StartProcess and removes its directory (a
// server named by CAUSEWAY_CLICKHOUSE_DSN is left alone).
func (s *Server) Close() { s.Stop(); s.cleanup() }

func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI requires ClickHouse: %v", err)
	}
	t.Skipf("ClickHouse not available (install clickhouse-server or set CAUSEWAY_CLICKHOUSE_DSN): %v", err)
}

// UniqueDB returns a database name unique in this process, derived from name.
func UniqueDB(name string) string {
	clean := regexp.MustCompile(`[^A-Za-z0-9_]+`).ReplaceAllString(name, "_")
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return fmt.Sprintf("t%d_%d_%s", os.Getpid(), dbCounter.Add(1), strings.ToLower(clean))
}

// DSN is the clickhouse:// URL of database db on this server.
func (s *Server) DSN(db string) string {
	u := url.URL{Scheme: "clickhouse", Host: s.host, Path: "/" + db}
	if s.user != "" {
		u.User = url.UserPassword(s.user, s.pass)
	}
	return u.String()
}

// Addr is the host:port of the native protocol.
func (s *Server) Addr() string { return s.host }

func findBinary() (string, error) {
	for _, p := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("clickhouse-server not found in PATH or /usr/sbin")
}

func start() (*Server, error) {
	if dsn := os.Getenv("CAUSEWAY_CLICKHOUSE_DSN"); dsn != "" {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, fmt.Errorf("CAUSEWAY_CLICKHOUSE_DSN: %w", err)
		}
		s := &Server{host: u.Host}
		if u.User != nil {
			s.user = u.User.Username()
			s.pass, _ = u.User.Password()
		}
		return s, s.wait(30 * time.Second)
	}
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "causeway-clickhouse-")
	if err != nil {
		return nil, err
	}
	return startPrivate(bin, dir, freePort(), "")
}

// startPrivate starts a private server in dir on tcp, with extra XML
// inside <yandex> (a cluster definition, say).
func startPrivate(bin, dir, tcp, extra string) (*Server, error) {
	http, inter := freePort(), freePort()
	s := &Server{host: "127.0.0.1:" + tcp, dir: dir, binary: bin, private: true, config: filepath.Join(dir, "config.xml")}
	cfg := fmt.Sprintf(configXML, dir, dir, dir, dir, dir, tcp, http, inter, extra)
	if err := os.WriteFile(s.config, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := s.Restart(nil); err != nil {
		s.cleanup()
		return nil, err
	}
	return s, nil
}

// StartCluster starts n private servers that each know the cluster name
// as n shards of one replica, one per server, and stops them when t ends.
// Without clickhouse-server the test is skipped, or fails under CI=true.
func StartCluster(t testing.TB, name string, n int) []*Server {
	t.Helper()
	bin, err := findBinary()
	if err != nil {
		unavailable(t, err)
	}
	ports := make([]string, n)
	var shards strings.Builder
	for i := range ports {
		ports[i] = freePort()
		fmt.Fprintf(&shards, "<shard><replica><host>127.0.0.1</host><port>%s</port></replica></shard>", ports[i])
	}
	extra := fmt.Sprintf("<remote_servers><%s>%s</%s></remote_servers>", name, shards.String(), name)
	servers := make([]*Server, n)
	for i := range servers {
		dir, err := os.MkdirTemp("", "causeway-clickhouse-")
		if err != nil {
			t.Fatal(err)
		}
		s, err := startPrivate(bin, dir, ports[i], extra)
		if err != nil {
			os.RemoveAll(dir)
			t.Fatal(err)
		}
		servers[i] = s
		t.Cleanup(func() { s.Stop(); s.cleanup() })
	}
	return servers
}

// Restart starts a stopped private server again, on the same port and data.
func (s *Server) Restart(t testing.TB) error {
	if !s.private {
		return nil
	}
	s.cmd = exec.Command(s.binary, "--config-file="+s.config)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s.cmd.Dir = s.dir
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting clickhouse-server: %w", err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.done)
	if err := s.wait(60 * time.Second); err != nil {
		s.Stop()
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.err.log"))
		err = fmt.Errorf("%w\nserver error log:\n%s", err, tail(string(log), 3000))
		if t != nil {
			t.Fatal(err)
		}
		return err
	}
	return nil
}

// Stop stops a private server (SIGTERM, then SIGKILL after 10 s).
func (s *Server) Stop() {
	if !s.private || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

func (s *Server) cleanup() {
	if s.private && s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// wait polls SELECT 1 until it answers.
func (s *Server) wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if s.done != nil {
			select {
			case <-s.done:
				return fmt.Errorf("clickhouse-server exited at start")
			default:
			}
		}
		db, err := sql.Open("clickhouse", s.DSN("default")+"?dial_timeout=1s")
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("clickhouse at %s not answering after %s: %v", s.host, timeout, last)
}

// Query runs a query on database db and scans its single row into dst.
func (s *Server) Query(t testing.TB, db, query string, dst ...any) {
	t.Helper()
	conn, err := sql.Open("clickhouse", s.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.QueryRow(query).Scan(dst...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// SpanCounts returns the raw number of span records in database db — rows
// of the spans table and event rows holding their span — and the number
// of distinct (trace_id, span_id) among them: equal when no span is
// stored twice.
func (s *Server) SpanCounts(t testing.TB, db string) (rows, unique uint64) {
	t.Helper()
	s.Query(t, db, `SELECT count(), uniqExact(trace_id, span_id) FROM (
		SELECT trace_id, span_id FROM spans UNION ALL SELECT trace_id, span_id FROM events WHERE span = 1)`, &rows, &unique)
	return rows, unique
}

// NativeCopy exports a table of database from in ClickHouse's Native
// format with clickhouse-client, then inserts it into the same table of
// database to with clickhouse-client, and returns the rows and the time
// the insert alone took: the raw ceiling a writer can be compared with.
// An empty table copies nothing in no time.
func (s *Server) NativeCopy(t testing.TB, from, to, table string) (rows uint64, took time.Duration) {
	t.Helper()
	client, err := exec.LookPath("clickhouse-client")
	if err != nil {
		unavailable(t, err)
	}
	conn, err := sql.Open("clickhouse", s.DSN(from))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var cols string
	if err := conn.QueryRow(`SELECT arrayStringConcat(groupArray(name), ', ') FROM (SELECT name FROM system.columns
		WHERE database = ? AND table = ? AND default_kind NOT IN ('MATERIALIZED', 'ALIAS'))`, from, table).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow("SELECT count() FROM " + table).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows == 0 {
		return 0, 0 // clickhouse-client refuses an empty insert
	}
	host, port, _ := net.SplitHostPort(s.host)
	base := []string{"--host", host, "--port", port}
	if s.user != "" {
		base = append(base, "--user", s.user, "--password", s.pass)
	}
	file := filepath.Join(t.TempDir(), table+".native")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	export := exec.Command(client, append(base, "--query", fmt.Sprintf("SELECT %s FROM %s.%s FORMAT Native", cols, from, table))...)
	var stderr strings.Builder
	export.Stdout, export.Stderr = f, &stderr
	if err := export.Run(); err != nil {
		t.Fatalf("clickhouse-client export: %v\n%s", err, stderr.String())
	}
	f.Close()
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	insert := exec.Command(client, append(base, "--query", fmt.Sprintf("INSERT INTO %s.%s (%s) FORMAT Native", to, table, cols))...)
	insert.Stdin = in
	start := time.Now()
	if out, err := insert.CombinedOutput(); err != nil {
		t.Fatalf("clickhouse-client insert: %v\n%s", err, out)
	}
	return rows, time.Since(start)
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// configXML: dir ×5, tcp port, http port, interserver port, extra XML.
const configXML = `<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>%[1]s/server.log</log>
        <errorlog>%[1]s/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[6]s</tcp_port>
    <http_port>%[7]s</http_port>
    <interserver_http_port>%[8]s</interserver_http_port>
    <path>%[2]s/data/</path>
    <tmp_path>%[3]s/tmp/</tmp_path>
    <user_files_path>%[4]s/user_files/</user_files_path>
    <format_schema_path>%[5]s/format_schemas/</format_schema_path>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <users>
        <default>
            <password></password>
            <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <quotas>
        <default>
            <interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>
        </default>
    </quotas>
    %[9]s
</yandex>
`
