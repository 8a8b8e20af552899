import { describe, expect, it } from 'vitest'
import { LiveRates, buildFlowModel, errorHealth, lagHealth, modelOrder, worstStatus, type FlowModelEdge, type FlowModelNode } from './flowmap'
import { layoutFlow, layoutQuality, nodeSize } from './layout'
import type { FlowMap, GroupLag } from '../api/types'
import demoFlows from './testdata/demo-flows.json'

const fm: FlowMap = {
  since: '2026-01-01T00:00:00Z',
  until: '2026-01-01T00:01:40Z', // 100 s
  nodes: [
    { id: 'service:order-service', kind: 'service', name: 'order-service' },
    { id: 'service:payment-service', kind: 'service', name: 'payment-service' },
    { id: 'destination:kafka:orders.placed', kind: 'destination', name: 'orders.placed', system: 'kafka' },
    { id: 'destination:kafka:orders.placed.dlq', kind: 'destination', name: 'orders.placed.dlq', system: 'kafka' },
    { id: 'destination:nats:refunds', kind: 'destination', name: 'refunds', system: 'nats' },
  ],
  edges: [
    { source: 'service:order-service', target: 'destination:kafka:orders.placed', op: 'publish', count: 200, errors: 0, p50_ns: 1, p99_ns: 5e6 },
    { source: 'destination:kafka:orders.placed', target: 'service:payment-service', op: 'process', consumer_group: 'payments', count: 200, errors: 20, p50_ns: 1, p99_ns: 7e6 },
    { source: 'destination:kafka:orders.placed', target: 'service:payment-service', op: 'settle', consumer_group: 'payments', count: 200, errors: 0, p50_ns: 1, p99_ns: 9e9 },
    { source: 'service:payment-service', target: 'destination:kafka:orders.placed.dlq', op: 'dead_letter', count: 8, errors: 0, p50_ns: 1, p99_ns: 1e6 },
    { source: 'service:payment-service', target: 'destination:nats:refunds', op: 'publish', count: 3, errors: 0, p50_ns: 1, p99_ns: 1e6 },
    { source: 'destination:nats:refunds', target: 'service:order-service', op: 'process', consumer_group: 'refunds', count: 3, errors: 0, p50_ns: 1, p99_ns: 1e6 },
  ],
}
const lag: GroupLag[] = [
  {
    group: 'payments', system: 'kafka', status: 'STALL', total_lag: 30, max_lag_seconds: 12, time: '',
    partitions: [
      { time_ns: 1, system: 'kafka', group: 'payments', topic: 'orders.placed', partition: 0, committed: 1, end: 11, lag: 10, lag_seconds: 12, status: 'STALL', group_status: 'STALL' },
      { time_ns: 1, system: 'kafka', group: 'payments', topic: 'orders.placed', partition: 1, committed: 1, end: 21, lag: 20, lag_seconds: 3, status: 'OK', group_status: 'STALL' },
    ],
  },
]

describe('buildFlowModel', () => {
  const m = buildFlowModel(fm, lag)
  const node = (id: string) => m.nodes.find((n) => n.id === id)!
  const edge = (id: string) => m.edges.find((e) => e.id === id)!

  it('draws a consumer group inside its service, the edge ending at the group', () => {
    expect(node('service:payment-service').groups).toMatchObject([{ id: 'group:kafka:payments', name: 'payments', system: 'kafka' }])
    expect(m.nodes.some((n) => n.id.startsWith('group:'))).toBe(false)
    const e = edge('destination:kafka:orders.placed->group:kafka:payments')
    expect(e).toMatchObject({ source: 'destination:kafka:orders.placed', target: 'service:payment-service', targetGroup: 'group:kafka:payments' })
  })

  it('folds settles into the edge and computes rate, error rate and p99', () => {
    const e = edge('destination:kafka:orders.placed->group:kafka:payments')
    expect(e.count).toBe(200)
    expect(e.errors).toBe(20)
    expect(e.ratePerSec).toBe(2)
    expect(e.errorRate).toBeCloseTo(0.1)
    expect(e.p99_ns).toBe(7e6) // not the settle's
    expect(e.ops.sort()).toEqual(['process', 'settle'])
    expect(e.filter).toEqual({ destination: 'orders.placed' })
  })

  it('attaches lag per topic and per group and colours by health', () => {
    const e = edge('destination:kafka:orders.placed->group:kafka:payments')
    expect(e.lag).toEqual({ messages: 30, seconds: 12, status: 'STALL' })
    expect(e.health).toBe('err')
    const g = node('service:payment-service').groups[0]
    expect(g.lag?.status).toBe('STALL')
    expect(g.health).toBe('err')
    expect(node('service:payment-service').health).toBe('err')
    expect(edge('service:order-service->destination:kafka:orders.placed').health).toBe('ok')
    expect(node('destination:kafka:orders.placed.dlq').dlq).toBe(true)
    expect(node('destination:kafka:orders.placed.dlq').health).toBe('warn')
  })

  it('orders producers first', () => {
    const order = modelOrder(m).map((n) => n.id)
    expect(order[0]).toBe('service:order-service')
    expect(order.indexOf('destination:kafka:orders.placed')).toBeLessThan(order.indexOf('service:payment-service'))
    expect(order).toHaveLength(m.nodes.length)
  })

  it('ends the edge that closes a cycle (the refund) at a reference copy', () => {
    const e = edge('destination:nats:refunds->group:nats:refunds')
    expect(e.target).toBe('service:order-service#ref')
    const ref = node('service:order-service#ref')
    expect(ref).toMatchObject({ refOf: 'service:order-service', name: 'order-service' })
    expect(ref.groups.map((g) => g.name)).toEqual(['refunds'])
    expect(node('service:order-service').groups).toEqual([])
    expect(m.edges.some((x) => x.source === ref.id)).toBe(false)
  })

  it('lays every node out without overlaps, every edge left to right', async () => {
    const { drawn, pos } = await layoutFlow(m)
    expect(pos.size).toBe(drawn.nodes.length)
    expectNoOverlaps(drawn.nodes.map((n) => ({ ...pos.get(n.id)!, ...nodeSize(n) })))
    expect(layoutQuality(drawn, pos).backward).toEqual([])
  })

  it('handles a flow that is only a cycle', async () => {
    const cyc = buildFlowModel({
      since: fm.since, until: fm.until,
      nodes: [{ id: 'service:a', kind: 'service', name: 'a' }, { id: 'destination:kafka:t', kind: 'destination', name: 't', system: 'kafka' }],
      edges: [
        { source: 'service:a', target: 'destination:kafka:t', op: 'publish', count: 1, errors: 0, p50_ns: 0, p99_ns: 0 },
        { source: 'destination:kafka:t', target: 'service:a', op: 'process', count: 1, errors: 0, p50_ns: 0, p99_ns: 0 },
      ],
    }, [])
    expect(modelOrder(cyc)).toHaveLength(3)
    const l = await layoutFlow(cyc)
    expect(layoutQuality(l.drawn, l.pos).backward).toEqual([])
  })
})

// The demo's map, from a real `causeway demo` (e2e/capture-flows.mjs):
// every service, Kafka topic, NATS subject, the DLQ and the refund saga.
describe('the demo flow map', () => {
  const m = buildFlowModel(demoFlows as FlowMap, [])

  it('reads left to right: no backward edge, few crossings', async () => {
    const { drawn, pos } = await layoutFlow(m)
    expectNoOverlaps(drawn.nodes.map((n) => ({ ...pos.get(n.id)!, ...nodeSize(n) })))
    const q = layoutQuality(drawn, pos)
    expect(q.backward).toEqual([])
    expect(q.crossings).toBe(0) // measured on the captured map
  })

  it('continues a deep flow on the next row from a topic drawn at the end of one and the start of the next', async () => {
    const { drawn, pos } = await layoutFlow(m)
    const cont = drawn.nodes.filter((n) => n.continues)
    expect(cont.length).toBeGreaterThan(0)
    for (const ref of cont) {
      expect(ref.kind).toBe('destination')
      expect(drawn.edges.some((e) => e.source === ref.id)).toBe(false)
      expect(pos.get(ref.refOf!)!.y).toBeGreaterThan(pos.get(ref.id)!.y) // below, on a later row
      expect(pos.get(ref.refOf!)!.x).toBeLessThan(pos.get(ref.id)!.x) // at its start
    }
  })

  it('draws each service once, with its consumer groups, but for the refund', () => {
    const services = m.nodes.filter((n) => n.kind === 'service' && !n.refOf).map((n) => n.name)
    expect(new Set(services).size).toBe(services.length)
    expect(m.nodes.filter((n) => n.refOf).map((n) => `${n.name}:${n.groups.map((g) => g.name)}`)).toEqual(['payment-service:refunds'])
    expect(m.nodes.find((n) => n.id === 'service:payment-service')!.groups.map((g) => g.name)).toEqual(['payments'])
  })
})

describe('layoutQuality', () => {
  // Two services publishing to two topics, the edges crossed.
  const m = {
    windowSeconds: 1,
    nodes: ['service:a', 'service:b', 'destination:k:x', 'destination:k:y'].map((id) => ({ id, kind: id.startsWith('s') ? 'service' : 'destination', name: id, dlq: false, health: 'ok', groups: [] }) as FlowModelNode),
    edges: [['service:a', 'destination:k:y'], ['service:b', 'destination:k:x']].map(([source, target]) => ({ id: source + '->' + target, source, target, count: 1, errors: 0, p99_ns: 0, ratePerSec: 1, errorRate: 0, ops: ['publish'], health: 'ok', filter: {} }) as FlowModelEdge),
  }
  it('counts a crossing', () => {
    const pos = new Map([['service:a', { x: 0, y: 0 }], ['service:b', { x: 0, y: 100 }], ['destination:k:x', { x: 300, y: 0 }], ['destination:k:y', { x: 300, y: 100 }]])
    expect(layoutQuality(m, pos)).toEqual({ backward: [], crossings: 1 })
  })
  it('names an edge that runs right to left', () => {
    const pos = new Map([['service:a', { x: 0, y: 0 }], ['service:b', { x: 600, y: 100 }], ['destination:k:x', { x: 300, y: 100 }], ['destination:k:y', { x: 300, y: 0 }]])
    expect(layoutQuality(m, pos)).toEqual({ backward: ['service:b->destination:k:x'], crossings: 0 })
  })
})

function expectNoOverlaps(boxes: { x: number; y: number; width: number; height: number }[]) {
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j]
      const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
      expect(overlap).toBe(false)
    }
}

describe('health', () => {
  it('maps statuses and error rates', () => {
    expect(['OK', 'WARN', 'REWIND', 'ERR', 'STOP', 'STALL'].map(lagHealth)).toEqual(['ok', 'warn', 'warn', 'err', 'err', 'err'])
    expect(errorHealth(0, 100)).toBe('ok')
    expect(errorHealth(5, 100)).toBe('warn')
    expect(errorHealth(6, 100)).toBe('err')
    expect(worstStatus('OK', 'STOP')).toBe('STOP')
    expect(worstStatus('WARN', 'REWIND')).toBe('WARN')
  })
})

describe('LiveRates', () => {
  const delta = (n: number) => ({
    nodes: fm.nodes,
    edges: [{ source: 'service:order-service', target: 'destination:kafka:orders.placed', op: 'publish' as const, count: n, errors: 0, p50_ns: 0, p99_ns: 0 }],
  })
  const id = 'service:order-service->destination:kafka:orders.placed'

  it('waits for 5 s of observation, then rates over what it saw', () => {
    const r = new LiveRates(0, 30_000)
    r.add(delta(10), 1000)
    expect(r.perSecond(4000)).toBeNull()
    r.add(delta(40), 9000)
    expect(r.perSecond(10_000)!.get(id)).toBe(5) // 50 in 10 s
  })

  it('takes a delta without nodes or edges', () => {
    const r = new LiveRates(0)
    r.add({ nodes: null, edges: null }, 1000)
    expect(r.perSecond(6000)!.size).toBe(0)
  })

  it('forgets what is older than the span', () => {
    const r = new LiveRates(0, 30_000)
    r.add(delta(300), 1000)
    r.add(delta(60), 40_000)
    expect(r.perSecond(40_000)!.get(id)).toBe(2) // only the 60 of the last 30 s
  })
})
