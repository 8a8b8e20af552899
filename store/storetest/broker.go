package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

func lagSample(i int, group string, partition int32) store.LagSample {
	return store.LagSample{TimeNS: base + uint64(i)*1e9, System: event.SystemKafka, Group: group, Topic: "orders.placed",
		Partition: partition, Committed: int64(10 * i), End: int64(12 * i), Lag: int64(2 * i), LagSeconds: float64(i) / 2,
		Status: "OK", GroupStatus: "WARN"}
}

func testLagSeries(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	for i := 0; i < 20; i++ {
		b.Lag = append(b.Lag, lagSample(i, "billing", 0), lagSample(i, "billing", 1), lagSample(i, "audit", 0))
	}
	write(t, s, b)
	b.Retry = true
	write(t, s, b) // a retried batch: stored once
	ctx := context.Background()
	got, err := s.Lag(ctx, store.LagQuery{Group: "billing"})
	if err != nil || len(got) != 40 {
		t.Fatalf("Lag(billing) = %d samples, %v; want 40", len(got), err)
	}
	if !reflect.DeepEqual(got[0], lagSample(0, "billing", 0)) || !reflect.DeepEqual(got[39], lagSample(19, "billing", 1)) {
		t.Errorf("first/last sample %+v / %+v", got[0], got[39])
	}
	for i := 1; i < len(got); i++ {
		if got[i].TimeNS < got[i-1].TimeNS {
			t.Fatal("samples not oldest first")
		}
	}
	got, err = s.Lag(ctx, store.LagQuery{Group: "billing", Since: time.Unix(0, int64(base+5e9)), Until: time.Unix(0, int64(base+10e9)), Limit: 4})
	if err != nil || len(got) != 4 || got[3].TimeNS != base+9e9 {
		t.Fatalf("windowed, limited: %+v, %v; want the newest 4 of [5s, 10s)", got, err)
	}
}

func dlqEntry(i int) store.DLQEntry {
	return store.DLQEntry{
		ID: store.DLQID(event.SystemKafka, "orders.placed.dlq", 0, int64(i), base+uint64(i)*1e6), TimeNS: base + uint64(i)*1e6,
		System: event.SystemKafka, Source: "orders.placed.dlq", SourcePartition: 0, SourceOffset: int64(i),
		Original: "orders.placed", OriginalPartition: 2, OriginalOffset: int64(100 + i),
		Reason: []string{"poison", "timeout"}[i%2], Deliveries: 3, EventID: fmt.Sprintf("evt-%d", i), CorrelationID: "corr-1",
		Headers: map[string]string{"ce_id": fmt.Sprintf("evt-%d", i)}, Payload: []byte{0, 1, 2, 0xff, byte(i)}, PayloadSize: 5,
		Trusted: i%3 == 1,
	}
}

func testDLQ(t *testing.T, h Harness) {
	s := h.New(t)
	b := &store.Batch{}
	for i := 0; i < 25; i++ {
		b.DLQ = append(b.DLQ, dlqEntry(i))
	}
	write(t, s, b)
	b.Retry = true
	write(t, s, b)
	ctx := context.Background()
	var all []store.DLQEntry
	q := store.DLQQuery{Limit: 10}
	for {
		p, err := s.DLQ(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Entries...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(all) != 25 || all[0].ID != dlqEntry(24).ID || all[24].ID != dlqEntry(0).ID {
		t.Fatalf("paged %d entries, want 25 newest first", len(all))
	}
	p, err := s.DLQ(ctx, store.DLQQuery{Reason: "poison"})
	if err != nil || len(p.Entries) != 13 {
		t.Fatalf("reason poison: %d, %v; want 13", len(p.Entries), err)
	}
	p, err = s.DLQ(ctx, store.DLQQuery{IDs: []string{dlqEntry(3).ID, dlqEntry(20).ID, dlqEntry(4).ID, "feedfeed"}, Reason: "timeout"})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].ID != dlqEntry(3).ID {
		t.Fatalf("ids 3, 20, 4 with reason timeout: %+v, %v; want entry 3 only", p.Entries, err)
	}
	p, err = s.DLQ(ctx, store.DLQQuery{IDs: []string{dlqEntry(3).ID, dlqEntry(20).ID, dlqEntry(4).ID}})
	if err != nil || len(p.Entries) != 3 || p.Entries[0].ID != dlqEntry(20).ID {
		t.Fatalf("ids 3, 20, 4: %d entries, %v; want 3, newest first", len(p.Entries), err)
	}
	if _, err := s.DLQ(ctx, store.DLQQuery{IDs: make([]string, store.MaxLimit+1)}); err == nil {
		t.Fatal("more than MaxLimit ids must be an error")
	}
	for _, want := range []store.DLQEntry{dlqEntry(7), dlqEntry(8)} { // trusted and not
		got, err := s.DLQEntry(ctx, want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("DLQEntry:\n got %+v, %v\nwant %+v", got, err, want)
		}
	}
	for _, d := range all {
		if d.Trusted != dlqEntry(int(d.SourceOffset)).Trusted {
			t.Fatalf("entry %d in a page: trusted %v", d.SourceOffset, d.Trusted)
		}
	}
	if _, err := s.DLQEntry(ctx, "0123"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v, want ErrNotFound", err)
	}
}
