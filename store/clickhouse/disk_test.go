package clickhouse

import (
	"context"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestDiskBytes: a new store takes no bytes; after a write, as many as
// its tables' active parts.
func TestDiskBytes(t *testing.T) {
	srv := chtest.Shared(t)
	db := chtest.UniqueDB(t.Name())
	s := open(t, srv.DSN(db))
	defer s.Close()
	ctx := context.Background()
	if n, err := s.DiskBytes(ctx); err != nil || n != 0 {
		t.Fatalf("DiskBytes of a new store = %d, %v; want 0", n, err)
	}
	e := storetest.Event(1, 1)
	if err := s.Write(ctx, &store.Batch{Events: []event.Event{e}}); err != nil {
		t.Fatal(err)
	}
	var want uint64
	srv.Query(t, db, "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = currentDatabase()", &want)
	if n, err := s.DiskBytes(ctx); err != nil || n <= 0 || uint64(n) != want {
		t.Fatalf("DiskBytes after a write = %d, %v; want %d", n, err, want)
	}
}
