// The flow map's model: the API's flow map (services, destinations, edges
// per operation) turned into what is drawn — consumer groups as their own
// nodes between a destination and the services in them, one edge per
// pair with rate, error rate, p99 and lag, and a health per node and edge.

import type { FlowMap, GroupLag, LagStatus } from '../api/types'

export type Health = 'ok' | 'warn' | 'err'
export type FlowKind = 'service' | 'destination' | 'group'

export interface FlowLag {
  messages: number
  seconds: number
  status: LagStatus
}

export interface FlowModelNode {
  id: string
  kind: FlowKind
  name: string
  system?: string
  dlq: boolean
  health: Health
  lag?: FlowLag
}

export interface FlowModelEdge {
  id: string
  source: string
  target: string
  count: number
  errors: number
  p99_ns: number
  // ratePerSec is count over the window; errorRate errors over count.
  ratePerSec: number
  errorRate: number
  ops: string[]
  // member: a consumer group → service edge, whose numbers the
  // destination → group edge already shows.
  member: boolean
  lag?: FlowLag
  health: Health
  // filter narrows the event search to this edge's events.
  filter: { service?: string; destination?: string }
}

export interface FlowModel {
  nodes: FlowModelNode[]
  edges: FlowModelEdge[]
  windowSeconds: number
}

const rank: Record<Health, number> = { ok: 0, warn: 1, err: 2 }
const worst = (a: Health, b: Health): Health => (rank[a] >= rank[b] ? a : b)

// lagHealth maps Burrow statuses to a health.
export function lagHealth(status: LagStatus): Health {
  switch (status) {
    case 'OK':
      return 'ok'
    case 'WARN':
    case 'REWIND':
      return 'warn'
    case 'ERR':
    case 'STOP':
    case 'STALL':
      return 'err'
  }
  return 'ok'
}

const statusRank: Record<string, number> = { OK: 0, REWIND: 1, WARN: 2, ERR: 3, STALL: 4, STOP: 5 }
export function worstStatus(a: LagStatus, b: LagStatus): LagStatus {
  return (statusRank[a] ?? 0) >= (statusRank[b] ?? 0) ? a : b
}

export function errorHealth(errors: number, count: number): Health {
  if (count === 0 || errors === 0) return 'ok'
  return errors / count > 0.05 ? 'err' : 'warn'
}

// Operations that carry a message from one hop to the next; receives and
// settles are folded into the edge of the same pair.
const primary = new Set(['publish', 'process', 'dead_letter', 'replay'])

export function buildFlowModel(fm: FlowMap, lag: GroupLag[]): FlowModel {
  const windowSeconds = Math.max(1, (Date.parse(fm.until) - Date.parse(fm.since)) / 1000 || 1)
  const nodes = new Map<string, FlowModelNode>()
  for (const n of fm.nodes) {
    nodes.set(n.id, { id: n.id, kind: n.kind, name: n.name, system: n.system, dlq: false, health: 'ok' })
  }
  // Lag per system/group/topic, and per system/group.
  const topicLag = new Map<string, FlowLag>()
  const groupLag = new Map<string, FlowLag>()
  for (const g of lag) {
    groupLag.set(`${g.system}\0${g.group}`, { messages: g.total_lag, seconds: g.max_lag_seconds, status: g.status })
    for (const p of g.partitions) {
      const k = `${g.system}\0${g.group}\0${p.topic}`
      const cur = topicLag.get(k) ?? { messages: 0, seconds: 0, status: 'OK' }
      topicLag.set(k, { messages: cur.messages + p.lag, seconds: Math.max(cur.seconds, p.lag_seconds), status: worstStatus(cur.status, p.status) })
    }
  }

  const edges = new Map<string, FlowModelEdge>()
  const edge = (source: string, target: string, filter: FlowModelEdge['filter'], member = false) => {
    const id = `${source}->${target}`
    let e = edges.get(id)
    if (!e) {
      e = { id, source, target, count: 0, errors: 0, p99_ns: 0, ratePerSec: 0, errorRate: 0, ops: [], member, health: 'ok', filter }
      edges.set(id, e)
    }
    return e
  }
  for (const fe of fm.edges) {
    const src = nodes.get(fe.source)
    const dst = nodes.get(fe.target)
    if (!src || !dst) continue
    const service = src.kind === 'service' ? src : dst
    const dest = src.kind === 'destination' ? src : dst
    if (fe.op === 'dead_letter') dest.dlq = true
    const filter = { service: service.name, destination: dest.name }
    let e: FlowModelEdge
    if (src.kind === 'destination' && fe.consumer_group) {
      const gid = `group:${dest.system ?? ''}:${fe.consumer_group}`
      if (!nodes.has(gid)) {
        nodes.set(gid, {
          id: gid, kind: 'group', name: fe.consumer_group, system: dest.system, dlq: false, health: 'ok',
          lag: groupLag.get(`${dest.system ?? ''}\0${fe.consumer_group}`),
        })
      }
      e = edge(fe.source, gid, { destination: dest.name })
      e.lag = topicLag.get(`${dest.system ?? ''}\0${fe.consumer_group}\0${dest.name}`)
      const member = edge(gid, fe.target, filter, true)
      if (!member.ops.includes(fe.op)) member.ops.push(fe.op)
      if (primary.has(fe.op)) {
        member.count += fe.count
        member.errors += fe.errors
        member.p99_ns = Math.max(member.p99_ns, fe.p99_ns)
      }
    } else {
      e = edge(fe.source, fe.target, filter)
    }
    if (!e.ops.includes(fe.op)) e.ops.push(fe.op)
    if (primary.has(fe.op)) {
      e.count += fe.count
      e.errors += fe.errors
      e.p99_ns = Math.max(e.p99_ns, fe.p99_ns)
    }
  }
  for (const e of edges.values()) {
    e.ratePerSec = e.count / windowSeconds
    e.errorRate = e.count ? e.errors / e.count : 0
    e.health = errorHealth(e.errors, e.count)
    if (e.lag) e.health = worst(e.health, lagHealth(e.lag.status))
    const s = nodes.get(e.source)!
    const t = nodes.get(e.target)!
    // A service is as healthy as what it handles; a group as its lag.
    if (t.kind === 'service' || t.kind === 'group') t.health = worst(t.health, e.health)
    if (s.kind === 'service') s.health = worst(s.health, errorHealth(e.errors, e.count))
  }
  for (const n of nodes.values()) {
    if (n.kind === 'group' && n.lag) n.health = worst(n.health, lagHealth(n.lag.status))
    if (n.kind === 'destination' && n.dlq) n.health = 'warn'
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()], windowSeconds }
}

// LiveRates turns the live channel's flow deltas (one per stored batch)
// into each edge's current rate over the last span, which a window
// average (count / window) cannot show while the window is still filling.
export class LiveRates {
  private frames: { t: number; counts: Map<string, number> }[] = []
  private readonly start: number
  private readonly spanMs: number

  constructor(now: number, spanMs = 30_000) {
    this.start = now
    this.spanMs = spanMs
  }

  add(delta: { nodes: FlowMap['nodes'] | null; edges: FlowMap['edges'] | null }, now: number): void {
    const m = buildFlowModel({ since: '', until: '', nodes: delta.nodes ?? [], edges: delta.edges ?? [] }, [])
    this.frames.push({ t: now, counts: new Map(m.edges.map((e) => [e.id, e.count])) })
    while (this.frames.length && this.frames[0].t <= now - this.spanMs) this.frames.shift()
  }

  // perSecond is each edge's rate over what was observed of the span, or
  // null before 5 s of observation (too little to call a rate).
  perSecond(now: number): Map<string, number> | null {
    const observed = Math.min(this.spanMs, now - this.start)
    if (observed < 5000) return null
    const out = new Map<string, number>()
    for (const f of this.frames) {
      if (f.t <= now - this.spanMs) continue
      for (const [id, n] of f.counts) out.set(id, (out.get(id) ?? 0) + n)
    }
    for (const [id, n] of out) out.set(id, n / (observed / 1000))
    return out
  }
}

export const flowNodeSize: Record<FlowKind, { width: number; height: number }> = {
  service: { width: 190, height: 56 },
  destination: { width: 190, height: 56 },
  group: { width: 172, height: 44 },
}

// modelOrder lists the nodes breadth-first from the ones nothing flows
// into (producers), so that ELK, keeping this order, breaks the cycles a
// flow has (a refund going back to the payment service) at the edge that
// goes back, not somewhere in the middle.
export function modelOrder(m: FlowModel): FlowModelNode[] {
  const byId = new Map(m.nodes.map((n) => [n.id, n]))
  const out = new Map<string, string[]>()
  const indeg = new Map(m.nodes.map((n) => [n.id, 0]))
  for (const e of m.edges) {
    out.set(e.source, [...(out.get(e.source) ?? []), e.target])
    indeg.set(e.target, (indeg.get(e.target) ?? 0) + 1)
  }
  const order = m.nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id)
  const seen = new Set(order)
  const visit = (from: number) => {
    for (let i = from; i < order.length; i++) {
      for (const t of out.get(order[i]) ?? []) {
        if (!seen.has(t)) {
          seen.add(t)
          order.push(t)
        }
      }
    }
  }
  visit(0)
  // Nodes only on cycles (no producer outside them): start from each.
  for (const n of m.nodes) {
    if (seen.has(n.id)) continue
    seen.add(n.id)
    const from = order.length
    order.push(n.id)
    visit(from)
  }
  return order.map((id) => byId.get(id)!)
}

// ELK is large: it is loaded with the flow map, not with the app.
let elk: Promise<{ layout: (g: ElkGraph) => Promise<ElkGraph> }> | null = null
type ElkGraph = import('elkjs/lib/elk-api').ElkNode

// layoutFlow places the model's nodes left to right with ELK's layered
// algorithm, wrapping long flows into rows so that the map keeps about
// the shape of a screen; it returns each node's top-left corner.
export async function layoutFlow(m: FlowModel, aspectRatio = 1.6): Promise<Map<string, { x: number; y: number }>> {
  elk ??= import('elkjs/lib/elk.bundled.js').then(({ default: ELK }) => new ELK())
  const res = await (await elk).layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': '90',
      'elk.spacing.nodeNode': '34',
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.wrapping.strategy': 'MULTI_EDGE',
      'elk.aspectRatio': String(aspectRatio),
    },
    children: modelOrder(m).map((n) => ({ id: n.id, ...flowNodeSize[n.kind] })),
    edges: m.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  })
  const pos = new Map<string, { x: number; y: number }>()
  for (const c of res.children ?? []) pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 })
  return pos
}
