package lineage

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/causeway-dev/causeway/event"
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
// must not be stored or streamed. It is applied once, in the collector,
// to every span attribute, event attribute and DLQ header before the rows
// reach the store (and so the API and the live stream).
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
