package otlp

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Ingest authentication: with tokens configured, every OTLP request must
// carry "Authorization: Bearer <token>" (gRPC metadata "authorization"),
// which is what OTel SDKs send with
// OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>. A request
// without a known token is answered 401 / UNAUTHENTICATED before its body
// is read, and counted (reason "unauthenticated").

// Token is an ingest token and the name it is known by (in logs and
// metrics; never the token itself).
type Token struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
}

// MinTokenLength is the shortest ingest token accepted.
const MinTokenLength = 16

// ErrUnauthenticated is the error of a request without a known token.
var ErrUnauthenticated = errors.New("a valid ingest token is required (Authorization: Bearer <token>)")

// ParseTokens reads CAUSEWAY_INGEST_TOKENS: comma-separated name:token pairs.
func ParseTokens(s string) ([]Token, error) {
	var out []Token
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, tok, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("ingest token %d: want name:token", i+1)
		}
		out = append(out, Token{Name: name, Token: tok})
	}
	return out, nil
}

// Tokens checks requests' bearer tokens. A nil *Tokens lets everything in.
type Tokens struct {
	byHash map[[32]byte]string
	// lastLog rate-limits the warning for refused requests (unix ns).
	lastLog atomic.Int64
}

// NewTokens validates list; an empty list returns nil (no authentication).
func NewTokens(list []Token) (*Tokens, error) {
	if len(list) == 0 {
		return nil, nil
	}
	t := &Tokens{byHash: make(map[[32]byte]string, len(list))}
	for i, tok := range list {
		switch {
		case tok.Name == "":
			return nil, fmt.Errorf("ingest token %d has no name", i+1)
		case len(tok.Token) < MinTokenLength:
			return nil, fmt.Errorf("ingest token %d (%s): shorter than %d characters", i+1, tok.Name, MinTokenLength)
		}
		h := sha256.Sum256([]byte(tok.Token))
		if _, dup := t.byHash[h]; dup {
			return nil, fmt.Errorf("ingest token %d (%s): the same token is configured twice", i+1, tok.Name)
		}
		t.byHash[h] = tok.Name
	}
	return t, nil
}

// Check returns the name of the token an Authorization value carries.
// Looking up the token's hash keeps the time it takes independent of the
// configured tokens.
func (t *Tokens) Check(authorization string) (string, error) {
	if t == nil {
		return "", nil
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", ErrUnauthenticated
	}
	name, ok := t.byHash[sha256.Sum256([]byte(strings.TrimSpace(tok)))]
	if !ok {
		return "", ErrUnauthenticated
	}
	return name, nil
}

// shouldLog allows one warning about refused requests a second.
func (t *Tokens) shouldLog() bool {
	now := time.Now().UnixNano()
	last := t.lastLog.Load()
	return now-last >= int64(time.Second) && t.lastLog.CompareAndSwap(last, now)
}
