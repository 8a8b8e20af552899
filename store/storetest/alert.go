package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/store"
)

// testAlertLog: rules keep their latest write, late older writes and
// deletions included; events come back newest first.
func testAlertLog(t *testing.T, h Harness) {
	s, ctx := h.New(t), context.Background()
	v1 := store.AlertRuleRecord{ID: "lag", Spec: "threshold: 10", UpdatedNS: base + 1}
	v2 := store.AlertRuleRecord{ID: "lag", Spec: "threshold: 20", UpdatedNS: base + 2}
	gone := store.AlertRuleRecord{ID: "dlq", Spec: "kind: dlq_arrivals", UpdatedNS: base + 1}
	for _, r := range []store.AlertRuleRecord{v2, v1, gone, {ID: "dlq", Deleted: true, UpdatedNS: base + 3},
		{ID: "a-first", Spec: "x", UpdatedNS: base}} {
		must(t, s.PutAlertRule(ctx, r))
	}
	rules, err := s.AlertRules(ctx)
	must(t, err)
	if fmt.Sprint(rules) != fmt.Sprint([]store.AlertRuleRecord{{ID: "a-first", Spec: "x", UpdatedNS: base}, v2}) {
		t.Fatalf("rules %+v", rules)
	}
	for i := range 5 {
		must(t, s.PutAlertEvent(ctx, store.AlertEventRecord{TimeNS: base + uint64(i), RuleID: "lag", Status: "firing", Body: fmt.Sprintf(`{"n":%d}`, i)}))
	}
	evs, err := s.AlertEvents(ctx, 3)
	must(t, err)
	if len(evs) != 3 || evs[0].Body != `{"n":4}` || evs[2].Body != `{"n":2}` || evs[0].RuleID != "lag" || evs[0].TimeNS != base+4 {
		t.Fatalf("events %+v", evs)
	}
	if _, err := s.AlertEvents(ctx, -1); err == nil {
		t.Fatal("a negative limit must be an error")
	}
}
