// Layout of a causation graph: a layered top-to-bottom layout computed in
// one pass, fast enough for thousands of events (the canvas renderer then
// only draws what is on screen). Top to bottom, like the waterfall beside
// it, so a long chain of hops stays readable on a wide screen.
//
// Levels are the longest causal path from a root, so effects are always
// below their causes. Lanes come from a depth-first walk from the roots in
// time order: an event's first effect stays in its lane, each further
// effect opens a new lane to the right, which keeps chains on one line and
// puts branches (retries, DLQ hops) beside them; replays come last, as new
// branches right of the flow they replay.

import type { CwEvent, Graph, GraphEdge } from '../api/types'

export const NODE_W = 184
export const NODE_H = 54
export const LANE_W = 204
export const LEVEL_H = 80

export type EdgeMark = 'normal' | 'retry' | 'dlq' | 'replay'

export interface CNode {
  id: string
  ev: CwEvent
  depth: number // level
  row: number // lane
  x: number
  y: number
  // replay: a replayed message or what it caused; dlq: a dead-lettering;
  // retry: a retried delivery; error: failed.
  replay: boolean
  dlq: boolean
  retry: boolean
  error: boolean
}

export interface CEdge {
  from: number
  to: number
  kind: GraphEdge['kind']
  mark: EdgeMark
}

export interface CLayout {
  nodes: CNode[]
  edges: CEdge[]
  index: Map<string, number>
  width: number
  height: number
  // timeline holds node indexes by start time; t0 and t1 bound all events.
  timeline: number[]
  t0: number
  t1: number
  // correlationId is the correlation id most events carry, for following
  // the graph live.
  correlationId: string
}

export const nodeId = (e: Pick<CwEvent, 'trace_id' | 'span_id'>) => `${e.trace_id}/${e.span_id}`

export function layoutCausation(g: Graph): CLayout {
  const n = g.nodes.length
  const index = new Map<string, number>()
  g.nodes.forEach((e, i) => index.set(nodeId(e), i))

  const out: number[][] = Array.from({ length: n }, () => [])
  const indeg = new Int32Array(n)
  const edges: CEdge[] = []
  const seen = new Set<string>()
  for (const e of g.edges) {
    const a = index.get(e.from)
    const b = index.get(e.to)
    if (a === undefined || b === undefined || a === b) continue
    const k = a + ':' + b
    if (seen.has(k)) continue
    seen.add(k)
    out[a].push(b)
    indeg[b]++
    edges.push({ from: a, to: b, kind: e.kind, mark: 'normal' })
  }
  const start = (i: number) => g.nodes[i].start_ns
  const byStart = (a: number, b: number) => start(a) - start(b) || (g.nodes[a].span_id < g.nodes[b].span_id ? -1 : 1)
  for (const o of out) o.sort(byStart)

  // Longest-path depth by Kahn's algorithm; nodes on a cycle (which a
  // well-formed graph has none of) keep the depth their parents gave them.
  const depth = new Int32Array(n)
  const left = Int32Array.from(indeg)
  const queue: number[] = []
  for (let i = 0; i < n; i++) if (left[i] === 0) queue.push(i)
  for (let h = 0; h < queue.length; h++) {
    const a = queue[h]
    for (const b of out[a]) {
      if (depth[a] + 1 > depth[b]) depth[b] = depth[a] + 1
      if (--left[b] === 0) queue.push(b)
    }
  }

  // Lanes by an iterative depth-first walk from the roots, in time order.
  const row = new Int32Array(n).fill(-1)
  let rows = 0
  const replays: number[] = []
  const roots: number[] = []
  for (let i = 0; i < n; i++) if (indeg[i] === 0) roots.push(i)
  roots.sort(byStart)
  const rest = Array.from({ length: n }, (_, i) => i).sort(byStart)
  const walk = (root: number) => {
    if (row[root] >= 0) return
    row[root] = rows++
    // Each frame: node, next child, whether the node placed a child yet.
    const stack: [number, number, boolean][] = [[root, 0, false]]
    while (stack.length) {
      const top = stack[stack.length - 1]
      const a = top[0]
      if (top[1] >= out[a].length) {
        stack.pop()
        continue
      }
      const b = out[a][top[1]++]
      if (row[b] >= 0) continue
      // A replay is a new branch: it is walked after the flow it
      // replays, in lanes of its own right of it.
      if (g.nodes[b].op === 'replay') {
        replays.push(b)
        continue
      }
      // The first effect a places comes right after a in the walk, when
      // nothing is below a in its lane yet, and its level is below a's:
      // it can share a's lane.
      row[b] = top[2] ? rows++ : row[a]
      top[2] = true
      stack.push([b, 0, false])
    }
  }
  for (const r of roots) walk(r)
  for (let i = 0; i < replays.length; i++) walk(replays[i])
  for (const i of rest) walk(i) // cycles without a root

  const nodes: CNode[] = g.nodes.map((ev, i) => ({
    id: nodeId(ev),
    ev,
    depth: depth[i],
    row: row[i],
    x: row[i] * LANE_W,
    y: depth[i] * LEVEL_H,
    replay: ev.op === 'replay' || !!ev.replay_of,
    dlq: ev.op === 'dead_letter' || ev.outcome === 'dead_lettered',
    retry: ev.outcome === 'retry' || ev.attempt > 1,
    error: ev.outcome === 'error' || ev.outcome === 'dead_lettered',
  }))
  for (const e of edges) {
    const to = nodes[e.to]
    e.mark = to.ev.op === 'replay' ? 'replay' : to.ev.op === 'dead_letter' ? 'dlq' : to.retry ? 'retry' : 'normal'
  }

  let maxDepth = 0
  let t0 = Infinity
  let t1 = -Infinity
  const corr = new Map<string, number>()
  for (const c of nodes) {
    maxDepth = Math.max(maxDepth, c.depth)
    t0 = Math.min(t0, c.ev.start_ns)
    t1 = Math.max(t1, c.ev.start_ns + c.ev.duration_ns)
    if (c.ev.correlation_id) corr.set(c.ev.correlation_id, (corr.get(c.ev.correlation_id) ?? 0) + 1)
  }
  let correlationId = ''
  let best = 0
  for (const [id, k] of corr) if (k > best) [correlationId, best] = [id, k]

  return {
    nodes,
    edges,
    index,
    width: n ? (rows - 1) * LANE_W + NODE_W : 0,
    height: n ? maxDepth * LEVEL_H + NODE_H : 0,
    timeline: Array.from({ length: n }, (_, i) => i).sort(byStart),
    t0: n ? t0 : 0,
    t1: n ? t1 : 0,
    correlationId,
  }
}

// View is what the canvas shows: the graph's point (0,0) at (x, y) on the
// canvas, at zoom k.
export interface View {
  x: number
  y: number
  k: number
}

// fit shows the whole graph, so a small one opens with every event in
// view; one that would need a zoom too far out for text (textZoom) is
// shown from its top-left at a readable zoom instead, to pan.
export function fit(l: CLayout, w: number, h: number): View {
  if (!l.nodes.length || !w || !h) return { x: 20, y: 20, k: 1 }
  const pad = 24
  const k = Math.max(0.02, Math.min(1.2, (w - 2 * pad) / Math.max(l.width, 1), (h - 2 * pad) / Math.max(l.height, 1)))
  if (k < textZoom && l.nodes.length <= 300) return { k: readable, x: pad, y: pad }
  return { k, x: (w - l.width * k) / 2, y: Math.max(pad, (h - l.height * k) / 2) }
}

// readable is the zoom a graph too large to fit opens at; textZoom the
// one below which node text is not drawn (it would be a smudge).
export const readable = 0.6
export const textZoom = 0.45
