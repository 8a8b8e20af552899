package clickhouse

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// benchLedger is a database whose journey ledger holds 1,000,000 in-flight
// correlations (CAUSEWAY_BENCH_LEDGER overrides the count), made once per
// process: each has a start update and a later update at one of five
// steps (step 0's every other one dead-lettered), all started in the
// last two hours.
// The server generates the updates (INSERT … SELECT FROM numbers) into
// journey_ledger_in, so the materialized view folds them as on ingest,
// and their places into journey_places_in, as UpdateLedger writes them.
var benchLedger struct {
	once  sync.Once
	store *Store
	n     int
	err   error
}

func millionInFlight(b testing.TB) (*Store, int) {
	srv := chtest.Shared(b)
	benchLedger.once.Do(func() {
		n := 1_000_000
		if v, err := strconv.Atoi(os.Getenv("CAUSEWAY_BENCH_LEDGER")); err == nil && v > 0 {
			n = v
		}
		ctx := context.Background()
		s, err := Open(ctx, srv.DSN(chtest.UniqueDB("benchledger")))
		if err != nil {
			benchLedger.err = err
			return
		}
		start := uint64(time.Now().Add(-2 * time.Hour).UnixNano())
		step := uint64(time.Hour) / uint64(n)
		// Update 2k is correlation k's start, 2k+1 its step (1 ms later).
		updates := fmt.Sprintf(`SELECT toDate(intDiv(t, 1000000000)) AS date, 'bench' AS journey, concat('corr-', toString(k)), t, t, s, t,
			concat(if(s = 0 AND k %% 10 = 0, 'dead_lettered', 'in_flight'), '\x1F',
				if(s = 1, 'placed', concat('step-', toString(k %% 5))), '\x1F',
				if(s = 1, 'shop', concat('service-', toString(k %% 5))), '\x1F',
				if(s = 1, 'orders', concat('topic-', toString(k %% 5))), '\x1F',
				if(s = 1 OR k %% 10 != 0, 'publish', 'dead_letter'), '\x1F',
				if(s = 0 AND k %% 10 = 0, 'card declined', '')) AS pl,
			concat('evt-', toString(number))
		FROM (SELECT number, intDiv(number, 2) AS k, toUInt8(number %% 2 = 0) AS s,
			%d + k * %d + (1 - s) * 1000000 AS t FROM numbers(%d))`, start, step, 2*n)
		for _, q := range []string{
			`INSERT INTO journey_places_in (date, journey, pl) SELECT DISTINCT date, journey, pl FROM (` + updates + `)`,
			`INSERT INTO journey_ledger_in (date, journey, correlation_id, at_ns, first_at, start, ord, pl, eid) ` + updates,
		} {
			if err := s.conn.Exec(ctx, q); err != nil {
				s.Close()
				benchLedger.err = err
				return
			}
		}
		benchLedger.store, benchLedger.n = s, n
	})
	if benchLedger.err != nil {
		b.Fatal(benchLedger.err)
	}
	return benchLedger.store, benchLedger.n
}

// timed runs fn b.N times and reports the p50 and p99 wall time and,
// when the server is this process's child, the p50 of the server's CPU
// time per run, all in ms.
func timed(b *testing.B, fn func() error) {
	wall := make([]time.Duration, 0, b.N)
	cpu := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0, ok := chtest.ServerCPU()
		t := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		wall = append(wall, time.Since(t))
		if c1, _ := chtest.ServerCPU(); ok {
			cpu = append(cpu, c1-c0)
		}
	}
	b.StopTimer()
	for _, l := range [][]time.Duration{wall, cpu} {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	b.ReportMetric(float64(wall[len(wall)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(wall[min(len(wall)-1, len(wall)*99/100)])/1e6, "p99-ms")
	if len(cpu) > 0 {
		b.ReportMetric(float64(cpu[len(cpu)/2])/1e6, "cpu-p50-ms")
	}
}

// BenchmarkLedger1M measures the journey queries over 1,000,000 in-flight
// correlations: the stuck entities grouped by step (the target: ≤ 1 s
// p50), a journey's figures, and the stuck entities of one step; with
// the CPU the server spent on each (cpu-p50-ms), which the machine's
// load does not inflate.
func BenchmarkLedger1M(b *testing.B) {
	s, n := millionInFlight(b)
	ctx := context.Background()
	now := time.Now()
	b.Run("stuck-groups", func(b *testing.B) {
		timed(b, func() error {
			gs, err := s.StuckGroups(ctx, store.StuckQuery{Journey: "bench", Now: now, StuckAfter: 5 * time.Minute})
			var total uint64
			for _, g := range gs {
				total += g.Count
			}
			// Steps 1-4 in flight, step 0 in flight or dead-lettered (k % 10 = 0).
			if err == nil && (len(gs) != 6 || total != uint64(n)) {
				err = fmt.Errorf("%d groups of %d stuck, want 6 of %d", len(gs), total, n)
			}
			return err
		})
	})
	b.Run("stats", func(b *testing.B) {
		timed(b, func() error {
			st, err := s.JourneyStats(ctx, store.JourneyStatsQuery{Journey: "bench", Since: now.Add(-3 * time.Hour), Until: now,
				Now: now, Within: 30 * time.Second, StuckAfter: 5 * time.Minute})
			if err == nil && (st.Started != uint64(n) || st.Stuck != uint64(n)) {
				err = fmt.Errorf("stats %+v", st)
			}
			return err
		})
	})
	b.Run("stuck-entities-of-a-step", func(b *testing.B) {
		timed(b, func() error {
			es, err := s.LedgerEntries(ctx, store.LedgerQuery{Journey: "bench", StuckAt: now, StuckAfter: 5 * time.Minute, Step: "step-3", Limit: 100})
			if err == nil && len(es) != 100 {
				err = fmt.Errorf("%d entries", len(es))
			}
			return err
		})
	})
}
