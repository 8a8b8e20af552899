package otlp

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed requests
	"google.golang.org/grpc/status"
)

// NewGRPCServer returns a gRPC server with the OTLP trace and metrics
// services registered, bounded to limits.MaxDecodedBytes per message and
// to the requests gate admits.
func NewGRPCServer(c Consumer, limits Limits, gate Gate) *grpc.Server {
	limits = limits.withDefaults()
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(int(limits.MaxDecodedBytes)),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			if !gate.TryEnter() {
				return nil, status.Error(codes.ResourceExhausted, "too many concurrent requests")
			}
			defer gate.Leave()
			return next(ctx, req)
		}))
	ptraceotlp.RegisterGRPCServer(srv, &grpcTraces{c: c})
	pmetricotlp.RegisterGRPCServer(srv, &grpcMetrics{c: c})
	return srv
}

type grpcTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	c Consumer
}

// Export implements the OTLP trace service.
func (g *grpcTraces) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if err := validateTraces(req.Traces()); err != nil {
		return ptraceotlp.NewExportResponse(), status.Error(codes.InvalidArgument, err.Error())
	}
	return ptraceotlp.NewExportResponse(), grpcError(g.c.ConsumeTraces(ctx, req.Traces()))
}

type grpcMetrics struct {
	pmetricotlp.UnimplementedGRPCServer
	c Consumer
}

// Export implements the OTLP metrics service.
func (g *grpcMetrics) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	if err := validateMetrics(req.Metrics()); err != nil {
		return pmetricotlp.NewExportResponse(), status.Error(codes.InvalidArgument, err.Error())
	}
	return pmetricotlp.NewExportResponse(), grpcError(g.c.ConsumeMetrics(ctx, req.Metrics()))
}

func grpcError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrFull):
		return status.Error(codes.ResourceExhausted, err.Error())
	case IsInvalid(err):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return status.Error(codes.Unavailable, err.Error())
}
