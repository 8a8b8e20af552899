package otlp

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Paths of the OTLP/HTTP endpoints.
const (
	TracesPath  = "/v1/traces"
	MetricsPath = "/v1/metrics"
)

const (
	ctProtobuf = "application/x-protobuf"
	ctJSON     = "application/json"
)

// HTTP serves OTLP/HTTP. Mount it with Register.
type HTTP struct {
	c      Consumer
	limits Limits
	gate   Gate
	log    *slog.Logger
}

// NewHTTP returns the OTLP/HTTP receiver. Requests beyond what gate
// admits are refused with 429.
func NewHTTP(c Consumer, limits Limits, gate Gate, log *slog.Logger) *HTTP {
	return &HTTP{c: c, limits: limits.withDefaults(), gate: gate, log: log}
}

// Register mounts /v1/traces and /v1/metrics on mux.
func (h *HTTP) Register(mux *http.ServeMux) {
	mux.HandleFunc(TracesPath, h.gated(h.traces))
	mux.HandleFunc(MetricsPath, h.gated(h.metrics))
}

func (h *HTTP) gated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.gate.TryEnter() {
			h.fail(w, r, ctProtobuf, &httpError{http.StatusTooManyRequests, codes.ResourceExhausted, "too many concurrent requests"})
			return
		}
		defer h.gate.Leave()
		next(w, r)
	}
}

// httpError is a failed request: status code, gRPC code for the body, message.
type httpError struct {
	status int
	code   codes.Code
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// readBody checks method and headers and returns the decoded body and its
// content type.
func (h *HTTP) readBody(w http.ResponseWriter, r *http.Request) ([]byte, string, *httpError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, "", &httpError{http.StatusMethodNotAllowed, codes.Unimplemented, "method " + r.Method + " not allowed: use POST"}
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != ctProtobuf && ct != ctJSON) {
		return nil, ctProtobuf, &httpError{http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("unsupported content type %q: use %s or %s", r.Header.Get("Content-Type"), ctProtobuf, ctJSON)}
	}
	body := http.MaxBytesReader(w, r.Body, h.limits.MaxBodyBytes)
	var src io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil, ct, readError(err, "gzip")
		}
		defer gz.Close()
		src = gz
	default:
		return nil, ct, &httpError{http.StatusUnsupportedMediaType, codes.InvalidArgument, fmt.Sprintf("unsupported content encoding %q: use gzip or none", enc)}
	}
	b, err := io.ReadAll(io.LimitReader(src, h.limits.MaxDecodedBytes+1))
	if err != nil {
		return nil, ct, readError(err, "body")
	}
	if int64(len(b)) > h.limits.MaxDecodedBytes {
		return nil, ct, &httpError{http.StatusRequestEntityTooLarge, codes.InvalidArgument,
			fmt.Sprintf("decompressed body exceeds %d bytes", h.limits.MaxDecodedBytes)}
	}
	return b, ct, nil
}

func readError(err error, what string) *httpError {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &httpError{http.StatusRequestEntityTooLarge, codes.InvalidArgument, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit)}
	}
	return &httpError{http.StatusBadRequest, codes.InvalidArgument, fmt.Sprintf("reading %s: %v", what, err)}
}

// consumeError maps a consumer's error to a response.
func consumeError(err error) *httpError {
	switch {
	case errors.Is(err, ErrFull):
		return &httpError{http.StatusTooManyRequests, codes.ResourceExhausted, err.Error()}
	case IsInvalid(err):
		return &httpError{http.StatusBadRequest, codes.InvalidArgument, err.Error()}
	}
	return &httpError{http.StatusServiceUnavailable, codes.Unavailable, err.Error()}
}

func (h *HTTP) traces(w http.ResponseWriter, r *http.Request) {
	b, ct, herr := h.readBody(w, r)
	if herr == nil {
		req := ptraceotlp.NewExportRequest()
		herr = decode(ct, b, req.UnmarshalProto, req.UnmarshalJSON)
		if herr == nil {
			if err := validateTraces(req.Traces()); err != nil {
				herr = &httpError{http.StatusBadRequest, codes.InvalidArgument, err.Error()}
			} else if err := h.c.ConsumeTraces(r.Context(), req.Traces()); err != nil {
				herr = consumeError(err)
			}
		}
		if herr == nil {
			h.respond(w, ct, ptraceotlp.NewExportResponse())
			return
		}
	}
	h.fail(w, r, ct, herr)
}

func (h *HTTP) metrics(w http.ResponseWriter, r *http.Request) {
	b, ct, herr := h.readBody(w, r)
	if herr == nil {
		req := pmetricotlp.NewExportRequest()
		herr = decode(ct, b, req.UnmarshalProto, req.UnmarshalJSON)
		if herr == nil {
			if err := validateMetrics(req.Metrics()); err != nil {
				herr = &httpError{http.StatusBadRequest, codes.InvalidArgument, err.Error()}
			} else if err := h.c.ConsumeMetrics(r.Context(), req.Metrics()); err != nil {
				herr = consumeError(err)
			}
		}
		if herr == nil {
			h.respond(w, ct, pmetricotlp.NewExportResponse())
			return
		}
	}
	h.fail(w, r, ct, herr)
}

func decode(ct string, b []byte, fromProto, fromJSON func([]byte) error) *httpError {
	var err error
	if ct == ctJSON {
		err = fromJSON(b)
	} else {
		err = fromProto(b)
	}
	if err != nil {
		return &httpError{http.StatusBadRequest, codes.InvalidArgument, fmt.Sprintf("cannot decode %s OTLP request: %v", ct, err)}
	}
	return nil
}

// response is what the OTLP export responses have in common.
type response interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func (h *HTTP) respond(w http.ResponseWriter, ct string, resp response) {
	var b []byte
	var err error
	if ct == ctJSON {
		b, err = resp.MarshalJSON()
	} else {
		b, err = resp.MarshalProto()
	}
	if err != nil {
		h.fail(nil, nil, ct, &httpError{http.StatusInternalServerError, codes.Internal, err.Error()})
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// fail writes a google.rpc.Status body in the request's encoding, as the
// OTLP/HTTP spec asks.
func (h *HTTP) fail(w http.ResponseWriter, r *http.Request, ct string, e *httpError) {
	if w == nil {
		return
	}
	if r != nil {
		h.log.Debug("OTLP request rejected", "path", r.URL.Path, "status", e.status, "error", e.msg, "remote", r.RemoteAddr)
	}
	st := status.New(e.code, e.msg).Proto()
	var b []byte
	if ct == ctJSON {
		b, _ = protojson.Marshal(st)
	} else {
		ct = ctProtobuf
		b, _ = proto.Marshal(st)
	}
	if e.status == http.StatusTooManyRequests || e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(e.status)
	w.Write(b)
}
