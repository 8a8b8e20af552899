// Canvas renderer of a laid-out causation graph: draws only what is on
// screen, with a simplified drawing when zoomed far out, so thousands of
// events stay smooth. Drag to pan, wheel or +/- to zoom, 0 to fit,
// arrows to pan; click an event to select it.

import { useCallback, useEffect, useLayoutEffect, useRef } from 'react'
import { NODE_H, NODE_W, fit, readable, textZoom, type CLayout, type CNode, type EdgeMark, type View } from './causation'
import { fmtDuration } from '../ui/format'

interface Props {
  layout: CLayout
  selected: number | null
  // marked: the stuck point a journey links to, ringed and labelled.
  marked?: number | null
  onSelect: (i: number) => void
  // arrivedAt is when the graph's data arrived (performance.now()); the
  // time to the first painted frame is reported through onPainted.
  arrivedAt: number
  onPainted: (ms: number) => void
}

function colors() {
  const cs = getComputedStyle(document.documentElement)
  const v = (n: string) => cs.getPropertyValue(n).trim() || '#888'
  return {
    bg: v('--canvas-bg'), node: v('--node-bg'), text: v('--fg'), muted: v('--muted'), edge: v('--edge'),
    ok: v('--ok'), warn: v('--warn'), err: v('--err'), replay: v('--replay'), select: v('--accent'),
    kafka: v('--kafka'), nats: v('--nats'),
  }
}

const markStyle = (c: ReturnType<typeof colors>, m: EdgeMark) =>
  m === 'replay' ? { color: c.replay, dash: [6, 4], label: 'replay' } :
  m === 'dlq' ? { color: c.err, dash: [4, 3], label: 'DLQ' } :
  m === 'retry' ? { color: c.warn, dash: [], label: 'retry' } :
  { color: c.edge, dash: [], label: '' }

export function CausationCanvas({ layout, selected, marked = null, onSelect, arrivedAt, onPainted }: Props) {
  const wrap = useRef<HTMLDivElement>(null)
  const canvas = useRef<HTMLCanvasElement>(null)
  const view = useRef<View>({ x: 0, y: 0, k: 1 })
  const moved = useRef(false) // the user panned or zoomed: keep their view on live updates
  const size = useRef({ w: 0, h: 0 })
  const frame = useRef(0)
  const reported = useRef(-1)

  const draw = useCallback(() => {
    frame.current = 0
    const cv = canvas.current
    if (!cv) return
    const ctx = cv.getContext('2d')
    if (!ctx) return
    const dpr = window.devicePixelRatio || 1
    const { w, h } = size.current
    const c = colors()
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.fillStyle = c.bg
    ctx.fillRect(0, 0, w, h)
    const { x, y, k } = view.current
    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * x, dpr * y)
    // The visible world rectangle, for culling.
    const x0 = -x / k, y0 = -y / k, x1 = (w - x) / k, y1 = (h - y) / k
    const visible = (n: CNode) => n.x + NODE_W >= x0 && n.x <= x1 && n.y + NODE_H >= y0 && n.y <= y1
    const detail = k >= textZoom
    const nodes = layout.nodes

    ctx.lineWidth = Math.max(1, 1.4 / Math.max(k, 0.5))
    for (const e of layout.edges) {
      const a = nodes[e.from], b = nodes[e.to]
      const ax = a.x + NODE_W / 2, ay = a.y + NODE_H, bx = b.x + NODE_W / 2, by = b.y
      if (Math.max(ax, bx) < x0 || Math.min(ax, bx) > x1 || Math.max(ay, by) < y0 || Math.min(ay, by) > y1) continue
      const s = markStyle(c, e.mark)
      ctx.strokeStyle = s.color
      ctx.setLineDash(detail ? s.dash : [])
      ctx.beginPath()
      ctx.moveTo(ax, ay)
      const my = Math.max(24, (by - ay) / 2)
      ctx.bezierCurveTo(ax, ay + my, bx, by - my, bx, by)
      ctx.stroke()
      if (detail) {
        ctx.setLineDash([])
        ctx.fillStyle = s.color
        ctx.beginPath()
        ctx.moveTo(bx, by)
        ctx.lineTo(bx - 4, by - 7)
        ctx.lineTo(bx + 4, by - 7)
        ctx.fill()
        if (s.label) {
          ctx.font = '600 10px system-ui, sans-serif'
          ctx.fillText(s.label, (ax + bx) / 2 + 5, (ay + by) / 2 + 3)
        }
      }
    }
    ctx.setLineDash([])

    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]
      if (!visible(n)) continue
      const ev = n.ev
      const border = n.error ? c.err : n.retry ? c.warn : ev.outcome === 'duplicate_skipped' ? c.muted : n.replay ? c.replay : c.ok
      if (!detail) {
        ctx.fillStyle = border
        ctx.fillRect(n.x, n.y, NODE_W, NODE_H)
        continue
      }
      ctx.fillStyle = c.node
      ctx.strokeStyle = i === selected ? c.select : border
      ctx.lineWidth = i === selected ? 3 : 1.5
      ctx.beginPath()
      ctx.roundRect(n.x, n.y, NODE_W, NODE_H, 6)
      ctx.fill()
      ctx.stroke()
      ctx.fillStyle = ev.system === 'nats' ? c.nats : ev.system === 'kafka' ? c.kafka : c.muted
      ctx.fillRect(n.x + 1, n.y + 6, 4, NODE_H - 12)
      const tag = ev.op === 'replay' ? 'REPLAY' : n.dlq ? (ev.op === 'dead_letter' ? 'DLQ' : 'DEAD-LETTERED') : n.retry ? `RETRY ${ev.attempt > 1 ? '#' + ev.attempt : ''}` : ev.outcome !== 'ok' ? ev.outcome.toUpperCase() : n.replay ? 'replayed' : ''
      ctx.font = '700 9px system-ui, sans-serif'
      const tw = tag ? ctx.measureText(tag).width + 8 : 0
      if (tag && tag !== 'replayed') {
        ctx.fillStyle = ev.op === 'replay' ? c.replay : n.dlq || n.error ? c.err : c.warn
        ctx.beginPath()
        ctx.roundRect(n.x + NODE_W - tw - 6, n.y + 5, tw, 14, 3)
        ctx.fill()
        ctx.fillStyle = '#fff'
        ctx.fillText(tag, n.x + NODE_W - tw - 2, n.y + 15)
      } else if (tag) {
        ctx.fillStyle = c.replay
        ctx.fillText(tag, n.x + NODE_W - tw - 2, n.y + 15)
      }
      ctx.fillStyle = c.text
      ctx.font = '600 12px system-ui, sans-serif'
      ctx.fillText(clip(ctx, ev.event_type || ev.destination || ev.op, NODE_W - 22 - tw), n.x + 12, n.y + 16)
      ctx.font = '11px system-ui, sans-serif'
      ctx.fillText(clip(ctx, ev.service, NODE_W - 20), n.x + 12, n.y + 31)
      ctx.fillStyle = c.muted
      const d = fmtDuration(ev.duration_ns)
      const dw = ctx.measureText(d).width
      ctx.fillText(d, n.x + NODE_W - 8 - dw, n.y + 46)
      ctx.fillText(clip(ctx, `${ev.op} ${ev.destination ?? ''}`, NODE_W - 26 - dw), n.x + 12, n.y + 46)
    }
    if (marked !== null && nodes[marked] && visible(nodes[marked])) {
      const n = nodes[marked]
      ctx.strokeStyle = c.err
      ctx.lineWidth = 2
      ctx.setLineDash([5, 3])
      ctx.beginPath()
      ctx.roundRect(n.x - 5, n.y - 5, NODE_W + 10, NODE_H + 10, 9)
      ctx.stroke()
      ctx.setLineDash([])
      if (detail) {
        ctx.fillStyle = c.err
        ctx.font = '700 10px system-ui, sans-serif'
        ctx.fillText('STUCK HERE', n.x, n.y - 9)
      }
    }
  }, [layout, selected, marked])

  const schedule = useCallback(() => {
    if (!frame.current) frame.current = requestAnimationFrame(draw)
  }, [draw])

  // Size the canvas to its box.
  useLayoutEffect(() => {
    const el = wrap.current!
    const resize = () => {
      const r = el.getBoundingClientRect()
      const dpr = window.devicePixelRatio || 1
      size.current = { w: r.width, h: r.height }
      const cv = canvas.current!
      cv.width = Math.max(1, Math.round(r.width * dpr))
      cv.height = Math.max(1, Math.round(r.height * dpr))
      if (!moved.current) view.current = fit(layout, r.width, r.height)
      draw()
    }
    const ro = new ResizeObserver(resize)
    ro.observe(el)
    resize()
    return () => ro.disconnect()
  }, [])

  // A new layout: fit it (unless the user moved), draw, report the time.
  // When the whole graph does not fit readably, a live update that added
  // events (a replay, say) brings the first of them into view.
  const shown = useRef<Set<string> | null>(null)
  useLayoutEffect(() => {
    const { w, h } = size.current
    if (!moved.current) {
      view.current = fit(layout, w, h)
      const added = shown.current ? layout.nodes.filter((n) => !shown.current!.has(n.id)) : []
      if (added.length && view.current.k === readable) {
        const first = added.reduce((a, b) => (b.y < a.y || (b.y === a.y && b.x < a.x) ? b : a))
        view.current = { k: readable, x: w / 2 - (first.x + NODE_W / 2) * readable, y: h / 3 - first.y * readable }
      }
    }
    shown.current = new Set(layout.nodes.map((n) => n.id))
    draw()
    if (reported.current !== arrivedAt) {
      reported.current = arrivedAt
      requestAnimationFrame(() => onPainted(performance.now() - arrivedAt))
    }
  }, [layout])

  useEffect(() => schedule(), [selected, schedule])

  // Theme changes repaint with the new colours.
  useEffect(() => {
    const mo = new MutationObserver(() => schedule())
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] })
    return () => mo.disconnect()
  }, [schedule])

  // Bring a node selected elsewhere (the timeline) into view.
  useEffect(() => {
    if (selected === null) return
    const n = layout.nodes[selected]
    if (!n) return
    const { x, y, k } = view.current
    const { w, h } = size.current
    const sx = n.x * k + x, sy = n.y * k + y
    if (sx < 0 || sy < 0 || sx + NODE_W * k > w || sy + NODE_H * k > h) {
      const kk = Math.max(k, 0.6)
      view.current = { k: kk, x: w / 2 - (n.x + NODE_W / 2) * kk, y: h / 2 - (n.y + NODE_H / 2) * kk }
      moved.current = true
      schedule()
    }
  }, [selected, layout, schedule])

  const zoom = (f: number, cx: number, cy: number) => {
    const v = view.current
    const k = Math.min(3, Math.max(0.02, v.k * f))
    view.current = { k, x: cx - ((cx - v.x) * k) / v.k, y: cy - ((cy - v.y) * k) / v.k }
    moved.current = true
    schedule()
  }

  useEffect(() => {
    const cv = canvas.current!
    const onWheel = (e: WheelEvent) => {
      e.preventDefault()
      const r = cv.getBoundingClientRect()
      zoom(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top)
    }
    cv.addEventListener('wheel', onWheel, { passive: false })
    return () => cv.removeEventListener('wheel', onWheel)
  })

  const drag = useRef<{ x: number; y: number; vx: number; vy: number; moved: boolean } | null>(null)
  const hit = (clientX: number, clientY: number): number | null => {
    const r = canvas.current!.getBoundingClientRect()
    const { x, y, k } = view.current
    const wx = (clientX - r.left - x) / k, wy = (clientY - r.top - y) / k
    const nodes = layout.nodes
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]
      if (wx >= n.x && wx <= n.x + NODE_W && wy >= n.y && wy <= n.y + NODE_H) return i
    }
    return null
  }

  return (
    <div className="graph-canvas" ref={wrap}>
      <canvas
        ref={canvas}
        tabIndex={0}
        aria-label={`Causation graph of ${layout.nodes.length} events; arrows pan, + and - zoom, 0 fits`}
        data-testid="graph-canvas"
        onPointerDown={(e) => {
          canvas.current!.setPointerCapture(e.pointerId)
          drag.current = { x: e.clientX, y: e.clientY, vx: view.current.x, vy: view.current.y, moved: false }
        }}
        onPointerMove={(e) => {
          const d = drag.current
          if (!d) return
          const dx = e.clientX - d.x, dy = e.clientY - d.y
          if (Math.abs(dx) + Math.abs(dy) > 3) d.moved = true
          if (!d.moved) return
          view.current = { ...view.current, x: d.vx + dx, y: d.vy + dy }
          moved.current = true
          schedule()
        }}
        onPointerUp={(e) => {
          const d = drag.current
          drag.current = null
          if (d && !d.moved) {
            const i = hit(e.clientX, e.clientY)
            if (i !== null) onSelect(i)
          }
        }}
        onKeyDown={(e) => {
          const { w, h } = size.current
          const step = 60
          const v = view.current
          if (e.key === '+' || e.key === '=') zoom(1.2, w / 2, h / 2)
          else if (e.key === '-') zoom(1 / 1.2, w / 2, h / 2)
          else if (e.key === '0') {
            moved.current = false
            view.current = fit(layout, w, h)
            schedule()
          } else if (e.key.startsWith('Arrow')) {
            const dx = e.key === 'ArrowLeft' ? step : e.key === 'ArrowRight' ? -step : 0
            const dy = e.key === 'ArrowUp' ? step : e.key === 'ArrowDown' ? -step : 0
            view.current = { ...v, x: v.x + dx, y: v.y + dy }
            moved.current = true
            schedule()
          } else return
          e.preventDefault()
        }}
      />
      <div className="graph-tools">
        <button type="button" onClick={() => zoom(1.25, size.current.w / 2, size.current.h / 2)} aria-label="Zoom in">+</button>
        <button type="button" onClick={() => zoom(0.8, size.current.w / 2, size.current.h / 2)} aria-label="Zoom out">−</button>
        <button
          type="button"
          onClick={() => {
            moved.current = false
            view.current = fit(layout, size.current.w, size.current.h)
            schedule()
          }}
        >
          Fit
        </button>
      </div>
    </div>
  )
}

function clip(ctx: CanvasRenderingContext2D, s: string, max: number): string {
  if (ctx.measureText(s).width <= max) return s
  let lo = 0, hi = s.length
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (ctx.measureText(s.slice(0, mid) + '…').width <= max) lo = mid
    else hi = mid - 1
  }
  return s.slice(0, lo) + '…'
}

