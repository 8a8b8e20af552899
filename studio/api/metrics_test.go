package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRequestMetricsBounded: the latency histogram is labelled by route
// pattern, whatever the path, and made-up methods count as "other".
func TestRequestMetricsBounded(t *testing.T) {
	a := New(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	a.Register(mux)
	for i, m := range []string{"GET", "BREW", "PROPFIND", "GET"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(m, "/api/v1/nothing-here/"+strings.Repeat("x", i), nil))
		if w.Code != http.StatusNotFound {
			t.Fatalf("%s: %d", m, w.Code)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(a)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[key] = m.GetHistogram().GetSampleCount()
		}
	}
	want := map[string]uint64{
		"code=404 method=GET route=/api/v1/ ":   2,
		"code=404 method=other route=/api/v1/ ": 2,
	}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s= %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
