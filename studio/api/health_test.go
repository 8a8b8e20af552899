package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/causeway-dev/causeway/collector"
)

// TestHealthAndReady: health is 200 with the collector's state whatever
// it is; ready is 503 only for a reason that means "send no data here".
func TestHealthAndReady(t *testing.T) {
	a := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var h collector.Health
	a.SetHealth(func() collector.Health { return h })
	mux := http.NewServeMux()
	a.Register(mux)
	ask := func(path string) (int, collector.Health) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var got collector.Health
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: %s: %v", path, rec.Body, err)
		}
		return rec.Code, got
	}
	for _, c := range []struct {
		h           collector.Health
		ready       int
		wantReasons int
	}{
		{collector.Health{Status: collector.HealthOK, Ready: true}, 200, 0},
		{collector.Health{Status: collector.HealthDegraded, Ready: true, Reasons: []collector.HealthIssue{{Reason: collector.ReasonStore, Message: "down"}}}, 200, 1},
		{collector.Health{Status: collector.HealthDegraded, Ready: false, Reasons: []collector.HealthIssue{{Reason: collector.ReasonDisk, Message: "full"}}}, 503, 1},
	} {
		h = c.h
		if code, got := ask("/api/v1/health"); code != 200 || got.Status != c.h.Status || len(got.Reasons) != c.wantReasons {
			t.Fatalf("health for %+v: %d %+v", c.h, code, got)
		}
		if code, got := ask("/api/v1/ready"); code != c.ready || got.Ready != c.h.Ready {
			t.Fatalf("ready for %+v: %d %+v", c.h, code, got)
		}
	}
}
