package store

import "testing"

// TestDLQID: a re-sent entry keeps its id; a message at the same position
// of a topic created again (offsets start over) gets another.
func TestDLQID(t *testing.T) {
	a := DLQID("kafka", "orders.dlq", 0, 7, 1000)
	if a != DLQID("kafka", "orders.dlq", 0, 7, 1000) || len(a) != 32 {
		t.Fatalf("unstable or malformed id %q", a)
	}
	for _, b := range []string{DLQID("kafka", "orders.dlq", 0, 7, 2000), DLQID("kafka", "orders.dlq", 1, 7, 1000),
		DLQID("nats", "orders.dlq", 0, 7, 1000), DLQID("kafka", "orders.dlq", 0, 8, 1000)} {
		if b == a {
			t.Fatalf("two DLQ messages share id %s", a)
		}
	}
}
