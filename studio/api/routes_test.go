package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/studio/alert"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/live"
)

// registered returns the routes a studio mounts, the live websocket included.
func registered() []string {
	a := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	a.Register(mux)
	a.RegisterAlerts(mux, alert.NewEngine(nil, nil, a.log))
	a.RegisterReplays(mux, nil)
	a.RegisterJourneys(mux, nil)
	a.Mount(mux, "GET /api/v1/live", http.NotFoundHandler())
	return a.Routes()
}

// TestRoutesMatchOpenAPI: every registered route is in the OpenAPI
// document and every documented operation is registered.
func TestRoutesMatchOpenAPI(t *testing.T) {
	routes := registered()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	if !slices.Equal(routes, documented) {
		t.Fatalf("routes and OpenAPI operations differ:\nroutes     %q\ndocumented %q", routes, documented)
	}
	if len(routes) < 20 {
		t.Fatalf("only %d routes", len(routes))
	}
}

// TestRolesMatchOpenAPI: the document's x-causeway-role (and
// x-causeway-run-role) of every operation is the route table's, each
// operation that needs a role declares the bearer scheme and a public one
// declares none, every registered route has a role, and the live
// channels' roles in the document are the table's, for every channel the
// hub serves.
func TestRolesMatchOpenAPI(t *testing.T) {
	doc, err := documentedRoles(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	table := RouteRoles()
	delete(table, "/api/v1/") // the catch-all 404, not an operation
	if !maps.Equal(doc, table) {
		for k, v := range table {
			if doc[k] != v {
				t.Errorf("%s: code %+v, document %+v", k, v, doc[k])
			}
		}
		for k, v := range doc {
			if _, ok := table[k]; !ok {
				t.Errorf("%s: documented %+v, not in the table", k, v)
			}
		}
		t.FailNow()
	}
	for _, r := range registered() {
		if _, ok := table[r]; !ok {
			t.Errorf("route %s has no role", r)
		}
	}
	var d struct {
		Components struct {
			Schemes map[string]struct{ Type, Scheme string } `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			Channels map[string]string `json:"x-causeway-channels"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &d); err != nil {
		t.Fatal(err)
	}
	if s := d.Components.Schemes["bearer"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Fatalf("bearer security scheme: %+v", s)
	}
	channels := map[string]string{}
	for k, v := range ChannelRoles() {
		channels[k] = v.String()
	}
	if got := d.Paths["/api/v1/live"]["get"].Channels; !maps.Equal(got, channels) {
		t.Fatalf("documented channels %v, table %v", got, channels)
	}
	if hub := live.Channels(); !slices.Equal(slices.Sorted(maps.Keys(channels)), slices.Sorted(slices.Values(hub))) {
		t.Fatalf("the hub's channels %v, the table's %v", hub, channels)
	}
}

// TestRouteWithoutRolePanics: a route missing from the table cannot be mounted.
func TestRouteWithoutRolePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("mounting a route without a role did not panic")
		}
	}()
	New(nil, slog.New(slog.DiscardHandler)).handle(http.NewServeMux(), "GET /api/v1/secret", http.NotFoundHandler())
}

// documentedRoles reads each operation's x-causeway-role (and
// x-causeway-run-role) from the OpenAPI document, by route pattern.
func documentedRoles(doc []byte) (map[string]Access, error) {
	var d struct {
		Paths map[string]map[string]struct {
			Role     string                `json:"x-causeway-role"`
			RunRole  string                `json:"x-causeway-run-role"`
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	out := map[string]Access{}
	for path, ops := range d.Paths {
		for method, op := range ops {
			pattern := strings.ToUpper(method) + " " + path
			var acc Access
			if op.Role != "none" {
				r, err := auth.ParseRole(op.Role)
				if err != nil {
					return nil, fmt.Errorf("%s: x-causeway-role: %w", pattern, err)
				}
				acc.Role = r
				if !slices.ContainsFunc(op.Security, func(s map[string][]string) bool { _, ok := s["bearer"]; return ok }) {
					return nil, fmt.Errorf("%s: needs %s but declares no bearer security", pattern, r)
				}
			} else if op.Security == nil || len(op.Security) != 0 {
				return nil, fmt.Errorf("%s: a public operation must declare security: []", pattern)
			}
			if op.RunRole != "" {
				r, err := auth.ParseRole(op.RunRole)
				if err != nil {
					return nil, fmt.Errorf("%s: x-causeway-run-role: %w", pattern, err)
				}
				acc.RunRole = r
			}
			out[pattern] = acc
		}
	}
	return out, nil
}
