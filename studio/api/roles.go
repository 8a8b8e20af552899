package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/causeway-dev/causeway/studio/auth"
)

// Public is the "role" of routes that need no token (the health check).
const Public auth.Role = 0

// Access is who may use a route: Role at least; for a route whose request
// can be a dry run, RunRole at least to act for real.
type Access struct {
	Role    auth.Role
	RunRole auth.Role
}

// routeRoles is THE table of who may call what: every route the studio
// serves under /api/v1 has its minimum role here, handle refuses to mount
// a route missing from it, and a test checks the OpenAPI document's
// x-causeway-role of every operation against it.
//
// viewer: reads and dry runs (payloads hidden below studio.payloads_min_role);
// operator: replays, cancelling them, alert test sends;
// admin: alert-rule and journey changes (and settings and tokens, which are
// configuration, not routes).
var routeRoles = map[string]Access{
	"GET /api/v1/health":                   {Role: Public},
	"GET /api/v1/ready":                    {Role: Public},
	"GET /api/v1/openapi.json":             {Role: auth.Viewer},
	"GET /api/v1/events":                   {Role: auth.Viewer},
	"GET /api/v1/graph":                    {Role: auth.Viewer},
	"GET /api/v1/traces/{trace_id}":        {Role: auth.Viewer},
	"GET /api/v1/flows":                    {Role: auth.Viewer},
	"GET /api/v1/lag":                      {Role: auth.Viewer},
	"GET /api/v1/lag/series":               {Role: auth.Viewer},
	"GET /api/v1/dlq":                      {Role: auth.Viewer},
	"GET /api/v1/dlq/{id}":                 {Role: auth.Viewer},
	"GET /api/v1/live":                     {Role: auth.Viewer},
	"GET /api/v1/alerts/rules":             {Role: auth.Viewer},
	"GET /api/v1/alerts/rules/{id}":        {Role: auth.Viewer},
	"GET /api/v1/alerts/events":            {Role: auth.Viewer},
	"POST /api/v1/alerts/rules":            {Role: auth.Admin},
	"PUT /api/v1/alerts/rules/{id}":        {Role: auth.Admin},
	"DELETE /api/v1/alerts/rules/{id}":     {Role: auth.Admin},
	"POST /api/v1/alerts/rules/{id}/test":  {Role: auth.Operator},
	"GET /api/v1/replays":                  {Role: auth.Viewer},
	"GET /api/v1/replays/{id}":             {Role: auth.Viewer},
	"POST /api/v1/replays":                 {Role: auth.Viewer, RunRole: auth.Operator},
	"POST /api/v1/replays/{id}/cancel":     {Role: auth.Operator},
	"GET /api/v1/journeys":                 {Role: auth.Viewer},
	"GET /api/v1/journeys/suggestions":     {Role: auth.Viewer},
	"GET /api/v1/journeys/{name}":          {Role: auth.Viewer},
	"GET /api/v1/journeys/{name}/stuck":    {Role: auth.Viewer},
	"GET /api/v1/journeys/{name}/entities": {Role: auth.Viewer},
	"POST /api/v1/journeys":                {Role: auth.Admin},
	"PUT /api/v1/journeys/{name}":          {Role: auth.Admin},
	"DELETE /api/v1/journeys/{name}":       {Role: auth.Admin},
	"/api/v1/":                             {Role: auth.Viewer}, // unknown paths: 404 only for a valid token
}

// channelRoles is the minimum role for each live websocket channel.
// Live frames carry no payloads, so every channel is a viewer's.
var channelRoles = map[string]auth.Role{
	"events": auth.Viewer, "flows": auth.Viewer, "lag": auth.Viewer, "dlq": auth.Viewer,
	"replays": auth.Viewer, "alerts": auth.Viewer, "journeys": auth.Viewer,
}

// RouteRoles returns a copy of the route table.
func RouteRoles() map[string]Access {
	out := make(map[string]Access, len(routeRoles))
	for k, v := range routeRoles {
		out[k] = v
	}
	return out
}

// ChannelRoles returns a copy of the live channels' minimum roles.
func ChannelRoles() map[string]auth.Role {
	out := make(map[string]auth.Role, len(channelRoles))
	for k, v := range channelRoles {
		out[k] = v
	}
	return out
}

// AuthorizeChannel is the live hub's check (live.Options.Authorize): the
// connection's role must reach the channel's.
func AuthorizeChannel(ctx context.Context, channel string) error {
	need, ok := channelRoles[channel]
	if !ok {
		return fmt.Errorf("unknown channel %s", channel)
	}
	if _, role := auth.Who(ctx); role < need {
		return fmt.Errorf("channel %s needs the %s role", channel, need)
	}
	return nil
}

// roleName is how the OpenAPI document names a role.
func roleName(r auth.Role) string {
	if r == Public {
		return "none"
	}
	return r.String()
}

// SetGuard makes every route check its token against the route table.
// Without it (tests) the API is open: every request acts as an admin.
// Call it before Register.
func (a *API) SetGuard(g *auth.Guard) { a.guard = g }

// SetPayloadsMinRole sets the least role that sees message payloads (DLQ
// entry payloads, dry-run payload previews); others get payload_hidden.
func (a *API) SetPayloadsMinRole(r auth.Role) { a.payloadsMin = r }

// guarded wraps h with pattern's role from the table; a pattern missing
// from the table is a programming error.
func (a *API) guarded(pattern string, h http.Handler) http.Handler {
	acc, ok := routeRoles[pattern]
	if !ok {
		panic(fmt.Sprintf("api: route %q has no role in routeRoles (roles.go)", pattern))
	}
	if acc.Role == Public {
		return h
	}
	return a.guard.Require(acc.Role, h)
}

// Mount registers h (a handler served by another package: the live
// hub) at pattern with the role from the table. Its requests are not
// timed: a websocket lives for as long as the client stays.
func (a *API) Mount(mux *http.ServeMux, pattern string, h http.Handler) {
	a.routes = append(a.routes, pattern)
	mux.Handle(pattern, a.guarded(pattern, h))
}

// mayRun reports whether the request's token may act for real on a route
// with a dry run, answering 403 when it may not.
func (a *API) mayRun(w http.ResponseWriter, r *http.Request, pattern string) bool {
	need := routeRoles[pattern].RunRole
	name, role := auth.Who(r.Context())
	if role >= need {
		return true
	}
	writeError(w, &Error{Status: http.StatusForbidden, Code: "permission_denied",
		Message: fmt.Sprintf("this needs the %s role (a dry run needs %s); token %q is %s", need, routeRoles[pattern].Role, name, role)})
	return false
}

// payloadHidden is the note shown instead of a payload to a role below
// payloads_min_role; "" when the request may see payloads.
func (a *API) payloadHidden(r *http.Request) string {
	if _, role := auth.Who(r.Context()); role >= a.payloadsMin {
		return ""
	}
	return "payload hidden: needs " + a.payloadsMin.String()
}
