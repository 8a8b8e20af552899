package lineage

import (
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// DefaultRedactHeaders are the header names whose values are never
// stored: credentials and session material, as the OWASP logging and
// common proxy conventions list them.
var DefaultRedactHeaders = []string{
	"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
	"x-auth-token", "x-amz-security-token", "api_key", "api-key", "x-csrf-token",
}

// redactWords are parts of a header name that mark it as secret, wherever
// they occur in it (x-session-id, x-github-token, db-password, …).
var redactWords = []string{"token", "secret", "password", "passwd", "session", "credential", "private-key", "private_key"}

// headerParts are the attribute-key prefixes under which instrumentations
// record message and HTTP headers; the part after them is a header name.
var headerParts = []string{event.AttrDLQHeaderPrefix, ".header.", ".headers."}

// Redactor decides which headers and span attributes hold values that
// must not be stored or streamed. The collector applies it to each
// request before spooling it (RedactTraces), and derivation applies it
// again to the rows it makes (span and event attributes, DLQ headers), so
// neither the spool, the store, the API nor the live stream holds them.
//
// A nil *Redactor acts as DefaultRedactor.
type Redactor struct {
	deny map[string]bool
	// seen caches Attr's answer by key: spans repeat a few hundred keys,
	// and the answer costs more than a lookup. At most maxSeen keys are
	// cached, so arbitrary keys cannot grow it without bound.
	seen  sync.Map // string → bool
	nseen atomic.Int32
}

const maxSeen = 4096

// NewRedactor denies the given header names (case-insensitive) besides
// the names that contain a word of redactWords. nil gives the defaults.
func NewRedactor(headers []string) *Redactor {
	if headers == nil {
		headers = DefaultRedactHeaders
	}
	r := &Redactor{deny: make(map[string]bool, len(headers))}
	for _, h := range headers {
		r.deny[strings.ToLower(strings.TrimSpace(h))] = true
	}
	return r
}

// DefaultRedactor applies DefaultRedactHeaders.
var DefaultRedactor = NewRedactor(nil)

// Header reports whether a header's value must be redacted.
func (r *Redactor) Header(name string) bool {
	if r == nil {
		r = DefaultRedactor
	}
	n := strings.ToLower(name)
	if r.deny[n] {
		return true
	}
	for _, w := range redactWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Attr reports whether a span attribute's value must be redacted: a
// header recorded as an attribute (messaging.header.authorization,
// http.request.header.cookie, causeway.dlq.header.x-api-key) whose name
// Header denies, or an attribute named like a denied header or a
// password or secret ("db.password", "auth.api_key").
func (r *Redactor) Attr(key string) bool {
	if r == nil {
		r = DefaultRedactor
	}
	if v, ok := r.seen.Load(key); ok {
		return v.(bool)
	}
	deny := r.attr(key)
	if r.nseen.Load() < maxSeen {
		if _, loaded := r.seen.LoadOrStore(key, deny); !loaded {
			r.nseen.Add(1)
		}
	}
	return deny
}

func (r *Redactor) attr(key string) bool {
	k := strings.ToLower(key)
	for _, p := range headerParts {
		if i := strings.LastIndex(k, p); i >= 0 {
			return r.Header(k[i+len(p):])
		}
	}
	last := k[strings.LastIndexByte(k, '.')+1:]
	return r.deny[last] || strings.Contains(last, "password") || strings.Contains(last, "secret")
}

// RedactTraces replaces, in place, the values of every attribute Attr
// denies: on resources, scopes, spans, span events and links. It returns
// how many values it replaced. The collector runs it on each request
// before spooling it, so a secret is not written even to the spool.
func (r *Redactor) RedactTraces(td ptrace.Traces) int {
	n := 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		n += r.redactMap(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			n += r.redactMap(ss.Scope().Attributes())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				n += r.redactMap(sp.Attributes())
				for e := 0; e < sp.Events().Len(); e++ {
					n += r.redactMap(sp.Events().At(e).Attributes())
				}
				for l := 0; l < sp.Links().Len(); l++ {
					n += r.redactMap(sp.Links().At(l).Attributes())
				}
			}
		}
	}
	return n
}

func (r *Redactor) redactMap(m pcommon.Map) int {
	n := 0
	m.Range(func(k string, v pcommon.Value) bool {
		if r.Attr(k) && !(v.Type() == pcommon.ValueTypeStr && v.Str() == store.Redacted) {
			v.SetStr(store.Redacted)
			n++
		}
		return true
	})
	return n
}
