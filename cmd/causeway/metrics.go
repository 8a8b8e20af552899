package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/causeway-dev/causeway/sidecar"
)

// metricsServer serves a process's Prometheus /metrics on its own
// address (`causeway collector`, `causeway agent`); the studio serves
// /metrics on its API address instead.
type metricsServer struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// serveMetrics registers the Go and process collectors and cs in a
// registry of their own and serves it at addr/metrics. addr "off" serves
// nothing and returns nil.
func serveMetrics(addr string, log *slog.Logger, cs ...prometheus.Collector) (*metricsServer, error) {
	if addr == "off" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cs...)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	// A collector that fails is logged and left out; the rest is served.
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError), ErrorHandling: promhttp.ContinueOnError}))
	m := &metricsServer{ln: ln, done: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute}}
	go func() {
		defer close(m.done)
		if err := m.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "error", err)
		}
	}()
	return m, nil
}

// Addr is the bound address ("" for a nil server).
func (m *metricsServer) Addr() string {
	if m == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Shutdown stops serving; nil does nothing.
func (m *metricsServer) Shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	err := m.srv.Shutdown(ctx)
	<-m.done
	return err
}

// sidecarMetrics exports a sidecar's Counters as Prometheus metrics. It
// lives here, not in package sidecar, so that the sidecar does not
// depend on the Prometheus client.
type sidecarMetrics struct{ c *sidecar.Counters }

var (
	descSidecarPolls = prometheus.NewDesc("causeway_sidecar_polls_total",
		"Broker polls of the sidecar (one lag sample of every consumer group, sent to the collector), by system (kafka, nats).",
		[]string{"system"}, nil)
	descSidecarPollErrors = prometheus.NewDesc("causeway_sidecar_poll_errors_total",
		"Sidecar polls that failed to read the broker or to send to the collector, by system.",
		[]string{"system"}, nil)
)

// Describe sends the sidecar metrics' descriptors.
func (m sidecarMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSidecarPolls
	ch <- descSidecarPollErrors
}

// Collect sends the sidecar's counters now.
func (m sidecarMetrics) Collect(ch chan<- prometheus.Metric) {
	s := m.c.Stats()
	ch <- prometheus.MustNewConstMetric(descSidecarPolls, prometheus.CounterValue, float64(s.KafkaPolls), "kafka")
	ch <- prometheus.MustNewConstMetric(descSidecarPolls, prometheus.CounterValue, float64(s.NATSPolls), "nats")
	ch <- prometheus.MustNewConstMetric(descSidecarPollErrors, prometheus.CounterValue, float64(s.KafkaPollErrors), "kafka")
	ch <- prometheus.MustNewConstMetric(descSidecarPollErrors, prometheus.CounterValue, float64(s.NATSPollErrors), "nats")
}

// metricsURL is where m serves, for the start-up line ("off" when nil).
func metricsURL(m *metricsServer) string {
	if m == nil {
		return "off"
	}
	return "http://" + m.Addr() + "/metrics"
}
