// uPlot chart of one consumer group's lag over time: total messages and
// each partition on the left axis, the largest lag in seconds on the right.

import { useEffect, useRef } from 'react'
import uPlot from 'uplot'
import type { LagColumns } from './lagseries'

const palette = ['#5b8def', '#2bb673', '#e0a400', '#c05bd8', '#1fb3c9', '#e36f47', '#8c9b2f', '#d14f8a']

function cssVar(n: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(n).trim() || fallback
}

export function LagChart({ cols, title }: { cols: LagColumns; title: string }) {
  const box = useRef<HTMLDivElement>(null)
  const plot = useRef<uPlot | null>(null)
  const shape = cols.partitions.map((p) => p.label).join('|')
  const theme = document.documentElement.dataset.theme

  useEffect(() => {
    const el = box.current!
    const fg = cssVar('--muted', '#888')
    const grid = cssVar('--border', '#ddd')
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const opts: uPlot.Options = {
      title,
      width: el.clientWidth || 600,
      height: 260,
      scales: { x: { time: true }, msgs: { auto: true, range: (_u, _min, max) => [0, Math.max(1, max)] }, secs: { auto: true, range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        { ...axis },
        { ...axis, scale: 'msgs', label: 'messages', labelSize: 18 },
        { ...axis, scale: 'secs', side: 1, label: 'seconds', labelSize: 18, grid: { show: false } },
      ],
      series: [
        {},
        { label: 'total lag', scale: 'msgs', stroke: cssVar('--fg', '#222'), width: 2 },
        { label: 'max lag (s)', scale: 'secs', stroke: cssVar('--err', '#d33'), width: 1.5, dash: [6, 4] },
        ...cols.partitions.map((p, i) => ({ label: p.label, scale: 'msgs', stroke: palette[i % palette.length], width: 1 })),
      ],
      legend: { live: true },
    }
    const u = new uPlot(opts, [cols.x, cols.total, cols.seconds, ...cols.partitions.map((p) => p.lag)] as uPlot.AlignedData, el)
    plot.current = u
    const ro = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: 260 }))
    ro.observe(el)
    return () => {
      ro.disconnect()
      u.destroy()
      plot.current = null
    }
    // A new set of partitions or a theme change builds a new chart.
  }, [shape, title, theme])

  useEffect(() => {
    plot.current?.setData([cols.x, cols.total, cols.seconds, ...cols.partitions.map((p) => p.lag)] as uPlot.AlignedData)
  }, [cols])

  return <div className="lag-chart" ref={box} data-testid="lag-chart" />
}
