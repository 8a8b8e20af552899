package replay

import (
	"strings"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/event"
)

// replayHeaders are the headers a replayed message is published with: the
// original's, without trace context (the replay's publish span writes its
// own), dead-letter bookkeeping, broker de-duplication ids and earlier
// replay marks; with a new event id, the original as causation and
// replay-of, the replay id, and the correlation id kept.
func replayHeaders(orig []header, it *item, replayID string) ([]header, string) {
	out := make([]header, 0, len(orig)+5)
	corr := ""
	for _, h := range orig {
		k := strings.ToLower(h.key)
		switch {
		case k == event.HeaderTraceparent, k == event.HeaderTracestate, k == event.HeaderEventID,
			k == event.HeaderCausationID, k == event.HeaderReplayOf, k == event.HeaderReplayID,
			strings.HasPrefix(k, "kafka_dlt-"), strings.HasPrefix(k, "x-original-"), strings.HasPrefix(k, "x-exception"),
			k == "x-death", k == "nats-msg-id", strings.HasPrefix(k, "nats-expected-"):
			continue
		case k == event.HeaderCorrelationID:
			corr = h.value
		}
		out = append(out, h)
	}
	if corr == "" && it.corrID != "" {
		out = append(out, header{event.HeaderCorrelationID, it.corrID})
	}
	of := it.eventID
	if of == "" {
		of = it.dlqID // a message without an event id: the DLQ entry names it
	}
	id := agent.NewID()
	out = append(out, header{event.HeaderEventID, id}, header{event.HeaderReplayOf, of}, header{event.HeaderReplayID, replayID})
	if it.eventID != "" {
		out = append(out, header{event.HeaderCausationID, it.eventID})
	}
	return out, id
}
