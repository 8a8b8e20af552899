// Lag samples (one per partition per sweep of the sidecar) turned into the
// columns a uPlot chart draws: one x per sweep, the group's total lag,
// its largest lag in seconds, and each partition's lag.

import type { LagSample } from '../api/types'

export interface LagColumns {
  x: number[] // Unix seconds
  total: number[]
  seconds: number[]
  partitions: { label: string; lag: (number | null)[] }[]
}

export function lagColumns(samples: LagSample[]): LagColumns {
  const times = [...new Set(samples.map((s) => s.time_ns))].sort((a, b) => a - b)
  const at = new Map(times.map((t, i) => [t, i]))
  const total = new Array<number>(times.length).fill(0)
  const seconds = new Array<number>(times.length).fill(0)
  const parts = new Map<string, (number | null)[]>()
  for (const s of samples) {
    const i = at.get(s.time_ns)!
    total[i] += s.lag
    seconds[i] = Math.max(seconds[i], s.lag_seconds)
    const label = s.partition >= 0 ? `${s.topic}[${s.partition}]` : s.topic
    let col = parts.get(label)
    if (!col) {
      col = new Array<number | null>(times.length).fill(null)
      parts.set(label, col)
    }
    col[i] = (col[i] ?? 0) + s.lag
  }
  return {
    x: times.map((t) => t / 1e9),
    total,
    seconds,
    partitions: [...parts.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([label, lag]) => ({ label, lag })),
  }
}
