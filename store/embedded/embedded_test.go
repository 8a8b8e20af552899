package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestMain checks that closed stores leave no goroutines behind
// (database/sql starts one per pool).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func open(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunAll(t, storetest.Harness{
		New: func(t *testing.T) store.Store {
			s, err := store.Open(context.Background(), "embedded://"+filepath.ToSlash(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			dir := s.(*Store).Dir()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, dir)
		},
	})
}

func TestURL(t *testing.T) {
	for _, c := range []struct {
		url, goos, dir, err string
	}{
		{"embedded:///var/lib/causeway", "linux", "/var/lib/causeway", ""},
		{"embedded://localhost/var/lib/causeway/", "linux", "/var/lib/causeway", ""},
		{"embedded:///data/with%20space", "linux", "/data/with space", ""},
		{"embedded:///C:/Users/x/causeway", "windows", `C:\Users\x\causeway`, ""},
		{"embedded://C:/Users/x/causeway", "windows", `C:\Users\x\causeway`, ""},
		{"embedded://", "linux", "", "has no directory"},
		{"embedded:///", "linux", "", "has no directory"},
		{"embedded:relative/dir", "linux", "", "must be absolute"},
		{"embedded://data/causeway", "linux", "", `unexpected host "data"`},
	} {
		u, err := url.Parse(c.url)
		if err != nil {
			t.Fatal(err)
		}
		dir, err := dirFromURL(u, c.goos)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %q, %v; want an error containing %q", c.url, dir, err, c.err)
			}
			continue
		}
		if c.goos == "windows" {
			dir = strings.ReplaceAll(dir, "/", `\`) // FromSlash is a no-op off Windows
		}
		if err != nil || dir != c.dir {
			t.Errorf("%s: %q, %v; want %q", c.url, dir, err, c.dir)
		}
	}
	if _, err := store.Open(context.Background(), "embedded://"); err == nil {
		t.Error("store.Open(embedded://): want an error")
	}
	dir := filepath.Join(t.TempDir(), "odd?name#x%20y")
	s, err := store.Open(context.Background(), (&url.URL{Scheme: "embedded", Path: filepath.ToSlash(dir)}).String())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, dbFile)); err != nil {
		t.Fatalf("database not inside the named directory: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\"): want an error")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("x"), 0o600)
	_, err := Open(file)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Open(a file) = %v; want an error naming it", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, dbFile), []byte(strings.Repeat("this is not a database ", 200)), 0o600)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open(a garbage database) = %v; want an error naming the directory", err)
	}
}

func TestDefaultDir(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	home := func() (string, error) { return "/home/ann", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	for _, c := range []struct {
		goos   string
		getenv func(string) string
		home   func() (string, error)
		want   string
	}{
		{"linux", env(), home, filepath.Join("/home/ann", ".local", "share", "causeway")},
		{"linux", env("XDG_DATA_HOME", "/xdg"), home, filepath.Join("/xdg", "causeway")},
		{"linux", env("XDG_DATA_HOME", "relative"), home, filepath.Join("/home/ann", ".local", "share", "causeway")},
		{"freebsd", env("XDG_DATA_HOME", "/xdg"), noHome, filepath.Join("/xdg", "causeway")},
		{"darwin", env("XDG_DATA_HOME", "/xdg"), home, filepath.Join("/home/ann", "Library", "Application Support", "causeway")},
		{"windows", env("LocalAppData", `C:\Users\ann\AppData\Local`), home, filepath.Join(`C:\Users\ann\AppData\Local`, "causeway")},
		{"linux", env(), noHome, filepath.Join(os.TempDir(), "causeway")},
	} {
		if got := defaultDir(c.goos, c.getenv, c.home); got != c.want {
			t.Errorf("%s: %q, want %q", c.goos, got, c.want)
		}
	}
	if d := DefaultDir(); !filepath.IsAbs(d) || filepath.Base(d) != "causeway" {
		t.Errorf("DefaultDir() = %q", d)
	}
}

func userVersion(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	if err := s.w.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrations(t *testing.T) {
	ms, err := migrations()
	if err != nil || len(ms) < 2 {
		t.Fatalf("migrations: %d, %v", len(ms), err)
	}
	dir := t.TempDir()
	s := open(t, dir)
	if v := userVersion(t, s); v != len(ms) {
		t.Fatalf("user_version %d, want %d", v, len(ms))
	}
	if err := s.Write(context.Background(), &store.Batch{Events: []event.Event{storetest.Event(1, 1)}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir) // opening again runs nothing
	if v := userVersion(t, s); v != len(ms) {
		t.Fatalf("user_version %d after reopening, want %d", v, len(ms))
	}

	// A database at version 1 is brought up to date, its data kept.
	old := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(old, dbFile)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ms[0] + "; PRAGMA user_version = 1;"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO spans VALUES ('t', 's', '', 'svc', 'n', 'internal', 1, 2, 'unset', '', '', '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = open(t, old)
	if v := userVersion(t, s); v != len(ms) {
		t.Fatalf("upgraded user_version %d, want %d", v, len(ms))
	}
	if sp, err := s.Spans(context.Background(), "t", 0); err != nil || len(sp) != 1 {
		t.Fatalf("span written at version 1: %v, %v", sp, err)
	}
	s.Close()

	// A database from a newer build is refused, not damaged.
	s = open(t, old)
	if _, err := s.w.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(ms)+1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(old); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open(newer schema) = %v; want a 'newer' error", err)
	}
}

// queryPlan is SQLite's plan of query on a reader connection, its steps
// joined by "; ".
func queryPlan(t *testing.T, s *Store, query string, args []any) string {
	t.Helper()
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "; ")
}

// TestQueryPlans: every lookup the studio and the graph walk make is an
// index search, not a scan of the table, whatever the table holds.
func TestQueryPlans(t *testing.T) {
	s := open(t, t.TempDir())
	plan := func(query string, args []any) string {
		t.Helper()
		p := queryPlan(t, s, query, args)
		t.Logf("%s\n\t→ %s", query, p)
		return p
	}
	cursor := store.CursorAfter(storetest.Event(1, 1))
	ctx := context.Background()
	if err := s.Write(ctx, &store.Batch{Events: []event.Event{storetest.Event(1, 1)}}); err != nil {
		t.Fatal(err) // the dict knows "orders" and "order.placed"
	}
	for _, c := range []struct {
		q    store.EventQuery
		want string
	}{
		{store.EventQuery{TraceIDs: []string{"a", "b"}}, "USING INDEX events_key (trace_id=?)"},
		{store.EventQuery{CorrelationID: "c"}, "USING INDEX events_correlation (correlation_id=?)"},
		{store.EventQuery{EventIDs: []string{"e"}}, "USING INDEX events_event_id (event_id=?)"},
		// A key equal to the correlation id is stored as the correlation id.
		{store.EventQuery{MessageKey: "k", Cursor: cursor}, "MULTI-INDEX OR; INDEX 1; SEARCH events USING INDEX events_message_key (message_key=? AND start_ns<?); INDEX 2; SEARCH events USING INDEX events_correlation (correlation_id=? AND start_ns<?)"},
		{store.EventQuery{Service: "orders"}, "USING INDEX events_service (service=?)"},
		{store.EventQuery{Since: time.Now(), Until: time.Now()}, "USING INDEX events_start (start_ns>? AND start_ns<?)"},
		{store.EventQuery{Cursor: cursor}, "USING INDEX events_start (start_ns<?)"},
		// Filters without an index of their own read the window only
		// (the API always gives one): the time index bounds the scan.
		{store.EventQuery{EventType: "order.placed", Since: time.Now(), Until: time.Now()}, "USING INDEX events_start (start_ns>? AND start_ns<?)"},
		{store.EventQuery{Destination: "x", Since: time.Now(), Until: time.Now()}, "USING INDEX events_start (start_ns>? AND start_ns<?)"},
		{store.EventQuery{Outcome: "error", Since: time.Now(), Until: time.Now()}, "USING INDEX events_start (start_ns>? AND start_ns<?)"},
		{store.EventQuery{Service: "orders", Since: time.Now(), Until: time.Now()}, "USING INDEX events_service (service=? AND start_ns>? AND start_ns<?)"},
		{store.EventQuery{CorrelationID: "c", Cursor: cursor}, "USING INDEX events_correlation (correlation_id=? AND start_ns<?)"},
	} {
		query, args, _, err := s.eventsSQL(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if p := plan(query, args); !strings.Contains(p, c.want) || strings.Contains(p, "SCAN events") {
			t.Errorf("Events(%+v): plan %q, want %q", c.q, p, c.want)
		}
	}
	query, args, err := edgesSQL(store.EdgeQuery{TraceIDs: []string{"a", "b"}, FromEventIDs: []string{"e"}})
	if err != nil {
		t.Fatal(err)
	}
	p := plan(query, args)
	for _, want := range []string{"USING PRIMARY KEY (to_trace_id=?)", "USING INDEX edges_from_trace (from_trace_id=?)", "USING INDEX edges_from_event (from_event_id=?)"} {
		if !strings.Contains(p, want) || strings.Contains(p, "SCAN edges") {
			t.Errorf("Edges: plan %q, want %q", p, want)
		}
	}
	// The edges event rows imply, by trace and by causing event id.
	if p := plan("SELECT "+eventCols+" FROM events WHERE causation_id IN (?) AND causation_id != ''", []any{"e"}); !strings.Contains(p, "USING INDEX events_causation (causation_id=?)") {
		t.Errorf("implied causation edges: plan %q", p)
	}
	if p := plan(spansSQL, []any{"t"}); !strings.Contains(p, "USING PRIMARY KEY (trace_id=?)") {
		t.Errorf("Spans: plan %q", p)
	}
	if p := plan(flowMinutesSQL, []any{1, 2}); !strings.Contains(p, "USING PRIMARY KEY (minute_ns>? AND minute_ns<?)") {
		t.Errorf("Flows (minutes): plan %q", p)
	}
	if p := plan(flowRawSQL, []any{1, 2}); !strings.Contains(p, "USING INDEX events_start (start_ns>? AND start_ns<?)") {
		t.Errorf("Flows (ragged ends): plan %q", p)
	}
}

// TestMessageKeyIsCorrelation: a message key equal to the event's
// correlation id is kept once (the message_key column is empty) and the
// event is still found by its key, with the key read back.
func TestMessageKeyIsCorrelation(t *testing.T) {
	s := open(t, t.TempDir())
	ctx := context.Background()
	same, other, none := storetest.Event(1, 1), storetest.Event(1, 2), storetest.Event(1, 3)
	same.CorrelationID, same.MessageKey = "order-7", "order-7"
	other.CorrelationID, other.MessageKey = "order-7", "customer-3"
	none.CorrelationID = "order-7"
	if err := s.Write(ctx, &store.Batch{Events: []event.Event{same, other, none}}); err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := s.r.QueryRow(`SELECT count(*) FROM events WHERE message_key != ''`).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("%d rows with a message_key column, %v; want 1 (customer-3)", stored, err)
	}
	for key, want := range map[string]event.Event{"order-7": same, "customer-3": other} {
		p, err := s.Events(ctx, store.EventQuery{MessageKey: key})
		if err != nil || len(p.Events) != 1 || !reflect.DeepEqual(p.Events[0], want) {
			t.Errorf("Events(MessageKey %q) = %+v, %v; want %+v", key, p.Events, err, want)
		}
	}
}

// TestTooManyIDs: a lookup by more ids than one statement can bind is an
// error that says so and wraps store.ErrInvalidQuery (the API answers
// 400), not a failure inside SQLite.
func TestTooManyIDs(t *testing.T) {
	s := open(t, t.TempDir())
	ids := make([]string, maxIn+1)
	for i := range ids {
		ids[i] = storetest.TraceID(i)
	}
	if _, err := s.Events(context.Background(), store.EventQuery{TraceIDs: ids}); !errors.Is(err, store.ErrInvalidQuery) || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Events: %v", err)
	}
	if _, err := s.Edges(context.Background(), store.EdgeQuery{TraceIDs: ids}); !errors.Is(err, store.ErrInvalidQuery) || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Edges: %v", err)
	}
	// maxIn of each list at once fits.
	ev := make([]string, maxIn)
	for i := range ev {
		ev[i] = fmt.Sprint(i)
	}
	if _, err := s.Edges(context.Background(), store.EdgeQuery{TraceIDs: ids[:maxIn], FromEventIDs: ev}); err != nil {
		t.Errorf("Edges with maxIn ids in each list: %v", err)
	}
	if _, err := s.Events(context.Background(), store.EventQuery{TraceIDs: ids[:maxIn], EventIDs: ev}); err != nil {
		t.Errorf("Events with maxIn ids in each list: %v", err)
	}
}

// TestFlowsFromRollups: the flow map of whole minutes comes from the
// per-minute rollups; counts are exact and quantiles from the merged
// histograms stay close to the exact ones.
func TestFlowsFromRollups(t *testing.T) {
	s := open(t, t.TempDir())
	n := 20000
	if raceEnabled {
		n = 5000
	}
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	b := &store.Batch{}
	for i := 0; i < n; i++ {
		e := storetest.Event(i, i)
		e.StartNS = uint64(start.UnixNano()) + uint64(i)*1e5
		// Durations 1…1000 µs, the slowest ones written last: a sample of
		// the newest rows would overstate p50.
		e.DurationNS = uint64(i*1000/n+1) * 1e3
		if i%50 == 0 {
			e.Outcome = event.OutcomeError
		}
		b.Events = append(b.Events, e)
	}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	fm, err := s.Flows(context.Background(), store.FlowQuery{Since: start, Until: start.Add(time.Hour)})
	if err != nil || len(fm.Edges) != 1 {
		t.Fatalf("Flows = %+v, %v", fm, err)
	}
	e := fm.Edges[0]
	if e.Count != uint64(n) || e.Errors != uint64(n/50) {
		t.Errorf("count %d errors %d, want %d and %d", e.Count, e.Errors, n, n/50)
	}
	if e.P50NS < 480e3 || e.P50NS > 520e3 || e.P99NS < 980e3 || e.P99NS > 1000e3 {
		t.Errorf("p50 %d p99 %d, want ≈500µs and ≈990µs", e.P50NS, e.P99NS)
	}
}

// TestConcurrentStores: two stores on one directory (the studio and a
// collector process, say) see each other's writes and never fail with
// "database is locked".
func TestConcurrentStores(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	ctx := context.Background()
	errs := make(chan error, 2)
	for i, s := range []*Store{a, b} {
		go func(i int, s *Store) {
			for j := 0; j < 10; j++ {
				from := (i*10 + j) * 100
				batch := &store.Batch{}
				for n := from; n < from+100; n++ {
					batch.Events = append(batch.Events, storetest.Event(i, n))
				}
				if err := s.Write(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(i, s)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Store{a, b} {
		p, err := s.Events(ctx, store.EventQuery{Limit: store.MaxLimit})
		if err != nil || len(p.Events) != 2000 {
			t.Fatalf("%d events, %v; want 2000", len(p.Events), err)
		}
	}
}

// writeBatch makes batch i of BenchmarkWrite: 1,000 events with their
// spans, as the collector writes them.
func writeBatch(i int, start uint64) *store.Batch {
	b := &store.Batch{Events: make([]event.Event, 0, 1000), Spans: make([]event.Span, 0, 1000)}
	for n := 0; n < 1000; n++ {
		e := storetest.Event(i, i*1000+n)
		e.StartNS = start + uint64(i*1000+n)
		e.Attributes = map[string]string{"messaging.kafka.message.key": fmt.Sprint(n), "host.name": "bench-1"}
		b.Events = append(b.Events, e)
		// The span holds the event's attributes and those lineage mapped
		// to the event's fields, as the collector derives them.
		sp := storetest.Span(e)
		sp.Attributes = map[string]string{"messaging.system": e.System, "messaging.destination.name": e.Destination,
			"messaging.operation.type": string(e.Op), "messaging.message.id": e.EventID}
		maps.Copy(sp.Attributes, e.Attributes)
		b.Spans = append(b.Spans, sp)
	}
	return b
}

// BenchmarkWrite: batches of 1,000 events and their 1,000 spans; rows/s
// counts both.
func BenchmarkWrite(b *testing.B) {
	s := open(b, b.TempDir())
	start := uint64(time.Now().UnixNano())
	batches := make([]*store.Batch, 0, 64)
	for i := 0; i < cap(batches); i++ {
		batches = append(batches, writeBatch(i, start))
	}
	rows := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := batches[i%len(batches)]
		if i >= len(batches) { // fresh keys: a re-write would be ignored, and cheaper
			b.StopTimer()
			batch = writeBatch(i, start)
			b.StartTimer()
		}
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		rows += batch.Len()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFlows: the flow map of a window holding 100,000 events in 20
// groups.
func BenchmarkFlows(b *testing.B) {
	s := open(b, b.TempDir())
	start := time.Now().Add(-time.Hour).Truncate(time.Minute)
	for i := 0; i < 100; i++ {
		batch := &store.Batch{}
		for n := i * 1000; n < (i+1)*1000; n++ {
			e := storetest.Event(n, n)
			e.Service = fmt.Sprintf("svc-%d", n%20)
			e.StartNS = uint64(start.UnixNano()) + uint64(n)*1e6
			e.DurationNS = uint64(n%1000+1) * 1e3
			batch.Events = append(batch.Events, e)
		}
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fm, err := s.Flows(context.Background(), store.FlowQuery{Since: start, Until: start.Add(time.Hour)})
		if err != nil || len(fm.Edges) != 20 {
			b.Fatalf("%d edges, %v", len(fm.Edges), err)
		}
	}
	b.ReportMetric(100000*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestColdDictConcurrentReads: more concurrent queries than the reader
// pool has connections, on a reopened store whose dict cache is empty,
// all answer: a query resolves dict numbers after it gave its connection
// back, so queries never wait on each other's connections.
func TestColdDictConcurrentReads(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	b := &store.Batch{}
	for n := range 500 {
		e := storetest.Event(n%50, n)
		e.Service, e.Destination, e.EventType = fmt.Sprint("svc-", n), fmt.Sprint("topic-", n), fmt.Sprint("type-", n)
		e.Attributes = map[string]string{fmt.Sprint("key-", n): fmt.Sprint("value-", n)}
		b.Events, b.Spans = append(b.Events, e), append(b.Spans, storetest.Span(e))
	}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := make(chan error, 32)
	for i := range cap(errs) {
		go func() {
			if i%2 == 0 {
				p, err := s.Events(ctx, store.EventQuery{Limit: 500})
				if err == nil && len(p.Events) != 500 {
					err = fmt.Errorf("%d events", len(p.Events))
				}
				errs <- err
				return
			}
			sp, err := s.Spans(ctx, storetest.TraceID(i%50), 0)
			if err == nil && len(sp) != 10 {
				err = fmt.Errorf("%d spans", len(sp))
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
