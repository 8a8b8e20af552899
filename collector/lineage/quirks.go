package lineage

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/causeway-dev/causeway/event"
)

// quirks fills what some instrumentations record in other places than
// the conventions say, once e holds what the conventions' keys give
// (docs/compatibility.md names the libraries; each case has a fixture).
func quirks(e *event.Event, attrs pcommon.Map) {
	if e.Destination == "" {
		// RabbitMQ's default exchange is "": the routing key is then the queue.
		e.Destination = first(attrs, keysRoutingKey...)
	}
	if old := first(attrs, keyMessageIDOld); old != "" {
		// Before semantic conventions 1.17 `messaging.message_id`: a real
		// message id for RabbitMQ and JMS, but the record's offset in Go's
		// otelsarama-style Kafka spans, where it must not become an event
		// id shared by every record at that offset of any topic.
		if e.System == event.SystemKafka {
			if e.Offset < 0 {
				e.Offset = firstInt(attrs, -1, keyMessageIDOld)
			}
		} else if e.EventID == "" {
			e.EventID = old
		}
	}
	if e.System == event.SystemKafka && e.Offset < 0 && e.Destination != "" {
		// Python's confluent-kafka instrumentation records no offset, only
		// messaging.message.id = "<topic>.<partition>.<offset>".
		if rest, ok := strings.CutPrefix(e.EventID, e.Destination+"."); ok {
			if _, off, ok := strings.Cut(rest, "."); ok {
				if n, err := strconv.ParseInt(off, 10, 64); err == nil && n >= 0 {
					e.Offset = n
				}
			}
		}
	}
	if e.System == event.SystemNATS && !fromAgent(attrs) {
		natsMessageID(e, first(attrs, event.AttrMessagingMessageID))
	}
}

// natsMessageID reads the messaging.message.id of a NATS span that is not
// the agent's (the agent records its own event id there). Instrumentations
// put one of two things there: the publisher's Nats-Msg-Id, the business
// key users search by, or (arloliu/otx's nats.go wrapper) the JetStream
// stream sequence from the publish ack, a number shared by every stream's
// message at that position. A number is taken as the sequence: it becomes
// the offset, not the event id or the key.
func natsMessageID(e *event.Event, id string) {
	if id == "" {
		return
	}
	if n, err := strconv.ParseUint(id, 10, 63); err == nil {
		if e.Offset < 0 {
			e.Offset = int64(n)
		}
		if e.EventID == id {
			e.EventID = ""
		}
		return
	}
	if e.MessageKey == "" {
		e.MessageKey = id
	}
}
