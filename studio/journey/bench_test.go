package journey

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/embedded"
)

// benchBatch is batch i of the ledger benchmark: 10,000 events, orders
// of five (placed, processed, paid, processed, shipped) that all belong
// to the order journey, the worst case for the ledger: every event is
// classified and every correlation gets an update.
func benchBatch(i int, t0 time.Time) *store.Batch {
	s := &shop{t0: t0.Add(time.Duration(i) * time.Second), n: i * 10_000}
	for k := range 2000 {
		c, at := fmt.Sprintf("b%d-%d", i, k), time.Duration(k)*time.Microsecond
		s.placed(c, at)
		s.paid(c, at)
		s.shipped(c, at)
	}
	return &store.Batch{Events: s.evts[:10_000]}
}

// BenchmarkLedgerWrite measures what keeping the ledger costs the store
// writer: batches of 10,000 events written alternately straight to the
// store and through the ledger writer (same store, same run, the batches
// interleaved so both see the same load), reporting both rates and the
// ledger's cost in % of the plain write time (target ≤ 10 %), and in %
// of the CPU time: this process's and, for a ClickHouse server this
// process started, the server's.
func BenchmarkLedgerWrite(b *testing.B) {
	// server is the CPU time the store's server has used so far, if it
	// runs apart and can be measured.
	bench := func(b *testing.B, st store.Store, server func() (time.Duration, bool)) {
		ctx := context.Background()
		w, _, err := Open(ctx, st, []Journey{orderJourney()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now().Add(-time.Hour)
		var plain, ledger, plainCPU, ledgerCPU, plainServer, ledgerServer time.Duration
		measured := false
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			// Each pair made just before its writes: batches made up front
			// (200 MB each 10 pairs) made every collection mark them, a
			// cost charged to whichever write it interrupted.
			batches := []*store.Batch{benchBatch(2*i, t0), benchBatch(2*i+1, t0)}
			// ABBA: the pairs alternate which write goes first, so that a
			// cost falling on the first or second write of a pair (the
			// embedded store's WAL checkpoint runs in the commit that
			// crosses 1,000 pages: with both writes of a pair about that
			// size, always the second) is shared out evenly.
			order := []bool{false, true}
			if i%2 == 1 {
				order = []bool{true, false}
			}
			for k, withLedger := range order {
				sc, _ := server()
				c, t := cpuTime(b), time.Now()
				var err error
				if withLedger {
					err = w.Write(ctx, batches[k])
				} else {
					err = st.Write(ctx, batches[k])
				}
				if err != nil {
					b.Fatal(err)
				}
				wall, cpu := time.Since(t), cpuTime(b)-c
				sc2, ok := server()
				measured = ok
				if withLedger {
					ledger, ledgerCPU, ledgerServer = ledger+wall, ledgerCPU+cpu, ledgerServer+sc2-sc
				} else {
					plain, plainCPU, plainServer = plain+wall, plainCPU+cpu, plainServer+sc2-sc
				}
			}
		}
		b.StopTimer()
		events := float64(10_000 * b.N)
		b.ReportMetric(events/plain.Seconds(), "plain-events/s")
		b.ReportMetric(events/ledger.Seconds(), "ledger-events/s")
		b.ReportMetric(100*(ledger.Seconds()-plain.Seconds())/plain.Seconds(), "cost-%")
		// The CPU this process spent (the embedded store writes in it; for
		// ClickHouse the client's share): on this shared machine wall time
		// grows with everybody's load, CPU time does not.
		b.ReportMetric(100*(ledgerCPU.Seconds()-plainCPU.Seconds())/plainCPU.Seconds(), "cpu-cost-%")
		if measured && plainServer > 0 {
			// The server's CPU (10 ms ticks; its background merges fall
			// on whichever write they overlap), and the two together.
			b.ReportMetric(100*(ledgerServer.Seconds()-plainServer.Seconds())/plainServer.Seconds(), "server-cpu-cost-%")
			both, bothPlain := ledgerCPU+ledgerServer, plainCPU+plainServer
			b.ReportMetric(100*(both.Seconds()-bothPlain.Seconds())/bothPlain.Seconds(), "total-cpu-cost-%")
		}
	}
	inProcess := func() (time.Duration, bool) { return 0, false }
	b.Run("embedded", func(b *testing.B) {
		st, err := embedded.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		bench(b, st, inProcess)
	})
	b.Run("clickhouse", func(b *testing.B) {
		srv := chtest.Shared(b)
		st, err := clickhouse.Open(context.Background(), srv.DSN(chtest.UniqueDB(b.Name())))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		bench(b, st, chtest.ServerCPU)
	})
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkClassify measures the classifier alone: events per second
// turned into ledger updates (no store).
func BenchmarkClassify(b *testing.B) {
	set := NewSet([]Journey{orderJourney()})
	batch := benchBatch(0, time.Now())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// One per order: its terminal update, folding in its start.
		if ups := set.Updates(batch.Events); len(ups) != 2000 {
			b.Fatalf("%d updates", len(ups))
		}
	}
	b.ReportMetric(float64(len(batch.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
}
