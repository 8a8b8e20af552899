package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// item is one message to replay: where to read it and where to send it.
type item struct {
	seq     int64
	dlqID   string
	eventID string
	corrID  string
	reason  string
	size    int64
	system  string
	from    location
	to      string
	// trusted is set for DLQ entries the collector marked trusted: their
	// recorded original destination and stored copy may be used. Every
	// other item is re-read from the broker, never from the store.
	trusted bool
}

// location is where a message is on its broker: a Kafka topic, partition
// and offset, or a NATS stream sequence (topic names the stream, or a
// subject of it when byStream is false).
type location struct {
	topic     string
	partition int32
	offset    int64
	byStream  bool
}

// message is a message's content as read from the broker.
type message struct {
	key     []byte
	value   []byte
	headers []header
	// subject is the subject a NATS message was published to, as the
	// stream returns it (empty for Kafka).
	subject string
}

type header struct{ key, value string }

// fetched is a read's result for one item.
type fetched struct {
	message
	err error
}

// resolve turns a request's source into items, checking that each can be
// located and has a destination.
func (e *Engine) resolve(ctx context.Context, req Request) ([]*item, error) {
	n := 0
	for _, set := range []bool{len(req.DLQIDs) > 0, req.DLQFilter != nil, len(req.EventIDs) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, refuse("invalid_argument", "give exactly one source: dlq_ids, dlq_filter or event_ids")
	}
	var items []*item
	var err error
	switch {
	case len(req.DLQIDs) > 0:
		items, err = e.fromDLQIDs(ctx, dedupe(req.DLQIDs))
	case req.DLQFilter != nil:
		items, err = e.fromDLQFilter(ctx, *req.DLQFilter)
	default:
		items, err = e.fromEvents(ctx, dedupe(req.EventIDs))
	}
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, refuse("not_found", "nothing to replay: the source matches no message")
	}
	for i, it := range items {
		it.seq = int64(i)
	}
	if err := e.checkUntrusted(ctx, items); err != nil {
		return nil, err
	}
	var noDest, notAllowed []string
	for _, it := range items {
		if req.Target != "" && req.Target != it.to {
			if !e.targetAllowed(req.Target) {
				notAllowed = append(notAllowed, it.dlqID+it.eventID)
			}
			it.to = req.Target
		}
		if it.to == "" {
			noDest = append(noDest, it.dlqID+it.eventID)
		}
	}
	if len(notAllowed) > 0 {
		return nil, refuse("target_not_allowed", "target %q is not the original destination of %d messages (%s) as the broker recorded it, "+
			"and not in studio.replay.allowed_targets", req.Target, len(notAllowed), brief(notAllowed))
	}
	if len(noDest) > 0 {
		return nil, refuse("invalid_argument", "the original destination of %d messages is unknown (%s); choose a target", len(noDest), brief(noDest))
	}
	return items, nil
}

// targetAllowed reports whether t matches studio.replay.allowed_targets
// (names or path.Match globs such as "orders.*").
func (e *Engine) targetAllowed(t string) bool {
	for _, p := range e.cfg.AllowedTargets {
		if ok, _ := path.Match(p, t); ok || p == t {
			return true
		}
	}
	return false
}

// checkUntrusted re-reads every untrusted DLQ item from the broker at its
// DLQ location (the DLQ topic and offset, or stream sequence: where the
// broker holds it, whatever the entry claims) and sets its destination to
// the original destination the broker's copy records: the
// kafka_dlt-original-topic or x-original-topic header, else the DLQ
// topic's name without its .dlq/.DLT/-dlq suffix, or the NATS message's
// subject. An item the broker does not have cannot be replayed: its
// stored copy came from an unauthenticated sender.
func (e *Engine) checkUntrusted(ctx context.Context, items []*item) error {
	by := map[string][]*item{}
	for _, it := range items {
		if !it.trusted && it.dlqID != "" {
			by[it.system] = append(by[it.system], it)
		}
	}
	var missing []string
	for sys, its := range by {
		b := e.brokers[sys]
		if b == nil {
			return refuse("untrusted_source", "%d DLQ entries (%s) were not read from the broker by a trusted sidecar, so they are replayed only "+
				"from the broker, and no %s connection is configured for replays", len(its), brief(ids(its)), sys)
		}
		for start := 0; start < len(its); start += chunk {
			part := its[start:min(start+chunk, len(its))]
			out := make(map[int64]fetched, len(part))
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			b.read(rctx, part, out)
			cancel()
			for _, it := range part {
				f, ok := out[it.seq]
				if !ok || f.err != nil {
					missing = append(missing, it.dlqID)
					continue
				}
				it.to = brokerOriginal(it, f.message)
			}
		}
	}
	if len(missing) > 0 {
		return refuse("untrusted_source", "%d DLQ entries (%s) were not read from the broker by a trusted sidecar (see collector.trusted_dlq_sources) "+
			"and the broker has no message at their DLQ location; their stored copies are not replayed", len(missing), brief(missing))
	}
	return nil
}

// brokerOriginal is the original destination of a DLQ message as the
// broker's copy records it; "" when it records none.
func brokerOriginal(it *item, m message) string {
	if it.system == event.SystemNATS {
		return m.subject
	}
	for _, want := range []string{event.HeaderSpringDLTOriginalTopic, event.HeaderOriginalTopic} {
		for _, h := range m.headers {
			if strings.EqualFold(h.key, want) && h.value != "" {
				return h.value
			}
		}
	}
	for _, suffix := range []string{".dlq", ".DLT", "-dlq"} {
		if t, ok := strings.CutSuffix(it.from.topic, suffix); ok && t != "" {
			return t
		}
	}
	return ""
}

func ids(its []*item) []string {
	out := make([]string, len(its))
	for i, it := range its {
		out[i] = it.dlqID
	}
	return out
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// brief lists up to three values, and how many more.
func brief(vs []string) string {
	if len(vs) <= 3 {
		return strings.Join(vs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(vs[:3], ", "), len(vs)-3)
}

func (e *Engine) tooMany(n int) error {
	if n > e.cfg.MaxMessages {
		return refuse("invalid_argument", "a replay is limited to %d messages; narrow the selection", e.cfg.MaxMessages)
	}
	return nil
}

const page = 1000

func (e *Engine) fromDLQIDs(ctx context.Context, ids []string) ([]*item, error) {
	if err := e.tooMany(len(ids)); err != nil {
		return nil, err
	}
	found := map[string]store.DLQEntry{}
	for start := 0; start < len(ids); start += page {
		part := ids[start:min(start+page, len(ids))]
		p, err := e.st.DLQ(ctx, store.DLQQuery{IDs: part, Limit: len(part)})
		if err != nil {
			return nil, err
		}
		for _, d := range p.Entries {
			found[d.ID] = d
		}
	}
	var missing []string
	items := make([]*item, 0, len(ids))
	for _, id := range ids {
		d, ok := found[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		items = append(items, dlqItem(d))
	}
	if len(missing) > 0 {
		return nil, refuse("not_found", "%d DLQ entries not found: %s", len(missing), brief(missing))
	}
	return items, nil
}

func (e *Engine) fromDLQFilter(ctx context.Context, f DLQFilter) ([]*item, error) {
	q := store.DLQQuery{Source: f.Source, Original: f.Destination, Reason: f.Reason, Since: f.Since, Until: f.Until, Limit: page}
	var entries []store.DLQEntry
	for {
		p, err := e.st.DLQ(ctx, q)
		if err != nil {
			return nil, err
		}
		entries = append(entries, p.Entries...)
		if err := e.tooMany(len(entries)); err != nil {
			return nil, err
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	// In the order the messages failed: by arrival, then by DLQ position.
	slices.SortFunc(entries, func(a, b store.DLQEntry) int {
		return cmp.Or(cmp.Compare(a.TimeNS, b.TimeNS), cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.SourcePartition, b.SourcePartition), cmp.Compare(a.SourceOffset, b.SourceOffset))
	})
	items := make([]*item, len(entries))
	for i, d := range entries {
		items[i] = dlqItem(d)
	}
	return items, nil
}

func dlqItem(d store.DLQEntry) *item {
	return &item{dlqID: d.ID, eventID: d.EventID, corrID: d.CorrelationID, reason: d.Reason, size: d.PayloadSize,
		system: d.System, to: d.Original, trusted: d.Trusted,
		from: location{topic: d.Source, partition: d.SourcePartition, offset: d.SourceOffset, byStream: d.System == event.SystemNATS}}
}

// fromEvents locates each event id's message on its broker, preferring
// where it was published over where it was consumed.
func (e *Engine) fromEvents(ctx context.Context, ids []string) ([]*item, error) {
	if err := e.tooMany(len(ids)); err != nil {
		return nil, err
	}
	best := map[string]event.Event{}
	for start := 0; start < len(ids); start += page {
		q := store.EventQuery{EventIDs: ids[start:min(start+page, len(ids))], Limit: store.MaxLimit}
		for {
			p, err := e.st.Events(ctx, q)
			if err != nil {
				return nil, err
			}
			for _, ev := range p.Events {
				if rank(ev) > rank(best[ev.EventID]) {
					best[ev.EventID] = ev
				}
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
	}
	var missing, unlocated []string
	items := make([]*item, 0, len(ids))
	for _, id := range ids {
		ev, ok := best[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case rank(ev) < 2:
			unlocated = append(unlocated, id)
		default:
			items = append(items, &item{eventID: id, corrID: ev.CorrelationID, size: ev.PayloadSize, system: ev.System,
				to: ev.Destination, from: location{topic: ev.Destination, partition: ev.Partition, offset: ev.Offset}})
		}
	}
	if len(missing) > 0 {
		return nil, refuse("not_found", "%d events not found: %s", len(missing), brief(missing))
	}
	if len(unlocated) > 0 {
		return nil, refuse("invalid_argument", "%d events have no known broker location (system, destination and offset or stream sequence) to re-read them from: %s",
			len(unlocated), brief(unlocated))
	}
	return items, nil
}

// rank orders an event's records by how well they locate the message:
// 0 none, 1 unlocated, 2 located where consumed, 3 located where published.
func rank(ev event.Event) int {
	switch {
	case ev.SpanID == "":
		return 0
	case ev.Offset < 0 || ev.Destination == "" || (ev.System != event.SystemKafka && ev.System != event.SystemNATS) ||
		(ev.System == event.SystemKafka && ev.Partition < 0):
		return 1
	case ev.Op == event.OpPublish || ev.Op == event.OpReplay:
		return 3
	}
	return 2
}

// errGone is a read's error for a message the broker no longer holds
// (retention, compaction).
var errGone = errors.New("no longer on the broker")

// storedCopy is the fallback when the broker no longer has a DLQ message:
// the copy in the store, if the entry is trusted and the copy complete (not truncated, no redacted
// header; a Kafka key is not stored, so the partition may differ).
// Otherwise, and for any other read error, the broker's error stands.
func (e *Engine) storedCopy(it *item, brokerErr error) fetched {
	if brokerErr == nil {
		brokerErr = errGone
	}
	if it.dlqID == "" || !errors.Is(brokerErr, errGone) {
		return fetched{err: brokerErr}
	}
	if !it.trusted {
		return fetched{err: fmt.Errorf("%w; the stored copy is not used: the entry was not read from the broker by a trusted sidecar", brokerErr)}
	}
	d, err := e.st.DLQEntry(context.Background(), it.dlqID)
	if err != nil {
		return fetched{err: fmt.Errorf("%w; the stored copy: %v", brokerErr, err)}
	}
	if d.Truncated {
		return fetched{err: fmt.Errorf("%w; the stored copy is truncated", brokerErr)}
	}
	m := message{value: d.Payload}
	for k, v := range d.Headers {
		if v == store.Redacted {
			return fetched{err: fmt.Errorf("%w; the stored copy has redacted headers", brokerErr)}
		}
		m.headers = append(m.headers, header{k, v})
	}
	return fetched{message: m}
}
