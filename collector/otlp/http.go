package otlp

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
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

// Retry delays suggested to clients (Retry-After, RetryInfo).
const (
	retryBusy = time.Second     // receivers momentarily at their limits
	retryFull = 5 * time.Second // the spool is full: the store is behind
)

// HTTP serves OTLP/HTTP. Mount it with Register, or use it as a handler.
type HTTP struct {
	c   Consumer
	o   Options
	mux *http.ServeMux
}

// NewHTTP returns the OTLP/HTTP receiver for c.
func NewHTTP(c Consumer, o Options) *HTTP {
	h := &HTTP{c: c, o: o.withDefaults(), mux: http.NewServeMux()}
	h.Register(h.mux)
	return h
}

// Register mounts /v1/traces and /v1/metrics on mux.
func (h *HTTP) Register(mux *http.ServeMux) {
	mux.HandleFunc(TracesPath, h.traces)
	mux.HandleFunc(MetricsPath, h.metrics)
}

// ServeHTTP serves /v1/traces and /v1/metrics (404 elsewhere).
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// reqError is a failed request: why, the HTTP status, the gRPC code for
// the google.rpc.Status body, and a message for the client.
type reqError struct {
	reason Reason
	status int
	code   codes.Code
	msg    string
}

// Error is the message for the client.
func (e *reqError) Error() string { return e.msg }

func reject(reason Reason, format string, args ...any) *reqError {
	e := &reqError{reason: reason, msg: fmt.Sprintf(format, args...)}
	switch reason {
	case ReasonMethod:
		e.status, e.code = http.StatusMethodNotAllowed, codes.Unimplemented
	case ReasonMediaType:
		e.status, e.code = http.StatusUnsupportedMediaType, codes.InvalidArgument
	case ReasonTooLarge:
		e.status, e.code = http.StatusRequestEntityTooLarge, codes.InvalidArgument
	case ReasonMalformed, ReasonInvalid, ReasonLimit:
		e.status, e.code = http.StatusBadRequest, codes.InvalidArgument
	case ReasonBusy, ReasonPeerBusy, ReasonFull:
		e.status, e.code = http.StatusTooManyRequests, codes.ResourceExhausted
	case ReasonTimeout:
		e.status, e.code = http.StatusRequestTimeout, codes.DeadlineExceeded
	case ReasonUnauthenticated:
		e.status, e.code = http.StatusUnauthorized, codes.Unauthenticated
	default:
		e.status, e.code = http.StatusServiceUnavailable, codes.Unavailable
	}
	return e
}

// consumeError maps a consumer's error to a rejection.
func consumeError(err error) *reqError {
	switch {
	case errors.Is(err, ErrFull):
		return reject(ReasonFull, "%v", err)
	case errors.Is(err, ErrTooLarge):
		return reject(ReasonTooLarge, "%v", err)
	case IsInvalid(err):
		return reject(ReasonInvalid, "%v", err)
	}
	return reject(ReasonUnavailable, "%v", err)
}

func (h *HTTP) traces(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(ct string, b []byte) *reqError {
		req := ptraceotlp.NewExportRequest()
		if e := h.o.Request.prescan(ct, b, pbTraceRequest); e != nil {
			return e
		}
		if e := decode(ct, b, req.UnmarshalProto, req.UnmarshalJSON); e != nil {
			return e
		}
		var raw []byte
		if ct == ctProtobuf {
			raw = b
		}
		if e := consumeTraces(r.Context(), h.c, h.o.Counters, ProtocolHTTP, req.Traces(), raw, h.o.Request); e != nil {
			return e
		}
		return h.respond(w, ct, ptraceotlp.NewExportResponse())
	})
}

func (h *HTTP) metrics(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, func(ct string, b []byte) *reqError {
		req := pmetricotlp.NewExportRequest()
		if e := h.o.Request.prescan(ct, b, pbMetricsRequest); e != nil {
			return e
		}
		if e := decode(ct, b, req.UnmarshalProto, req.UnmarshalJSON); e != nil {
			return e
		}
		if e := consumeMetrics(r.Context(), h.c, h.o.Counters, ProtocolHTTP, req.Metrics(), h.o.Request); e != nil {
			return e
		}
		return h.respond(w, ct, pmetricotlp.NewExportResponse())
	})
}

// serve admits, checks and reads a request, then hands the body to
// handle; any failure is answered here.
func (h *HTTP) serve(w http.ResponseWriter, r *http.Request, handle func(ct string, body []byte) *reqError) {
	ct := ctProtobuf // the encoding of an error answer until the request's is known
	e := func() *reqError {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			return reject(ReasonMethod, "method %s not allowed: use POST", r.Method)
		}
		if _, err := h.o.Auth.Check(r.Header.Get("Authorization")); err != nil {
			h.o.refusedLogin(ProtocolHTTP, r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="causeway-ingest"`)
			return reject(ReasonUnauthenticated, "%v", err)
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || (mt != ctProtobuf && mt != ctJSON) {
			return reject(ReasonMediaType, "unsupported content type %q: use %s or %s", r.Header.Get("Content-Type"), ctProtobuf, ctJSON)
		}
		ct = mt
		// The body's bytes are charged as they arrive; the request takes a
		// place for decoding and spooling only once they are all in, so a
		// slow or stalled upload holds next to nothing.
		t := h.o.Limiter.open(r.RemoteAddr)
		defer t.release()
		body, e := h.readBody(w, r, t)
		if e != nil {
			return e
		}
		if le := t.admit(); le != nil {
			return le.reqError()
		}
		h.o.Counters.read(ProtocolHTTP, len(body))
		return handle(ct, body)
	}()
	if e != nil {
		h.fail(w, r, ct, e)
	}
}

// readBody reads the body, decompressing it, within the size limits, the
// bytes t can charge and the body deadline.
func (h *HTTP) readBody(w http.ResponseWriter, r *http.Request, t *ticket) ([]byte, *reqError) {
	l := h.o.Limits
	if r.ContentLength > l.MaxBodyBytes {
		return nil, reject(ReasonTooLarge, "request body of %d bytes exceeds %d", r.ContentLength, l.MaxBodyBytes)
	}
	dl := newDeadlineReader(w, http.MaxBytesReader(w, r.Body, l.MaxBodyBytes), l.BodyTimeout, l.MinBodyRate)
	defer dl.clear()
	var src io.Reader = dl
	hint := int64(64 << 10)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		if r.ContentLength > 0 {
			hint = r.ContentLength
		}
	case "gzip":
		gz, err := gzip.NewReader(dl)
		if err != nil {
			return nil, readError(err, "gzip body", l)
		}
		defer gz.Close()
		src = gz
		if r.ContentLength > 0 {
			hint = min(4*r.ContentLength, l.MaxDecodedBytes)
		}
	default:
		return nil, reject(ReasonMediaType, "unsupported content encoding %q: use gzip or identity", enc)
	}
	return readAll(src, min(hint, l.MaxDecodedBytes)+1, l, t)
}

// firstChunk is the buffer a body is first read into: memory, and the
// budget, follow the bytes that really arrive, whatever Content-Length says.
const firstChunk = 16 << 10

// readAll reads src into a buffer that grows, as bytes arrive, up to
// l.MaxDecodedBytes+1 bytes, charging its capacity to t as it grows. hint
// is the expected size plus one: the buffer's growth stops there first.
func readAll(src io.Reader, hint int64, l Limits, t *ticket) ([]byte, *reqError) {
	limit := l.MaxDecodedBytes
	// The byte past limit only detects an oversized body: it is not
	// charged, so a body of exactly limit bytes fits a budget of limit.
	charge := func(c int64) int64 { return min(c, limit) }
	size := min(hint, firstChunk, limit+1)
	if le := t.grow(charge(size)); le != nil {
		return nil, le.reqError()
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, reject(ReasonTooLarge, "decompressed body exceeds %d bytes", limit)
			}
			have := int64(cap(buf))
			next := min(2*have, limit+1)
			if hint > have {
				next = min(next, hint)
			}
			if le := t.grow(charge(next) - charge(have)); le != nil {
				return nil, le.reqError()
			}
			nb := make([]byte, len(buf), next)
			copy(nb, buf)
			buf = nb
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, reject(ReasonTooLarge, "decompressed body exceeds %d bytes", limit)
			}
			return buf, nil
		}
		if err != nil {
			return nil, readError(err, "body", l)
		}
	}
}

func readError(err error, what string, l Limits) *reqError {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return reject(ReasonTooLarge, "request body exceeds %d bytes", tooBig.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return reject(ReasonTimeout, "request body too slow: it must arrive within %s, and at %d bytes/s after that", l.BodyTimeout, l.MinBodyRate)
	}
	return reject(ReasonMalformed, "reading %s: %v", what, err)
}

func decode(ct string, b []byte, fromProto, fromJSON func([]byte) error) *reqError {
	var err error
	if ct == ctJSON {
		err = fromJSON(b)
	} else {
		err = fromProto(b)
	}
	if err != nil {
		return reject(ReasonMalformed, "cannot decode %s OTLP request: %v", ct, err)
	}
	return nil
}

// response is what the OTLP export responses have in common.
type response interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func (h *HTTP) respond(w http.ResponseWriter, ct string, resp response) *reqError {
	var b []byte
	var err error
	if ct == ctJSON {
		b, err = resp.MarshalJSON()
	} else {
		b, err = resp.MarshalProto()
	}
	if err != nil { // cannot happen for an empty response
		return reject(ReasonUnavailable, "encoding the response: %v", err)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// fail counts the rejection and answers with a google.rpc.Status in the
// request's encoding, as the OTLP/HTTP spec asks.
func (h *HTTP) fail(w http.ResponseWriter, r *http.Request, ct string, e *reqError) {
	h.o.Counters.reject(ProtocolHTTP, e.reason)
	if h.o.Logger.Enabled(r.Context(), slog.LevelDebug) {
		h.o.Logger.Debug("OTLP/HTTP request rejected", "path", r.URL.Path, "status", e.status, "reason", e.reason.String(), "error", e.msg, "remote", r.RemoteAddr)
	}
	st := rpcStatus(e.code, e.reason, e.msg).Proto()
	var b []byte
	if ct == ctJSON {
		b, _ = protojson.Marshal(st)
	} else {
		b, _ = proto.Marshal(st)
	}
	if d := retryAfter(e.reason); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(d/time.Second)))
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	w.Write(b)
}

func retryAfter(r Reason) time.Duration {
	switch r {
	case ReasonFull:
		return retryFull
	case ReasonBusy, ReasonPeerBusy, ReasonUnavailable:
		return retryBusy
	}
	return 0
}

// maxMessage bounds the message of an error answer: decoder errors can
// quote the input.
const maxMessage = 1024

// rpcStatus builds the google.rpc.Status of a rejection, with RetryInfo
// when the client should retry. The message is made valid UTF-8 (decoder
// errors can quote invalid input) so that the status always encodes.
func rpcStatus(code codes.Code, r Reason, msg string) *status.Status {
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	st := status.New(code, strings.ToValidUTF8(msg, "\uFFFD"))
	if d := retryAfter(r); d > 0 {
		if with, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); err == nil {
			st = with
		}
	}
	return st
}
