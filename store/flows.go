package store

import (
	"sort"

	"github.com/causeway-dev/causeway/event"
)

// FlowRow is one aggregate a backend computes for a flow map: the
// operations of one (service, system, destination, consumer group, op)
// within the window. BuildFlowMap turns rows into nodes and edges.
type FlowRow struct {
	Service       string
	System        string
	Destination   string
	ConsumerGroup string
	Op            event.Op
	Count         uint64
	Errors        uint64
	P50NS         uint64
	P99NS         uint64
}

// ServiceNodeID and DestinationNodeID name flow-map nodes.
func ServiceNodeID(name string) string { return "service:" + name }

// DestinationNodeID names the flow-map node of a destination.
func DestinationNodeID(system, name string) string { return "destination:" + system + ":" + name }

// BuildFlowMap turns aggregate rows into a flow map. Publishes and
// dead-letterings become service → destination edges; receives, processes
// and settles become destination → service edges. Rows without a
// destination or a service are skipped. The result is sorted for stable
// output.
func BuildFlowMap(rows []FlowRow) FlowMap {
	nodes := map[string]FlowNode{}
	var fm FlowMap
	for _, r := range rows {
		if r.Destination == "" || r.Service == "" {
			continue
		}
		svc := FlowNode{ID: ServiceNodeID(r.Service), Kind: NodeService, Name: r.Service}
		dst := FlowNode{ID: DestinationNodeID(r.System, r.Destination), Kind: NodeDestination, Name: r.Destination, System: r.System}
		nodes[svc.ID], nodes[dst.ID] = svc, dst
		e := FlowEdge{Op: r.Op, Count: r.Count, Errors: r.Errors, P50NS: r.P50NS, P99NS: r.P99NS}
		switch r.Op {
		case event.OpPublish, event.OpDeadLetter, event.OpReplay:
			e.Source, e.Target = svc.ID, dst.ID
		default:
			e.Source, e.Target, e.ConsumerGroup = dst.ID, svc.ID, r.ConsumerGroup
		}
		fm.Edges = append(fm.Edges, e)
	}
	for _, n := range nodes {
		fm.Nodes = append(fm.Nodes, n)
	}
	sort.Slice(fm.Nodes, func(i, j int) bool { return fm.Nodes[i].ID < fm.Nodes[j].ID })
	sort.Slice(fm.Edges, func(i, j int) bool {
		a, b := fm.Edges[i], fm.Edges[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		if a.Op != b.Op {
			return a.Op < b.Op
		}
		return a.ConsumerGroup < b.ConsumerGroup
	})
	if fm.Nodes == nil {
		fm.Nodes = []FlowNode{}
	}
	if fm.Edges == nil {
		fm.Edges = []FlowEdge{}
	}
	return fm
}
