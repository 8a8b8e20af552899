import { describe, expect, it } from 'vitest'
import { LANE_W, LEVEL_H, NODE_W, fit, layoutCausation, nodeId, readable } from './causation'
import type { CwEvent, Graph } from '../api/types'

function ev(span: string, start: number, extra: Partial<CwEvent> = {}): CwEvent {
  return {
    event_id: 'e' + span, trace_id: 't', span_id: span, service: 'svc', op: 'process', outcome: 'ok', attempt: 1,
    partition: -1, offset: -1, start_ns: start, duration_ns: 10, payload_size: -1, correlation_id: 'order-1', ...extra,
  }
}
const edge = (a: string, b: string) => ({ from: 't/' + a, to: 't/' + b, kind: 'link' as const })

describe('layoutCausation', () => {
  it('keeps a chain in one lane, one level per hop', () => {
    const g: Graph = { nodes: [ev('c', 3), ev('a', 1), ev('b', 2)], edges: [edge('a', 'b'), edge('b', 'c')], truncated: false }
    const l = layoutCausation(g)
    const at = (s: string) => l.nodes[l.index.get('t/' + s)!]
    expect([at('a').depth, at('b').depth, at('c').depth]).toEqual([0, 1, 2])
    expect(new Set([at('a').x, at('b').x, at('c').x]).size).toBe(1)
    expect(at('c').y).toBe(2 * LEVEL_H)
    expect(l.timeline.map((i) => l.nodes[i].ev.span_id)).toEqual(['a', 'b', 'c'])
    expect(l.t0).toBe(1)
    expect(l.t1).toBe(13)
  })

  it('opens a lane per branch, in time order', () => {
    const g: Graph = {
      nodes: [ev('root', 0), ev('late', 5), ev('early', 1), ev('after-early', 2)],
      edges: [edge('root', 'late'), edge('root', 'early'), edge('early', 'after-early')],
      truncated: false,
    }
    const l = layoutCausation(g)
    const at = (s: string) => l.nodes[l.index.get('t/' + s)!]
    expect(at('early').row).toBe(at('root').row)
    expect(at('after-early').row).toBe(at('root').row)
    expect(at('late').row).toBe(at('root').row + 1)
    expect(at('late').x).toBe(LANE_W * (at('root').row + 1))
  })

  it('marks retries, DLQ hops and replay branches', () => {
    const g: Graph = {
      nodes: [
        ev('pub', 0, { op: 'publish' }),
        ev('try2', 1, { outcome: 'retry', attempt: 2 }),
        ev('dead', 2, { outcome: 'dead_lettered' }),
        ev('dlq', 3, { op: 'dead_letter', destination: 'orders.dlq' }),
        ev('replay', 4, { op: 'replay', replay_of: 'epub', service: 'causeway-replay' }),
        ev('again', 5, { replay_of: 'epub' }),
      ],
      edges: [edge('pub', 'try2'), edge('pub', 'dead'), edge('dead', 'dlq'), edge('dead', 'replay'), edge('replay', 'again')],
      truncated: false,
    }
    const l = layoutCausation(g)
    const mark = (a: string, b: string) => l.edges.find((e) => l.nodes[e.from].ev.span_id === a && l.nodes[e.to].ev.span_id === b)!.mark
    expect(mark('pub', 'try2')).toBe('retry')
    expect(mark('dead', 'dlq')).toBe('dlq')
    expect(mark('dead', 'replay')).toBe('replay')
    expect(mark('replay', 'again')).toBe('normal')
    const at = (s: string) => l.nodes[l.index.get('t/' + s)!]
    expect(at('again').replay).toBe(true)
    expect(at('dead').error && at('dead').dlq).toBe(true)
    expect(at('try2').retry).toBe(true)
    expect(at('pub').replay || at('pub').dlq || at('pub').retry).toBe(false)
    expect(at('replay').row).not.toBe(at('dead').row) // a branch of its own
    expect(at('again').row).toBe(at('replay').row)
  })

  it('puts a replay on a branch of its own even as the only effect', () => {
    const g: Graph = { nodes: [ev('a', 0), ev('r', 1, { op: 'replay' }), ev('c', 2, { replay_of: 'ea' })], edges: [edge('a', 'r'), edge('r', 'c')], truncated: false }
    const l = layoutCausation(g)
    const at = (s: string) => l.nodes[l.index.get('t/' + s)!]
    expect(at('r').row).toBe(at('a').row + 1)
    expect(at('c').row).toBe(at('r').row)
  })

  it('walks replays after the flow they replay', () => {
    // root → try1 → replay → again; root → try2 (the replay's lane comes after try2's)
    const g: Graph = {
      nodes: [ev('root', 0), ev('try1', 1, { outcome: 'retry' }), ev('try2', 2, { outcome: 'dead_lettered' }), ev('r', 3, { op: 'replay' }), ev('again', 4, { replay_of: 'eroot' })],
      edges: [edge('root', 'try1'), edge('root', 'try2'), edge('try1', 'r'), edge('try2', 'r'), edge('r', 'again')],
      truncated: false,
    }
    const l = layoutCausation(g)
    const at = (s: string) => l.nodes[l.index.get('t/' + s)!]
    expect([at('root').row, at('try1').row, at('try2').row, at('r').row, at('again').row]).toEqual([0, 0, 1, 2, 2])
    expect(at('r').depth).toBe(2)
  })

  it('ignores edges to unknown nodes, self-loops and duplicates, and survives a cycle', () => {
    const g: Graph = {
      nodes: [ev('a', 0), ev('b', 1), ev('c', 2)],
      edges: [edge('a', 'b'), edge('a', 'b'), edge('a', 'a'), edge('a', 'zzz'), edge('b', 'c'), edge('c', 'b')],
      truncated: false,
    }
    const l = layoutCausation(g)
    expect(l.edges).toHaveLength(3)
    expect(l.nodes.every((n) => n.row >= 0)).toBe(true)
  })

  it('never puts two events on one spot and always draws effects below causes', () => {
    // A random DAG shaped like real flows: fan-out, joins, long chains.
    let x = 42
    const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const nodes = Array.from({ length: 2000 }, (_, i) => ev('n' + i, Math.floor(rnd() * 1e6)))
    const edges = []
    for (let i = 1; i < nodes.length; i++) {
      edges.push(edge('n' + Math.floor(rnd() * i), 'n' + i))
      if (rnd() < 0.1) edges.push(edge('n' + Math.floor(rnd() * i), 'n' + i))
    }
    const l = layoutCausation({ nodes, edges, truncated: false })
    const spots = new Set(l.nodes.map((n) => `${n.x},${n.y}`))
    expect(spots.size).toBe(2000)
    for (const e of l.edges) expect(l.nodes[e.to].y).toBeGreaterThan(l.nodes[e.from].y)
    expect(l.width).toBe(Math.max(...l.nodes.map((n) => n.x)) + NODE_W)
  })

  it('finds the correlation id most events carry', () => {
    const g: Graph = {
      nodes: [ev('a', 0, { correlation_id: 'x' }), ev('b', 0, { correlation_id: 'y' }), ev('c', 0, { correlation_id: 'y' })],
      edges: [],
      truncated: false,
    }
    expect(layoutCausation(g).correlationId).toBe('y')
    expect(nodeId({ trace_id: 't', span_id: 's' })).toBe('t/s')
  })

  it('lays out nothing for an empty graph', () => {
    const l = layoutCausation({ nodes: [], edges: [], truncated: false })
    expect([l.width, l.height, l.nodes.length]).toEqual([0, 0, 0])
  })
})

describe('fit', () => {
  const chain = (n: number) => ({ nodes: new Array(n).fill(null), width: NODE_W, height: (n - 1) * LEVEL_H + 54 }) as unknown as Parameters<typeof fit>[0]
  const inView = (v: ReturnType<typeof fit>, l: ReturnType<typeof chain>, w: number, h: number) =>
    v.x >= 0 && v.y >= 0 && v.x + l.width * v.k <= w && v.y + l.height * v.k <= h

  it('opens a small graph fitted to the view, the whole chain in it', () => {
    for (const n of [3, 11, 14]) {
      const l = chain(n)
      const v = fit(l, 640, 660)
      expect(inView(v, l, 640, 660)).toBe(true)
    }
  })

  it('opens a graph too long to read fitted at a readable zoom from its start', () => {
    const v = fit(chain(60), 640, 660)
    expect(v).toEqual({ k: readable, x: 24, y: 24 })
  })
})
