package main

import (
	"context"
	"encoding/base64"
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

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/event"
)

// TestTrustedReplays, with the real binaries: `causeway agent` reads a
// dead letter from kfake and signs it; `causeway studio` trusts that
// signer (CAUSEWAY_TRUSTED_DLQ_SOURCES) and allows one extra target.
// DLQ entries injected over raw OTLP — unsigned, or signed with the
// trusted name but a forged signature — naming a DLQ offset the broker
// does not hold and the attacker's topic are browsable but cannot be
// replayed anywhere (403 untrusted_source); the sidecar's entry cannot be
// sent to the attacker's topic (403 target_not_allowed) but replays to
// its original destination and to the allowed target. Nothing reaches
// the attacker's topic (its end offset stays 0).
func TestTrustedReplays(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "orders.dlq", "attacker", "orders.audit"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	brokers := strings.Join(kc.ListenAddrs(), ",")
	const token, key = "operator-token-0123456789", "edge-signing-key-0123456789"
	dir := t.TempDir()
	listen, otlp := freePort(t), freePort(t)
	var studioLog, agentLog brokertest.LogBuffer
	studio := exec.Command(causewayBin, "studio", "--listen", listen, "--store", "embedded://"+filepath.ToSlash(filepath.Join(dir, "store")),
		"--spool-dir", filepath.Join(dir, "spool"), "--otlp-http", otlp, "--otlp-grpc", freePort(t), "--replay-kafka-brokers", brokers)
	studio.Env = append(os.Environ(), "CAUSEWAY_STUDIO_TOKENS=otto:operator:"+token, "CAUSEWAY_TRUSTED_DLQ_SOURCES=edge:"+key,
		"CAUSEWAY_STUDIO_REPLAY_ALLOWED_TARGETS=orders.audit")
	studio.Stdout, studio.Stderr = &studioLog, &studioLog
	if err := studio.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { studio.Process.Signal(os.Interrupt); studio.Wait() }()
	agent := exec.Command(causewayBin, "agent", "--kafka-brokers", brokers, "--collector", "http://"+otlp, "--interval", "200ms",
		"--metrics-addr", "off", "--dlq-signer", "edge")
	agent.Env = append(os.Environ(), "CAUSEWAY_AGENT_DLQ_SIGNING_KEY="+key)
	agent.Stdout, agent.Stderr = &agentLog, &agentLog
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agent.Process.Signal(os.Interrupt); agent.Wait() }()

	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+listen+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	eventually(t, 60*time.Second, func() string {
		if code, body := call("GET", "/api/v1/health", ""); code != 200 {
			return fmt.Sprintf("studio health %d %s\n%s", code, body, studioLog.String())
		}
		return ""
	})

	// A real dead letter on the broker, recording its original topic.
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	dead := &kgo.Record{Topic: "orders.dlq", Value: []byte(`{"order":7}`), Headers: []kgo.RecordHeader{{Key: event.HeaderOriginalTopic, Value: []byte("orders")}}}
	if err := cl.ProduceSync(ctx, dead).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Injected entries: raw OTLP/JSON, as anybody who reaches the port can send.
	inject := func(offset int, signer, sig string) {
		attrs := []string{
			`{"key":"causeway.dlq.entry","value":{"boolValue":true}}`,
			`{"key":"messaging.system","value":{"stringValue":"kafka"}}`,
			`{"key":"causeway.dlq.source","value":{"stringValue":"orders.dlq"}}`,
			`{"key":"causeway.dlq.source_partition","value":{"intValue":"0"}}`,
			fmt.Sprintf(`{"key":"causeway.dlq.source_offset","value":{"intValue":"%d"}}`, offset),
			`{"key":"causeway.dlq.original","value":{"stringValue":"attacker"}}`,
			`{"key":"causeway.dlq.reason","value":{"stringValue":"poison"}}`,
			`{"key":"causeway.dlq.payload","value":{"bytesValue":"` + base64.StdEncoding.EncodeToString([]byte(`{"evil":true}`)) + `"}}`,
		}
		if signer != "" {
			attrs = append(attrs, `{"key":"causeway.dlq.signer","value":{"stringValue":"`+signer+`"}}`,
				`{"key":"causeway.dlq.signature","value":{"stringValue":"`+sig+`"}}`)
		}
		body := fmt.Sprintf(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc6%02x","spanId":"eee19b7ec3c1b1%02x",
			"name":"dlq","startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[%s]}]}]}]}`,
			offset, offset, time.Now().UnixNano(), time.Now().UnixNano(), strings.Join(attrs, ","))
		resp, err := http.Post("http://"+otlp+"/v1/traces", "application/json", strings.NewReader(body))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("OTLP post: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	inject(50, "", "")
	inject(51, "edge", strings.Repeat("ab", 32))

	type entry struct {
		ID           string `json:"id"`
		SourceOffset int64  `json:"source_offset"`
		Trusted      bool   `json:"trusted"`
	}
	var entries []entry
	eventually(t, 60*time.Second, func() string {
		code, body := call("GET", "/api/v1/dlq?since=1h", "")
		var page struct{ Entries []entry }
		json.Unmarshal([]byte(body), &page)
		if entries = page.Entries; code != 200 || len(entries) != 3 {
			return fmt.Sprintf("dlq %d %s\nagent: %s", code, body, agentLog.String())
		}
		return ""
	})
	var real string
	for _, e := range entries {
		if e.Trusted != (e.SourceOffset == 0) {
			t.Fatalf("entries %+v: only the sidecar's (offset 0) is trusted", entries)
		}
		if e.Trusted {
			real = e.ID
			continue
		}
		for _, target := range []string{"", "attacker", "orders.audit"} {
			req := fmt.Sprintf(`{"dlq_ids":[%q],"target":%q,"reason":"incident"}`, e.ID, target)
			if code, body := call("POST", "/api/v1/replays", req); code != 403 || !strings.Contains(body, "untrusted_source") {
				t.Fatalf("replay of injected entry %d to %q: %d %s", e.SourceOffset, target, code, body)
			}
		}
	}
	if code, body := call("POST", "/api/v1/replays", fmt.Sprintf(`{"dlq_ids":[%q],"target":"attacker","reason":"incident"}`, real)); code != 403 ||
		!strings.Contains(body, "target_not_allowed") {
		t.Fatalf("replay of the sidecar's entry to the attacker's topic: %d %s", code, body)
	}
	for _, target := range []string{"", "orders.audit"} {
		code, body := call("POST", "/api/v1/replays", fmt.Sprintf(`{"dlq_ids":[%q],"target":%q,"reason":"fixed"}`, real, target))
		var r struct{ ID, State string }
		if json.Unmarshal([]byte(body), &r); code != 202 {
			t.Fatalf("replay of the sidecar's entry to %q: %d %s", target, code, body)
		}
		eventually(t, 30*time.Second, func() string {
			_, body := call("GET", "/api/v1/replays/"+r.ID, "")
			if json.Unmarshal([]byte(body), &r); r.State != "succeeded" {
				return "replay " + body
			}
			return ""
		})
	}
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, "attacker", "orders", "orders.audit")
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int64{"attacker": 0, "orders": 1, "orders.audit": 1} {
		if o, _ := offs.Lookup(topic, 0); o.Offset != want {
			t.Errorf("%s end offset %d, want %d", topic, o.Offset, want)
		}
	}
}
