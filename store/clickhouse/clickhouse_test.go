package clickhouse

import (
	"context"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chtest.StopShared()
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
			println("goroutine leak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := chtest.Shared(t)
	storetest.RunAll(t, storetest.Harness{
		New: func(t *testing.T) store.Store {
			s := open(t, srv.DSN(chtest.UniqueDB(t.Name())))
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			db := s.(*Store).db
			s.Close()
			s2 := open(t, srv.DSN(db))
			t.Cleanup(func() { s2.Close() })
			return s2
		},
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	for i := 0; i < 2; i++ {
		open(t, srv.DSN(db)).Close()
	}
	files, _ := schemaFS.ReadDir("schema")
	var n, distinct uint64
	srv.Query(t, db, "SELECT count(), uniqExact(version) FROM schema_migrations", &n, &distinct)
	if n != uint64(len(files)) || distinct != n {
		t.Fatalf("schema_migrations has %d rows (%d versions) after two opens, want %d", n, distinct, len(files))
	}
}

func TestRetryDoesNotDuplicate(t *testing.T) {
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	s := open(t, srv.DSN(db))
	defer s.Close()
	b := &store.Batch{}
	for n := 0; n < 100; n++ {
		e := storetest.Event(n%10, n)
		b.Events = append(b.Events, e)
		b.Spans = append(b.Spans, storetest.Span(e))
	}
	ctx := context.Background()
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Retry = true
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	rows, unique := srv.SpanCounts(t, db)
	var events, flowCount uint64
	srv.Query(t, db, "SELECT count() FROM events", &events)
	srv.Query(t, db, "SELECT countMerge(count) FROM flows_1m", &flowCount)
	if rows != 100 || unique != 100 || events != 100 || flowCount != 100 {
		t.Fatalf("after a retried batch: span rows %d (unique %d), event rows %d, flow count %d; want 100 each", rows, unique, events, flowCount)
	}
}

func BenchmarkWrite(b *testing.B) {
	srv := chtest.Shared(b)
	s, err := Open(context.Background(), srv.DSN(chtest.UniqueDB(b.Name())))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := uint64(time.Now().UnixNano())
	rows := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := &store.Batch{}
		for n := 0; n < 10000; n++ {
			e := storetest.Event(i*10000+n, n)
			e.StartNS = start + uint64(i*10000+n)
			batch.Events = append(batch.Events, e)
			batch.Spans = append(batch.Spans, storetest.Span(e))
		}
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		rows += batch.Len()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
