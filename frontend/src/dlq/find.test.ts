import { expect, it } from 'vitest'
import { findDLQEntry } from './find'
import type { Query } from '../api/client'
import type { DLQEntry } from '../api/types'

const entry = (id: string, corr: string, evt: string) => ({ id, correlation_id: corr, event_id: evt }) as DLQEntry

// A DLQ API over entries newest first, filtering as the server does, that
// records the queries it was asked.
function api(entries: DLQEntry[]) {
  const asked: Query[] = []
  const list = async (q: Query) => {
    asked.push(q)
    return {
      entries: entries
        .filter((e) => (!q.correlation_id || e.correlation_id === q.correlation_id) && (!q.event_id || e.event_id === q.event_id))
        .slice(0, Number(q.limit)),
    }
  }
  return { list, asked }
}

// Order 3 was dead-lettered twice (event e3a, then after a replay e3b),
// behind 3,000 newer dead letters of other orders.
const stored = [
  ...Array.from({ length: 3000 }, (_, i) => entry(`n${i}`, `order-${100 + i}`, `e${100 + i}`)),
  entry('3b', 'order-3', 'e3b'),
  entry('3a', 'order-3', 'e3a'),
]

it('asks once for the correlation and returns its newest dead letter, however far back', async () => {
  const { list, asked } = api(stored)
  expect((await findDLQEntry(list, { correlationId: 'order-3' }))?.id).toBe('3b')
  expect(asked).toEqual([{ correlation_id: 'order-3', limit: 100 }])
})

it('prefers the entry of the dead-lettered event among the correlation', async () => {
  const { list, asked } = api(stored)
  expect((await findDLQEntry(list, { correlationId: 'order-3', eventId: 'e3a' }))?.id).toBe('3a')
  // An event id the entries do not carry (another instrumentation's id): the newest.
  expect((await findDLQEntry(list, { correlationId: 'order-3', eventId: 'other' }))?.id).toBe('3b')
  expect(asked.length).toBe(2)
})

it('asks by event id when there is no correlation', async () => {
  const { list, asked } = api(stored)
  expect((await findDLQEntry(list, { eventId: 'e3a' }))?.id).toBe('3a')
  expect(asked).toEqual([{ event_id: 'e3a', limit: 100 }])
})

it('returns null for an entity without dead letters, and asks nothing for no entity', async () => {
  const { list, asked } = api(stored)
  expect(await findDLQEntry(list, { correlationId: 'order-9' })).toBeNull()
  expect(await findDLQEntry(list, {})).toBeNull()
  expect(asked.length).toBe(1)
})
