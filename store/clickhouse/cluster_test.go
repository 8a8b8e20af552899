package clickhouse

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestClusterConformance runs the conformance suite against a two-shard
// cluster of private servers, through the Distributed tables, with
// every shard holding rows.
func TestClusterConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two ClickHouse servers")
	}
	nodes := chtest.StartCluster(t, "causeway_test", 2)
	dsn := func(db string) string { return nodes[0].DSN(db) + "?cluster=causeway_test" }
	dbs := map[string]string{}
	storetest.RunAll(t, storetest.Harness{
		New: func(t *testing.T) store.Store {
			dbs[t.Name()] = chtest.UniqueDB(t.Name())
			s := open(t, dsn(dbs[t.Name()]))
			t.Cleanup(func() { s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			db := s.(*Store).db
			s.Close()
			s2 := open(t, dsn(db))
			t.Cleanup(func() { s2.Close() })
			return s2
		},
	})
	// Events of many correlations spread over both shards and read back whole.
	db := chtest.UniqueDB("spread")
	st := open(t, dsn(db))
	defer st.Close()
	b := &store.Batch{}
	for i := range 100 {
		e := storetest.Event(i, 1)
		e.CorrelationID = fmt.Sprintf("order-%d", i)
		b.Events = append(b.Events, e)
	}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	page, err := st.Events(context.Background(), store.EventQuery{Limit: 1000})
	if err != nil || len(page.Events) != 100 {
		t.Fatalf("read back %d events, %v", len(page.Events), err)
	}
	for i, n := range nodes {
		var rows uint64
		n.Query(t, db+"_local", "SELECT count() FROM events", &rows)
		if rows == 0 || rows == 100 {
			t.Errorf("shard %d holds %d of the 100 events", i+1, rows)
		}
	}
	if _, err := Open(context.Background(), nodes[0].DSN("x")+"?cluster=nope"); err == nil {
		t.Error("an unknown cluster must be an error")
	}

	// An upgrade: a Distributed table made before a migration added a
	// column to its local tables gets the column when the store opens.
	for _, n := range nodes {
		conn, err := sql.Open("clickhouse", n.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec("ALTER TABLE dlq DROP COLUMN trusted"); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	st.Close()
	st = open(t, dsn(db))
	if _, err := st.DLQ(context.Background(), store.DLQQuery{}); err != nil {
		t.Fatalf("DLQ after the Distributed table lost a column: %v", err)
	}
}
