package clickhouse

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestReadSettingsReachTheServer: a read carries max_execution_time from
// its deadline and the configured memory and row limits, as the server
// sees them (system.settings shows the current query's settings).
func TestReadSettingsReachTheServer(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv.DSN(chtest.UniqueDB(t.Name()))+"?read_max_memory_usage=123456789&read_max_result_rows=4321")
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4500*time.Millisecond)
	defer cancel()
	rows, err := s.conn.Query(s.readContext(ctx), "SELECT name, value FROM system.settings WHERE name IN ('max_execution_time', 'max_memory_usage', 'max_result_rows')")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		got[n] = v
	}
	// The driver sets max_execution_time to the deadline + 5 s.
	if met, err := strconv.Atoi(got["max_execution_time"]); err != nil || met < 5 || met > 10 {
		t.Errorf("max_execution_time = %q, want the deadline (4.5 s) + the driver's 5 s", got["max_execution_time"])
	}
	want := map[string]string{"max_memory_usage": "123456789", "max_result_rows": "4321"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

// TestReadLimitsStopQueries: a result above read_max_result_rows and a
// query above read_max_memory_usage stop with store.ErrQueryLimit, a
// query over max_execution_time with store.ErrQueryTimeout.
func TestReadLimitsStopQueries(t *testing.T) {
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	full := open(t, srv.DSN(db))
	defer full.Close()
	storetestWrite(t, full, 30)
	ctx := context.Background()
	if sp, err := full.Spans(ctx, storetest.TraceID(1), 0); err != nil || len(sp) != 30 {
		t.Fatalf("Spans without a tight limit: %d, %v", len(sp), err)
	}

	rows := open(t, srv.DSN(db)+"?read_max_result_rows=10")
	defer rows.Close()
	if _, err := rows.Spans(ctx, storetest.TraceID(1), 0); !errors.Is(err, store.ErrQueryLimit) {
		t.Fatalf("Spans of 30 rows with max_result_rows 10: %v, want ErrQueryLimit", err)
	}
	mem := open(t, srv.DSN(db)+"?read_max_memory_usage=1000")
	defer mem.Close()
	if _, err := mem.Events(ctx, store.EventQuery{Limit: 1000}); !errors.Is(err, store.ErrQueryLimit) {
		t.Fatalf("Events with max_memory_usage 1000 bytes: %v, want ErrQueryLimit", err)
	}

	// The server's own timeout: settings for a deadline 1.5 s away
	// (max_execution_time 2) on a query whose client side never gives up,
	// so the exception comes from the server.
	dctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	qctx := ch.Context(ctx, ch.WithSettings(full.readSettings(dctx)))
	var n uint64
	start := time.Now()
	err := full.conn.QueryRow(qctx, "SELECT count() FROM system.numbers WHERE number % 7 = 3 AND number < 1000000000000").Scan(&n)
	classify(ctx, &err)
	if !errors.Is(err, store.ErrQueryTimeout) {
		t.Fatalf("a query over max_execution_time: %v, want ErrQueryTimeout", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the server stopped the query after %v", took)
	}

	// The client's deadline: the read stops, and the server stops
	// running it (the driver cancels the query).
	tctx, cancel2 := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel2()
	const marker = "causeway_cancel_probe"
	err = full.conn.QueryRow(full.readContext(tctx), "SELECT count() FROM system.numbers WHERE number % 7 = 3 AND number < 1000000000000 AND '"+marker+"' != ''").Scan(&n)
	classify(tctx, &err)
	if !errors.Is(err, store.ErrQueryTimeout) {
		t.Fatalf("a query past its context deadline: %v, want ErrQueryTimeout", err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var running uint64
		if err := full.conn.QueryRow(ctx, "SELECT count() FROM system.processes WHERE query LIKE '%"+marker+"%' AND query NOT LIKE '%system.processes%'").Scan(&running); err != nil {
			t.Fatal(err)
		}
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server still runs the query 20 s after the client gave up")
		}
	}
}

func storetestWrite(t *testing.T, s *Store, n int) {
	t.Helper()
	b := &store.Batch{}
	for i := 0; i < n; i++ {
		e := storetest.Event(1, i)
		e.EventID = "evt-" + strconv.Itoa(i)
		b.Events = append(b.Events, e)
		b.Spans = append(b.Spans, storetest.Span(e))
	}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}
