package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Opener opens a backend from its parsed URL.
type Opener func(ctx context.Context, u *url.URL) (Store, error)

var (
	openersMu sync.RWMutex
	openers   = map[string]Opener{}
)

// Register makes a backend available under a URL scheme. Backends call it
// from init; registering a scheme twice panics, as database/sql does.
func Register(scheme string, o Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	openers[scheme] = o
}

// Open opens the store a URL names, e.g. "embedded:///var/lib/causeway" or
// "clickhouse://127.0.0.1:9000/causeway". The backend's package must have
// been imported (for its init) by the program.
func Open(ctx context.Context, rawURL string) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return nil, fmt.Errorf("store URL %s: %w", Redact(rawURL), err)
	}
	openersMu.RLock()
	o, ok := openers[u.Scheme]
	openersMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("store URL %q: unknown scheme %q (known: %s)", Redact(rawURL), u.Scheme, strings.Join(Schemes(), ", "))
	}
	return o(ctx, u)
}

// Schemes lists the registered URL schemes, sorted.
func Schemes() []string {
	openersMu.RLock()
	defer openersMu.RUnlock()
	s := make([]string, 0, len(openers))
	for k := range openers {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Redact returns rawURL fit for logs and errors: the password of the user
// part and the value of every query parameter that names a secret
// (password, password_file stays visible as it is a path; token, secret,
// key… by name) replaced with xxxxx. A URL that does not parse is not shown.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparseable URL>"
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			for i, v := range vs {
				if secretParam(k) {
					vs[i] = redacted
				} else if strings.Contains(v, "@") { // a URL inside, e.g. http_proxy=http://user:pass@proxy
					if inner, err := url.Parse(v); err == nil && inner.User != nil {
						vs[i] = inner.Redacted()
					}
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// redacted stands for a secret in a redacted URL (as url.URL.Redacted writes).
const redacted = "xxxxx"

// secretParam tells whether a URL query parameter carries a secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "_file") {
		return false // a path to the secret, not the secret
	}
	for _, s := range []string{"password", "passwd", "pass", "pwd", "secret", "token", "key", "credential", "auth"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
