package agent

import (
	"encoding/hex"

	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/event"
)

// HeaderList is implemented by Headers that are an ordered list of
// byte-valued headers, as Kafka record headers are (kafka.Carrier). The
// agent then reads a message's headers in one pass and adds the headers
// it writes with values sliced from one buffer, instead of one Get and
// one Set, each converting between string and []byte, per header.
type HeaderList interface {
	Headers
	// HeaderCount is the number of headers.
	HeaderCount() int
	// HeaderAt returns the i-th header. The agent neither keeps nor
	// modifies value.
	HeaderAt(i int) (key string, value []byte)
	// GrowHeaders makes room for n more headers.
	GrowHeaders(n int)
	// AddHeader appends a header that the agent found absent. value
	// shares its array with the other values the agent adds to the same
	// message and must not be modified.
	AddHeader(key string, value []byte)
}

// msgHeaders are the Causeway headers of one message, read in one pass.
type msgHeaders struct {
	id, typ, corr, cause, replayOf, schema string
	hasSource, hasTime                     bool
	// hasTraceContext: a traceparent header is present (valid or not),
	// so writing one replaces it.
	hasTraceContext bool
	// remote is the producer's span context from traceparent and
	// tracestate, invalid when absent or malformed.
	remote trace.SpanContext
}

// read fills m from h: in one pass over a HeaderList, else with one Get
// per header.
func (m *msgHeaders) read(h Headers) {
	if l, ok := h.(HeaderList); ok {
		m.readList(l)
		return
	}
	m.id, m.typ = h.Get(event.HeaderEventID), h.Get(event.HeaderEventType)
	m.corr, m.cause = h.Get(event.HeaderCorrelationID), h.Get(event.HeaderCausationID)
	m.replayOf, m.schema = h.Get(event.HeaderReplayOf), h.Get(event.HeaderSchemaVersion)
	m.hasSource = h.Get(event.HeaderEventSource) != ""
	m.hasTime = h.Get(event.HeaderEventTime) != ""
	if tp := h.Get(event.HeaderTraceparent); tp != "" {
		m.hasTraceContext = true
		m.remote = parseTraceparent(tp, h.Get(event.HeaderTracestate))
	}
}

// readList reads a HeaderList in one pass. The id values are copied into
// one string (one allocation), of which the fields are substrings.
func (m *msgHeaders) readList(l HeaderList) {
	var id, typ, corr, cause, replayOf, schema, tp, ts []byte
	for i, n := 0, l.HeaderCount(); i < n; i++ {
		k, v := l.HeaderAt(i)
		if len(v) == 0 {
			continue // an empty header counts as absent, as Get's "" does
		}
		switch k {
		case event.HeaderEventID:
			id = first(id, v)
		case event.HeaderEventType:
			typ = first(typ, v)
		case event.HeaderCorrelationID:
			corr = first(corr, v)
		case event.HeaderCausationID:
			cause = first(cause, v)
		case event.HeaderReplayOf:
			replayOf = first(replayOf, v)
		case event.HeaderSchemaVersion:
			schema = first(schema, v)
		case event.HeaderEventSource:
			m.hasSource = true
		case event.HeaderEventTime:
			m.hasTime = true
		case event.HeaderTraceparent:
			tp = first(tp, v)
		case event.HeaderTracestate:
			ts = first(ts, v)
		}
	}
	if tp != nil {
		m.hasTraceContext = true
		m.remote = parseTraceparent(tp, string(ts))
	}
	total := len(id) + len(typ) + len(corr) + len(cause) + len(replayOf) + len(schema)
	if total == 0 {
		return
	}
	var arr [256]byte
	buf := append(append(append(append(append(append(arr[:0], id...), typ...), corr...), cause...), replayOf...), schema...)
	s := string(buf)
	at := 0
	cut := func(n int) string { at += n; return s[at-n : at] }
	m.id, m.typ, m.corr, m.cause, m.replayOf = cut(len(id)), cut(len(typ)), cut(len(corr)), cut(len(cause)), cut(len(replayOf))
	m.schema = cut(len(schema))
}

// first keeps the first value of a header, as Get does.
func first(have, v []byte) []byte {
	if have != nil {
		return have
	}
	return v
}

// headerWriter adds the headers a publish writes: into one buffer, handed
// to a HeaderList as sub-slices, or to other carriers as substrings of one
// string.
type headerWriter struct {
	buf  []byte
	keys [8]string
	ends [8]int
	n    int
}

// mark records a header whose value was just appended to w.buf.
func (w *headerWriter) mark(key string) {
	w.keys[w.n], w.ends[w.n] = key, len(w.buf)
	w.n++
}

// flush writes the marked headers to h: to a HeaderList as sub-slices of
// the buffer, to other carriers as substrings of one copy of it.
// replaceTraceContext: a traceparent is present already and is replaced,
// not added next to it.
func (w *headerWriter) flush(h Headers, replaceTraceContext bool) {
	var s string
	l, isList := h.(HeaderList)
	if isList {
		l.GrowHeaders(w.n)
	} else {
		s = string(w.buf)
	}
	from := 0
	for i := 0; i < w.n; i++ {
		k, to := w.keys[i], w.ends[i]
		switch {
		case !isList:
			h.Set(k, s[from:to])
		case replaceTraceContext && (k == event.HeaderTraceparent || k == event.HeaderTracestate):
			h.Set(k, string(w.buf[from:to]))
		default:
			l.AddHeader(k, w.buf[from:to:to])
		}
		from = to
	}
}

// appendTraceparent appends sc as a W3C traceparent header value
// (version 00; only the sampled flag is carried).
func appendTraceparent(b []byte, sc trace.SpanContext) []byte {
	tid, sid := sc.TraceID(), sc.SpanID()
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, tid[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, sid[:])
	if sc.IsSampled() {
		return append(b, "-01"...)
	}
	return append(b, "-00"...)
}

// parseTraceparent parses a W3C traceparent (and its tracestate) as the
// OpenTelemetry propagator does: lower-case hex, version ff invalid,
// version 00 exactly 55 characters, later versions possibly longer, ids
// not all zero, only the sampled flag kept. It returns an invalid span
// context when v is not a traceparent.
func parseTraceparent[T string | []byte](v T, tracestate string) trace.SpanContext {
	const size = 55
	if len(v) < size || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return trace.SpanContext{}
	}
	var ver [1]byte
	if !decodeHex(ver[:], v[0:2]) || ver[0] == 0xff || (ver[0] == 0 && len(v) != size) || (len(v) > size && v[size] != '-') {
		return trace.SpanContext{}
	}
	var tid trace.TraceID
	var sid trace.SpanID
	var flags [1]byte
	if !decodeHex(tid[:], v[3:35]) || !decodeHex(sid[:], v[36:52]) || !decodeHex(flags[:], v[53:55]) {
		return trace.SpanContext{}
	}
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.TraceFlags(flags[0]) & trace.FlagsSampled, Remote: true}
	if tracestate != "" {
		if ts, err := trace.ParseTraceState(tracestate); err == nil {
			cfg.TraceState = ts
		}
	}
	sc := trace.NewSpanContext(cfg)
	if !sc.IsValid() {
		return trace.SpanContext{}
	}
	return sc
}

// decodeHex decodes lower-case hex digits into dst (len(src) = 2·len(dst)).
func decodeHex[T string | []byte](dst []byte, src T) bool {
	for i := range dst {
		hi, ok1 := hexDigit(src[2*i])
		lo, ok2 := hexDigit(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
