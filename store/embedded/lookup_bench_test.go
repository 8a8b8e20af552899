package embedded

import (
	"context"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/storetest"
)

// BenchmarkMessageKeyBytes reports what message keys cost on disk: bytes
// per event of the events table and all its indexes (SQLite's dbstat),
// for 200,000 events of orders of 8 written in batches of 5,000 like the
// collector's. Rows: no keys (a correlation id on every event); the
// order id as both correlation id and key (the agent on a keyed topic);
// the key alone (kafkajs and other instrumentations that record the key
// but no correlation id). Each table's and index's share is logged.
func BenchmarkMessageKeyBytes(b *testing.B) {
	const n, batchSize = 200000, 5000
	for _, c := range []struct {
		name      string
		corr, key bool
	}{{"unkeyed", true, false}, {"key=correlation", true, true}, {"key-only", false, true}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				s, err := Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < n; i += batchSize {
					batch := &store.Batch{}
					for j := i; j < i+batchSize; j++ {
						e := storetest.Event(j/4, j)
						e.EventID = fmt.Sprintf("%08x-4e2b-4c1d-9f3a-%012x", j/2, j)
						e.CorrelationID = ""
						if c.corr {
							e.CorrelationID = fmt.Sprintf("order-%d", j/8)
						}
						if c.key {
							e.MessageKey = fmt.Sprintf("order-%d", j/8)
						}
						e.Op, e.ConsumerGroup = event.OpProcess, "shipper"
						batch.Events = append(batch.Events, e)
					}
					if err := s.Write(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(eventBytes(b, s)/n, "bytes/event")
				s.Close()
			}
		})
	}
}

// eventBytes returns the pages the events table and its indexes take.
func eventBytes(b *testing.B, s *Store) float64 {
	rows, err := s.w.Query(`SELECT name, SUM(pgsize) FROM dbstat
		WHERE name = 'events' OR name LIKE 'events\_%' ESCAPE '\' GROUP BY name`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: %d bytes", name, size)
		total += size
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return float64(total)
}
