package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRoles(t *testing.T) {
	g, err := New([]Token{
		{Name: "dashboards", Role: "viewer", Token: "viewer-token-0123456789"},
		{Name: "oncall", Role: "operator", Token: "operator-token-0123456789"},
	})
	if err != nil {
		t.Fatal(err)
	}
	g.AllowQueryToken("/api/v1/live")
	var who string
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { who, _ = Who(r.Context()) })
	for _, c := range []struct {
		min    Role
		header string
		query  string
		ws     bool
		want   int
		who    string
	}{
		{Viewer, "", "", false, 401, ""},
		{Viewer, "Bearer nope-nope-nope-nope", "", false, 401, ""},
		{Viewer, "Bearer viewer-token-0123456789", "", false, 200, "dashboards"},
		{Operator, "Bearer viewer-token-0123456789", "", false, 403, ""},
		{Operator, "Bearer operator-token-0123456789", "", false, 200, "oncall"},
		{Admin, "Bearer operator-token-0123456789", "", false, 403, ""},
		{Viewer, "", "operator-token-0123456789", true, 200, "oncall"},
		{Viewer, "", "operator-token-0123456789", false, 401, ""}, // query tokens only for websockets
	} {
		who = ""
		req := httptest.NewRequest("GET", "/api/v1/live?access_token="+c.query, nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		if c.ws {
			req.Header.Set("Upgrade", "websocket")
		}
		rec := httptest.NewRecorder()
		g.Require(c.min, ok).ServeHTTP(rec, req)
		if rec.Code != c.want || who != c.who {
			t.Errorf("%+v: %d (who %q) %s", c, rec.Code, who, rec.Body)
		}
		if rec.Code != 200 && !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("%+v: error body %s", c, rec.Body)
		}
	}
	// A token in the URL is taken only on the websocket route.
	req := httptest.NewRequest("GET", "/api/v1/events?access_token=operator-token-0123456789", nil)
	req.Header.Set("Upgrade", "websocket")
	rec := httptest.NewRecorder()
	g.Require(Viewer, ok).ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("query token on another route: %d", rec.Code)
	}
}

func TestBadConfig(t *testing.T) {
	for _, toks := range [][]Token{
		{{Name: "a", Role: "root", Token: "0123456789abcdef"}},
		{{Name: "a", Role: "viewer", Token: "short"}},
		{{Name: "", Role: "viewer", Token: "0123456789abcdef"}},
		{{Name: "a", Role: "viewer", Token: "0123456789abcdef"}, {Name: "b", Role: "admin", Token: "0123456789abcdef"}},
	} {
		if _, err := New(toks); err == nil {
			t.Errorf("%+v: want an error", toks)
		}
	}
	if g, _ := New(nil); !g.Open() {
		t.Error("no tokens: the guard should be open")
	}
	ts, err := ParseTokens("ci:viewer:0123456789abcdef, pager:admin:fedcba9876543210")
	if err != nil || len(ts) != 2 || ts[1].Role != "admin" || ts[1].Token != "fedcba9876543210" {
		t.Fatalf("ParseTokens: %+v, %v", ts, err)
	}
	if _, err := ParseTokens("broken"); err == nil {
		t.Fatal("ParseTokens(broken): want an error")
	}
}
