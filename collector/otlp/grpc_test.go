package otlp

import (
	"context"
	"net"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestGRPC(t *testing.T) {
	s := &sink{}
	srv := NewGRPCServer(s, Limits{}, NewGate(2))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Stop()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	ctx := context.Background()
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(4))); err != nil {
		t.Fatal(err)
	}
	bad := traces(1)
	bad.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetName("\xc3\x28")
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(bad)); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("invalid UTF-8: %v, want InvalidArgument", err)
	}
	s.err = ErrFull
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(1))); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("full: %v, want ResourceExhausted", err)
	}
	s.err = nil
	if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(traces(2))); err != nil || s.spans != 6 {
		t.Fatalf("still serving: %v, %d spans", err, s.spans)
	}
}
