package lineage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// loadFixture reads testdata/<name>.json: `//` comment lines naming the
// library, its version and the source file the spans were modelled on,
// then an OTLP/JSON traces payload.
func loadFixture(t testing.TB, name string) ptrace.Traces {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	comment := false
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if strings.HasPrefix(line, "//") {
			comment = true
			continue
		}
		body.WriteString(line)
	}
	if !comment {
		t.Fatalf("%s: no comment naming the library version and source file", name)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body.Bytes())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return td
}

// summary renders a derived event on one line: the span (last 2 hex
// digits), service, op, system/cluster, destination, partition/offset,
// key, group, correlation, event id (when not the span id), payload size,
// outcome.
func summary(e event.Event) string {
	id := e.EventID
	if id == e.SpanID {
		id = "-"
	}
	return fmt.Sprintf("%s %s %s %s/%s %s p=%d o=%d key=%s group=%s corr=%s id=%s size=%d %s",
		e.SpanID[14:], e.Service, e.Op, e.System, e.Cluster, e.Destination, e.Partition, e.Offset,
		e.MessageKey, e.ConsumerGroup, e.CorrelationID, id, e.PayloadSize, e.Outcome)
}

// edgeSummary renders an edge as from→to (span ids' last 2 hex digits,
// or the causing event id) and its kind and correlation id.
func edgeSummary(e event.Edge) string {
	from := e.FromEventID
	if e.FromSpanID != "" {
		from = e.FromSpanID[14:]
	}
	return fmt.Sprintf("%s→%s %s corr=%s", from, e.ToSpanID[14:], e.Kind, e.CorrelationID)
}

// TestFixtures derives each instrumentation's spans and checks the exact
// events and edges, then the correlation ids after ingest-time
// inheritance (Inheritor.Apply on the one batch), without and with
// correlation_from_key.
func TestFixtures(t *testing.T) {
	for _, tc := range fixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			b := Derive(loadFixture(t, tc.name))
			var got []string
			for _, e := range b.Events {
				got = append(got, summary(e))
			}
			for _, e := range b.Edges {
				got = append(got, edgeSummary(e))
			}
			if want := append(append([]string{}, tc.events...), tc.edges...); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("derived\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			NewInheritor(InheritConfig{}).Apply(b)
			if got := correlations(b); got != tc.inherited {
				t.Errorf("after inheritance: correlation ids %q, want %q", got, tc.inherited)
			}
			b = Derive(loadFixture(t, tc.name))
			NewInheritor(InheritConfig{CorrelationFromKey: true}).Apply(b)
			if got := correlations(b); got != tc.fromKey {
				t.Errorf("with correlation_from_key: correlation ids %q, want %q", got, tc.fromKey)
			}
		})
	}
}

// correlations lists each event's correlation id, space-separated ("-"
// for none), in the batch's order.
func correlations(b *store.Batch) string {
	var out []string
	for _, e := range b.Events {
		c := e.CorrelationID
		if c == "" {
			c = "-"
		}
		out = append(out, c)
	}
	return strings.Join(out, " ")
}

var fixtureCases = []struct {
	name      string
	events    []string
	edges     []string
	inherited string
	fromKey   string
}{
	{name: "amqplib",
		events: []string{
			"a1 checkout publish rabbitmq/127.0.0.1 orders p=-1 o=-1 key= group= corr=order-7 id=msg-7 size=-1 ok",
			"a2 shipper process rabbitmq/127.0.0.1 orders p=-1 o=-1 key= group= corr=order-7 id=msg-7 size=-1 ok",
		},
		edges: []string{
			"a1→a2 parent corr=order-7",
		},
		inherited: "order-7 order-7",
		fromKey:   "order-7 order-7",
	},
	{name: "dotnet-confluent-kafka",
		events: []string{
			"a1 checkout publish kafka/lkc-123 orders p=0 o=8 key=order-8 group= corr= id=- size=-1 ok",
			"b1 billing receive kafka/lkc-123 orders p=0 o=8 key=order-8 group=billing corr= id=- size=-1 ok",
		},
		edges: []string{
			"a1→b1 link corr=",
		},
		inherited: "- -",
		fromKey:   "order-8 order-8",
	},
	{name: "go-otelsarama",
		events: []string{
			"a1 checkout publish kafka/ orders p=1 o=12 key=order-6 group= corr= id=- size=-1 ok",
			"a2 billing receive kafka/ orders p=1 o=12 key= group= corr= id=- size=-1 ok",
		},
		edges: []string{
			"a1→a2 parent corr=",
		},
		inherited: "- -",
		fromKey:   "order-6 order-6",
	},
	{name: "java-jms",
		events: []string{
			"a1 checkout publish jms/ orders p=-1 o=-1 key= group= corr=order-11 id=ID:broker-1-42 size=-1 ok",
			"a2 billing process jms/ orders p=-1 o=-1 key= group= corr=order-11 id=ID:broker-1-42 size=-1 ok",
		},
		edges: []string{
			"a1→a2 parent corr=order-11",
		},
		inherited: "order-11 order-11",
		fromKey:   "order-11 order-11",
	},
	{name: "java-kafka-receive-telemetry",
		events: []string{
			"a1 checkout publish kafka/ orders p=0 o=40 key=order-1 group= corr=order-1 id=- size=-1 ok",
			"b1 checkout publish kafka/ orders p=0 o=41 key=order-2 group= corr=order-2 id=- size=-1 ok",
			"c0 billing receive kafka/ orders p=-1 o=-1 key= group=billing corr= id=- size=-1 ok",
			"c1 billing process kafka/ orders p=0 o=40 key=order-1 group=billing corr= id=- size=96 ok",
			"c2 billing process kafka/ orders p=0 o=41 key=order-2 group=billing corr= id=- size=96 ok",
		},
		edges: []string{
			"a1→c1 link corr=",
			"b1→c2 link corr=",
		},
		inherited: "order-1 order-2 - order-1 order-2",
		fromKey:   "order-1 order-2 - order-1 order-2",
	},
	{name: "java-kafka-clients",
		events: []string{
			"a1 checkout publish kafka/ orders p=1 o=30 key=order-5 group= corr= id=- size=-1 ok",
			"a2 billing process kafka/ orders p=1 o=30 key=order-5 group=billing corr= id=- size=212 error",
		},
		edges: []string{
			"a1→a2 parent corr=",
		},
		inherited: "- -",
		fromKey:   "order-5 order-5",
	},
	{name: "kafkajs-eachbatch",
		events: []string{
			"a1 checkout publish kafka/ orders.a p=-1 o=-1 key=order-1 group= corr= id=- size=-1 ok",
			"b1 checkout publish kafka/ orders.a p=-1 o=-1 key=order-2 group= corr= id=- size=-1 ok",
			"c0 shipper receive kafka/ orders.a p=0 o=-1 key= group= corr= id=- size=-1 ok",
			"c1 shipper process kafka/ orders.a p=0 o=3 key=order-1 group= corr= id=- size=-1 ok",
			"c2 shipper process kafka/ orders.a p=0 o=4 key=order-2 group= corr= id=- size=-1 ok",
		},
		edges: []string{
			"a1→c1 link corr=",
			"b1→c2 link corr=",
		},
		inherited: "- - - - -",
		fromKey:   "order-1 order-2 - order-1 order-2",
	},
	{name: "kafkajs-eachmessage",
		events: []string{
			"a1 checkout publish kafka/kfake orders.a p=-1 o=-1 key=order-42 group= corr= id=- size=-1 ok",
			"a2 shipper process kafka/kfake orders.a p=0 o=17 key=order-42 group= corr= id=- size=-1 ok",
			"a3 shipper publish kafka/kfake orders.b p=-1 o=-1 key=order-42 group= corr= id=- size=-1 ok",
		},
		edges: []string{
			"a1→a2 parent corr=",
			"a2→a3 parent corr=",
		},
		inherited: "- - -",
		fromKey:   "order-42 order-42 order-42",
	},
	{name: "kotel-linkspans",
		events: []string{
			"a1 checkout publish kafka/ orders.a p=2 o=11 key=order-9 group= corr= id=- size=-1 ok",
			"b2 shipper receive kafka/ orders.a p=2 o=11 key=order-9 group=shipper corr= id=- size=-1 ok",
			"c3 shipper process kafka/ orders.a p=2 o=11 key=order-9 group=shipper corr= id=- size=-1 ok",
			"c4 shipper publish kafka/ orders.b p=0 o=5 key=order-9 group= corr= id=- size=-1 ok",
		},
		edges: []string{
			"a1→b2 link corr=",
			"b2→c3 link corr=",
			"c3→c4 parent corr=",
		},
		inherited: "- - - -",
		fromKey:   "order-9 order-9 order-9 order-9",
	},
	{name: "kotel",
		events: []string{
			"a1 checkout publish kafka/ orders.a p=2 o=11 key=order-9 group= corr= id=- size=-1 ok",
			"a2 shipper receive kafka/ orders.a p=2 o=11 key=order-9 group=shipper corr= id=- size=-1 ok",
			"a3 shipper process kafka/ orders.a p=2 o=11 key=order-9 group=shipper corr= id=- size=-1 ok",
			"a4 shipper publish kafka/ orders.b p=0 o=5 key=order-9 group= corr= id=- size=-1 ok",
		},
		edges: []string{
			"a1→a2 parent corr=",
			"a2→a3 parent corr=",
			"a3→a4 parent corr=",
		},
		inherited: "- - - -",
		fromKey:   "order-9 order-9 order-9 order-9",
	},
	{name: "nats-dotnet",
		events: []string{
			"a1 checkout publish nats/127.0.0.1 orders.created p=-1 o=-1 key= group= corr= id=- size=-1 ok",
			"a2 billing receive nats/127.0.0.1 orders.created p=-1 o=-1 key= group=billing corr= id=- size=48 ok",
		},
		edges: []string{
			"a1→a2 parent corr=",
		},
		inherited: "- -",
		fromKey:   "- -",
	},
	{name: "nats-go-otx",
		events: []string{
			"a1 checkout publish nats/ orders.created p=-1 o=42 key= group= corr= id=- size=48 ok",
			"a2 billing process nats/ orders.created p=-1 o=-1 key= group=billing corr= id=- size=48 ok",
		},
		edges: []string{
			"a1→a2 parent corr=",
		},
		inherited: "- -",
		fromKey:   "- -",
	},
	{name: "python-aio-pika",
		events: []string{
			"a1 checkout publish rabbitmq/127.0.0.1 orders p=-1 o=-1 key= group= corr=order-3 id=m-3 size=-1 ok",
			"a2 billing receive rabbitmq/127.0.0.1 orders p=-1 o=-1 key= group= corr=order-3 id=m-3 size=-1 ok",
		},
		edges: []string{
			"a1→a2 parent corr=order-3",
		},
		inherited: "order-3 order-3",
		fromKey:   "order-3 order-3",
	},
	{name: "python-confluent-kafka",
		events: []string{
			"a1 checkout publish kafka/127.0.0.1 orders p=-1 o=-1 key= group= corr= id=- size=-1 ok",
			"b2 billing process kafka/ orders p=0 o=7 key= group= corr= id=orders.0.7 size=-1 ok",
		},
		edges: []string{
			"a1→b2 link corr=",
		},
		inherited: "- -",
		fromKey:   "- -",
	},
	{name: "spring-kafka-batch",
		events: []string{
			"a1 checkout publish kafka/ orders p=-1 o=-1 key=order-1 group= corr=order-1 id=- size=-1 ok",
			"b1 checkout publish kafka/ orders p=-1 o=-1 key=order-2 group= corr=order-2 id=- size=-1 ok",
			"c1 checkout publish kafka/ orders p=-1 o=-1 key=order-3 group= corr= id=- size=-1 ok",
			"d1 billing process kafka/ orders p=-1 o=-1 key= group=billing corr= id=- size=-1 ok",
		},
		edges: []string{
			"a1→d1 link corr=",
			"b1→d1 link corr=",
			"c1→d1 link corr=",
		},
		inherited: "order-1 order-2 - -",
		fromKey:   "order-1 order-2 order-3 -",
	},
}

// TestEveryFixtureChecked: each payload in testdata has its case above.
func TestEveryFixtureChecked(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	cases := map[string]bool{}
	for _, tc := range fixtureCases {
		cases[tc.name] = true
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".json"); !cases[name] {
			t.Errorf("testdata/%s.json has no case in fixtureCases", name)
		}
	}
}
