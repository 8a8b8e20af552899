package clickhouse

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// TestEventsByIDReadGranules: events looked up by id read the granules
// that hold them, not every row between the first and the last of them
// (idFilter): two events 24 h apart among 300,000 read a few granules,
// where their time range holds every row. Rows read are the server's
// progress counts.
func TestEventsByIDReadGranules(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv.DSN(chtest.UniqueDB(t.Name())))
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	const n = 300_000
	step := uint64(24*time.Hour) / n
	start := uint64(time.Now().Add(-25 * time.Hour).UnixNano())
	if err := s.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO events (date, start_ns, trace_id, span_id, event_id, correlation_id)
		SELECT toDate(intDiv(%[1]d + number * %[2]d, 1000000000)), %[1]d + number * %[2]d, lower(hex(MD5(toString(number)))),
			concat('\x01', substring(MD5(toString(number)), 1, 8)), concat('evt-', toString(number)), concat('order-', toString(number))
		FROM numbers(%[3]d)`, start, step, n)); err != nil {
		t.Fatal(err)
	}
	read := func(f func(ctx context.Context) error) uint64 { t.Helper(); return rowsRead(t, ctx, f) }
	first, last := "evt-0", fmt.Sprintf("evt-%d", n-1)
	between := read(func(ctx context.Context) error {
		var c uint64
		return s.conn.QueryRow(ctx, "SELECT count() FROM events WHERE start_ns >= ? AND start_ns <= ?", start, start+(n-1)*step).Scan(&c)
	})
	if between < n {
		t.Fatalf("the range of the two events read %d rows, want all %d (is the progress counted?)", between, n)
	}
	for _, q := range []store.EventQuery{{EventIDs: []string{first, last}}, {TraceIDs: []string{traceOf(0), traceOf(n - 1)}}} {
		var got []string
		rows := read(func(ctx context.Context) error {
			p, err := s.Events(ctx, q)
			for _, e := range p.Events {
				got = append(got, e.EventID)
			}
			return err
		})
		if want := fmt.Sprint([]string{last, first}); fmt.Sprint(got) != want {
			t.Errorf("Events(%+v) = %v, want %v", q, got, want)
		}
		if rows > n/10 {
			t.Errorf("Events(%+v) read %d rows of %d (their time range holds %d), want a few granules", q, rows, n, between)
		}
		t.Logf("Events(%+v): %d rows read (their time range: %d)", q, rows, between)
	}
}

// traceOf is the trace id TestEventsByIDReadGranules gives event i.
func traceOf(i int) string {
	sum := md5.Sum([]byte(fmt.Sprint(i)))
	return hex.EncodeToString(sum[:])
}
