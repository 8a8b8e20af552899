// Flow map: each service with its consumer groups as one unit, and the
// topics/subjects between them, layered left to right by ELK; edges labelled with rate, error rate, p99 and lag, coloured by health;
// refreshed when the live "flows" and "lag" channels report traffic.

import {
  Background, BaseEdge, Controls, EdgeLabelRenderer, Handle, Position, ReactFlow, applyNodeChanges, getBezierPath,
  type Edge, type EdgeProps, type Node, type NodeProps,
} from '@xyflow/react'
import { useEffect, useMemo, useState } from 'react'
import { api } from '../api/client'
import { Badge, Refreshing, WindowPicker, windowSeconds } from '../ui/components'
import { Status } from '../ui/Status'
import { LiveRates, buildFlowModel, type FlowModel, type FlowModelEdge, type FlowModelNode } from './flowmap'
import { cutRows, groupHandleY, layoutFlow, layoutQuality, nodeSize, type FlowLayout } from './layout'
import { fmtCount, fmtDuration, fmtPercent, fmtRate, fmtSeconds } from '../ui/format'
import { useLiveData, useResource } from '../api/resource'
import { navigate } from '../ui/route'

type FlowNodeData = FlowModelNode & Record<string, unknown>
type FlowEdgeData = FlowModelEdge & { windowSeconds: number; livePerSec?: number } & Record<string, unknown>

function FlowNodeView({ data }: NodeProps<Node<FlowNodeData>>) {
  const kindLabel = data.kind === 'service' ? 'service' : data.system === 'nats' ? 'NATS subject' : data.system === 'kafka' ? 'Kafka topic' : 'destination'
  const title = data.continues
    ? `${kindLabel} ${data.name}: the flow continues from it on the next row`
    : data.refOf
      ? `${kindLabel} ${data.name} again: events come back to it here (a cycle), so it is drawn downstream`
      : `${kindLabel} ${data.name}`
  return (
    <div
      className={`flow-node flow-${data.kind} health-${data.health}${data.refOf ? ' flow-ref' : ''}`}
      style={nodeSize(data)}
      data-testid="flow-node"
      data-name={data.name}
      data-ref={data.refOf ? 'true' : undefined}
      title={title}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="flow-node-head">
        <div className="flow-node-kind">
          {data.refOf && <span aria-label={data.continues ? 'continues' : 'again'}>{data.continues ? '↪' : '↩'}</span>}
          {kindLabel}
          {data.dlq && <Badge kind="err">DLQ</Badge>}
        </div>
        <div className="flow-node-name">{data.name}</div>
      </div>
      {data.groups.map((g, i) => (
        <div
          key={g.id}
          className={`flow-group health-${g.health}`}
          data-testid="flow-group"
          data-name={g.name}
          role="button"
          tabIndex={0}
          title={`consumer group ${g.name}: its lag`}
          onClick={(e) => {
            e.stopPropagation()
            navigate('/lag', { group: g.name })
          }}
          onKeyDown={(e) => {
            if (e.key !== 'Enter') return
            e.stopPropagation()
            navigate('/lag', { group: g.name })
          }}
        >
          <Handle id={g.id} type="target" position={Position.Left} style={{ top: groupHandleY(i) }} isConnectable={false} />
          <span className="flow-group-name">{g.name}</span>
          {g.lag && (
            <span className="flow-group-lag">
              <Badge kind={g.lag.status}>{g.lag.status}</Badge> lag {fmtCount(g.lag.messages)} · {fmtSeconds(g.lag.seconds)}
            </span>
          )}
        </div>
      ))}
      {!data.refOf && <Handle type="source" position={Position.Right} isConnectable={false} />}
    </div>
  )
}

function FlowEdgeView(p: EdgeProps<Edge<FlowEdgeData>>) {
  const [path, lx, ly] = getBezierPath(p)
  const d = p.data!
  return (
    <>
      <BaseEdge id={p.id} path={path} className={`flow-edge health-${d.health}`} style={{ strokeWidth: Math.min(6, 1.5 + Math.log10(1 + d.ratePerSec) * 1.5) }} />
      {(
        <EdgeLabelRenderer>
          <div
            className={`flow-edge-label nodrag nopan health-${d.health}`}
            style={{ transform: `translate(-50%, -50%) translate(${lx}px,${ly}px)` }}
            title={`${d.ops.join(', ')} · ${fmtCount(d.count)} in the window (${fmtRate(d.count, d.windowSeconds)} on average)${d.livePerSec !== undefined ? `; ${fmtRate(d.livePerSec, 1)} over the last 30 s` : ''}`}
          >
            <span>
              {d.livePerSec !== undefined ? fmtRate(d.livePerSec, 1) : fmtRate(d.count, d.windowSeconds)}
              {d.errors > 0 && <b className="err"> · {fmtPercent(d.errorRate)} err</b>}
            </span>
            <span>
              {d.p99_ns > 0 && `p99 ${fmtDuration(d.p99_ns)}`}
              {d.lag && <b className={`lag lag-${d.lag.status.toLowerCase()}`}> · lag {fmtCount(d.lag.messages)}</b>}
            </span>
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  )
}

const nodeTypes = { flow: FlowNodeView }
const edgeTypes = { flow: FlowEdgeView }

export function FlowMapView({ params }: { params: URLSearchParams }) {
  const win = params.get('window') ?? '15m'
  const res = useResource(
    async (signal) => {
      const [flows, lag] = await Promise.all([api.flows({ since: win }, signal), api.lag({}, signal)])
      return buildFlowModel(flows, lag.groups)
    },
    [win],
    // Edge rates follow the live deltas; the window's aggregates are
    // refetched less often the longer (and costlier) the window.
    { channel: 'flows', throttleMs: Math.min(15_000, Math.max(2000, windowSeconds(win) * 4)) },
  )
  // Lag changes without traffic (a stalled consumer): follow it too.
  useLiveData('lag', {}, res.poke, res.poke)
  // Edges show the current rate from the live deltas once there are 5 s
  // of them, the window average before.
  const [rates] = useState(() => new LiveRates(Date.now()))
  useLiveData('flows', {}, (d) => rates.add(d as Parameters<LiveRates['add']>[0], Date.now()))
  const [tick, setTick] = useState(0) // re-reads the rates between refetches
  useEffect(() => {
    const t = setInterval(() => setTick((x) => x + 1), 2000)
    return () => clearInterval(t)
  }, [])
  const model = res.data
  const [laid, setLaid] = useState<{ model: FlowModel; layout: FlowLayout } | null>(null)
  const [layoutError, setLayoutError] = useState<Error | null>(null)
  const shape = model ? shapeOf(model) : ''
  useEffect(() => {
    if (!model) return
    let stale = false
    // Only a change of shape needs a new layout; numbers just re-render.
    if (laid && laid.model !== model && shapeOf(laid.model) === shape) {
      setLaid({ model, layout: { ...laid.layout, drawn: cutRows(model, laid.layout.modelRows).drawn } })
      return
    }
    layoutFlow(model).then(
      (layout) => !stale && setLaid({ model, layout }),
      (err: Error) => !stale && setLayoutError(err),
    )
    return () => {
      stale = true
    }
  }, [model])

  // Nodes are state that React Flow updates with their measured sizes
  // (onNodesChange); a new model keeps each node's measurement, so the
  // edges, drawn between measured handles, never wait for a re-measure.
  const [nodes, setNodes] = useState<Node<FlowNodeData>[]>([])
  useEffect(() => {
    if (!laid) return
    setNodes((cur) => {
      const prev = new Map(cur.map((n) => [n.id, n]))
      return laid.layout.drawn.nodes.map((n) => ({
        ...prev.get(n.id),
        id: n.id,
        type: 'flow',
        position: laid.layout.pos.get(n.id) ?? { x: 0, y: 0 },
        data: n as FlowNodeData,
        draggable: false,
        connectable: false,
      }))
    })
  }, [laid])
  const edges = useMemo((): Edge<FlowEdgeData>[] => {
    if (!laid) return []
    const m = laid.layout.drawn
    const live = rates.perSecond(Date.now())
    return m.edges.map((e) => ({
      id: e.id, source: e.source, target: e.target, targetHandle: e.targetGroup ?? null, type: 'flow',
      data: { ...e, windowSeconds: m.windowSeconds, livePerSec: live ? live.get(e.id) ?? 0 : undefined } as FlowEdgeData,
    }))
  }, [laid, rates, tick])

  // What the layout gets right is on the canvas for the e2e to read.
  const quality = useMemo(() => (laid ? layoutQuality(laid.layout.drawn, laid.layout.pos) : null), [laid])

  const openNode = (n: FlowModelNode) => {
    if (n.kind === 'service') navigate('/events', { service: n.name })
    else navigate('/events', { destination: n.name })
  }

  return (
    <section className="view view-flows">
      <header className="view-header">
        <h1>Flow map</h1>
        <WindowPicker value={win} onChange={(w) => navigate('/flows', { window: w }, true)} />
        <Refreshing on={res.refreshing} />
        <div className="legend" aria-label="legend">
          <span className="health-ok">● healthy</span>
          <span className="health-warn">● errors or lag</span>
          <span className="health-err">● &gt;5% errors or stalled</span>
        </div>
      </header>
      <Status of={{ error: layoutError ?? undefined }} />
      <Status
        of={{ ...res, loading: res.loading || (!!model && model.nodes.length > 0 && !laid) }}
        what={res.loading ? 'the flow map' : 'the layout'}
        isEmpty={() => !model || model.nodes.length === 0}
        empty={<>No traffic in the last {win}. Point an OpenTelemetry SDK or the Causeway agent at the collector, or pick a longer window.</>}
      >
        {() => laid && (
          <div
            className="flow-canvas"
            data-testid="flow-map"
            data-backward={quality?.backward.length}
            data-crossings={quality?.crossings}
            onKeyDown={(e) => {
              // Tab reaches the nodes; Enter opens the focused one.
              const id = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.react-flow__node')?.dataset.id
              const n = id ? laid.layout.drawn.nodes.find((x) => x.id === id) : undefined
              if (e.key === 'Enter' && n) openNode(n)
            }}
          >
            <ReactFlow
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              edgeTypes={edgeTypes}
              fitView
              fitViewOptions={{ padding: 0.12 }}
              minZoom={0.2}
              onNodesChange={(changes) => setNodes((ns) => applyNodeChanges(changes, ns))}
              nodesDraggable={false}
              nodesConnectable={false}
              onNodeClick={(_, n) => openNode(n.data)}
              onEdgeClick={(_, e) => e.data && navigate('/events', e.data.filter)}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={24} size={1} />
              <Controls showInteractive={false} />
            </ReactFlow>
          </div>
        )}
      </Status>
      <p className="footnote">Click a service, topic or edge for its events, a consumer group (inside its service) for its lag; ↩ marks a service drawn again where events come back to it, ↪ a topic where the flow continues on the next row. Rates are over the last 30 s once live updates arrive (the window's average until then); error rate, p99 (handler or publish duration) and counts are over the window.</p>
    </section>
  )
}

function shapeOf(m: FlowModel): string {
  return m.nodes.map((n) => n.id + ':' + n.groups.map((g) => g.id).join(',')).join('|') + '#' + m.edges.map((e) => `${e.id}>${e.target}`).join('|')
}
