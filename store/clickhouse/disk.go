package clickhouse

import (
	"context"
	"fmt"
)

// DiskBytes returns the bytes on disk of every table of the store's
// database on the server it is connected to (active parts, compressed,
// with their marks and indexes; in cluster mode that node's local
// tables). Sizing and the scale benchmark read it: ClickHouse 18.16 has
// no system.disks, so the store cannot see the server's free space, only
// what its own tables take.
func (s *Store) DiskBytes(ctx context.Context) (int64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database IN (?, ?)",
		s.db, s.db+"_local").Scan(&n); err != nil {
		return 0, fmt.Errorf("clickhouse store: disk bytes: %w", err)
	}
	return int64(n), nil
}
