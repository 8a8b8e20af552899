// Small shared pieces: badges, a drawer, a modal, a window picker and
// in-app links. Loading, empty and error states are ui/Status.

import { useEffect, useRef, type ReactNode } from 'react'
import { navigate } from './route'

// Refreshing marks a view whose data is being refetched after a live update.
export function Refreshing({ on }: { on: boolean }) {
  return <span className={'refreshing' + (on ? ' on' : '')} aria-live="polite">{on ? 'updating…' : ''}</span>
}

export function Badge({ kind, children, title }: { kind: string; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${kind.toLowerCase()}`} title={title}>
      {children}
    </span>
  )
}

export function Drawer({ title, onClose, children }: { title: ReactNode; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLElement>(null)
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null
    ref.current?.focus()
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', esc)
    return () => {
      window.removeEventListener('keydown', esc)
      prev?.focus()
    }
  }, [onClose])
  return (
    <aside className="drawer" ref={ref} tabIndex={-1} aria-label="details">
      <header>
        <h2>{title}</h2>
        <button type="button" className="icon" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </header>
      <div className="drawer-body">{children}</div>
    </aside>
  )
}

export function Modal({ title, onClose, children }: { title: ReactNode; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null
    ref.current?.querySelector<HTMLElement>('input, button, select, textarea')?.focus()
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', esc)
    return () => {
      window.removeEventListener('keydown', esc)
      prev?.focus()
    }
  }, [onClose])
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={typeof title === 'string' ? title : undefined} ref={ref}>
        <header>
          <h2>{title}</h2>
          <button type="button" className="icon" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </header>
        {children}
      </div>
    </div>
  )
}

export function KeyValues({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v === '' || v === undefined || v === null ? '–' : v}</dd>
        </div>
      ))}
    </dl>
  )
}

export const windows = ['5m', '15m', '1h', '6h', '24h'] as const

export function WindowPicker({ value, onChange, label = 'Window' }: { value: string; onChange: (w: string) => void; label?: string }) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label}>
      {windows.map((w) => (
        <button key={w} type="button" role="radio" aria-checked={value === w} className={value === w ? 'on' : ''} onClick={() => onChange(w)}>
          {w}
        </button>
      ))}
    </div>
  )
}

export const windowSeconds = (w: string) => {
  const m = /^(\d+)([mh])$/.exec(w)
  return m ? Number(m[1]) * (m[2] === 'h' ? 3600 : 60) : 3600
}

// Link navigates inside the app without reloading the page.
export function Link({ to, params, children, className, current }: { to: string; params?: Record<string, string | undefined>; children: ReactNode; className?: string; current?: boolean }) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params ?? {})) if (v) q.set(k, v)
  const href = to + (q.toString() ? '?' + q.toString() : '')
  return (
    <a
      href={href}
      className={className}
      aria-current={current ? 'page' : undefined}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
        e.preventDefault()
        navigate(to, params)
      }}
    >
      {children}
    </a>
  )
}
