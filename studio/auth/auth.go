// Package auth guards the studio's API with bearer tokens. Each token has
// a role: viewer < operator < admin. Tokens come from the configuration
// file (studio.tokens) or the environment (CAUSEWAY_STUDIO_TOKENS).
//
// With no tokens configured the studio is open, which it only allows on a
// loopback address; with tokens, every request needs one, sent as
// "Authorization: Bearer <token>" or, for websockets (browsers cannot set
// headers on them), as the access_token query parameter.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Role is what a token may do.
type Role int

// Roles, each allowing what the ones before it allow.
const (
	Viewer Role = iota + 1
	Operator
	Admin
)

// String names the role.
func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole reads "viewer", "operator" or "admin".
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "viewer":
		return Viewer, nil
	case "operator":
		return Operator, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("role %q: want viewer, operator or admin", s)
}

// Token is a configured API token.
type Token struct {
	// Name identifies who holds it, for audit logs (never the token itself).
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
	Role  string `yaml:"role"`
}

// MinTokenLength is the shortest token accepted.
const MinTokenLength = 16

// ParseTokens reads CAUSEWAY_STUDIO_TOKENS: comma-separated name:role:token.
func ParseTokens(s string) ([]Token, error) {
	var out []Token
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		f := strings.SplitN(strings.TrimSpace(part), ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("token entry %d: want name:role:token", len(out)+1)
		}
		out = append(out, Token{Name: f[0], Role: f[1], Token: f[2]})
	}
	return out, nil
}

type principal struct {
	name string
	role Role
}

// Guard checks requests against the configured tokens.
type Guard struct {
	tokens map[[32]byte]principal
	// queryTokenPath is the one route that may carry its token in the
	// URL (?access_token=): the websocket upgrade.
	queryTokenPath string
	throttle       *throttle
	log            *slog.Logger
}

// SetLogger sets where failed authentications are logged (with the
// source address and path, never the token). Call it before serving.
func (g *Guard) SetLogger(l *slog.Logger) { g.log = l }

// AllowQueryToken lets websocket upgrades of path carry the token as
// ?access_token= (browsers cannot set an Authorization header on a
// websocket); every other request must send the header. Call it before
// serving.
func (g *Guard) AllowQueryToken(path string) { g.queryTokenPath = path }

// New validates tokens and returns a guard. With no tokens the guard lets
// every request through as an admin: use that only on loopback.
func New(tokens []Token) (*Guard, error) {
	g := &Guard{tokens: map[[32]byte]principal{}, throttle: newThrottle(), log: slog.New(slog.DiscardHandler)}
	for i, t := range tokens {
		role, err := ParseRole(t.Role)
		if err != nil {
			return nil, fmt.Errorf("token %d (%s): %w", i+1, t.Name, err)
		}
		if len(t.Token) < MinTokenLength {
			return nil, fmt.Errorf("token %d (%s): shorter than %d characters", i+1, t.Name, MinTokenLength)
		}
		if t.Name == "" {
			return nil, fmt.Errorf("token %d: has no name", i+1)
		}
		h := sha256.Sum256([]byte(t.Token))
		if _, dup := g.tokens[h]; dup {
			return nil, fmt.Errorf("token %d (%s): the same token is configured twice", i+1, t.Name)
		}
		g.tokens[h] = principal{name: t.Name, role: role}
	}
	return g, nil
}

// Open reports whether no token is configured.
func (g *Guard) Open() bool { return len(g.tokens) == 0 }

type ctxKey struct{}

// Who returns the name and role of the request's token ("" and Admin when
// the guard is open).
func Who(ctx context.Context) (string, Role) {
	p, ok := ctx.Value(ctxKey{}).(principal)
	if !ok {
		return "", 0
	}
	return p.name, p.role
}

// Require wraps next so that only requests with a token of at least role
// min reach it: 401 without a valid token, 403 with too small a role.
func (g *Guard) Require(min Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Open() {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, principal{role: Admin})))
			return
		}
		tok := ""
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			tok = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
		} else if g.queryTokenPath != "" && r.URL.Path == g.queryTokenPath && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			// Browsers cannot set headers on a websocket: only that
			// route takes the token from the URL.
			tok = r.URL.Query().Get("access_token")
		}
		src := source(r)
		if wait := g.throttle.wait(src); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
			deny(w, http.StatusTooManyRequests, "too_many_failures", "too many wrong tokens from this address; wait and retry")
			return
		}
		p, ok := g.lookup(tok)
		if !ok {
			if tok != "" {
				n, wait := g.throttle.fail(src)
				g.log.Warn("authentication failed: unknown token", "source", src, "method", r.Method, "path", r.URL.Path, "failures_in_a_row", n, "blocked_for", wait)
			} else {
				g.log.Debug("authentication failed: no token", "source", src, "method", r.Method, "path", r.URL.Path)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="causeway"`)
			deny(w, http.StatusUnauthorized, "unauthenticated", "a valid API token is required (Authorization: Bearer <token>)")
			return
		}
		g.throttle.succeed(src)
		if p.role < min {
			deny(w, http.StatusForbidden, "permission_denied", fmt.Sprintf("this needs the %s role; token %q is %s", min, p.name, p.role))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

func (g *Guard) lookup(tok string) (principal, bool) {
	if tok == "" {
		return principal{}, false
	}
	// Looking up a hash of the token keeps the lookup's timing from
	// telling anything about the configured tokens.
	p, ok := g.tokens[sha256.Sum256([]byte(tok))]
	return p, ok
}

func deny(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]map[string]string{"error": {"code": code, "message": msg}})
}
