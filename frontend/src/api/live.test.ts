import { describe, expect, it } from 'vitest'
import { Live, narrow, serverFilter } from './live'

class FakeSocket {
  readyState = 0
  sent: unknown[] = []
  closed = false
  onopen: ((ev: unknown) => void) | null = null
  onclose: ((ev: unknown) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  constructor(public url: string) {}
  send(d: string) {
    this.sent.push(JSON.parse(d))
  }
  close() {
    this.closed = true
  }
  open() {
    this.readyState = 1
    this.onopen?.({})
  }
  drop() {
    this.readyState = 3
    this.onclose?.({})
  }
  frame(f: unknown) {
    this.onmessage?.({ data: JSON.stringify(f) })
  }
}

function setup() {
  const sockets: FakeSocket[] = []
  const timers: { fn: () => void; ms: number }[] = []
  const live = new Live(() => 'ws://studio/api/v1/live', {
    socket: (u) => {
      const s = new FakeSocket(u)
      sockets.push(s)
      return s
    },
    setTimer: (fn, ms) => {
      timers.push({ fn, ms })
      return timers.length
    },
    clearTimer: () => {},
    minDelayMs: 100,
    maxDelayMs: 400,
  })
  return { live, sockets, timers }
}

describe('Live', () => {
  it('connects on the first subscription and subscribes once open', () => {
    const { live, sockets } = setup()
    const got: unknown[] = []
    live.subscribe({ channel: 'events', filter: { correlation_id: 'order-1' }, onData: (d) => got.push(d) })
    expect(sockets).toHaveLength(1)
    expect(sockets[0].sent).toEqual([])
    sockets[0].open()
    expect(sockets[0].sent).toEqual([{ op: 'subscribe', channel: 'events', filter: { correlation_id: 'order-1' } }])
    sockets[0].frame({ channel: 'events', data: [{ correlation_id: 'order-1', span_id: 'a' }, { correlation_id: 'order-2', span_id: 'b' }] })
    expect(got).toEqual([[{ correlation_id: 'order-1', span_id: 'a' }]])
    expect(live.status).toBe('open')
  })

  it('widens the server filter when subscribers disagree and narrows per subscriber', () => {
    const { live, sockets } = setup()
    const a: unknown[] = []
    const b: unknown[] = []
    live.subscribe({ channel: 'lag', filter: { group: 'g1' }, onData: (d) => a.push(d) })
    sockets[0].open()
    const unsub = live.subscribe({ channel: 'lag', filter: { group: 'g2' }, onData: (d) => b.push(d) })
    expect(sockets[0].sent.at(-1)).toEqual({ op: 'subscribe', channel: 'lag', filter: {} })
    sockets[0].frame({ channel: 'lag', data: [{ group: 'g1', lag: 1 }, { group: 'g2', lag: 2 }] })
    expect(a).toEqual([[{ group: 'g1', lag: 1 }]])
    expect(b).toEqual([[{ group: 'g2', lag: 2 }]])
    unsub()
    expect(sockets[0].sent.at(-1)).toEqual({ op: 'subscribe', channel: 'lag', filter: { group: 'g1' } })
  })

  it('unsubscribes a channel nobody listens to', () => {
    const { live, sockets } = setup()
    const unsub = live.subscribe({ channel: 'dlq', filter: {}, onData: () => {} })
    sockets[0].open()
    unsub()
    expect(sockets[0].sent.at(-1)).toEqual({ op: 'unsubscribe', channel: 'dlq' })
  })

  it('reconnects with backoff, resubscribes and asks for a resync', () => {
    const { live, sockets, timers } = setup()
    let resyncs = 0
    live.subscribe({ channel: 'replays', filter: { replay_id: 'r1' }, onData: () => {}, onResync: () => resyncs++ })
    sockets[0].open()
    expect(resyncs).toBe(0)
    sockets[0].drop()
    expect(live.status).toBe('reconnecting')
    expect(timers.map((t) => t.ms)).toEqual([100])
    timers[0].fn()
    sockets[1].drop() // refused
    timers[1].fn()
    sockets[2].drop()
    timers[2].fn()
    sockets[3].drop()
    expect(timers.map((t) => t.ms)).toEqual([100, 200, 400, 400])
    timers[3].fn()
    sockets[4].open()
    expect(sockets[4].sent).toEqual([{ op: 'subscribe', channel: 'replays', filter: { replay_id: 'r1' } }])
    expect(resyncs).toBe(1)
    sockets[4].drop()
    expect(timers.at(-1)!.ms).toBe(100) // an open connection resets the backoff
  })

  it('passes resync frames on to every subscriber', () => {
    const { live, sockets } = setup()
    let n = 0
    live.subscribe({ channel: 'events', filter: {}, onData: () => {}, onResync: () => n++ })
    live.subscribe({ channel: 'flows', filter: {}, onData: () => {}, onResync: () => n++ })
    sockets[0].open()
    sockets[0].frame({ channel: 'resync', message: 'frames were dropped' })
    expect(n).toBe(2)
  })

  it('reconnects and resyncs after the server drops it as lagging, saying why', () => {
    const { live, sockets, timers } = setup()
    let resyncs = 0
    live.subscribe({ channel: 'events', filter: {}, onData: () => {}, onResync: () => resyncs++ })
    sockets[0].open()
    sockets[0].frame({ channel: 'lagging', message: 'this client fell behind' })
    sockets[0].drop()
    expect(live.status).toBe('reconnecting')
    expect(live.detail).toBe('this client fell behind')
    timers[0].fn()
    sockets[1].open()
    expect(resyncs).toBe(1)
    sockets[1].drop()
    expect(live.detail).toBe('connection lost')
  })

  it('stops reconnecting when closed', () => {
    const { live, sockets, timers } = setup()
    live.subscribe({ channel: 'alerts', filter: {}, onData: () => {} })
    sockets[0].open()
    live.close()
    expect(sockets[0].closed).toBe(true)
    expect(timers).toHaveLength(0)
    expect(live.status).toBe('idle')
  })

  it('ignores frames that are not JSON', () => {
    const { live, sockets } = setup()
    const got: unknown[] = []
    live.subscribe({ channel: 'alerts', filter: {}, onData: (d) => got.push(d) })
    sockets[0].open()
    sockets[0].onmessage!({ data: 'not json' })
    sockets[0].frame({ channel: 'alerts', data: { rule_id: 'x' } })
    expect(got).toEqual([{ rule_id: 'x' }])
  })
})

describe('narrow and serverFilter', () => {
  it('filters replay frames by id', () => {
    expect(narrow('replays', { replay_id: 'a' }, { id: 'b' })).toBeUndefined()
    expect(narrow('replays', { replay_id: 'a' }, { id: 'a' })).toEqual({ id: 'a' })
    expect(narrow('events', { service: 's' }, [{ service: 't' }])).toBeUndefined()
  })
  it('filters journey frames by journey', () => {
    expect(narrow('journeys', { journey: 'order' }, { journey: 'refund', updates: [] })).toBeUndefined()
    expect(narrow('journeys', { journey: 'order' }, { journey: 'order', updates: [] })).toEqual({ journey: 'order', updates: [] })
    expect(narrow('journeys', {}, { journey: 'refund' })).toEqual({ journey: 'refund' })
  })
  it('keeps a common filter', () => {
    const s = (filter: object) => ({ channel: 'events' as const, filter, onData: () => {} })
    expect(serverFilter([s({ service: 'a' }), s({ service: 'a', outcome: '' })])).toEqual({ service: 'a' })
    expect(serverFilter([s({ service: 'a' }), s({ service: 'b' })])).toEqual({})
  })
})
