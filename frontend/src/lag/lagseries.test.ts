import { expect, it } from 'vitest'
import { lagColumns } from './lagseries'
import type { LagSample } from '../api/types'

const s = (t: number, partition: number, lag: number, secs: number): LagSample => ({
  time_ns: t * 1e9, system: 'kafka', group: 'g', topic: 'orders', partition, committed: 0, end: lag, lag, lag_seconds: secs, status: 'OK', group_status: 'OK',
})

it('sums partitions per sweep and keeps each partition', () => {
  const c = lagColumns([s(10, 0, 5, 1), s(10, 1, 7, 3), s(12, 0, 6, 2), s(12, 1, 9, 1), s(14, 10, 1, 0)])
  expect(c.x).toEqual([10, 12, 14])
  expect(c.total).toEqual([12, 15, 1])
  expect(c.seconds).toEqual([3, 2, 0])
  expect(c.partitions.map((p) => p.label)).toEqual(['orders[0]', 'orders[1]', 'orders[10]'])
  expect(c.partitions[2].lag).toEqual([null, null, 1])
})
