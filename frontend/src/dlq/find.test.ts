import { expect, it } from 'vitest'
import { findDLQEntry } from './find'
import type { DLQEntry } from '../api/types'

const entry = (id: string, corr: string) => ({ id, correlation_id: corr }) as DLQEntry

it('pages through the newest dead letters for a correlation', async () => {
  const pages: Record<string, { entries: DLQEntry[]; next_cursor: string }> = {
    '': { entries: [entry('1', 'order-1'), entry('2', 'order-2')], next_cursor: 'c1' },
    c1: { entries: [entry('3', 'order-3')], next_cursor: 'c2' },
    c2: { entries: [entry('4', 'order-4')], next_cursor: '' },
  }
  const asked: unknown[] = []
  const list = async (q: Record<string, unknown>) => {
    asked.push(q.cursor)
    return pages[(q.cursor as string) ?? '']
  }
  expect((await findDLQEntry(list, 'order-3'))?.id).toBe('3')
  expect(asked).toEqual([undefined, 'c1'])
  expect(await findDLQEntry(list, 'order-9')).toBeNull()
  expect(await findDLQEntry(list, 'order-4', undefined, 2)).toBeNull() // bounded
})
