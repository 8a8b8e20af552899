// The flow map's layout: ELK's layered algorithm places the units left to
// right in the direction events travel (the model is acyclic, see
// splitCycles), each consumer group a fixed port on the left of its
// service's unit; a flow too deep for one row continues on the next, from
// a topic drawn at the end of one row and the start of the next.
// layoutQuality measures the result.

import type { FlowModel, FlowModelNode } from './flowmap'
import { modelOrder } from './flowmap'

// Sizes of a unit: a service's card grows a row per consumer group, whose
// handle sits at the row's middle on the left edge.
export const NODE_W = 190
export const NODE_H = 52
export const GROUP_ROW_H = 30

export function nodeSize(n: FlowModelNode): { width: number; height: number } {
  return { width: NODE_W, height: NODE_H + n.groups.length * GROUP_ROW_H }
}

// groupHandleY is the y of a group's handle from the top of its unit.
export function groupHandleY(i: number): number {
  return NODE_H + i * GROUP_ROW_H + GROUP_ROW_H / 2
}

export type Positions = Map<string, { x: number; y: number }>

// FlowLayout is a computed layout: the row of every node of the model,
// the model as drawn (cutRows of the two) and each drawn unit's top-left.
export interface FlowLayout {
  modelRows: Map<string, number>
  drawn: FlowModel
  pos: Positions
}

const LAYER_GAP = 80
const NODE_GAP = 24
const ROW_GAP = 56

// layers assigns each node of an acyclic model its longest-path layer
// from the producers.
export function layers(m: FlowModel): Map<string, number> {
  const layer = new Map<string, number>()
  const indeg = new Map(m.nodes.map((n) => [n.id, 0]))
  for (const e of m.edges) indeg.set(e.target, (indeg.get(e.target) ?? 0) + 1)
  const queue = m.nodes.filter((n) => indeg.get(n.id) === 0).map((n) => n.id)
  for (const id of queue) layer.set(id, 0)
  const out = new Map<string, string[]>()
  for (const e of m.edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target])
  for (let i = 0; i < queue.length; i++) {
    const u = queue[i]
    for (const v of out.get(u) ?? []) {
      layer.set(v, Math.max(layer.get(v) ?? 0, layer.get(u)! + 1))
      indeg.set(v, indeg.get(v)! - 1)
      if (indeg.get(v) === 0) queue.push(v)
    }
  }
  return layer
}

// chooseRows splits a long flow into rows of whole layers, as many as
// bring the map's shape closest to the canvas's aspect ratio (a flow ten
// hops deep on one row is too small to read). A row ends before a layer of
// topics where it can, so that a topic is where one row hands over to the
// next.
export function chooseRows(m: FlowModel, aspectRatio: number): Map<string, number> {
  const layer = layers(m)
  const depth = Math.max(0, ...layer.values()) + 1
  const byId = new Map(m.nodes.map((n) => [n.id, n]))
  const colHeight = new Array<number>(depth).fill(0)
  const colDest = new Array<number>(depth).fill(0)
  for (const [id, l] of layer) {
    const n = byId.get(id)!
    colHeight[l] += nodeSize(n).height + NODE_GAP
    if (n.kind === 'destination') colDest[l]++
  }
  let best = { score: Infinity, starts: [0] }
  for (let r = 1; r <= Math.min(4, depth); r++) {
    const per = Math.ceil(depth / r)
    const starts = [0]
    for (let k = 1; k < r; k++) {
      let s = k * per
      // Prefer a row that starts with topics: its last layer is then the
      // topics the previous row publishes to (their reference copies).
      if (s < depth && colDest[s] === 0 && s + 1 < depth && colDest[s + 1] > 0) s++
      if (s > starts[starts.length - 1] && s < depth) starts.push(s)
    }
    const ends = [...starts.slice(1), depth]
    const width = Math.max(...starts.map((s, i) => (ends[i] - s + 1) * (NODE_W + LAYER_GAP)))
    const height = starts.reduce((h, s, i) => h + Math.max(...colHeight.slice(s, ends[i])) + ROW_GAP, 0)
    const score = Math.abs(Math.log(width / height / aspectRatio))
    if (score < best.score - 0.05) best = { score, starts }
  }
  const rows = new Map<string, number>()
  for (const [id, l] of layer) rows.set(id, best.starts.filter((s) => s <= l).length - 1)
  // Where the flow ends (a DLQ, a topic nobody consumes), it ends on the
  // row of what feeds it: nothing continues from it on the next row.
  const hasOut = new Set(m.edges.map((e) => e.source))
  for (const e of m.edges) {
    if (hasOut.has(e.target)) continue
    const r = rows.get(e.source)!
    if (rows.get(e.target)! > r && !m.edges.some((x) => x.target === e.target && rows.get(x.source)! > r)) rows.set(e.target, r)
  }
  return rows
}

// cutRows is the model as drawn on rows: an edge from one row into a later
// one ends at a reference copy of its target at the end of its own row
// (the target is drawn again at the start of the next), so that no edge
// runs back across the map to the next row's start.
export function cutRows(m: FlowModel, modelRows: Map<string, number>): { drawn: FlowModel; rows: Map<string, number> } {
  const rows = new Map(modelRows)
  const byId = new Map(m.nodes.map((n) => [n.id, n]))
  const refs = new Map<string, FlowModelNode>()
  const edges = m.edges.map((e) => {
    if ((rows.get(e.source) ?? 0) === (rows.get(e.target) ?? 0)) return e
    const t = byId.get(e.target)!
    const id = `${t.id}#row${rows.get(e.source) ?? 0}`
    let ref = refs.get(id)
    if (!ref) {
      ref = { ...t, id, refOf: t.refOf ?? t.id, continues: true, groups: [] }
      refs.set(id, ref)
      rows.set(id, rows.get(e.source) ?? 0)
    }
    const g = t.groups.find((x) => x.id === e.targetGroup)
    if (g && !ref.groups.includes(g)) ref.groups.push(g)
    return { ...e, target: id }
  })
  return { drawn: refs.size ? { ...m, nodes: [...m.nodes, ...refs.values()], edges } : m, rows }
}

// ELK is large: it is loaded with the flow map, not with the app.
let elk: Promise<{ layout: (g: ElkGraph) => Promise<ElkGraph> }> | null = null
type ElkGraph = import('elkjs/lib/elk-api').ElkNode

// layoutFlow lays the model out on rows (chooseRows): each row's units in
// layers left to right by ELK, the rows stacked top to bottom.
export async function layoutFlow(m: FlowModel, aspectRatio = 1.6, modelRows = chooseRows(m, aspectRatio)): Promise<FlowLayout> {
  const { drawn, rows } = cutRows(m, modelRows)
  const pos: Positions = new Map()
  const count = Math.max(0, ...rows.values()) + 1
  let top = 0
  for (let r = 0; r < count; r++) {
    const nodes = modelOrder(drawn).filter((n) => (rows.get(n.id) ?? 0) === r)
    if (!nodes.length) continue
    const inRow = new Set(nodes.map((n) => n.id))
    const row = await layoutRow(nodes, drawn.edges.filter((e) => inRow.has(e.source) && inRow.has(e.target)))
    let bottom = top
    for (const n of nodes) {
      const p = row.get(n.id)!
      pos.set(n.id, { x: p.x, y: top + p.y })
      bottom = Math.max(bottom, top + p.y + nodeSize(n).height)
    }
    top = bottom + ROW_GAP
  }
  return { modelRows, drawn, pos }
}

async function layoutRow(nodes: FlowModelNode[], edges: FlowModel['edges']): Promise<Positions> {
  elk ??= import('elkjs/lib/elk.bundled.js').then(({ default: ELK }) => new ELK())
  const res = await (await elk).layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': String(LAYER_GAP),
      'elk.spacing.nodeNode': String(NODE_GAP),
      'elk.layered.layering.strategy': 'NETWORK_SIMPLEX',
      'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
      'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.thoroughness': '20',
      'elk.separateConnectedComponents': 'false',
    },
    children: nodes.map((n) => ({
      id: n.id,
      ...nodeSize(n),
      layoutOptions: { 'elk.portConstraints': 'FIXED_POS' },
      ports: n.groups.map((g, i) => ({ id: portId(n.id, g.id), x: 0, y: groupHandleY(i), width: 0, height: 0, layoutOptions: { 'elk.port.side': 'WEST' } })),
    })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.targetGroup ? portId(e.target, e.targetGroup) : e.target] })),
  })
  const pos: Positions = new Map()
  for (const c of res.children ?? []) pos.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 })
  return pos
}

const portId = (node: string, group: string) => `${node}\0${group}`

// Quality is what a reader of the map sees go wrong: edges that run right
// to left, and pairs of edges that cross.
export interface Quality {
  backward: string[]
  crossings: number
}

// layoutQuality measures a layout: an edge is backward when its target
// does not start right of its source's end; edges are drawn as straight
// segments from the source's right middle to the target's handle (its
// group's row, or its left middle), and every pair that intersects away
// from a shared end counts as a crossing.
export function layoutQuality(m: FlowModel, pos: Positions): Quality {
  const byId = new Map(m.nodes.map((n) => [n.id, n]))
  const segs = m.edges.map((e) => {
    const s = byId.get(e.source)!, t = byId.get(e.target)!
    const sp = pos.get(s.id)!, tp = pos.get(t.id)!
    const gi = t.groups.findIndex((g) => g.id === e.targetGroup)
    return {
      e,
      a: { x: sp.x + nodeSize(s).width, y: sp.y + nodeSize(s).height / 2 },
      b: { x: tp.x, y: tp.y + (gi >= 0 ? groupHandleY(gi) : nodeSize(t).height / 2) },
    }
  })
  const backward = segs.filter((s) => s.b.x <= s.a.x).map((s) => s.e.id)
  let crossings = 0
  for (let i = 0; i < segs.length; i++) {
    for (let j = i + 1; j < segs.length; j++) {
      const p = segs[i], q = segs[j]
      if (p.e.source === q.e.source || p.e.target === q.e.target) continue
      if (intersect(p.a, p.b, q.a, q.b)) crossings++
    }
  }
  return { backward, crossings }
}

type Pt = { x: number; y: number }
const cross = (o: Pt, a: Pt, b: Pt) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)

// intersect reports whether segments ab and cd cross at a point inside both.
function intersect(a: Pt, b: Pt, c: Pt, d: Pt): boolean {
  const d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d)
  return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))
}
