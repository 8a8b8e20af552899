package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestStallSuite runs `causeway collector` with its default limits (a
// gRPC message timeout of 8 s instead of 30 s, so the test sees the
// stalled streams cancelled) against 8 gRPC streams that send headers
// and never a message and 64 HTTP uploads that trickle a byte every
// 300 ms, while a normal client sends 1,000 small requests, half over
// HTTP, half over gRPC, from the same address: every one of them gets 200
// within 1 s. Then the slow uploads are cut off with 408 and the stalled
// streams cancelled, by the collector.
func TestStallSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("stall suite against the binary")
	}
	c := startCollector(t, "embedded://"+filepath.ToSlash(filepath.Join(t.TempDir(), "store")), t.TempDir(),
		"--collector.grpc-message-timeout", "8s")

	// 8 stalled streams on one connection.
	conn, err := grpc.NewClient(c.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalled := make(chan error, 8)
	for i := 0; i < 8; i++ {
		cs, err := conn.NewStream(sctx, &grpc.StreamDesc{ClientStreams: true}, "/opentelemetry.proto.collector.trace.v1.TraceService/Export")
		if err != nil {
			t.Fatal(err)
		}
		go func() { stalled <- cs.RecvMsg(&emptypb.Empty{}) }()
	}

	// 64 uploads announcing 100 kB that trickle a byte every 300 ms.
	var slow []net.Conn
	stop := make(chan struct{})
	var trickle sync.WaitGroup
	defer func() { close(stop); trickle.Wait() }()
	for i := 0; i < 64; i++ {
		sc, err := net.Dial("tcp", c.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer sc.Close()
		fmt.Fprintf(sc, "POST /v1/traces HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n", c.httpAddr)
		slow = append(slow, sc)
		trickle.Add(1)
		go func() {
			defer trickle.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(300 * time.Millisecond):
				}
				if _, err := sc.Write([]byte{0x0a}); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // every stall is open and sending

	// The normal client: 1,000 requests of 5 spans, 8 at a time.
	s := newStreamer(c.httpAddr)
	client := &http.Client{Timeout: 5 * time.Second}
	gclient := ptraceotlp.NewGRPCClient(conn)
	var mu sync.Mutex
	var lat []time.Duration
	var failures []string
	jobs := make(chan int)
	var wg sync.WaitGroup
	began := time.Now()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				_, body := s.request(5)
				start := time.Now()
				var err error
				if i%2 == 0 {
					var resp *http.Response
					if resp, err = client.Post("http://"+c.httpAddr+"/v1/traces", "application/x-protobuf", bytes.NewReader(body)); err == nil {
						resp.Body.Close()
						if resp.StatusCode != 200 {
							err = fmt.Errorf("HTTP %s", resp.Status)
						}
					}
				} else {
					req := ptraceotlp.NewExportRequest()
					if err = req.UnmarshalProto(body); err == nil {
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						_, err = gclient.Export(ctx, req)
						cancel()
					}
				}
				d := time.Since(start)
				mu.Lock()
				lat = append(lat, d)
				if err != nil || d > time.Second {
					failures = append(failures, fmt.Sprintf("request %d: %v after %s", i, err, d))
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 1000; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	took := time.Since(began)
	if len(failures) > 0 {
		t.Fatalf("%d of 1,000 requests failed or took over 1 s beside the stalls; first: %v", len(failures), failures[:min(5, len(failures))])
	}
	slices.Sort(lat)
	t.Logf("1,000 requests beside 8 stalled gRPC streams and 64 trickled uploads in %s: p50 %s, p99 %s, max %s",
		took.Round(time.Millisecond), lat[500], lat[989], lat[999])

	// The stalls were still open all along: none of the slow uploads had
	// an answer before the normal traffic ended…
	for i, sc := range slow {
		sc.SetReadDeadline(time.Now().Add(time.Millisecond))
		if n, _ := sc.Read(make([]byte, 1)); n > 0 {
			t.Fatalf("slow upload %d was answered before the normal client finished (in %s): the suite did not overlap", i, took)
		}
	}
	// …and the collector cuts them off by itself: 408 after body_timeout
	// (10 s) for the uploads, cancelled after 8 s for the streams.
	for i, sc := range slow {
		sc.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(sc), nil)
		if err != nil {
			t.Fatalf("slow upload %d: no answer within 20 s: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("slow upload %d: %s, want 408", i, resp.Status)
		}
	}
	for i := 0; i < 8; i++ {
		select {
		case err := <-stalled:
			if status.Code(err) != codes.Canceled && status.Code(err) != codes.DeadlineExceeded {
				t.Fatalf("stalled stream ended with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a stalled gRPC stream was not cancelled by the collector")
		}
	}
	if time.Since(began) > 50*time.Second {
		t.Errorf("suite took %s", time.Since(began))
	}
	c.stop()
}
