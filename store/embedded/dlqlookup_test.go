package embedded

import (
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// TestDLQQueryPlans: a DLQ page of a correlation or of an event is an
// index search on the partial indexes of schema 011 (alone, with the
// other filters and on a later page), never a scan of dlq.
func TestDLQQueryPlans(t *testing.T) {
	s := open(t, t.TempDir())
	cursor := store.Cursor{StartNS: uint64(time.Now().UnixNano()), SpanID: "ab"}.Encode()
	for _, c := range []struct {
		q    store.DLQQuery
		want string
	}{
		{store.DLQQuery{CorrelationID: "order-1"}, "USING INDEX dlq_correlation (correlation_id=?)"},
		{store.DLQQuery{CorrelationID: "order-1", Reason: "boom", Source: "orders.dlq"}, "USING INDEX dlq_correlation (correlation_id=?)"},
		{store.DLQQuery{CorrelationID: "order-1", Cursor: cursor}, "USING INDEX dlq_correlation (correlation_id=? AND time_ns<?)"},
		{store.DLQQuery{EventID: "evt-1"}, "USING INDEX dlq_event_id (event_id=?)"},
		{store.DLQQuery{EventID: "evt-1", Since: time.Now()}, "USING INDEX dlq_event_id (event_id=? AND time_ns>?)"},
	} {
		query, args, _, err := dlqSQL(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if p := queryPlan(t, s, query, args); !strings.Contains(p, c.want) || strings.Contains(p, "SCAN dlq") {
			t.Errorf("DLQ(%+v): plan %q, want %q", c.q, p, c.want)
		}
	}
}
