package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// dlqLookupEntry is entry i of testDLQLookup: six correlations taking
// turns (every tenth entry has none), 40 event ids (an event dead-lettered
// twice holds two entries; every fifteenth has none), and the reasons of
// dlqEntry.
func dlqLookupEntry(i int) store.DLQEntry {
	d := dlqEntry(i)
	d.CorrelationID, d.EventID = fmt.Sprintf("order-%d", i%6), fmt.Sprintf("evt-%d", i%40)
	if i%10 == 0 {
		d.CorrelationID = ""
	}
	if i%15 == 0 {
		d.EventID = ""
	}
	return d
}

// testDLQLookup: DLQQuery.CorrelationID and EventID select exactly the
// entries of that correlation or event, newest first, alone, together
// and with the other filters, across pages; entries without the id are
// never selected by it.
func testDLQLookup(t *testing.T, h Harness) {
	s := h.New(t)
	const n = 60
	var entries []store.DLQEntry
	b := &store.Batch{}
	for i := 0; i < n; i++ {
		entries = append(entries, dlqLookupEntry(i))
		b.DLQ = append(b.DLQ, dlqLookupEntry(i))
	}
	write(t, s, b)
	b.Retry = true
	write(t, s, b) // a retried batch: each entry once
	// want lists the ids of the entries keep selects, newest first.
	want := func(keep func(store.DLQEntry) bool) []string {
		var out []string
		for i := n - 1; i >= 0; i-- {
			if keep(entries[i]) {
				out = append(out, entries[i].ID)
			}
		}
		return out
	}
	ctx := context.Background()
	// read reads every page of q, checking each entry against the query.
	read := func(q store.DLQQuery) []string {
		t.Helper()
		var out []string
		for {
			p, err := s.DLQ(ctx, q)
			if err != nil {
				t.Fatalf("DLQ(%+v): %v", q, err)
			}
			for _, d := range p.Entries {
				if (q.CorrelationID != "" && d.CorrelationID != q.CorrelationID) || (q.EventID != "" && d.EventID != q.EventID) {
					t.Fatalf("DLQ(%+v) returned entry %s of correlation %q, event %q", q, d.ID, d.CorrelationID, d.EventID)
				}
				out = append(out, d.ID)
			}
			if p.Next == "" {
				return out
			}
			q.Cursor = p.Next
		}
	}
	check := func(name string, q store.DLQQuery, keep func(store.DLQEntry) bool) {
		t.Helper()
		if got, w := read(q), want(keep); !slices.Equal(got, w) {
			t.Errorf("%s: %d entries %v\nwant %d %v", name, len(got), got, len(w), w)
		}
	}
	for c := 0; c < 6; c++ {
		corr := fmt.Sprintf("order-%d", c)
		check("correlation "+corr, store.DLQQuery{CorrelationID: corr},
			func(d store.DLQEntry) bool { return d.CorrelationID == corr })
	}
	check("correlation order-1 in pages of 3", store.DLQQuery{CorrelationID: "order-1", Limit: 3},
		func(d store.DLQEntry) bool { return d.CorrelationID == "order-1" })
	check("event evt-3 (dead-lettered twice)", store.DLQQuery{EventID: "evt-3"},
		func(d store.DLQEntry) bool { return d.EventID == "evt-3" })
	check("event evt-3 of order-3", store.DLQQuery{CorrelationID: "order-3", EventID: "evt-3"},
		func(d store.DLQEntry) bool { return d.CorrelationID == "order-3" && d.EventID == "evt-3" })
	check("correlation order-2 with reason timeout", store.DLQQuery{CorrelationID: "order-2", Reason: "timeout"},
		func(d store.DLQEntry) bool { return d.CorrelationID == "order-2" && d.Reason == "timeout" })
	since := time.Unix(0, int64(entries[30].TimeNS))
	check("correlation order-5 since entry 30", store.DLQQuery{CorrelationID: "order-5", Since: since, Source: "orders.placed.dlq"},
		func(d store.DLQEntry) bool { return d.CorrelationID == "order-5" && d.TimeNS >= entries[30].TimeNS })
	check("ids and event", store.DLQQuery{IDs: []string{entries[7].ID, entries[47].ID, entries[8].ID}, EventID: "evt-7"},
		func(d store.DLQEntry) bool { return d.ID == entries[7].ID || d.ID == entries[47].ID })
	for _, q := range []store.DLQQuery{{CorrelationID: "order-9"}, {EventID: "evt-40"}, {CorrelationID: "order-1", EventID: "evt-2"}} {
		if got := read(q); len(got) != 0 {
			t.Errorf("DLQ(%+v) = %v, want no entries", q, got)
		}
	}
	if w := want(func(d store.DLQEntry) bool { return d.CorrelationID == "order-0" }); len(w) != 8 {
		t.Fatalf("the workload gives order-0 %d entries, want 8 (entries 0, 30 have no correlation)", len(w))
	}
}
