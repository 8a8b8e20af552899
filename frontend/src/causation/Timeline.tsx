// Waterfall of a causation graph's events by start time, virtualised so
// that only the rows on screen exist. A listbox: arrows move the
// selection, Home/End jump.

import { useEffect, useRef, useState } from 'react'
import type { CLayout } from './causation'
import { fmtDuration } from '../ui/format'

const ROW = 28

export function Timeline({ layout, selected, onSelect }: { layout: CLayout; selected: number | null; onSelect: (i: number) => void }) {
  const box = useRef<HTMLDivElement>(null)
  const [scroll, setScroll] = useState({ top: 0, height: 600 })
  const order = layout.timeline
  const span = Math.max(1, layout.t1 - layout.t0)
  const pos = selected === null ? -1 : order.indexOf(selected)

  useEffect(() => {
    const el = box.current!
    const ro = new ResizeObserver(() => setScroll({ top: el.scrollTop, height: el.clientHeight }))
    ro.observe(el)
    return () => ro.disconnect()
  }, [])

  // Keep the selected row visible.
  useEffect(() => {
    const el = box.current
    if (!el || pos < 0) return
    const y = pos * ROW
    if (y < el.scrollTop) el.scrollTop = y
    else if (y + ROW > el.scrollTop + el.clientHeight) el.scrollTop = y + ROW - el.clientHeight
  }, [pos])

  const first = Math.max(0, Math.floor(scroll.top / ROW) - 5)
  const last = Math.min(order.length, Math.ceil((scroll.top + scroll.height) / ROW) + 5)
  const rows = []
  for (let p = first; p < last; p++) {
    const i = order[p]
    const n = layout.nodes[i]
    const ev = n.ev
    const left = ((ev.start_ns - layout.t0) / span) * 100
    const width = Math.max(0.4, (ev.duration_ns / span) * 100)
    const marks = [n.replay && 'replay', n.dlq && 'dlq', n.retry && 'retry', n.error && 'error'].filter(Boolean).join(' ')
    rows.push(
      <div
        key={n.id}
        role="option"
        aria-selected={i === selected}
        className={`tl-row ${marks} ${i === selected ? 'selected' : ''}`}
        style={{ top: p * ROW }}
        onClick={() => onSelect(i)}
        data-testid="timeline-row"
        data-service={ev.service}
        data-system={ev.system ?? ''}
        data-destination={ev.destination ?? ''}
        data-op={ev.op}
        data-replay={n.replay ? 'true' : 'false'}
      >
        <span className={`tl-sys sys-${ev.system ?? 'other'}`} title={ev.system}>
          {ev.system === 'nats' ? 'NATS' : ev.system === 'kafka' ? 'Kafka' : ev.system ?? ''}
        </span>
        <span className="tl-label" title={`${ev.service} ${ev.op} ${ev.destination ?? ''}`}>
          <b>{ev.service}</b> {ev.op} {ev.destination}
          {n.replay && <em className="mark-replay"> replay</em>}
          {n.dlq && <em className="mark-dlq"> DLQ</em>}
          {n.retry && <em className="mark-retry"> retry</em>}
        </span>
        <span className="tl-track">
          <span className={`tl-bar outcome-${ev.outcome}`} style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />
        </span>
        <span className="tl-dur">{fmtDuration(ev.duration_ns)}</span>
      </div>,
    )
  }
  return (
    <div
      className="timeline"
      ref={box}
      role="listbox"
      tabIndex={0}
      aria-label="Events by start time"
      onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}
      onKeyDown={(e) => {
        if (!order.length) return
        let p = pos
        if (e.key === 'ArrowDown') p = Math.min(order.length - 1, p + 1)
        else if (e.key === 'ArrowUp') p = Math.max(0, p < 0 ? 0 : p - 1)
        else if (e.key === 'Home') p = 0
        else if (e.key === 'End') p = order.length - 1
        else return
        e.preventDefault()
        onSelect(order[p])
      }}
    >
      <div style={{ height: order.length * ROW, position: 'relative' }}>{rows}</div>
    </div>
  )
}
