import { describe, expect, it } from 'vitest'
import { applyUpdates, journeySteps, latestUpdates, sparkPath } from './journeys'
import type { JourneyDetail, JourneySummary, LedgerEntry, LedgerUpdate } from '../api/types'

const summary = {
  name: 'order', step_names: ['placed', 'paid', 'shipped'], stuck_steps: [{ step: 'paid', count: 4 }, { step: 'gone', count: 1 }],
} as unknown as JourneySummary

describe('journeySteps', () => {
  it('lists the summary steps with their stuck counts', () => {
    expect(journeySteps(summary).map((s) => [s.step, s.kind, s.stuck])).toEqual([
      ['placed', 'start', 0], ['paid', 'step', 4], ['shipped', 'step', 0], ['gone', 'step', 1],
    ])
  })
  it('prefers the breakdown of a detail', () => {
    const d = {
      ...summary,
      breakdown: [
        { step: 'placed', kind: 'start', stuck: 0, dead_lettered: 0, reached: { count: 0, p50_ns: 0, p99_ns: 0 }, hops: [] },
        { step: 'paid', kind: 'step', stuck: 3, dead_lettered: 3, reached: { count: 9, p50_ns: 5e6, p99_ns: 9e6 }, hops: [] },
      ],
    } as unknown as JourneyDetail
    expect(journeySteps(d)).toEqual([
      { step: 'placed', kind: 'start', stuck: 0, deadLettered: 0, reachedP50Ns: 0 },
      { step: 'paid', kind: 'step', stuck: 4, deadLettered: 3, reachedP50Ns: 5e6 },
    ])
  })
})

describe('sparkPath', () => {
  it('scales into the box, higher values higher up, gaps break the line', () => {
    expect(sparkPath([0, 1, null, 1], 30, 10)).toBe('M0.0,10.0L10.0,0.0M30.0,0.0')
    expect(sparkPath([], 30, 10)).toBe('')
    expect(sparkPath([0.5], 30, 10, 0, 1)).toBe('M15.0,5.0')
  })
})

describe('applyUpdates', () => {
  const entry: LedgerEntry = {
    journey: 'order', correlation_id: 'order-7', started_ns: 1, last_ns: 100, step: 'paid', service: 'payment-service',
    destination: 'orders.placed', op: 'dead_letter', state: 'dead_lettered', event_id: 'e1', reason: 'fraud-check down',
  }
  const up = (state: LedgerUpdate['state'], at: number, corr = 'order-7'): LedgerUpdate => ({
    journey: 'order', correlation_id: corr, at_ns: at, start: false, step: 'shipped', service: 'shipping-service', destination: 'shipments', op: 'publish', state, event_id: 'e2',
  })

  it('moves a replayed entity to completed', () => {
    const [e] = applyUpdates([entry], latestUpdates(new Map(), [up('in_flight', 200), up('completed', 300)]))
    expect(e).toMatchObject({ state: 'completed', step: 'shipped', last_ns: 300, event_id: 'e2' })
    expect(e.reason).toBeUndefined()
  })
  it('keeps a terminal state against a later straggler', () => {
    const done = { ...entry, state: 'completed' as const, last_ns: 300 }
    expect(applyUpdates([done], latestUpdates(new Map(), [up('in_flight', 400)]))[0]).toBe(done)
    expect(latestUpdates(new Map(), [up('completed', 300), up('in_flight', 400)]).get('order-7')!.state).toBe('completed')
  })
  it('moves an entity only forward: a late event of an earlier step leaves it dead-lettered', () => {
    const dead: LedgerEntry = { ...entry, step: 'placed', step_index: 0, op: 'process', last_ns: 100 }
    const analytics: LedgerUpdate = { ...up('in_flight', 500), step: 'placed', step_index: 0, service: 'analytics-service', op: 'process', destination: 'orders.placed' }
    expect(applyUpdates([dead], latestUpdates(new Map(), [analytics]))[0]).toBe(dead)
    // The DLQ publish that follows the failed process event carries no reason: the reason stays.
    const dlqPublish: LedgerUpdate = { ...up('dead_lettered', 150), step: 'placed', step_index: 0, op: 'dead_letter' }
    expect(applyUpdates([dead], latestUpdates(new Map(), [dlqPublish]))[0]).toBe(dead)
    // Dead-lettered again after a replay: the new reason.
    const again: LedgerUpdate = { ...up('dead_lettered', 600), step: 'placed', step_index: 0, op: 'process', reason: 'fraud-check still down' }
    expect(applyUpdates([dead], latestUpdates(new Map(), [again, analytics]))[0]).toMatchObject({ state: 'dead_lettered', reason: 'fraud-check still down', last_ns: 600 })
    // The replay goes through payment: a later step moves it on, and the replay's own late start-step event does not move it back.
    const paid: LedgerUpdate = { ...up('in_flight', 300), step: 'paid', step_index: 1, service: 'payment-service' }
    expect(applyUpdates([dead], latestUpdates(new Map(), [paid, analytics]))[0]).toMatchObject({ state: 'in_flight', step: 'paid', step_index: 1, last_ns: 300 })
  })
  it('leaves other correlations and older updates alone', () => {
    expect(applyUpdates([entry], latestUpdates(new Map(), [up('completed', 300, 'order-8')]))[0]).toBe(entry)
    expect(applyUpdates([entry], latestUpdates(new Map(), [up('in_flight', 50)]))[0]).toBe(entry)
  })
})
