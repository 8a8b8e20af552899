import { describe, expect, it } from 'vitest'
import { LiveRates, buildFlowModel, errorHealth, flowNodeSize, lagHealth, layoutFlow, modelOrder, worstStatus } from './flowmap'
import type { FlowMap, GroupLag } from '../api/types'

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

  it('puts consumer groups between a destination and its services', () => {
    expect(node('group:kafka:payments')).toMatchObject({ kind: 'group', name: 'payments', system: 'kafka' })
    expect(edge('destination:kafka:orders.placed->group:kafka:payments')).toBeDefined()
    expect(edge('group:kafka:payments->service:payment-service')).toBeDefined()
    expect(m.edges.find((e) => e.id === 'destination:kafka:orders.placed->service:payment-service')).toBeUndefined()
    expect(edge('group:kafka:payments->service:payment-service').member).toBe(true)
    expect(edge('destination:kafka:orders.placed->group:kafka:payments').member).toBe(false)
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
    expect(edge('group:kafka:payments->service:payment-service').filter).toEqual({ service: 'payment-service', destination: 'orders.placed' })
  })

  it('attaches lag per topic and per group and colours by health', () => {
    const e = edge('destination:kafka:orders.placed->group:kafka:payments')
    expect(e.lag).toEqual({ messages: 30, seconds: 12, status: 'STALL' })
    expect(e.health).toBe('err')
    expect(node('group:kafka:payments').lag?.status).toBe('STALL')
    expect(node('group:kafka:payments').health).toBe('err')
    expect(edge('service:order-service->destination:kafka:orders.placed').health).toBe('ok')
    expect(node('destination:kafka:orders.placed.dlq').dlq).toBe(true)
    expect(node('destination:kafka:orders.placed.dlq').health).toBe('warn')
  })

  it('orders producers first so the cycle breaks at the refund', () => {
    const order = modelOrder(m).map((n) => n.id)
    expect(order[0]).toBe('service:order-service')
    expect(order.indexOf('destination:kafka:orders.placed')).toBeLessThan(order.indexOf('service:payment-service'))
    expect(order).toHaveLength(m.nodes.length)
  })

  it('lays every node out without overlaps', async () => {
    const pos = await layoutFlow(m)
    expect(pos.size).toBe(m.nodes.length)
    const boxes = m.nodes.map((n) => ({ ...pos.get(n.id)!, ...flowNodeSize[n.kind] }))
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j]
        const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
        expect(overlap).toBe(false)
      }
  })

  it('handles a flow that is only a cycle', () => {
    const cyc = buildFlowModel({
      since: fm.since, until: fm.until,
      nodes: [{ id: 'service:a', kind: 'service', name: 'a' }, { id: 'destination:kafka:t', kind: 'destination', name: 't', system: 'kafka' }],
      edges: [
        { source: 'service:a', target: 'destination:kafka:t', op: 'publish', count: 1, errors: 0, p50_ns: 0, p99_ns: 0 },
        { source: 'destination:kafka:t', target: 'service:a', op: 'process', count: 1, errors: 0, p50_ns: 0, p99_ns: 0 },
      ],
    }, [])
    expect(modelOrder(cyc)).toHaveLength(2)
  })
})

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
