package clickhouse

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// TestDLQLookupReadsIndex: a DLQ page of one correlation or one event
// among 300,000 entries reads a granule or two of the index tables of
// schema 011 and of dlq (by its key), not the whole table as a filter on
// dlq's own columns does. Rows read are the server's progress counts.
func TestDLQLookupReadsIndex(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv.DSN(chtest.UniqueDB(t.Name())))
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	const n = 300_000
	ns := uint64(time.Now().Add(-time.Hour).UnixNano())
	if err := s.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO dlq (date, id, time_ns, system, source, original, reason, correlation_id, event_id)
		SELECT toDate(intDiv(%[1]d, 1000000000)), concat('dlq-', toString(number)), %[1]d + number, 'kafka', 'orders.dlq', 'orders',
			'boom', concat('order-', toString(intDiv(number, 2))), concat('evt-', toString(number)) FROM numbers(%[2]d)`, ns, n)); err != nil {
		t.Fatal(err)
	}
	read := func(f func(ctx context.Context) error) uint64 { t.Helper(); return rowsRead(t, ctx, f) }
	scan := read(func(ctx context.Context) error {
		var c uint64
		return s.conn.QueryRow(ctx, "SELECT count() FROM dlq WHERE correlation_id = 'order-123456'").Scan(&c)
	})
	if scan < n {
		t.Fatalf("a filter on dlq.correlation_id read %d rows, want all %d (is the progress counted?)", scan, n)
	}
	for _, c := range []struct {
		q    store.DLQQuery
		want []string
	}{
		{store.DLQQuery{CorrelationID: "order-123456"}, []string{"dlq-246913", "dlq-246912"}},
		{store.DLQQuery{EventID: "evt-77777"}, []string{"dlq-77777"}},
	} {
		var got []string
		rows := read(func(ctx context.Context) error {
			p, err := s.DLQ(ctx, c.q)
			for _, e := range p.Entries {
				got = append(got, e.ID)
			}
			return err
		})
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("DLQ(%+v) = %v, want %v", c.q, got, c.want)
		}
		if rows > n/10 {
			t.Errorf("DLQ(%+v) read %d rows of %d (a filter on dlq reads %d), want a few granules", c.q, rows, n, scan)
		}
		t.Logf("DLQ(%+v): %d rows read (a filter on dlq: %d)", c.q, rows, scan)
	}
}

// rowsRead returns the rows f's queries read, by the server's progress
// packets (f runs its queries with the context it is given).
func rowsRead(t *testing.T, ctx context.Context, f func(ctx context.Context) error) uint64 {
	t.Helper()
	var rows atomic.Uint64
	if err := f(ch.Context(ctx, ch.WithProgress(func(p *ch.Progress) { rows.Add(p.Rows) }))); err != nil {
		t.Fatal(err)
	}
	return rows.Load()
}
