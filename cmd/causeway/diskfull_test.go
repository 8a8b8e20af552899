package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/spool/spooltest"
)

// studioHealth asks the studio's /api/v1/health or /api/v1/ready.
func studioHealth(t *testing.T, base, path string) (int, collector.Health) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h collector.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode, h
}

// TestDiskFull runs `causeway studio` with its spool on an 8 MiB tmpfs
// that a filler file mostly takes. Requests are sent until the spool
// cannot write: they get 503 with Retry-After, /api/v1/health says
// degraded for "disk" (200) and /api/v1/ready is 503. The filler is
// deleted: readiness comes back by itself (no request needed), ingest
// resumes, and at the end the store holds every span that got a 2xx,
// once, and none of those refused.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("disk-full test against the binary")
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			fs := spooltest.MountTmpfs(t, "8m")
			dir := t.TempDir()
			listen, httpAddr := freePort(t), freePort(t)
			cmd := exec.Command(causewayBin, "studio", "--listen", listen, "--store", b.url,
				"--spool-dir", filepath.Join(fs, "spool"), "--otlp-http", httpAddr, "--otlp-grpc", "off",
				"--collector.max-spool-bytes", "64MiB", "--log-level", "debug")
			cmd.Dir = dir
			var log brokertest.LogBuffer
			cmd.Stdout, cmd.Stderr = &log, &log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
			base := "http://" + listen + "/api/v1"
			eventually(t, 60*time.Second, func() string {
				resp, err := http.Get(base + "/ready")
				if err != nil {
					return err.Error()
				}
				resp.Body.Close()
				return ""
			})

			// The filler leaves the spool about 1.5 MiB.
			filler := filepath.Join(fs, "filler")
			if err := os.WriteFile(filler, make([]byte, 6<<20+512<<10), 0o600); err != nil {
				t.Fatal(err)
			}
			s := newStreamer(httpAddr)
			client := &http.Client{Timeout: 10 * time.Second}
			var acked []string // trace ids of requests answered 2xx
			refused := 0
			post := func() (int, http.Header) {
				trace, body := s.request(50)
				resp, err := client.Post("http://"+httpAddr+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
				if err != nil {
					t.Fatalf("OTLP post: %v", err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					acked = append(acked, trace)
				} else {
					refused++
				}
				return resp.StatusCode, resp.Header
			}
			for i := 0; ; i++ {
				code, h := post()
				if code == 503 {
					if h.Get("Retry-After") == "" {
						t.Fatal("503 without Retry-After")
					}
					break
				}
				if code != 200 {
					t.Fatalf("request %d: %d before the disk was full", i, code)
				}
				if i == 5000 {
					t.Fatal("5,000 requests and the spool never ran out of space")
				}
			}
			ackedFull := len(acked)
			t.Logf("%d requests of 50 spans accepted before the disk was full", ackedFull)
			if code, h := studioHealth(t, base, "/health"); code != 200 || h.Status != collector.HealthDegraded || len(h.Reasons) == 0 || h.Reasons[0].Reason != collector.ReasonDisk {
				t.Fatalf("health with a full disk: %d %+v", code, h)
			}
			if code, h := studioHealth(t, base, "/ready"); code != 503 || h.Ready {
				t.Fatalf("ready with a full disk: %d %+v", code, h)
			}
			// While full, requests keep failing.
			for i := 0; i < 5; i++ {
				if code, _ := post(); code != 503 {
					t.Fatalf("request on a full disk: %d", code)
				}
				time.Sleep(300 * time.Millisecond)
			}

			// Space returns: readiness comes back without any request.
			os.Remove(filler)
			freed := time.Now()
			eventually(t, 10*time.Second, func() string {
				if code, h := studioHealth(t, base, "/ready"); code != 200 {
					return fmt.Sprintf("ready after space was freed: %d %+v", code, h)
				}
				return ""
			})
			t.Logf("ready again %s after space was freed", time.Since(freed).Round(time.Millisecond))
			for i := 0; i < 50; i++ {
				if code, _ := post(); code != 200 {
					t.Fatalf("request %d after recovery: %d", i, code)
				}
			}
			if code, h := studioHealth(t, base, "/health"); code != 200 || h.Status != collector.HealthOK {
				t.Fatalf("health after recovery: %d %+v", code, h)
			}

			// Every acknowledged span stored, once; nothing refused stored.
			st := openStore(t, b.url)
			want := 50 * len(acked)
			eventually(t, 60*time.Second, func() string {
				n, err := countSpans(t, st, acked)
				if err != nil || n != want {
					return fmt.Sprintf("stored %d of %d acknowledged spans (err %v)", n, want, err)
				}
				return ""
			})
			if b.rawSpanCounts != nil {
				if rows, unique := b.rawSpanCounts(t); rows != unique || rows != uint64(want) {
					t.Fatalf("span rows %d, unique %d; want exactly the %d acknowledged (nothing refused, nothing twice)", rows, unique, want)
				}
			}
			if strings.Contains(log.String(), "panic") {
				t.Fatalf("the studio panicked: %s", log.String())
			}
			t.Logf("%d spans acknowledged and stored once, %d requests refused", want, refused)
		})
	}
}
