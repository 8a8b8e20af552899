// Command causeway-scale is the scale benchmark of `make bench`: it loads
// N messaging events (orders of five events, one trace and one correlation
// id each, spread over the last 24 hours) through OTLP/HTTP into a
// collector writing to a store, then measures what issue #15 asks of a
// store at scale: stored events per second, bytes per event on disk (every
// table and index) and the p50/p99 of the studio's queries. With -jaeger
// it also feeds the same number of plain (non-messaging) spans to Causeway
// and to a Jaeger v2 binary with its embedded Badger store, the peer row.
//
// It prints one line per result in Go's benchmark format, so that
// docs/bench.sh reads them like any other benchmark:
//
//	scale.BenchmarkScale/embedded/events=1000000 1 <ns> 52000 events/s 280 bytes/event ...
//
// Everything listens on and talks to 127.0.0.1 only; data goes to a
// temporary directory removed at the end (or -keep).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/store"
	_ "github.com/causeway-dev/causeway/store/embedded" // registers embedded://
)

func main() {
	events := flag.Int("events", 1_000_000, "messaging events to load (a multiple of 5: orders of five)")
	plain := flag.Int("plain", 0, "plain spans to load into Causeway and Jaeger for the peer row (0: none)")
	jaegerBin := flag.String("jaeger", "", "path of a Jaeger v2 binary (v1.75.0) for the peer row; empty skips Jaeger")
	dir := flag.String("dir", "", "directory for the data (default: a temporary directory, removed at the end)")
	keep := flag.Bool("keep", false, "keep the data directory")
	clients := flag.Int("clients", 4, "concurrent OTLP/HTTP clients")
	runs := flag.Int("runs", 50, "runs of each query for its p50 and p99")
	label := flag.String("label", "embedded", "the store's name in result lines")
	ceiling := flag.Bool("ceiling", false, "also load the messaging events into a collector whose store discards every batch: the pipeline's ceiling (generator, OTLP/HTTP, spool, lineage) on this machine, in the same run")
	direct := flag.Bool("direct", false, "load by deriving batches in-process and writing them to the store (no OTLP/HTTP, collector or spool): for the query timings at sizes the full pipeline takes too long to load on a shared machine; the events/s it reports is the store's alone")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (generator, collector and store) to this file")
	chServer := flag.String("clickhouse", "", "load a ClickHouse store instead of an embedded one: private (a private server started for the run) or a clickhouse://host:port URL (see clickhouse.go)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := *dir
	if root == "" {
		d, err := os.MkdirTemp("", "causeway-scale-")
		if err != nil {
			fail(err)
		}
		root = d
	}
	if !*keep {
		defer os.RemoveAll(root)
		removeOnFail = func() { os.RemoveAll(root) }
	}
	b := bench{log: log, root: root, clients: *clients, runs: *runs, label: *label, now: time.Now(), direct: *direct}
	if *chServer != "" {
		base, stopServer, err := clickHouseServer(*chServer)
		if err != nil {
			fail(err)
		}
		stopOnFail = stopServer // fail exits without running defers
		defer stopServer()
		b.clickhouse = base
	}
	if *events > 0 {
		if err := b.messaging(ctx, *events); err != nil {
			fail(err)
		}
		if *ceiling {
			if err := b.discarding(ctx, *events); err != nil {
				fail(err)
			}
		}
	}
	if *plain > 0 {
		if err := b.plainSpans(ctx, *plain); err != nil {
			fail(err)
		}
		if *jaegerBin != "" {
			if err := b.jaeger(ctx, *jaegerBin, *plain); err != nil {
				fail(err)
			}
		}
	}
}

// stopOnFail stops what must not outlive the process (a private
// ClickHouse server) when fail exits.
var stopOnFail = func() {}

// removeOnFail removes the run's data directory when fail exits (unless -keep).
var removeOnFail = func() {}

func fail(err error) {
	stopOnFail()
	removeOnFail()
	fmt.Fprintln(os.Stderr, "causeway-scale:", err)
	os.Exit(1)
}

// bench holds what every scenario shares.
type bench struct {
	log     *slog.Logger
	root    string
	clients int
	runs    int
	label   string
	now     time.Time
	// direct loads without OTLP/HTTP (loadDirect).
	direct bool
	// clickhouse is the base URL of the ClickHouse server the scenarios
	// load (-clickhouse); empty: embedded stores.
	clickhouse string
}

// result prints one result line: name, then value-unit pairs.
func result(name string, pairs ...any) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "scale.BenchmarkScale/%s\t1\t0 ns/op", name)
	for i := 0; i+1 < len(pairs); i += 2 {
		switch v := pairs[i].(type) {
		case float64:
			fmt.Fprintf(&sb, "\t%.3f %s", v, pairs[i+1])
		default:
			fmt.Fprintf(&sb, "\t%v %s", v, pairs[i+1])
		}
	}
	fmt.Println(sb.String())
}

// collectorFor starts a collector writing to s, OTLP/HTTP on a free
// loopback port, with a spool that never refuses a load.
func (b *bench) collectorFor(ctx context.Context, s store.Writer, spool string) (*collector.Collector, error) {
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", collector.Off, spool
	cfg.MaxSpoolBytes = 32 << 30
	c, err := collector.New(cfg, s, b.log.With("component", "collector"))
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// load sends w through a fresh collector into the store at storeURL and
// returns when the store confirmed every span, with the rate.
func (b *bench) load(ctx context.Context, s store.Writer, name string, w workload) (perSec float64, err error) {
	if b.direct {
		return b.loadDirect(ctx, s, w)
	}
	c, err := b.collectorFor(ctx, s, filepath.Join(b.root, name+"-spool"))
	if err != nil {
		return 0, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if serr := c.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
	}()
	spans := uint64(w.orders * chainLen)
	began := time.Now()
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	sent := make(chan error, 1)
	go func() { sent <- send(ctx, "http://"+c.HTTPAddr()+"/v1/traces", w, b.clients) }()
	for c.Stats().SpansWritten < spans {
		select {
		case err := <-sent:
			if err != nil {
				return 0, err
			}
			sent = nil
		case <-progress.C:
			st := c.Stats()
			b.log.Info("loading", "scenario", name, "written", st.SpansWritten, "of", spans,
				"per_s", int(float64(st.SpansWritten)/time.Since(began).Seconds()), "write_errors", st.WriteErrors)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return float64(spans) / time.Since(began).Seconds(), nil
}

// loadDirect derives each request's batch in-process (two goroutines) and
// writes it to s, the collector's work less HTTP and the spool.
func (b *bench) loadDirect(ctx context.Context, s store.Writer, w workload) (float64, error) {
	began := time.Now()
	batches := make(chan *store.Batch, 4)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				from := int(next.Add(int64(w.perRequest))) - w.perRequest
				if from >= w.orders {
					return
				}
				select {
				case batches <- lineage.Derive(w.traces(from, min(from+w.perRequest, w.orders))):
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(batches) }()
	written := 0
	for bt := range batches {
		if err := s.Write(ctx, bt); err != nil {
			return 0, err
		}
		if written += len(bt.Spans); written%1_000_000 < len(bt.Spans) {
			b.log.Info("loading directly", "written", written, "per_s", int(float64(written)/time.Since(began).Seconds()))
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(w.orders*chainLen) / time.Since(began).Seconds(), nil
}
