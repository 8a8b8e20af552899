package lineage

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/causeway-dev/causeway/store"
)

// Inherited correlation at ingest time.
//
// Most instrumentations other than Causeway's agent never copy a message's
// correlation header into a span attribute, so only the events of the
// service that set it carry one. An event without a correlation id takes
// its cause's: the event its span links to, its parent span's event (or,
// through plain spans of the same batch, the nearest event above it;
// unless parentIsCause says the parent is a consumer's own context), or
// the event its causation id names. Causes are looked up in the same
// batch first, then in a bounded cache of recent events' correlation ids,
// so a chain whose hops arrive in order (the usual case: a consumer's
// span is exported after its producer's) is correlated when it is
// stored. A cause not known yet is left to the stores, which inherit at
// query time (store.Reader).
//
// When the causes disagree (a batch process span linked to the records of
// several orders) the event inherits nothing: no correlation is better
// than the wrong one.
//
// With InheritConfig.CorrelationFromKey (off by default; for all
// destinations, or for those listed), an event that still has no
// correlation id and carries a message key — the root of a chain, as far
// as the collector knows — takes the key as its correlation id, and its
// effects inherit it: a flow keyed by order id is then one correlation.

// InheritConfig configures ingest-time correlation inheritance (the
// `lineage:` section of the configuration file).
type InheritConfig struct {
	// CorrelationFromKey makes the message key (Kafka record key, NATS
	// message id) of an event with no correlation id and none to inherit
	// its correlation id, on every destination.
	CorrelationFromKey bool `yaml:"correlation_from_key"`
	// CorrelationFromKeyDestinations does the same on these destinations
	// (topics, subjects) only, when CorrelationFromKey is off.
	CorrelationFromKeyDestinations []string `yaml:"correlation_from_key_destinations"`
	// CacheEntries bounds the cache of recent events' correlation ids that
	// causes arriving in earlier batches are found in (0: the default;
	// -1: no cache, causes in the same batch only).
	CacheEntries int `yaml:"inherit_cache_entries"`
}

// DefaultInheritCacheEntries is InheritConfig.CacheEntries by default:
// about 10 MB, several seconds of events at 50k events/s.
const DefaultInheritCacheEntries = 100_000

// MaxInheritCacheEntries is the largest InheritConfig.CacheEntries.
const MaxInheritCacheEntries = 10_000_000

// ErrInvalidConfig marks a configuration value out of bounds.
var ErrInvalidConfig = errors.New("invalid lineage config")

// DefaultInheritConfig is the configuration with nothing set.
func DefaultInheritConfig() InheritConfig {
	return InheritConfig{CacheEntries: DefaultInheritCacheEntries}
}

// Validate checks the bounds.
func (c InheritConfig) Validate() error {
	if c.CacheEntries < -1 || c.CacheEntries > MaxInheritCacheEntries {
		return fmt.Errorf("%w: inherit_cache_entries %d not in [-1, %d]", ErrInvalidConfig, c.CacheEntries, MaxInheritCacheEntries)
	}
	for _, d := range c.CorrelationFromKeyDestinations {
		if d == "" {
			return fmt.Errorf("%w: an empty destination in correlation_from_key_destinations", ErrInvalidConfig)
		}
	}
	return nil
}

// InheritStats are an Inheritor's counters since it was made.
type InheritStats struct {
	// Inherited counts events that took a cause's correlation id.
	Inherited uint64
	// FromKey counts events whose message key became the correlation id.
	FromKey uint64
	// Ambiguous counts events whose causes had different correlation ids.
	Ambiguous uint64
	// CacheEntries is the cache's size now, CacheCapacity its bound.
	CacheEntries, CacheCapacity int
	// CacheHits counts causes found in the cache (not in their own batch).
	CacheHits uint64
	// CacheEvicted counts entries dropped to keep the bound.
	CacheEvicted uint64
}

// Inheritor fills missing correlation ids (see InheritConfig). It is safe
// for concurrent use; batches are applied one at a time.
type Inheritor struct {
	fromKeyAll bool
	fromKey    map[string]bool

	mu    sync.Mutex
	cache corrCache

	inherited, fromKeyN, ambiguous, hits atomic.Uint64
}

// NewInheritor makes an Inheritor; cfg must be valid.
func NewInheritor(cfg InheritConfig) *Inheritor {
	capacity := cfg.CacheEntries
	switch capacity {
	case 0:
		capacity = DefaultInheritCacheEntries
	case -1:
		capacity = 0
	}
	in := &Inheritor{fromKeyAll: cfg.CorrelationFromKey, cache: newCorrCache(capacity)}
	if len(cfg.CorrelationFromKeyDestinations) > 0 {
		in.fromKey = make(map[string]bool, len(cfg.CorrelationFromKeyDestinations))
		for _, d := range cfg.CorrelationFromKeyDestinations {
			in.fromKey[d] = true
		}
	}
	return in
}

// Stats returns the counters and the cache's size.
func (in *Inheritor) Stats() InheritStats {
	in.mu.Lock()
	n, evicted := in.cache.len(), in.cache.evicted
	in.mu.Unlock()
	return InheritStats{Inherited: in.inherited.Load(), FromKey: in.fromKeyN.Load(), Ambiguous: in.ambiguous.Load(),
		CacheEntries: n, CacheCapacity: in.cache.capacity, CacheHits: in.hits.Load(), CacheEvicted: evicted}
}

// Maps of this file are keyed by span id alone, the trace id kept in the
// value and compared on lookup: one string hashed instead of two. Span ids
// are random 64-bit numbers; two spans of one batch or of the cache
// sharing one only cost a missed inheritance, never a wrong one.

// maxInheritDepth bounds how far one lookup walks up a batch's chain of
// causes; deeper chains are left to query-time inheritance.
const maxInheritDepth = 256

// resolving marks an event being resolved (a cycle of causes).
const (
	unresolved uint8 = iota
	resolving
	resolved
)

// Apply fills the correlation ids of b's events that have none, and of
// the edges into them, then remembers b's correlated events for later
// batches. It changes b in place.
func (in *Inheritor) Apply(b *store.Batch) {
	if len(b.Events) == 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	changed := false
	a := applier{in: in, b: b}
	for i := range b.Events {
		if b.Events[i].CorrelationID != "" {
			continue
		}
		if a.byRef == nil {
			// Only a batch with an event to fill needs its index.
			a.byRef, a.state = make(map[string]int32, len(b.Events)), make([]uint8, len(b.Events))
			for j := range b.Events {
				a.byRef[b.Events[j].SpanID] = int32(j)
			}
		}
		changed = a.resolve(i, 0) != "" || changed
	}
	if changed {
		for i := range b.Edges {
			ed := &b.Edges[i]
			if ed.CorrelationID != "" {
				continue
			}
			if j, ok := a.byRef[ed.ToSpanID]; ok && b.Events[j].TraceID == ed.ToTraceID {
				ed.CorrelationID = b.Events[j].CorrelationID
			}
		}
	}
	if in.cache.capacity == 0 {
		return
	}
	for i := range b.Events {
		e := &b.Events[i]
		if e.CorrelationID == "" {
			continue
		}
		in.cache.put(e.SpanID, cached{e.TraceID, e.CorrelationID})
		if e.EventID != e.SpanID {
			in.cache.put(e.EventID, cached{corr: e.CorrelationID})
		}
	}
}

// applier is one Apply call's state.
type applier struct {
	in    *Inheritor
	b     *store.Batch
	byRef map[string]int32 // span id → event
	state []uint8
	// plain maps the batch's spans that are not events to their parents,
	// built on the first lookup that needs it.
	plain map[string]cached // span id → trace id and parent span id
	// byEventID maps event ids to events of the batch, built on the first
	// causation-id lookup.
	byEventID map[string]int32
}

// resolve finds event i's correlation id from its causes and sets it.
func (a *applier) resolve(i, depth int) string {
	e := &a.b.Events[i]
	if e.CorrelationID != "" || a.state[i] != unresolved {
		return e.CorrelationID
	}
	if depth > maxInheritDepth {
		return ""
	}
	a.state[i] = resolving
	var found string
	ambiguous := false
	consider := func(c string) {
		switch {
		case c == "":
		case found == "":
			found = c
		case found != c:
			ambiguous = true
		}
	}
	for _, l := range e.Links {
		consider(a.span(l.TraceID, l.SpanID, depth+1))
	}
	if e.ParentSpanID != "" && parentIsCause(e.Op, len(e.Links)) {
		consider(a.span(e.TraceID, e.ParentSpanID, depth+1))
	}
	if e.CausationID != "" {
		consider(a.event(e.CausationID, depth+1))
	}
	a.state[i] = resolved
	switch {
	case ambiguous:
		a.in.ambiguous.Add(1)
	case found != "":
		e.CorrelationID = found
		a.in.inherited.Add(1)
	case e.MessageKey != "" && (a.in.fromKeyAll || a.in.fromKey[e.Destination]):
		e.CorrelationID = e.MessageKey
		a.in.fromKeyN.Add(1)
	}
	return e.CorrelationID
}

// span is the correlation id of the event at span (trace, id): in the
// batch, through the batch's plain spans up to the nearest event, or in
// the cache.
func (a *applier) span(trace, id string, depth int) string {
	for ; depth <= maxInheritDepth; depth++ {
		if j, ok := a.byRef[id]; ok && a.b.Events[j].TraceID == trace {
			return a.resolve(int(j), depth)
		}
		if c, ok := a.in.cache.get(id); ok && c.trace == trace {
			a.in.hits.Add(1)
			return c.corr
		}
		if a.plain == nil {
			a.plain = make(map[string]cached, len(a.b.Spans))
			for _, s := range a.b.Spans {
				if s.ParentSpanID != "" {
					a.plain[s.SpanID] = cached{s.TraceID, s.ParentSpanID}
				}
			}
		}
		parent, ok := a.plain[id]
		if !ok || parent.trace != trace {
			return ""
		}
		id = parent.corr
	}
	return ""
}

// event is the correlation id of the event with id eventID: in the batch,
// or in the cache.
func (a *applier) event(eventID string, depth int) string {
	if a.byEventID == nil {
		a.byEventID = make(map[string]int32, len(a.b.Events))
		for i := range a.b.Events {
			if _, dup := a.byEventID[a.b.Events[i].EventID]; !dup {
				a.byEventID[a.b.Events[i].EventID] = int32(i)
			}
		}
	}
	if j, ok := a.byEventID[eventID]; ok {
		if c := a.resolve(int(j), depth); c != "" {
			return c
		}
	}
	if c, ok := a.in.cache.get(eventID); ok && c.trace == "" {
		a.in.hits.Add(1)
		return c.corr
	}
	return ""
}

// cached is a cache entry: the trace id of a span (empty for an event id)
// and a correlation id; the plain-span index keeps a parent span id in
// corr.
type cached struct{ trace, corr string }

// corrCache maps recent events (by span id, and by event id with an empty
// trace) to their correlation ids. It holds at most capacity entries in
// two generations: when the current one is full the previous one is
// dropped and the current one becomes the previous, so lookups and
// inserts stay O(1) and the recent half is always kept.
type corrCache struct {
	capacity  int
	cur, prev map[string]cached
	evicted   uint64
}

func newCorrCache(capacity int) corrCache {
	return corrCache{capacity: capacity, cur: make(map[string]cached, (capacity+1)/2)}
}

func (c *corrCache) len() int { return len(c.cur) + len(c.prev) }

func (c *corrCache) get(k string) (cached, bool) {
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.prev[k]
	return v, ok
}

func (c *corrCache) put(k string, v cached) {
	if _, ok := c.cur[k]; !ok && len(c.cur) >= (c.capacity+1)/2 {
		c.evicted += uint64(len(c.prev))
		c.prev, c.cur = c.cur, make(map[string]cached, (c.capacity+1)/2)
	}
	c.cur[k] = v
}
