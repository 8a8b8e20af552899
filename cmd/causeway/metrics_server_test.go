package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/sidecar"
)

// TestServeMetricsStops: the metrics server answers, stops on Shutdown
// and leaves no goroutine behind; "off" serves nothing.
func TestServeMetricsStops(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := serveMetrics("127.0.0.1:0", log, sidecarMetrics{new(sidecar.Counters)})
	if err != nil {
		t.Fatal(err)
	}
	s, code := getMetrics(t, "http://"+m.Addr()+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d", code)
	}
	s.expect(t, 0, "causeway_sidecar_polls_total", "system=kafka")
	s.expect(t, 0, "causeway_sidecar_poll_errors_total", "system=nats")
	s.expectAtLeast(t, 1, "go_goroutines")
	http.DefaultClient.CloseIdleConnections()
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, code := getMetrics(t, "http://"+m.Addr()+"/metrics", ""); code != 0 {
		t.Fatalf("/metrics answered %d after Shutdown", code)
	}

	off, err := serveMetrics("off", log)
	if err != nil || off != nil || off.Addr() != "" || off.Shutdown(context.Background()) != nil || metricsURL(off) != "off" {
		t.Fatalf(`serveMetrics("off") = %v, %v`, off, err)
	}
}
