package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/studio/alert"
)

// TestRoutesMatchOpenAPI: every registered route is in the OpenAPI
// document and every documented operation is registered (the live
// websocket is mounted by the studio server).
func TestRoutesMatchOpenAPI(t *testing.T) {
	a := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	same := func(h http.Handler) http.Handler { return h }
	a.Register(mux)
	a.RegisterAlerts(mux, alert.NewEngine(nil, nil, a.log), same)
	a.RegisterReplays(mux, nil, same)
	routes := append(a.Routes(), "GET /api/v1/live")

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
