// The flow map's model: the API's flow map (services, destinations, edges
// per operation) turned into what is drawn. A service and its consumer
// groups are one unit: an edge from a topic ends at the group inside the
// service it belongs to. One edge per pair with rate, error rate, p99 and
// lag, and a health per node, group and edge. Where the flow goes round in
// a cycle (a refund handled by the service that took the payment), the
// edge that closes it ends at a reference copy of its target drawn
// downstream, so that every edge runs the way events travel.

import type { FlowMap, GroupLag, LagStatus } from '../api/types'

export type Health = 'ok' | 'warn' | 'err'
export type FlowKind = 'service' | 'destination'

export interface FlowLag {
  messages: number
  seconds: number
  status: LagStatus
}

// FlowGroup is a consumer group drawn inside the unit of its service.
export interface FlowGroup {
  // id names the group (`group:system:name`) and its handle in the unit.
  id: string
  name: string
  system?: string
  health: Health
  lag?: FlowLag
}

export interface FlowModelNode {
  id: string
  kind: FlowKind
  name: string
  system?: string
  dlq: boolean
  health: Health
  // groups: a service's consumer groups, in the order of their handles.
  groups: FlowGroup[]
  // refOf names the node this one is a reference copy of, drawn where an
  // edge closes a cycle; it has no outgoing edges.
  refOf?: string
  // continues: the reference copy ends a row; the flow goes on from the
  // node itself at the start of the next row.
  continues?: boolean
}

export interface FlowModelEdge {
  id: string
  source: string
  target: string
  // targetGroup: the consumer group (FlowGroup.id) the edge ends at.
  targetGroup?: string
  count: number
  errors: number
  p99_ns: number
  // ratePerSec is count over the window; errorRate errors over count.
  ratePerSec: number
  errorRate: number
  ops: string[]
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
    nodes.set(n.id, { id: n.id, kind: n.kind, name: n.name, system: n.system, dlq: false, health: 'ok', groups: [] })
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
  for (const fe of fm.edges) {
    const src = nodes.get(fe.source)
    const dst = nodes.get(fe.target)
    if (!src || !dst) continue
    const service = src.kind === 'service' ? src : dst
    const dest = src.kind === 'destination' ? src : dst
    if (fe.op === 'dead_letter') dest.dlq = true
    let targetGroup: string | undefined
    if (src.kind === 'destination' && fe.consumer_group) {
      targetGroup = `group:${dest.system ?? ''}:${fe.consumer_group}`
      if (!service.groups.some((g) => g.id === targetGroup)) {
        service.groups.push({
          id: targetGroup, name: fe.consumer_group, system: dest.system, health: 'ok',
          lag: groupLag.get(`${dest.system ?? ''}\0${fe.consumer_group}`),
        })
      }
    }
    // The edge's id names the group it ends at, as the live deltas do.
    const id = `${fe.source}->${targetGroup ?? fe.target}`
    let e = edges.get(id)
    if (!e) {
      e = {
        id, source: fe.source, target: fe.target, targetGroup, count: 0, errors: 0, p99_ns: 0, ratePerSec: 0, errorRate: 0, ops: [], health: 'ok',
        filter: targetGroup ? { destination: dest.name } : { service: service.name, destination: dest.name },
        lag: targetGroup ? topicLag.get(`${dest.system ?? ''}\0${fe.consumer_group}\0${dest.name}`) : undefined,
      }
      edges.set(id, e)
    }
    if (!e.ops.includes(fe.op)) e.ops.push(fe.op)
    if (primary.has(fe.op)) {
      e.count += fe.count
      e.errors += fe.errors
      e.p99_ns = Math.max(e.p99_ns, fe.p99_ns)
    }
  }
  for (const n of nodes.values()) n.groups.sort((a, b) => a.name.localeCompare(b.name))
  for (const e of edges.values()) {
    e.ratePerSec = e.count / windowSeconds
    e.errorRate = e.count ? e.errors / e.count : 0
    e.health = errorHealth(e.errors, e.count)
    if (e.lag) e.health = worst(e.health, lagHealth(e.lag.status))
    const s = nodes.get(e.source)!
    const t = nodes.get(e.target)!
    // A group is as healthy as what it consumes and its lag; a service as
    // what it handles and publishes.
    const g = t.groups.find((x) => x.id === e.targetGroup)
    if (g) g.health = worst(g.health, e.health)
    if (t.kind === 'service') t.health = worst(t.health, e.health)
    if (s.kind === 'service') s.health = worst(s.health, errorHealth(e.errors, e.count))
  }
  for (const n of nodes.values()) {
    for (const g of n.groups) {
      if (g.lag) g.health = worst(g.health, lagHealth(g.lag.status))
      n.health = worst(n.health, g.health)
    }
    if (n.kind === 'destination' && n.dlq) n.health = 'warn'
  }
  return splitCycles({ nodes: [...nodes.values()], edges: [...edges.values()], windowSeconds })
}

// modelOrder lists the nodes breadth-first from the ones nothing flows
// into (producers), then from those left (nodes only on cycles).
export function modelOrder(m: FlowModel): FlowModelNode[] {
  const byId = new Map(m.nodes.map((n) => [n.id, n]))
  const out = outEdges(m)
  const indeg = new Map(m.nodes.map((n) => [n.id, 0]))
  for (const e of m.edges) indeg.set(e.target, (indeg.get(e.target) ?? 0) + 1)
  const order = m.nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id)
  const seen = new Set(order)
  const visit = (from: number) => {
    for (let i = from; i < order.length; i++) {
      for (const e of out.get(order[i]) ?? []) {
        if (!seen.has(e.target)) {
          seen.add(e.target)
          order.push(e.target)
        }
      }
    }
  }
  visit(0)
  for (const n of m.nodes) {
    if (seen.has(n.id)) continue
    seen.add(n.id)
    const from = order.length
    order.push(n.id)
    visit(from)
  }
  return order.map((id) => byId.get(id)!)
}

function outEdges(m: FlowModel): Map<string, FlowModelEdge[]> {
  const out = new Map<string, FlowModelEdge[]>()
  for (const e of m.edges) out.set(e.source, [...(out.get(e.source) ?? []), e])
  return out
}

// splitCycles makes the map acyclic: a depth-first walk from the
// producers (modelOrder) finds the edges that go back to a node still on
// the walk; each ends instead at a reference copy of that node (one per
// node, with only the consumer group the edge ends at), which has no
// outgoing edges. The walk from the producers makes the edge that closes
// a cycle the one that goes back against the flow (the refund), not one
// in the middle of it.
export function splitCycles(m: FlowModel): FlowModel {
  const byId = new Map(m.nodes.map((n) => [n.id, n]))
  const out = outEdges(m)
  const state = new Map<string, 'open' | 'done'>()
  const back = new Set<FlowModelEdge>()
  const walk = (start: string) => {
    // Iterative, so that a long chain cannot overflow the stack.
    const stack: { id: string; i: number }[] = [{ id: start, i: 0 }]
    state.set(start, 'open')
    while (stack.length) {
      const top = stack[stack.length - 1]
      const next = (out.get(top.id) ?? [])[top.i++]
      if (!next) {
        state.set(top.id, 'done')
        stack.pop()
        continue
      }
      const s = state.get(next.target)
      if (s === 'open') back.add(next)
      else if (!s) {
        state.set(next.target, 'open')
        stack.push({ id: next.target, i: 0 })
      }
    }
  }
  for (const n of modelOrder(m)) if (!state.has(n.id)) walk(n.id)
  if (!back.size) return m

  const refs = new Map<string, FlowModelNode>()
  const stillIn = new Set<string>() // group ids with an edge left at the original
  for (const e of m.edges) if (!back.has(e) && e.targetGroup) stillIn.add(`${e.target}\0${e.targetGroup}`)
  const edges = m.edges.map((e) => {
    if (!back.has(e)) return e
    const orig = byId.get(e.target)!
    const refId = `${orig.id}#ref`
    let ref = refs.get(refId)
    if (!ref) {
      ref = { ...orig, id: refId, refOf: orig.id, groups: [], dlq: orig.dlq }
      refs.set(refId, ref)
    }
    const g = orig.groups.find((x) => x.id === e.targetGroup)
    if (g && !ref.groups.includes(g)) ref.groups.push(g)
    return { ...e, target: refId }
  })
  const nodes = m.nodes.map((n) => (n.groups.length ? { ...n, groups: n.groups.filter((g) => stillIn.has(`${n.id}\0${g.id}`)) } : n))
  return { ...m, nodes: [...nodes, ...refs.values()], edges }
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
