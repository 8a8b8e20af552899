package embedded

import (
	"maps"
	"slices"
	"strconv"

	"github.com/causeway-dev/causeway/event"
)

// An event row (schema v2) keeps in columns what queries filter and sort
// on and packs the rest into body: the event's other fields, its
// attributes, and, when the event's span came with it, what the span adds
// (name, kind, status and the attributes the event does not keep).
//
// Attribute values that repeat one of the event's own fields (a span's
// messaging.destination.name is the event's Destination, its message id
// the EventID) are stored as a one-byte reference to that field.

// nRefs is the number of fields a value may refer to; see refs.
const nRefs = 20

// refs are the event's fields an attribute value may refer to, made on
// first use.
type refs struct {
	e    *event.Event
	vals [nRefs]string
	made bool
}

func (r *refs) all() *[nRefs]string {
	if !r.made {
		e := r.e
		r.vals = [nRefs]string{e.EventID, e.EventType, e.CorrelationID, e.CausationID, e.MessageKey,
			e.Service, e.System, e.Destination, e.ConsumerGroup, e.Cluster, e.Handler, e.SchemaVersion,
			e.ReplayOf, e.Error, string(e.Op), string(e.Outcome),
			strconv.FormatInt(int64(e.Partition), 10), strconv.FormatInt(e.Offset, 10),
			strconv.FormatInt(int64(e.Attempt), 10), strconv.FormatInt(e.PayloadSize, 10)}
		r.made = true
	}
	return &r.vals
}

// index is the position in all of the field v equals, or -1; it builds
// no strings (all is for reading back).
func (r *refs) index(v string) int {
	if v == "" {
		return -1
	}
	e := r.e
	for i, s := range [...]string{e.EventID, e.EventType, e.CorrelationID, e.CausationID, e.MessageKey,
		e.Service, e.System, e.Destination, e.ConsumerGroup, e.Cluster, e.Handler, e.SchemaVersion,
		e.ReplayOf, e.Error, string(e.Op), string(e.Outcome)} {
		if s == v {
			return i
		}
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return -1
	}
	var buf [20]byte
	for i, n := range [...]int64{int64(e.Partition), e.Offset, int64(e.Attempt), e.PayloadSize} {
		if string(strconv.AppendInt(buf[:0], n, 10)) == v {
			return 16 + i
		}
	}
	return -1
}

// value packs the value of attribute key: a reference to the event field
// it equals, else a dict number when the key's values repeat (dict.few),
// else the string.
func (r *refs) value(p *packer, d *dictWriter, key int64, v string) {
	if i := r.index(v); i >= 0 {
		p.uint(uint64(i))
		return
	}
	if d.d.few(key, v, fewValues) {
		p.uint(tagDict)
		p.uint(uint64(d.id(v)))
		return
	}
	h, b := header(v)
	p.uint(tagLiteral + h)
	if b != nil {
		p.b = append(p.b, b...)
	} else {
		p.b = append(p.b, v...)
	}
}

// Value tags: below nRefs a reference, tagDict a dict number, from
// tagLiteral on a string's header plus tagLiteral.
const (
	tagDict    = nRefs
	tagLiteral = nRefs + 1
)

func (r *refs) read(u *unpacker, d *dictReader) string {
	switch h := u.uint(); {
	case h < nRefs:
		return r.all()[h]
	case h == tagDict:
		return d.str(int64(u.uint()))
	default:
		return u.strAfter(h - tagLiteral)
	}
}

// keySet numbers a set of attribute keys, in order, as one dict string:
// rows of one instrumentation share their key sets, so a row stores one
// number instead of one per key.
func (w *rowsWriter) keySet(keys []string) int64 {
	w.set.b = w.set.b[:0]
	for _, k := range keys {
		w.set.str(k)
	}
	return w.dict.idBytes(w.set.b)
}

// sortedKeys returns m's keys not in except, sorted, in a buffer reused
// by the next call.
func (w *rowsWriter) sortedKeys(m, except map[string]string) []string {
	w.keys = w.keys[:0]
	for k := range m {
		if _, ok := except[k]; !ok {
			w.keys = append(w.keys, k)
		}
	}
	slices.Sort(w.keys)
	return w.keys
}

// readKeySet returns the keys of a keySet number.
func readKeySet(d *dictReader, id int64) []string {
	s := d.str(id)
	u := unpacker{b: []byte(s)}
	var keys []string
	for len(u.b) > 0 && u.err == nil {
		keys = append(keys, u.str())
	}
	if u.err != nil && d.err == nil {
		d.err = u.err
	}
	return keys
}

// spanPart is what an event's span adds to the event.
type spanPart struct {
	name, kind, statusCode, statusMessage string
	extra                                 map[string]string
}

// absorbs reports whether sp can be kept in e's row: the fields they share
// are equal and every attribute of the event is the span's.
func absorbs(e *event.Event, sp *event.Span) bool {
	if sp.ParentSpanID != e.ParentSpanID || sp.Service != e.Service || sp.StartNS != e.StartNS ||
		sp.DurationNS != e.DurationNS || !slices.Equal(sp.Links, e.Links) {
		return false
	}
	for k, v := range e.Attributes {
		if w, ok := sp.Attributes[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Flags, the first byte of an event row's body, so that SQL can test
// them with substr(body, 1, 1): flagSpan marks a row that keeps its span
// (retention counts the spans it deletes by it); flagKeyIsCorrelation a
// message key equal to the correlation id, stored once (the message_key
// column is empty and events_message_key has no entry for the row).
const (
	flagSpan             = 1
	flagKeyIsCorrelation = 2
	// flagsSpanSQL and flagsKeySQL are the body prefixes with each flag set.
	flagsSpanSQL = `x'01', x'03'`
	flagsKeySQL  = `x'02', x'03'`
)

// packEvent packs e's body; sp, when not nil, is its span (absorbs holds).
// implied is the mask of the edges implied by the row (see impliedEdges).
func (w *rowsWriter) packEvent(e *event.Event, sp *event.Span, implied uint64) []byte {
	d := &w.dict
	var p packer
	r := refs{e: e}
	// First the flags, then the duration: retention reads the one, the
	// flow map's ragged ends the other, without decoding the rest.
	flags := uint64(0)
	if sp != nil {
		flags |= flagSpan
	}
	if e.MessageKey != "" && e.MessageKey == e.CorrelationID {
		flags |= flagKeyIsCorrelation // the message_key column is then ''
	}
	p.uint(flags)
	p.uint(e.DurationNS)
	// Then which of the fields that are mostly unset are set, and those.
	var present uint64
	for i, set := range [...]bool{e.SchemaVersion != "", e.ParentSpanID != "", len(e.Links) > 0, e.Handler != "",
		e.Cluster != "", e.Partition != -1, e.Offset != -1, e.Error != "", e.Attempt != 0, e.PayloadSize != -1,
		e.ReplayOf != "", implied != 0} {
		if set {
			present |= 1 << i
		}
	}
	p.uint(present)
	if present&(1<<0) != 0 {
		p.str(e.SchemaVersion)
	}
	if present&(1<<1) != 0 {
		p.id(e.ParentSpanID)
	}
	if present&(1<<2) != 0 {
		p.uint(uint64(len(e.Links)))
		for _, l := range e.Links {
			p.id(l.TraceID)
			p.id(l.SpanID)
		}
	}
	if present&(1<<3) != 0 {
		p.str(e.Handler)
	}
	if present&(1<<4) != 0 {
		p.str(e.Cluster)
	}
	if present&(1<<5) != 0 {
		p.int(int64(e.Partition))
	}
	if present&(1<<6) != 0 {
		p.int(e.Offset)
	}
	if present&(1<<7) != 0 {
		p.str(e.Error)
	}
	if present&(1<<8) != 0 {
		p.int(int64(e.Attempt))
	}
	if present&(1<<9) != 0 {
		p.int(e.PayloadSize)
	}
	if present&(1<<10) != 0 {
		p.str(e.ReplayOf)
	}
	if present&(1<<11) != 0 {
		p.uint(implied)
	}
	keys := w.sortedKeys(e.Attributes, nil)
	p.uint(uint64(w.keySet(keys)))
	for _, k := range keys {
		r.value(&p, d, d.id(k), e.Attributes[k])
	}
	if sp == nil {
		return p.b
	}
	w.name(&p, &r, sp.Name)
	p.uint(uint64(d.id(sp.Kind)))
	p.uint(uint64(d.id(sp.StatusCode)))
	r.value(&p, d, 0, sp.StatusMessage)
	extra := w.sortedKeys(sp.Attributes, e.Attributes)
	p.uint(uint64(w.keySet(extra)))
	for _, k := range extra {
		r.value(&p, d, d.id(k), sp.Attributes[k])
	}
	return p.b
}

// unpackEvent fills the fields of e kept in body (the columns are already
// set) and returns the span part, if the row has one, and the implied
// edges' mask.
func unpackEvent(d *dictReader, body []byte, e *event.Event) (*spanPart, uint64, error) {
	u := unpacker{b: body}
	r := refs{e: e}
	flags := u.uint()
	if flags&flagKeyIsCorrelation != 0 {
		e.MessageKey = e.CorrelationID
	}
	e.DurationNS = u.uint()
	present := u.uint()
	e.Partition, e.Offset, e.PayloadSize = -1, -1, -1
	if present&(1<<0) != 0 {
		e.SchemaVersion = u.str()
	}
	if present&(1<<1) != 0 {
		e.ParentSpanID = u.id()
	}
	if present&(1<<2) != 0 {
		if n := u.uint(); n > 0 && n <= uint64(len(body)) {
			e.Links = make([]event.Link, n)
			for i := range e.Links {
				e.Links[i] = event.Link{TraceID: u.id(), SpanID: u.id()}
			}
		}
	}
	if present&(1<<3) != 0 {
		e.Handler = u.str()
	}
	if present&(1<<4) != 0 {
		e.Cluster = u.str()
	}
	if present&(1<<5) != 0 {
		e.Partition = int32(u.int())
	}
	if present&(1<<6) != 0 {
		e.Offset = u.int()
	}
	if present&(1<<7) != 0 {
		e.Error = u.str()
	}
	if present&(1<<8) != 0 {
		e.Attempt = int32(u.int())
	}
	if present&(1<<9) != 0 {
		e.PayloadSize = u.int()
	}
	if present&(1<<10) != 0 {
		e.ReplayOf = u.str()
	}
	var implied uint64
	if present&(1<<11) != 0 {
		implied = u.uint()
	}
	if keys := readKeySet(d, int64(u.uint())); len(keys) > 0 {
		e.Attributes = make(map[string]string, len(keys))
		for _, k := range keys {
			e.Attributes[k] = r.read(&u, d)
		}
	}
	var sp *spanPart
	if flags&flagSpan != 0 {
		sp = &spanPart{name: r.read(&u, d)}
		sp.kind, sp.statusCode = d.str(int64(u.uint())), d.str(int64(u.uint()))
		sp.statusMessage = r.read(&u, d)
		if keys := readKeySet(d, int64(u.uint())); len(keys) > 0 {
			sp.extra = make(map[string]string, len(keys))
			for _, k := range keys {
				sp.extra[k] = r.read(&u, d)
			}
		}
	}
	if u.err == nil && d.err != nil {
		u.err = d.err
	}
	return sp, implied, u.err
}

// span rebuilds the span an event row keeps.
func (p *spanPart) span(e *event.Event) event.Span {
	sp := event.Span{TraceID: e.TraceID, SpanID: e.SpanID, ParentSpanID: e.ParentSpanID, Service: e.Service,
		Name: p.name, Kind: p.kind, StartNS: e.StartNS, DurationNS: e.DurationNS, StatusCode: p.statusCode,
		StatusMessage: p.statusMessage, Links: slices.Clone(e.Links)}
	if n := len(e.Attributes) + len(p.extra); n > 0 {
		sp.Attributes = make(map[string]string, n)
		maps.Copy(sp.Attributes, e.Attributes)
		maps.Copy(sp.Attributes, p.extra)
	}
	return sp
}

// Implied edges: bit 0 the parent edge, bit 1 the causation edge, bit
// 2+i the edge of link i (same-trace links only: a link from another
// trace must be found by that trace's id, through the edges table).
const (
	impliedParent    = 1 << 0
	impliedCausation = 1 << 1
	impliedLinkShift = 2
	maxImpliedLinks  = 60
)

// candidateEdges are the edges lineage derives from e that a row can
// imply, with their bits.
func candidateEdges(e *event.Event, yield func(bit uint64, ed event.Edge) bool) {
	base := event.Edge{ToTraceID: e.TraceID, ToSpanID: e.SpanID, CorrelationID: e.CorrelationID, StartNS: e.StartNS}
	for i, l := range e.Links {
		if i >= maxImpliedLinks {
			break
		}
		if l.TraceID != e.TraceID {
			continue
		}
		ed := base
		ed.FromTraceID, ed.FromSpanID, ed.Kind = l.TraceID, l.SpanID, event.EdgeLink
		if !yield(1<<(impliedLinkShift+i), ed) {
			return
		}
	}
	if e.ParentSpanID != "" {
		ed := base
		ed.FromTraceID, ed.FromSpanID, ed.Kind = e.TraceID, e.ParentSpanID, event.EdgeParent
		if !yield(impliedParent, ed) {
			return
		}
	}
	if e.CausationID != "" {
		ed := base
		ed.FromEventID, ed.Kind = e.CausationID, event.EdgeCausation
		yield(impliedCausation, ed)
	}
}

// impliedEdges returns the edges mask says e's row implies.
func impliedEdges(e *event.Event, mask uint64) []event.Edge {
	var out []event.Edge
	if mask == 0 {
		return nil
	}
	candidateEdges(e, func(bit uint64, ed event.Edge) bool {
		if mask&bit != 0 {
			out = append(out, ed)
		}
		return true
	})
	return out
}

// noEvent is what a plain span's attribute values refer to: nothing but
// zeros, so that its values are dict numbers or strings (refs.index only
// matches "0" against its zero fields, and reads it back the same).
var noEvent event.Event

// packSpan packs a plain span's body (spans table).
func (w *rowsWriter) packSpan(sp *event.Span) []byte {
	d := &w.dict
	var p packer
	r := refs{e: &noEvent}
	p.id(sp.ParentSpanID)
	p.uint(uint64(d.id(sp.Service)))
	w.name(&p, &r, sp.Name)
	p.uint(uint64(d.id(sp.Kind)))
	p.uint(sp.DurationNS)
	p.uint(uint64(d.id(sp.StatusCode)))
	p.str(sp.StatusMessage)
	p.uint(uint64(len(sp.Links)))
	for _, l := range sp.Links {
		p.id(l.TraceID)
		p.id(l.SpanID)
	}
	keys := w.sortedKeys(sp.Attributes, nil)
	p.uint(uint64(w.keySet(keys)))
	for _, k := range keys {
		r.value(&p, d, d.id(k), sp.Attributes[k])
	}
	return p.b
}

func unpackSpan(d *dictReader, body []byte, sp *event.Span) error {
	u := unpacker{b: body}
	sp.ParentSpanID = u.id()
	r := refs{e: &noEvent}
	sp.Service = d.str(int64(u.uint()))
	sp.Name = r.read(&u, d)
	sp.Kind = d.str(int64(u.uint()))
	sp.DurationNS = u.uint()
	sp.StatusCode = d.str(int64(u.uint()))
	sp.StatusMessage = u.str()
	if n := u.uint(); n > 0 && n <= uint64(len(body)) {
		sp.Links = make([]event.Link, n)
		for i := range sp.Links {
			sp.Links[i] = event.Link{TraceID: u.id(), SpanID: u.id()}
		}
	}
	if keys := readKeySet(d, int64(u.uint())); len(keys) > 0 {
		sp.Attributes = make(map[string]string, len(keys))
		for _, k := range keys {
			sp.Attributes[k] = r.read(&u, d)
		}
	}
	if u.err == nil && d.err != nil {
		return d.err
	}
	return u.err
}

// spanNameKey is the pseudo attribute key span names are counted under
// for dict.few: a service's span names repeat, but some instrumentations
// put ids in them, and those must not fill the dict.
const spanNameKey = "\x00span.name"

// name packs a span name: a dict number while the store has seen at most
// fewNames distinct names, else the string.
func (w *rowsWriter) name(p *packer, r *refs, name string) {
	d := &w.dict
	if i := r.index(name); i >= 0 {
		p.uint(uint64(i))
		return
	}
	if d.d.few(d.id(spanNameKey), name, fewNames) {
		p.uint(tagDict)
		p.uint(uint64(d.id(name)))
		return
	}
	h, b := header(name)
	p.uint(tagLiteral + h)
	if b != nil {
		p.b = append(p.b, b...)
	} else {
		p.b = append(p.b, name...)
	}
}
