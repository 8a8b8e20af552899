package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/causeway-dev/causeway/collector"
	"github.com/causeway-dev/causeway/collector/lineage"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
	_ "github.com/causeway-dev/causeway/store/clickhouse"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
	_ "github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/studio/server"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chtest.StopShared()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goroutine leak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// studio is a running studio (API, in-process collector, store) for one test.
type studio struct {
	t    *testing.T
	srv  *server.Server
	otlp string // OTLP/HTTP base URL
}

// startStudio starts a studio on loopback with storeURL ("" for an
// embedded store in a temp dir) and the lineage settings given.
func startStudio(t *testing.T, storeURL string, lin lineage.InheritConfig) *studio {
	t.Helper()
	if storeURL == "" {
		storeURL = "embedded://" + t.TempDir()
	}
	cfg := collector.DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.SpoolDir = "127.0.0.1:0", collector.Off, t.TempDir()
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.Lineage = lin
	srv, err := server.Start(context.Background(), server.Setup{Store: storeURL, Collector: cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Studio: server.Config{Listen: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return &studio{t: t, srv: srv, otlp: "http://" + srv.Collector().HTTPAddr()}
}

// get decodes the JSON answer of a GET on the studio's API.
func (s *studio) get(path string, out any) {
	s.t.Helper()
	resp, err := http.Get(s.srv.URL() + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
}

// graph is the answer of /api/v1/graph?id=.
type graph struct {
	store.Graph
	Matched store.IDKind `json:"matched"`
}

// idGraph asks for the causation graph of any kind of id.
func (s *studio) idGraph(id string) graph {
	var g graph
	s.get("/api/v1/graph?id="+url.QueryEscape(id), &g)
	return g
}

// eventsByCorrelation lists the events of a correlation id (with those
// that inherit it).
func (s *studio) eventsByCorrelation(id string) []event.Event {
	var page struct {
		Events []event.Event `json:"events"`
	}
	s.get("/api/v1/events?limit=100&correlation_id="+url.QueryEscape(id), &page)
	return page.Events
}

// eventually retries check until it returns nil or the deadline passes,
// then fails with its last error.
func eventually(t *testing.T, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hop is what one event of a chain must be.
type hop struct {
	service, dest string
	op            event.Op
}

// checkChain checks that g holds exactly the chain's events, in causal
// order, all keyed by key (unless key is ""), connected cause → effect by
// one edge per hop.
func checkChain(g graph, key string, hops []hop) error {
	if len(g.Nodes) != len(hops) {
		return fmt.Errorf("%s: %d events, want %d: %s", key, len(g.Nodes), len(hops), describe(g))
	}
	byID := map[string]event.Event{}
	for _, n := range g.Nodes {
		byID[store.NodeID(n.TraceID, n.SpanID)] = n
	}
	next := map[string]string{}
	into := map[string]int{}
	for _, e := range g.Edges {
		if _, ok := byID[e.From]; !ok {
			return fmt.Errorf("%s: edge from %s, not an event of the graph", key, e.From)
		}
		if _, ok := byID[e.To]; !ok {
			return fmt.Errorf("%s: edge to %s, not an event of the graph", key, e.To)
		}
		if prev, dup := next[e.From]; dup && prev != e.To {
			return fmt.Errorf("%s: %s causes two events: %s", key, e.From, describe(g))
		}
		next[e.From] = e.To
		into[e.To]++
	}
	var root string
	for id := range byID {
		if into[id] == 0 {
			if root != "" {
				return fmt.Errorf("%s: not one chain (two roots): %s", key, describe(g))
			}
			root = id
		}
	}
	at := root
	for i, h := range hops {
		e, ok := byID[at]
		if !ok {
			return fmt.Errorf("%s: the chain stops after %d events: %s", key, i, describe(g))
		}
		if e.Service != h.service || e.Destination != h.dest || e.Op != h.op {
			return fmt.Errorf("%s: event %d is %s %s %s, want %s %s %s", key, i, e.Service, e.Op, e.Destination, h.service, h.op, h.dest)
		}
		if key != "" && e.MessageKey != key {
			return fmt.Errorf("%s: event %d has message key %q", key, i, e.MessageKey)
		}
		at = next[at]
	}
	return nil
}

// describe renders a graph for a failure message.
func describe(g graph) string {
	var b strings.Builder
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "\n  %s/%s %s %s %s key=%s corr=%s", n.TraceID, n.SpanID, n.Service, n.Op, n.Destination, n.MessageKey, n.CorrelationID)
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "\n  %s → %s (%s)", e.From, e.To, e.Kind)
	}
	return b.String()
}

// checkFlows checks that the flow map of the last hour shows the services
// and topics given, and the edges between them.
func (s *studio) checkFlows(services, topics []string, edges [][2]string) error {
	var fm store.FlowMap
	s.get("/api/v1/flows", &fm)
	names := map[string]string{}           // node id → name
	nodes := map[store.NodeKind][]string{} // kind → names
	for _, n := range fm.Nodes {
		names[n.ID] = n.Name
		nodes[n.Kind] = append(nodes[n.Kind], n.Name)
	}
	for _, sv := range services {
		if !slices.Contains(nodes[store.NodeService], sv) {
			return fmt.Errorf("flow map has no service %s: %+v", sv, fm.Nodes)
		}
	}
	for _, tp := range topics {
		if !slices.Contains(nodes[store.NodeDestination], tp) {
			return fmt.Errorf("flow map has no topic %s: %+v", tp, fm.Nodes)
		}
	}
	have := map[[2]string]bool{}
	for _, e := range fm.Edges {
		have[[2]string{names[e.Source], names[e.Target]}] = true
	}
	for _, e := range edges {
		if !have[e] {
			return fmt.Errorf("flow map has no edge %s → %s: %+v", e[0], e[1], fm.Edges)
		}
	}
	return nil
}
