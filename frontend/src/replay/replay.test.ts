import { expect, it } from 'vitest'
import { mergeReplays, newIdempotencyKey, newer, replayDone } from './replay'
import type { Replay } from '../api/types'

const r = (id: string, updated: number, state: Replay['state'], sent = 0): Replay => ({
  id, state, sent, updated_ns: updated, created_ns: updated, requested_by: '', reason: '', request: '', total: 2, failed: 0, rate_per_sec: 100, created_at: '',
})

it('keeps the newest state of a replay', () => {
  expect(newer(r('a', 2, 'running', 1), r('a', 1, 'queued'))).toMatchObject({ state: 'running', sent: 1 })
  expect(newer(r('a', 1, 'queued'), r('a', 3, 'succeeded', 2))).toMatchObject({ state: 'succeeded', sent: 2 })
  expect(newer(undefined, r('b', 1, 'queued')).id).toBe('b')
  expect(replayDone(r('a', 1, 'cancelled'))).toBe(true)
  expect(replayDone(r('a', 1, 'running'))).toBe(false)
})

it('merges live frames into the history, newest first', () => {
  const list = [r('b', 5, 'succeeded'), r('a', 1, 'succeeded')]
  expect(mergeReplays(list, r('c', 9, 'queued')).map((x) => x.id)).toEqual(['c', 'b', 'a'])
  expect(mergeReplays(list, r('b', 4, 'running'))[0].state).toBe('succeeded')
})

it('makes distinct idempotency keys', () => {
  const a = newIdempotencyKey()
  expect(a).toMatch(/^ui-[0-9a-f]{32}$/)
  expect(newIdempotencyKey()).not.toBe(a)
})
