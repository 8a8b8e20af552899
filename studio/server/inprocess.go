package server

import (
	"context"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// handlerTransport serves each request with a handler of this process
// instead of a connection: the replay agent's spans reach the in-process
// collector's OTLP/HTTP handler this way when the receivers serve TLS
// (perhaps requiring client certificates the studio does not have).
type handlerTransport struct{ h http.Handler }

// RoundTrip implements http.RoundTripper.
func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.RemoteAddr = "127.0.0.1:0" // this process
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// inProcessExporter is an OTLP/HTTP exporter whose requests h serves.
func inProcessExporter(ctx context.Context, h http.Handler, token string) (sdktrace.SpanExporter, error) {
	var headers map[string]string
	if token != "" {
		headers = map[string]string{"Authorization": "Bearer " + token}
	}
	return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL("http://in-process/v1/traces"),
		otlptracehttp.WithHTTPClient(&http.Client{Transport: handlerTransport{h}}),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}), otlptracehttp.WithHeaders(headers))
}
