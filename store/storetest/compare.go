package storetest

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/store"
)

// fieldDiff lists, by field name, where the structs got and want differ.
// A nil and an empty slice or map are equal: no reader can tell them
// apart once the row went through storage.
func fieldDiff(got, want any) []string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	if g.Type() != w.Type() || g.Kind() != reflect.Struct {
		panic(fmt.Sprintf("fieldDiff: %T and %T", got, want))
	}
	var out []string
	for i := 0; i < g.NumField(); i++ {
		gf, wf := g.Field(i), w.Field(i)
		if (gf.Kind() == reflect.Slice || gf.Kind() == reflect.Map) && gf.Len() == 0 && wf.Len() == 0 {
			continue
		}
		if !reflect.DeepEqual(gf.Interface(), wf.Interface()) {
			out = append(out, fmt.Sprintf("%s: got %#v, want %#v", g.Type().Field(i).Name, gf.Interface(), wf.Interface()))
		}
	}
	return out
}

// checkSame fails, naming every differing field, unless got equals want.
func checkSame(t testing.TB, what string, got, want any) {
	t.Helper()
	if d := fieldDiff(got, want); len(d) > 0 {
		t.Errorf("%s differs after a round trip:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

// byKey indexes events by "trace/span", failing on duplicates.
func byKey(t testing.TB, es []event.Event) map[string]event.Event {
	t.Helper()
	m := make(map[string]event.Event, len(es))
	for _, e := range es {
		k := store.NodeID(e.TraceID, e.SpanID)
		if _, dup := m[k]; dup {
			t.Fatalf("event %s returned twice", k)
		}
		m[k] = e
	}
	return m
}

// keys returns the sorted "trace/span" keys of es.
func keys(es []event.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = store.NodeID(e.TraceID, e.SpanID)
	}
	sort.Strings(out)
	return out
}

// sameSet fails unless got and want hold the same strings (order ignored),
// reporting what is missing and what is extra.
func sameSet(t testing.TB, what string, got, want []string) {
	t.Helper()
	g, w := map[string]int{}, map[string]int{}
	for _, s := range got {
		g[s]++
	}
	for _, s := range want {
		w[s]++
	}
	var missing, extra, dup []string
	for s := range w {
		if g[s] == 0 {
			missing = append(missing, s)
		}
	}
	for s, n := range g {
		if w[s] == 0 {
			extra = append(extra, s)
		} else if n > w[s] {
			dup = append(dup, s)
		}
	}
	if len(missing)+len(extra)+len(dup) > 0 {
		sort.Strings(missing)
		sort.Strings(extra)
		sort.Strings(dup)
		t.Errorf("%s: %d results, want %d; missing %v, unexpected %v, repeated %v", what, len(got), len(want), missing, extra, dup)
	}
}

// edgeKey is an edge as a comparable string, with every stored field.
func edgeKey(e event.Edge) string {
	return fmt.Sprintf("%s/%s[%s] -> %s/%s %s corr=%q start=%d", e.FromTraceID, e.FromSpanID, e.FromEventID,
		e.ToTraceID, e.ToSpanID, e.Kind, e.CorrelationID, e.StartNS)
}

func edgeKeys(es []event.Edge) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = edgeKey(e)
	}
	return out
}

func graphEdgeKeys(es []store.GraphEdge) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.From + " -" + string(e.Kind) + "-> " + e.To
	}
	return out
}

// checkGraph checks what every graph must satisfy: nodes appear once and
// every edge joins two of them.
func checkGraph(t testing.TB, what string, g *store.Graph) {
	t.Helper()
	nodes := map[string]bool{}
	for _, n := range g.Nodes {
		id := store.NodeID(n.TraceID, n.SpanID)
		if nodes[id] {
			t.Errorf("%s: node %s appears twice", what, id)
		}
		nodes[id] = true
	}
	seen := map[store.GraphEdge]bool{}
	for _, e := range g.Edges {
		if !nodes[e.From] || !nodes[e.To] {
			t.Errorf("%s: edge %+v joins a node not in the graph", what, e)
		}
		if seen[e] {
			t.Errorf("%s: edge %+v appears twice", what, e)
		}
		seen[e] = true
	}
}
