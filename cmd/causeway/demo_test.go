package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/agent/brokerconn/brokertest"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

func port(t *testing.T) string {
	_, p, _ := net.SplitHostPort(freePort(t))
	return p
}

// demoProc runs `causeway demo` on free ports with its data in dir.
type demoProc struct {
	cmd                 *exec.Cmd
	log                 *brokertest.LogBuffer
	api, kafka, otlpURL string
}

func startDemo(t *testing.T, dir string) *demoProc {
	t.Helper()
	d := &demoProc{log: &brokertest.LogBuffer{}}
	kafkaPort, natsPort, listen := port(t), port(t), freePort(t)
	d.api, d.kafka = "http://"+listen+"/api/v1", "127.0.0.1:"+kafkaPort
	d.cmd = exec.Command(causewayBin, "demo", "--data", dir, "--kafka-port", kafkaPort, "--nats-port", natsPort,
		"--otlp-http", freePort(t), "--otlp-grpc", freePort(t), "--listen", listen, "--order-every", "100ms")
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
	})
	eventually(t, 60*time.Second, func() string {
		resp, err := http.Get(d.api + "/health")
		if err != nil {
			return "demo not up: " + err.Error() + "\n" + d.log.String()
		}
		resp.Body.Close()
		return ""
	})
	return d
}

// stop sends Ctrl-C and requires a clean exit within 5 s.
func (d *demoProc) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	d.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exited with %v after Ctrl-C\n%s", err, d.log.String())
		}
		t.Logf("demo stopped %s after Ctrl-C", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatalf("demo still running 5 s after Ctrl-C\n%s", d.log.String())
	}
}

func getJSON(t *testing.T, url string, into any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// TestDemo runs the demo for about 20 s and checks, through the API, what
// a new user should see; then kcat, Ctrl-C, and a restart on the same data.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for ~30 s")
	}
	dir := t.TempDir()
	d := startDemo(t, dir)

	services := []string{"order-service", "payment-service", "fulfillment-service", "inventory-service", "shipping-service", "analytics-service"}
	eventually(t, 40*time.Second, func() string {
		for _, svc := range services {
			var page struct{ Events []event.Event }
			if err := getJSON(t, d.api+"/events?limit=1&service="+svc, &page); err != nil || len(page.Events) == 0 {
				return fmt.Sprintf("no events from %s yet (%v)", svc, err)
			}
		}
		return ""
	})
	// an order's causation graph spans Kafka and NATS with at least 5 hops
	// (orders are random: some fail payment and never reach NATS)
	eventually(t, 30*time.Second, func() string {
		best := ""
		for _, id := range d.orderIDs(t, 30) {
			var g store.Graph
			if err := getJSON(t, fmt.Sprintf("%s/graph?correlation_id=%s", d.api, id), &g); err != nil {
				return err.Error()
			}
			systems := map[string]bool{}
			for _, node := range g.Nodes {
				systems[node.System] = true
			}
			if len(g.Edges) >= 5 && systems["kafka"] && systems["nats"] {
				return ""
			}
			best = fmt.Sprintf("%s: %d nodes, %d edges, systems %v", id, len(g.Nodes), len(g.Edges), systems)
		}
		return "no order spans Kafka and NATS with 5 hops yet; last: " + best
	})
	eventually(t, 30*time.Second, func() string {
		var lag struct {
			Groups []struct {
				Group    string `json:"group"`
				TotalLag int64  `json:"total_lag"`
			} `json:"groups"`
		}
		if err := getJSON(t, d.api+"/lag", &lag); err != nil {
			return err.Error()
		}
		for _, g := range lag.Groups {
			if g.Group == "analytics" && g.TotalLag > 0 {
				return ""
			}
		}
		return fmt.Sprintf("no lag on the slow consumer yet: %+v", lag.Groups)
	})
	// The same lag on the demo's /metrics, with the sidecar's polls (the
	// demo runs in open mode: no token).
	eventually(t, 30*time.Second, func() string {
		s, code := getMetrics(t, strings.TrimSuffix(d.api, "/api/v1")+"/metrics", "")
		if code != http.StatusOK {
			return fmt.Sprintf("/metrics answered %d", code)
		}
		polls, _ := s.value("causeway_sidecar_polls_total", "system=kafka")
		natsPolls, _ := s.value("causeway_sidecar_polls_total", "system=nats")
		lag := s.sum("causeway_consumer_lag_messages", "system=kafka", "cluster=demo", "group=analytics")
		if polls < 1 || natsPolls < 1 || lag <= 0 {
			return fmt.Sprintf("sidecar polls kafka %v nats %v, analytics lag %v on /metrics", polls, natsPolls, lag)
		}
		return ""
	})
	eventually(t, 30*time.Second, func() string {
		var dlq struct{ Entries []store.DLQEntry }
		if err := getJSON(t, d.api+"/dlq", &dlq); err != nil {
			return err.Error()
		}
		var poison, outage bool
		for _, e := range dlq.Entries {
			poison = poison || strings.Contains(e.Reason, "cannot parse order")
			outage = outage || strings.Contains(e.Reason, "fraud-check unavailable")
		}
		if !poison || !outage {
			return fmt.Sprintf("want poison and fraud-check outage entries in the DLQ: %+v", dlq.Entries)
		}
		return ""
	})
	d.checkJourneysAndAlerts(t)
	d.replayFraudCheckOutage(t)

	if kcat, err := exec.LookPath("kcat"); err == nil {
		out, err := exec.Command(kcat, "-b", d.kafka, "-L").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "orders.placed") || !strings.Contains(string(out), "shipments.scheduled") {
			t.Fatalf("kcat -L: %v\n%s", err, out)
		}
		cmd := exec.Command(kcat, "-b", d.kafka, "-t", "orders.placed", "-P", "-k", "kcat-order")
		cmd.Stdin = strings.NewReader(`{"id":"kcat-order","sku":"sku-1","amount":5}` + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat -P: %v\n%s", err, out)
		}
		eventually(t, 30*time.Second, func() string {
			var page struct{ Events []event.Event }
			getJSON(t, d.api+"/events?service=payment-service&destination=orders.placed&limit=1000", &page)
			for _, e := range page.Events {
				if len(e.Links) == 0 && e.Op == event.OpProcess && e.Outcome == event.OutcomeOK {
					return "" // processed, producer unknown
				}
			}
			return "the kcat record was not processed"
		})
	} else if os.Getenv("CI") == "true" {
		t.Fatal("CI requires kcat")
	}

	var before struct{ Events []event.Event }
	getJSON(t, d.api+"/events?service=order-service&limit=10000", &before)
	firstRun := d.orderIDs(t, 10000)
	d.stop(t)

	// a second start reuses the data directory
	restarted := uint64(time.Now().UnixNano())
	d = startDemo(t, dir)
	var after struct{ Events []event.Event }
	if err := getJSON(t, d.api+"/events?service=order-service&limit=10000", &after); err != nil || len(after.Events) < len(before.Events) {
		t.Fatalf("after a restart %d order events (err %v), before %d", len(after.Events), err, len(before.Events))
	}
	// Order ids of the second run are its own: none is one of the first run's.
	eventually(t, 30*time.Second, func() string {
		var page struct{ Events []event.Event }
		getJSON(t, fmt.Sprintf("%s/events?service=order-service&since=%d&limit=100", d.api, restarted), &page)
		if len(page.Events) == 0 {
			return "no order placed since the restart"
		}
		for _, e := range page.Events {
			for _, old := range firstRun {
				if e.CorrelationID == old {
					return "order id " + old + " placed again by the second run"
				}
			}
		}
		return ""
	})
	// The embedded Kafka starts empty again, so DLQ offsets start over:
	// new dead letters must still be stored, not taken for the old ones.
	eventually(t, 30*time.Second, func() string {
		var dlq struct{ Entries []store.DLQEntry }
		getJSON(t, d.api+"/dlq?limit=1000", &dlq)
		for _, e := range dlq.Entries {
			if e.TimeNS > restarted {
				return ""
			}
		}
		return "no DLQ entry stored since the restart"
	})
	d.stop(t)
}

// replayFraudCheckOutage replays one order the fraud-check outage
// dead-lettered, through the API as a user would, once the outage is over:
// the payment service processes it and the order's causation graph shows
// the replay as a new branch.
func (d *demoProc) replayFraudCheckOutage(t *testing.T) {
	t.Helper()
	var dlq struct{ Entries []store.DLQEntry }
	if err := getJSON(t, d.api+"/dlq?limit=1000", &dlq); err != nil {
		t.Fatal(err)
	}
	var entry store.DLQEntry
	for _, e := range dlq.Entries {
		if strings.Contains(e.Reason, "fraud-check unavailable") && e.CorrelationID != "" {
			entry = e
		}
	}
	if entry.ID == "" {
		t.Fatalf("no fraud-check DLQ entry with a correlation id: %+v", dlq.Entries)
	}
	// The outage lasts 7 s; wait it out.
	time.Sleep(time.Until(time.Unix(0, int64(entry.TimeNS)).Add(8 * time.Second)))
	body := fmt.Sprintf(`{"dlq_ids":[%q],"reason":"fraud-check is back"}`, entry.ID)
	req, _ := http.NewRequest("POST", d.api+"/replays", strings.NewReader(body))
	req.Header.Set("Idempotency-Key", "demo-test-"+entry.ID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ ID, State string }
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || r.ID == "" {
		t.Fatalf("POST /replays: %d %+v", resp.StatusCode, r)
	}
	eventually(t, 30*time.Second, func() string {
		getJSON(t, d.api+"/replays/"+r.ID, &r)
		if r.State != "succeeded" {
			return "replay state " + r.State
		}
		return ""
	})
	eventually(t, 30*time.Second, func() string {
		var g struct{ Nodes []event.Event }
		if err := getJSON(t, d.api+"/graph?correlation_id="+url.QueryEscape(entry.CorrelationID), &g); err != nil {
			return err.Error()
		}
		var replayed, processed bool
		for _, n := range g.Nodes {
			replayed = replayed || n.Op == event.OpReplay && n.ReplayOf == entry.EventID
			processed = processed || n.Op == event.OpProcess && n.Service == "payment-service" && n.Outcome == event.OutcomeOK && n.ReplayOf == entry.EventID
		}
		if !replayed || !processed {
			return fmt.Sprintf("graph of %s: replay publish %v, processed %v", entry.CorrelationID, replayed, processed)
		}
		return ""
	})
}

// orderIDs returns the distinct correlation ids of the latest n events of
// the order service, the newest first.
func (d *demoProc) orderIDs(t *testing.T, n int) []string {
	var page struct{ Events []event.Event }
	getJSON(t, fmt.Sprintf("%s/events?service=order-service&limit=%d", d.api, n), &page)
	var out []string
	seen := map[string]bool{}
	for _, e := range page.Events {
		if e.CorrelationID != "" && !seen[e.CorrelationID] {
			seen[e.CorrelationID] = true
			out = append(out, e.CorrelationID)
		}
	}
	return out
}

// checkJourneysAndAlerts: every message the shop publishes has an event
// type and a schema version; the order journey and the refund saga are
// defined, orders dead-lettered by the fraud-check outage show up stuck
// at the order's first step, and both example alerts fire within two
// minutes of the start, their notifications linking into this studio (the
// lag view of the analytics group; the order journey's stuck list).
func (d *demoProc) checkJourneysAndAlerts(t *testing.T) {
	t.Helper()
	var page struct{ Events []event.Event }
	if err := getJSON(t, d.api+"/events?limit=2000", &page); err != nil {
		t.Fatal(err)
	}
	published := 0
	for _, e := range page.Events {
		if e.Op == event.OpPublish && e.Service != "causeway-replay" {
			published++
			if e.EventType == "" || e.SchemaVersion == "" {
				t.Fatalf("a %s publish to %s without its event type or schema version: %+v", e.Service, e.Destination, e)
			}
		}
	}
	if published == 0 {
		t.Fatal("no publish events")
	}
	eventually(t, 30*time.Second, func() string {
		var js struct {
			Journeys []struct {
				Name       string `json:"name"`
				Saga       bool   `json:"saga"`
				Stats      struct{ Started, Stuck uint64 }
				StuckSteps []struct {
					Step  string `json:"step"`
					Count uint64 `json:"count"`
				} `json:"stuck_steps"`
			} `json:"journeys"`
		}
		if err := getJSON(t, d.api+"/journeys", &js); err != nil {
			return err.Error()
		}
		if len(js.Journeys) != 2 || js.Journeys[0].Name != "order" || js.Journeys[1].Name != "refund" || !js.Journeys[0].Saga || !js.Journeys[1].Saga {
			return fmt.Sprintf("journeys %+v", js.Journeys)
		}
		o := js.Journeys[0]
		if o.Stats.Started == 0 || o.Stats.Stuck == 0 || len(o.StuckSteps) == 0 || o.StuckSteps[0].Step != "order.placed" {
			return fmt.Sprintf("no order stuck at order.placed yet: %+v", o)
		}
		return ""
	})
	public := strings.TrimSuffix(d.api, "/api/v1")
	eventually(t, 2*time.Minute, func() string {
		var h struct {
			Events []struct {
				RuleID string `json:"rule_id"`
				Status string `json:"status"`
				Links  []struct{ Kind, URL string }
			} `json:"events"`
		}
		if err := getJSON(t, d.api+"/alerts/events", &h); err != nil {
			return err.Error()
		}
		want := map[string]string{"demo-analytics-lag": public + "/lag?group=analytics", "demo-orders-stuck": public + "/journeys?journey=order&step=order.placed"}
		for _, ev := range h.Events {
			if ev.Status == "firing" && len(ev.Links) > 0 && ev.Links[0].URL == want[ev.RuleID] {
				delete(want, ev.RuleID)
			}
		}
		if len(want) > 0 {
			return fmt.Sprintf("not fired yet with its link: %v (history %+v)", want, h.Events)
		}
		return ""
	})
	// A dead-lettered order stays dead-lettered, with the handler's error
	// as its reason, after the slow analytics consumer processed its
	// order.placed: a later event of the start step does not move it back.
	eventually(t, time.Minute, func() string {
		var st struct {
			Steps []struct {
				Step   string
				Places []struct {
					Service, State, Reason string
					Samples                []string
				}
			}
		}
		if err := getJSON(t, d.api+"/journeys/order/stuck", &st); err != nil {
			return err.Error()
		}
		for _, s := range st.Steps {
			for _, p := range s.Places {
				if p.State != string(store.JourneyDeadLettered) {
					continue
				}
				if p.Reason == "" {
					return fmt.Sprintf("dead-lettered at %s by %s without a reason", s.Step, p.Service)
				}
				for _, id := range p.Samples {
					var page struct{ Events []event.Event }
					if err := getJSON(t, d.api+"/events?correlation_id="+id, &page); err != nil {
						return err.Error()
					}
					if processedAfterDeadLetter(page.Events, "analytics-service") {
						return ""
					}
				}
			}
		}
		return fmt.Sprintf("no order stuck dead-lettered that analytics processed since: %+v", st.Steps)
	})
}

// processedAfterDeadLetter reports whether service processed a message of
// events after its last dead-lettering.
func processedAfterDeadLetter(events []event.Event, service string) bool {
	var dead uint64
	for _, e := range events {
		if e.Op == event.OpDeadLetter {
			dead = max(dead, e.StartNS)
		}
	}
	for _, e := range events {
		if dead > 0 && e.Service == service && e.Op == event.OpProcess && e.StartNS > dead {
			return true
		}
	}
	return false
}
