package otlp

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed requests
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/tap"
)

// OTLP gRPC service and method names.
const (
	traceService   = "opentelemetry.proto.collector.trace.v1.TraceService"
	metricsService = "opentelemetry.proto.collector.metrics.v1.MetricsService"
)

// NewGRPCServer returns a gRPC server with the OTLP trace and metrics
// services registered. Messages are bounded to Limits.MaxDecodedBytes
// (after decompression); a request is admitted by the Limiter before its
// message is read, reserving MaxDecodedBytes until the real size is known.
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
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(o.Limits.MaxDecodedBytes)),
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.InTapHandle(g.admit),
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

type ticketKey struct{}

// admit runs before a stream's message is read. It reserves the largest
// message size; the ticket is released when the stream's context ends,
// however the RPC ends (also for unknown methods or a client reset).
func (g *grpcReceiver) admit(ctx context.Context, _ *tap.Info) (context.Context, error) {
	t := g.o.Limiter.admit(g.o.Limits.MaxDecodedBytes)
	if t == nil {
		g.o.Counters.reject(ProtocolGRPC, ReasonBusy)
		return nil, rpcStatus(codes.ResourceExhausted, ReasonBusy, "too many requests in flight: retry later").Err()
	}
	context.AfterFunc(ctx, t.release)
	return context.WithValue(ctx, ticketKey{}, t), nil
}

// handler adapts an Export implementation over raw bytes to gRPC.
func (g *grpcReceiver) handler(export func(ctx context.Context, req []byte) ([]byte, *reqError)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var in rawMessage
		if err := dec(&in); err != nil {
			return nil, err // gRPC's own status: too large, bad compression, …
		}
		if t, ok := ctx.Value(ticketKey{}).(*ticket); ok {
			t.shrinkTo(int64(len(in)))
		}
		g.o.Counters.read(ProtocolGRPC, len(in))
		out, e := export(ctx, in)
		if e != nil {
			g.o.Counters.reject(ProtocolGRPC, e.reason)
			if g.o.Logger.Enabled(ctx, slog.LevelDebug) {
				g.o.Logger.Debug("OTLP/gRPC request rejected", "code", e.code.String(), "reason", e.reason.String(), "error", e.msg)
			}
			return nil, rpcStatus(e.code, e.reason, e.msg).Err()
		}
		return rawMessage(out), nil
	}
}

func (g *grpcReceiver) traces(ctx context.Context, b []byte) ([]byte, *reqError) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, reject(ReasonMalformed, "cannot decode OTLP ExportTraceServiceRequest: %v", err)
	}
	if e := consumeTraces(ctx, g.c, g.o.Counters, ProtocolGRPC, req.Traces()); e != nil {
		return nil, e
	}
	return marshalResponse(ptraceotlp.NewExportResponse())
}

func (g *grpcReceiver) metrics(ctx context.Context, b []byte) ([]byte, *reqError) {
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(b); err != nil {
		return nil, reject(ReasonMalformed, "cannot decode OTLP ExportMetricsServiceRequest: %v", err)
	}
	if e := consumeMetrics(ctx, g.c, g.o.Counters, ProtocolGRPC, req.Metrics()); e != nil {
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
