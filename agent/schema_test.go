package agent_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/event"
)

// TestSchemaVersionRecorded: a message's causeway-schema-version header
// becomes the causeway.schema.version attribute of its publish span and of
// the span of every handler that processes it, read through both header
// paths (a HeaderList in one pass and plain Get).
func TestSchemaVersionRecorded(t *testing.T) {
	a, exp := newTestAgent(t)
	ctx := context.Background()
	d := agent.Destination{System: event.SystemKafka, Name: "orders", Partition: -1, Offset: -1}
	h := mapHeaders{event.HeaderSchemaVersion: "3"}
	_, pub := a.StartPublish(ctx, h, d, "order.placed")
	a.EndPublish(pub, d, nil)
	rec := &kgo.Record{Headers: []kgo.RecordHeader{{Key: event.HeaderEventID, Value: []byte("e0")}, {Key: event.HeaderSchemaVersion, Value: []byte("3")}}}
	_, proc, _ := a.StartProcess(ctx, (*kafka.Carrier)(rec), d, 1)
	a.EndProcess(proc, event.OutcomeOK, nil)
	_, plain, _ := a.StartProcess(ctx, mapHeaders{event.HeaderEventID: "e1"}, d, 1)
	a.EndProcess(plain, event.OutcomeOK, nil)
	a.Flush(ctx)
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	for i, want := range []string{"3", "3", ""} {
		if got := attrs(spans[i])[event.AttrSchemaVersion]; got != want {
			t.Errorf("span %d (%s): schema version %q, want %q", i, spans[i].Name, got, want)
		}
	}
}
