package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/store"
)

// replay makes the n-th test replay, created at base+n seconds.
func replay(n int) store.Replay {
	created := base + uint64(n)*1e9
	return store.Replay{ID: fmt.Sprintf("feed%028x", n), IdempotencyKey: fmt.Sprintf("key-%d", n), RequestedBy: "alice",
		Reason: "downstream fixed", Request: `{"dlq_ids":["a","b"]}`, Target: "orders.placed", State: store.ReplayQueued,
		Total: 2, RatePerSec: 50, CreatedNS: created, UpdatedNS: created}
}

// testReplayLog: a replay's latest write wins, also when writes arrive out
// of order; lookups by id and idempotency key; items replace by key.
func testReplayLog(t *testing.T, h Harness) {
	s, ctx := h.New(t), context.Background()
	r := replay(1)
	must(t, s.PutReplay(ctx, r))
	running := r
	running.State, running.StartedNS, running.Sent, running.UpdatedNS = store.ReplayRunning, r.CreatedNS+1, 1, r.CreatedNS+2
	done := running
	done.State, done.Sent, done.Failed, done.FinishedNS, done.UpdatedNS, done.Error = store.ReplayFailed, 1, 1, r.CreatedNS+3, r.CreatedNS+3, "1 of 2 failed"
	must(t, s.PutReplay(ctx, done))
	must(t, s.PutReplay(ctx, running)) // late, older write: ignored
	for _, get := range []func() (store.Replay, error){
		func() (store.Replay, error) { return s.Replay(ctx, r.ID) },
		func() (store.Replay, error) { return s.ReplayByKey(ctx, "alice", r.IdempotencyKey) },
	} {
		got, err := get()
		must(t, err)
		if got != done {
			t.Fatalf("replay:\n got %+v\nwant %+v", got, done)
		}
		if !got.Done() {
			t.Fatalf("state %q is final", got.State)
		}
	}
	if _, err := s.Replay(ctx, "feed0000000000000000000000009999"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown replay: %v, want ErrNotFound", err)
	}
	if _, err := s.ReplayByKey(ctx, "alice", "no-such-key"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key: %v, want ErrNotFound", err)
	}
	// Keys are scoped per requester: bob's use of alice's key is his own.
	if _, err := s.ReplayByKey(ctx, "bob", r.IdempotencyKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alice's key looked up as bob: %v, want ErrNotFound", err)
	}
	bobs := replay(2)
	bobs.RequestedBy, bobs.IdempotencyKey = "bob", r.IdempotencyKey
	must(t, s.PutReplay(ctx, bobs))
	if got, err := s.ReplayByKey(ctx, "bob", r.IdempotencyKey); err != nil || got.ID != bobs.ID {
		t.Fatalf("bob's replay by key: %+v, %v", got, err)
	}
	if got, err := s.ReplayByKey(ctx, "alice", r.IdempotencyKey); err != nil || got.ID != r.ID {
		t.Fatalf("alice's replay by key after bob used it: %+v, %v", got, err)
	}
	if _, err := s.ReplayByKey(ctx, "alice", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty key: %v, want ErrNotFound", err)
	}

	items := []store.ReplayItem{
		{ReplayID: r.ID, Seq: 0, DLQID: "d0", EventID: "e0", NewEventID: "n0", System: "kafka", Destination: "orders.placed", Status: store.ItemSent, TimeNS: base},
		{ReplayID: r.ID, Seq: 1, DLQID: "d1", EventID: "e1", System: "kafka", Destination: "orders.placed", Status: store.ItemFailed, Error: "broker down", TimeNS: base + 1},
	}
	must(t, s.PutReplayItems(ctx, items))
	retried := items[1]
	retried.Status, retried.Error, retried.NewEventID, retried.TimeNS = store.ItemSent, "", "n1", base+2
	must(t, s.PutReplayItems(ctx, []store.ReplayItem{retried}))
	must(t, s.PutReplayItems(ctx, nil))
	must(t, s.PutReplayItems(ctx, []store.ReplayItem{{ReplayID: "other", Seq: 0, Status: store.ItemSent, TimeNS: base}}))
	got, err := s.ReplayItems(ctx, r.ID, -1, 0)
	must(t, err)
	want := []store.ReplayItem{items[0], retried}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("items:\n got %+v\nwant %+v", got, want)
	}
	got, err = s.ReplayItems(ctx, r.ID, 0, 1)
	must(t, err)
	if len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("items after seq 0: %+v", got)
	}
}

// testReplayPages: replays page newest first without skipping or repeating.
func testReplayPages(t *testing.T, h Harness) {
	s, ctx := h.New(t), context.Background()
	const n = 23
	for i := range n {
		r := replay(i)
		if i%5 == 0 {
			r.CreatedNS = replay(i - 1).CreatedNS // ties broken by id
			r.UpdatedNS = r.CreatedNS
		}
		must(t, s.PutReplay(ctx, r))
		r.State, r.UpdatedNS = store.ReplayRunning, r.UpdatedNS+1 // a second version must not show twice
		must(t, s.PutReplay(ctx, r))
	}
	var seen []store.Replay
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("pagination does not end")
		}
		page, err := s.Replays(ctx, store.ReplayQuery{Limit: 4, Cursor: cursor})
		must(t, err)
		seen = append(seen, page.Replays...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(seen) != n {
		t.Fatalf("paged through %d replays, want %d", len(seen), n)
	}
	ids := map[string]bool{}
	for i, r := range seen {
		if ids[r.ID] {
			t.Fatalf("replay %s twice", r.ID)
		}
		ids[r.ID] = true
		if r.State != store.ReplayRunning {
			t.Fatalf("replay %s: state %q, want the latest write", r.ID, r.State)
		}
		if i > 0 {
			p := seen[i-1]
			if r.CreatedNS > p.CreatedNS || (r.CreatedNS == p.CreatedNS && r.ID > p.ID) {
				t.Fatalf("not newest first at %d: %s after %s", i, r.ID, p.ID)
			}
		}
	}
	if _, err := s.Replays(ctx, store.ReplayQuery{Cursor: "%%%"}); err == nil {
		t.Fatal("a bad cursor must be an error")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
