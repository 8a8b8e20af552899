package otlp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed requests
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/tap"
)

// OTLP gRPC service and method names.
const (
	traceService   = "opentelemetry.proto.collector.trace.v1.TraceService"
	metricsService = "opentelemetry.proto.collector.metrics.v1.MetricsService"
)

// grpcHandshakeTimeout bounds a new connection's TLS and HTTP/2 handshake.
const grpcHandshakeTimeout = 10 * time.Second

// NewGRPCServer returns a gRPC server with the OTLP trace and metrics
// services registered. Messages are bounded to Limits.MaxDecodedBytes
// (after decompression) and must arrive within Limits.GRPCMessageTimeout
// of the stream's start; a message is charged to the Limiter once it is
// received (a stream that sends nothing holds nothing), and is refused
// with ResourceExhausted when it does not fit. Connections are pinged
// after Limits.GRPCKeepaliveTime of quiet and closed when the ping goes
// unanswered; each carries at most MaxConcurrentRequests streams at once.
//
// The services are registered with their own descriptors rather than
// ptraceotlp.RegisterGRPCServer: with those, gRPC decodes the message
// before any code of ours runs and answers an undecodable one with
// Internal; here the message arrives as bytes and is decoded by the same
// pdata decoder as OTLP/HTTP, so bad input is InvalidArgument and counted.
// The wire protocol is the same (ptraceotlp.NewGRPCClient talks to it).
func NewGRPCServer(c Consumer, o Options) *grpc.Server {
	o = o.withDefaults()
	g := &grpcReceiver{c: c, o: o}
	l := o.Limits
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(l.MaxDecodedBytes)),
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.InTapHandle(g.watch),
		grpc.ConnectionTimeout(grpcHandshakeTimeout),
		grpc.MaxConcurrentStreams(uint32(l.MaxConcurrentRequests)),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: l.GRPCKeepaliveTime, Timeout: l.GRPCKeepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: l.GRPCKeepaliveMinTime, PermitWithoutStream: true}),
	)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: traceService,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: g.handler(g.traces)}},
		Metadata:    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
	}, g)
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: metricsService,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: g.handler(g.metrics)}},
		Metadata:    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
	}, g)
	return srv
}

type grpcReceiver struct {
	c Consumer
	o Options
}

type timerKey struct{}

// watch runs when a stream's headers arrive, before its message is read:
// it cancels the stream if the message has not arrived within
// GRPCMessageTimeout (the handler stops the timer once it has). The
// returned context becomes the stream's, so cancelling it ends the read;
// the client gets Canceled.
func (g *grpcReceiver) watch(ctx context.Context, info *tap.Info) (context.Context, error) {
	if _, err := g.o.Auth.Check(strings.Join(info.Header.Get("authorization"), "")); err != nil {
		g.o.Counters.reject(ProtocolGRPC, ReasonUnauthenticated)
		remote := ""
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			remote = p.Addr.String()
		}
		g.o.refusedLogin(ProtocolGRPC, remote)
		return nil, rpcStatus(codes.Unauthenticated, ReasonUnauthenticated, err.Error()).Err()
	}
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(g.o.Limits.GRPCMessageTimeout, func() {
		g.o.Counters.reject(ProtocolGRPC, ReasonTimeout)
		if g.o.Logger.Enabled(ctx, slog.LevelDebug) {
			g.o.Logger.Debug("OTLP/gRPC stream cancelled: no request message in time", "timeout", g.o.Limits.GRPCMessageTimeout)
		}
		cancel()
	})
	context.AfterFunc(ctx, func() { timer.Stop() })
	return context.WithValue(ctx, timerKey{}, timer), nil
}

// handler adapts an Export implementation over raw bytes to gRPC.
func (g *grpcReceiver) handler(export func(ctx context.Context, req []byte) ([]byte, *reqError)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var in rawMessage
		err := dec(&in) // waits for the message: it is not received before
		if timer, ok := ctx.Value(timerKey{}).(*time.Timer); ok && !timer.Stop() {
			// The timer fired (and counted the timeout) before or just as
			// the message came: the stream is cancelled.
			return nil, rpcStatus(codes.DeadlineExceeded, ReasonTimeout, "request message not received in time").Err()
		}
		if err != nil {
			return nil, err // gRPC's own status: too large, bad compression, …
		}
		remote := ""
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			remote = p.Addr.String()
		}
		t := g.o.Limiter.open(remote)
		defer t.release()
		if le := t.grow(int64(len(in))); le != nil {
			return nil, g.fail(ctx, le.reqError())
		}
		if le := t.admit(); le != nil {
			return nil, g.fail(ctx, le.reqError())
		}
		g.o.Counters.read(ProtocolGRPC, len(in))
		out, e := export(ctx, in)
		if e != nil {
			return nil, g.fail(ctx, e)
		}
		return rawMessage(out), nil
	}
}

// fail counts a rejection and turns it into the gRPC status to answer.
func (g *grpcReceiver) fail(ctx context.Context, e *reqError) error {
	g.o.Counters.reject(ProtocolGRPC, e.reason)
	if g.o.Logger.Enabled(ctx, slog.LevelDebug) {
		g.o.Logger.Debug("OTLP/gRPC request rejected", "code", e.code.String(), "reason", e.reason.String(), "error", e.msg)
	}
	return rpcStatus(e.code, e.reason, e.msg).Err()
}

func (g *grpcReceiver) traces(ctx context.Context, b []byte) ([]byte, *reqError) {
	if e := g.o.Request.prescan(ctProtobuf, b, pbTraceRequest); e != nil {
		return nil, e
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, reject(ReasonMalformed, "cannot decode OTLP ExportTraceServiceRequest: %v", err)
	}
	if e := consumeTraces(ctx, g.c, g.o.Counters, ProtocolGRPC, req.Traces(), nil, g.o.Request); e != nil {
		return nil, e
	}
	return marshalResponse(ptraceotlp.NewExportResponse())
}

func (g *grpcReceiver) metrics(ctx context.Context, b []byte) ([]byte, *reqError) {
	if e := g.o.Request.prescan(ctProtobuf, b, pbMetricsRequest); e != nil {
		return nil, e
	}
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, reject(ReasonMalformed, "cannot decode OTLP ExportMetricsServiceRequest: %v", err)
	}
	if e := consumeMetrics(ctx, g.c, g.o.Counters, ProtocolGRPC, req.Metrics(), g.o.Request); e != nil {
		return nil, e
	}
	return marshalResponse(pmetricotlp.NewExportResponse())
}

func marshalResponse(r response) ([]byte, *reqError) {
	b, err := r.MarshalProto()
	if err != nil { // cannot happen for an empty response
		return nil, reject(ReasonUnavailable, "encoding the response: %v", err)
	}
	return b, nil
}

// rawMessage is a message's protobuf encoding, passed through by rawCodec.
type rawMessage []byte

// rawCodec hands messages to the services as bytes; the services decode
// them with pdata. It is the server's only codec.
type rawCodec struct{}

// Name is "proto": the codec replaces the default one for this server.
func (rawCodec) Name() string { return "proto" }

// Marshal passes a rawMessage through.
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(rawMessage)
	if !ok {
		return nil, fmt.Errorf("otlp: cannot encode %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m)}, nil
}

// Unmarshal copies the received bytes into a *rawMessage.
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("otlp: cannot decode into %T", v)
	}
	*m = data.Materialize()
	return nil
}

var _ encoding.CodecV2 = rawCodec{}
