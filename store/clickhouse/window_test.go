package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	"github.com/causeway-dev/causeway/store/storetest"
)

// TestNewestAcrossWindows: a read without an id filter looks in the last
// hour, then the last day, then everywhere; pages come out the same as
// one unbounded read would give them: newest first, every event once,
// across events a minute, hours and days old.
func TestNewestAcrossWindows(t *testing.T) {
	srv := chtest.Shared(t)
	s := open(t, srv.DSN(chtest.UniqueDB(t.Name())))
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	ages := []time.Duration{time.Minute, 3 * time.Hour, 72 * time.Hour}
	b := &store.Batch{}
	for i := range 150 {
		e := storetest.Event(1+i%3, i)
		e.StartNS = uint64(now.Add(-ages[i%3]).UnixNano()) - uint64(i)
		b.Events = append(b.Events, e)
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{10, 60, 200} {
		var got []uint64
		q := store.EventQuery{Limit: limit}
		for {
			p, err := s.Events(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				got = append(got, e.StartNS)
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if len(got) != 150 {
			t.Fatalf("limit %d: paged through %d events, want 150", limit, len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i] >= got[i-1] {
				t.Fatalf("limit %d: event %d not older than the one before", limit, i)
			}
		}
	}
	p, err := s.Events(ctx, store.EventQuery{Limit: 5, Since: now.Add(-2 * time.Hour)})
	if err != nil || len(p.Events) != 5 || p.Next == "" {
		t.Fatalf("newest 5 of the last 2 h: %d events, next %q, %v", len(p.Events), p.Next, err)
	}
}
