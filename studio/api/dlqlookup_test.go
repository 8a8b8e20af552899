package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
)

// TestDLQByCorrelationAndEvent: /api/v1/dlq?correlation_id= and
// ?event_id= return exactly that correlation's or event's entries, newest
// first, however many newer entries other correlations hold, alone,
// together and with the other filters.
func TestDLQByCorrelationAndEvent(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := uint64(time.Now().Add(-time.Minute).UnixNano())
	b := &store.Batch{}
	// order-7's two dead letters (its order.placed twice, then its payment)
	// lie behind 300 newer entries of other orders.
	entry := func(i int, corr, evt, reason string) store.DLQEntry {
		ns := now + uint64(i)*1e6
		return store.DLQEntry{ID: store.DLQID("kafka", "orders.dlq", 0, int64(i), ns), TimeNS: ns, System: "kafka",
			Source: "orders.dlq", Original: "orders", Reason: reason, CorrelationID: corr, EventID: evt,
			OriginalPartition: -1, OriginalOffset: -1}
	}
	b.DLQ = append(b.DLQ, entry(0, "order-7", "evt-7a", "poison"), entry(1, "order-7", "evt-7a", "timeout"), entry(2, "order-7", "evt-7b", "poison"))
	for i := 3; i < 303; i++ {
		b.DLQ = append(b.DLQ, entry(i, fmt.Sprintf("order-%d", 100+i), fmt.Sprintf("evt-%d", i), "poison"))
	}
	if err := st.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	New(st, slog.New(slog.NewTextHandler(io.Discard, nil))).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		query string
		want  []int // entry numbers, newest first
	}{
		{"correlation_id=order-7", []int{2, 1, 0}},
		{"event_id=evt-7a", []int{1, 0}},
		{"correlation_id=order-7&event_id=evt-7b", []int{2}},
		{"correlation_id=order-7&reason=poison", []int{2, 0}},
		{"correlation_id=order-7&limit=2", []int{2, 1}},
		{"correlation_id=order-150", []int{50}},
		{"correlation_id=order-7&event_id=evt-50", nil},
		{"correlation_id=order-8", nil},
	} {
		var page struct {
			Entries []store.DLQEntry `json:"entries"`
			Groups  []struct {
				Reason string `json:"reason"`
				Count  int    `json:"count"`
			} `json:"groups"`
		}
		get(t, srv, "/api/v1/dlq?"+c.query, 200, &page)
		var got, want []string
		for _, e := range page.Entries {
			got = append(got, e.ID)
		}
		n := 0
		for _, i := range c.want {
			want = append(want, b.DLQ[i].ID)
		}
		for _, g := range page.Groups {
			n += g.Count
		}
		if !slices.Equal(got, want) || n != len(want) {
			t.Errorf("GET /api/v1/dlq?%s: entries %v (groups count %d), want %v", c.query, got, n, want)
		}
	}
}
