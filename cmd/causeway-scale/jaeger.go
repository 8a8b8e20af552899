package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// jaegerConfig is a Jaeger v2 configuration: OTLP/HTTP in, the batch
// processor, Badger on disk (Jaeger's own config-badger.yaml less the
// query UI and the archive store), every port on 127.0.0.1.
const jaegerConfig = `service:
  extensions: [jaeger_storage]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %[1]d
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      some_store:
        badger:
          directories:
            keys: %[2]q
            values: %[2]q
          ephemeral: false
          ttl:
            spans: 48h
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[3]d
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: some_store
`

// jaeger feeds n plain spans, the same workload as plainSpans, to the
// Jaeger binary at bin and reports the spans its Badger store took per
// second (the storage exporter's sent-spans counter reaching n).
func (b *bench) jaeger(ctx context.Context, bin string, n int) error {
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	otlpPort, err := freePort()
	if err != nil {
		return err
	}
	dir := filepath.Join(b.root, "jaeger")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := filepath.Join(b.root, "jaeger.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, jaegerConfig, metricsPort, dir, otlpPort), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "--config", cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start jaeger: %w", err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	deadline := time.Now().Add(time.Minute)
	for {
		if _, _, err := sentSpans(ctx, metrics); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("jaeger did not start: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The metrics endpoint can answer before the receiver listens.
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", otlpPort), time.Second)
		if err == nil {
			c.Close()
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("jaeger's OTLP receiver did not start: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	orders := n / chainLen
	w := workload{orders: orders, plain: true, span: loadSpan, now: b.now, perRequest: 200}
	began := time.Now()
	if err := send(ctx, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", otlpPort), w, b.clients); err != nil {
		return err
	}
	want := float64(orders * chainLen)
	for {
		got, _, err := sentSpans(ctx, metrics)
		if err != nil {
			return err
		}
		if got >= want {
			break
		}
		if time.Since(began) > time.Hour {
			return fmt.Errorf("jaeger stored %v of %v spans in an hour", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	result(fmt.Sprintf("jaeger-badger-plain/spans=%d", orders*chainLen), want/time.Since(began).Seconds(), "spans/s")
	return nil
}

// sentSpans reads the spans Jaeger's exporters sent to storage from its
// Prometheus metrics (found is false before the first span: the counter
// appears with its first increment); an error means the endpoint does not
// answer yet.
func sentSpans(ctx context.Context, url string) (sum float64, found bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_exporter_sent_spans") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		sum, found = sum+v, true
	}
	return sum, found, sc.Err()
}

// freePort returns a loopback TCP port free at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
