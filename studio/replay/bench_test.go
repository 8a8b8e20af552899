package replay_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/studio/replay"
)

// BenchmarkReplay replays 10,000 DLQ messages (1 KiB each) per iteration
// without a rate limit, against kfake with the collector receiving the
// replay's spans and the embedded store keeping its audit log; the end
// offsets of the target topic prove every message arrived exactly once.
// The ceiling, in the same run: franz-go producing the same records
// straight to the target topic.
func BenchmarkReplay(b *testing.B) {
	const n = 10000
	e := setup(b, false, replay.Config{MaxRate: 1e9, MaxMessages: n}, "bulk", "bulk.dlq", "ceiling")
	ctx := context.Background()
	cl := e.client(b, kgo.ProducerBatchMaxBytes(1<<20))
	value := make([]byte, 1024)
	var recs []*kgo.Record
	var entries []store.DLQEntry
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "bulk.dlq", Key: []byte(fmt.Sprint(i)), Value: value, Headers: []kgo.RecordHeader{
			{Key: event.HeaderEventID, Value: []byte(fmt.Sprintf("evt-%d", i))}, {Key: event.HeaderOriginalTopic, Value: []byte("bulk")}}})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	for i, r := range recs {
		entries = append(entries, store.DLQEntry{ID: store.DLQID("kafka", "bulk.dlq", r.Partition, r.Offset, uint64(i+1)), TimeNS: uint64(i + 1), System: "kafka",
			Source: "bulk.dlq", SourcePartition: r.Partition, SourceOffset: r.Offset, Original: "bulk", OriginalPartition: -1, OriginalOffset: -1,
			Reason: "bench", EventID: fmt.Sprintf("evt-%d", i), PayloadSize: 1024})
	}
	if err := e.st.Write(ctx, &store.Batch{DLQ: entries}); err != nil {
		b.Fatal(err)
	}
	endOffset := func(topic string) int64 {
		ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
		if err != nil {
			b.Fatal(err)
		}
		var sum int64
		ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
		return sum
	}
	req := replay.Request{DLQFilter: &replay.DLQFilter{Source: "bulk.dlq"}, Reason: "bench", ExpectedCount: n, RatePerSec: 1e9}

	b.Run("engine", func(b *testing.B) {
		before := endOffset("bulk")
		start := time.Now()
		for i := 0; i < b.N; i++ {
			r, _, err := e.eng.Start(ctx, "bench", req, fmt.Sprintf("bench-%d-%d", b.N, i))
			if err != nil {
				b.Fatal(err)
			}
			if done := e.wait(b, r.ID); done.State != store.ReplaySucceeded || done.Sent != n {
				b.Fatalf("replay %+v", done)
			}
		}
		b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "msgs/s")
		if got := endOffset("bulk") - before; got != int64(n*b.N) {
			b.Fatalf("%d records on the target topic, want exactly %d", got, n*b.N)
		}
	})
	b.Run("franz-go-produce", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			for _, r := range recs {
				r.Topic = "ceiling"
				cl.Produce(ctx, r, nil)
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "msgs/s")
	})
}
