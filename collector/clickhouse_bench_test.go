package collector

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/collector/otlp/otlptest"
	"github.com/causeway-dev/causeway/store/clickhouse"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// BenchmarkIngestClickHouse sends OTLP/HTTP protobuf requests of 1,000
// messaging spans (each becomes one event row holding its span) from 4
// clients to a collector writing to a private ClickHouse server, and
// reports the spans stored per second. In the same run it measures two
// ceilings: the same requests into a collector whose store discards every
// batch (the collector's own path: HTTP, decode, spool, lineage), and
// clickhouse-client inserting the very rows the collector stored (spans
// and events tables, Native format) into a fresh database with the same
// schema, reported as the spans those rows hold per second.
func BenchmarkIngestClickHouse(b *testing.B) {
	srv := chtest.Shared(b)
	db := chtest.UniqueDB(b.Name())
	st, err := clickhouse.Open(context.Background(), srv.DSN(db))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() }) // after the collector's shutdown (cleanups run last first)
	const perRequest = 1000
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i], _ = otlptest.Publishes("orders", "orders.placed", uint32(i), perRequest, 1)
	}
	want := uint64(b.N * perRequest)
	b.ResetTimer()
	pipeline := sendAll(b, benchCollector(b, nopWriter{}), bodies, b.N, want)
	elapsed := sendAll(b, benchCollector(b, st), bodies, b.N, want)
	b.StopTimer()
	b.ReportMetric(float64(want)/pipeline.Seconds(), "pipeline-ceiling-spans/s")
	b.ReportMetric(float64(want)/elapsed.Seconds(), "stored-spans/s")

	// The ceiling: the same rows, inserted by clickhouse-client in Native format.
	fresh := chtest.UniqueDB(b.Name() + "_ceiling")
	cs, err := clickhouse.Open(context.Background(), srv.DSN(fresh))
	if err != nil {
		b.Fatal(err)
	}
	cs.Close()
	var took time.Duration
	for _, table := range []string{"spans", "events"} {
		_, d := srv.NativeCopy(b, db, fresh, table)
		took += d
	}
	// The requests repeat 64 bodies, so span ids repeat: count records.
	if rows, _ := srv.SpanCounts(b, fresh); rows != want {
		b.Fatalf("the copy holds %d span records, want %d", rows, want)
	}
	b.ReportMetric(float64(want)/took.Seconds(), "ceiling-spans/s")
}

// sendAll posts n requests, cycling through bodies, from 4 clients to c
// and returns the time until c's store confirmed want spans.
func sendAll(b *testing.B, c *Collector, bodies [][]byte, n int, want uint64) time.Duration {
	url := "http://" + c.HTTPAddr() + "/v1/traces"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				for {
					resp, err := client.Post(url, "application/x-protobuf", bytes.NewReader(bodies[i%len(bodies)]))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						break
					}
					time.Sleep(10 * time.Millisecond) // 429: the spool is full, let the writer catch up
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for c.Stats().SpansWritten < want {
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}
