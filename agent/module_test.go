package agent_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// userProgram is docs/agent.md's example as a service would write it.
const userProgram = `package main

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	natsgo "github.com/nats-io/nats.go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent"
	"github.com/causeway-dev/causeway/agent/kafka"
	"github.com/causeway-dev/causeway/agent/natsagent"
)

func main() {
	ctx := context.Background()
	a, err := agent.New(ctx, agent.WithService("payments"), agent.WithCollector("http://127.0.0.1:4318"))
	if err != nil {
		panic(err)
	}
	defer a.Close(ctx)
	cl, _ := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:9092"), kgo.WithHooks(kafka.NewTracer(a)), kgo.ConsumerGroup("payments"), kgo.ConsumeTopics("orders.placed"))
	policy := agent.Policy{MaxAttempts: 3, Backoff: 100 * time.Millisecond, DeadLetter: true, Dedup: agent.NewMemoryDedup(100_000)}
	cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
		kafka.Handle(ctx, a, cl, "payments", r, policy, func(ctx context.Context, r *kgo.Record) error {
			return cl.ProduceSync(ctx, &kgo.Record{Topic: "payments.authorized", Value: r.Value, Context: ctx}).FirstErr()
		})
	})
	nc, _ := natsgo.Connect("nats://127.0.0.1:4222")
	js, _ := jetstream.New(nc)
	natsagent.PublishJS(ctx, a, js, &natsgo.Msg{Subject: "inventory.reserve", Data: []byte("{}")})
}
`

// TestOutsideModule: a module outside this repository that uses the agent
// as docs/agent.md shows builds, and its go.sum names the client
// libraries and the OpenTelemetry SDK but no module of Causeway's server
// side: no ClickHouse, SQLite, Wails, grpc-gateway, nor the main module.
// It resolves modules as the machine does (GOPROXY, the module cache).
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("resolves a module graph with the go command")
	}
	agentDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	eventDir := filepath.Join(filepath.Dir(agentDir), "event")
	dir := t.TempDir()
	goMod := "module example.com/payments\n\ngo 1.26.8\n\n" +
		"require github.com/causeway-dev/causeway/agent v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/causeway-dev/causeway/agent => " + agentDir + "\n\n" +
		"replace github.com/causeway-dev/causeway/event => " + eventDir + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(userProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd := func(args ...string) {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goCmd("mod", "tidy")
	goCmd("build", "-o", filepath.Join(dir, "payments"), ".")

	f, err := os.Open(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	modules := map[string]bool{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 {
			modules[fields[0]] = true
		}
	}
	for m := range modules {
		for _, bad := range []string{"ClickHouse", "modernc.org/sqlite", "wailsapp", "grpc-gateway"} {
			if strings.Contains(m, bad) {
				t.Errorf("go.sum names %s", m)
			}
		}
		if m == "github.com/causeway-dev/causeway" {
			t.Errorf("go.sum names Causeway's main module")
		}
	}
	for _, want := range []string{"github.com/twmb/franz-go", "github.com/nats-io/nats.go", "go.opentelemetry.io/otel/sdk"} {
		if !modules[want] {
			t.Errorf("go.sum does not name %s: the test did not resolve the agent's dependencies", want)
		}
	}
	if t.Failed() {
		t.Logf("go.sum modules: %d", len(modules))
	}
}
