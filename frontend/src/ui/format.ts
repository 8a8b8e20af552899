// Formatting of durations, counts, rates, times and payloads for display.

import type { IdKind } from '../api/types'

export function fmtDuration(ns: number): string {
  if (!Number.isFinite(ns) || ns < 0) return '–'
  if (ns < 1e3) return `${Math.round(ns)} ns`
  if (ns < 1e6) return `${trim(ns / 1e3)} µs`
  if (ns < 1e9) return `${trim(ns / 1e6)} ms`
  const s = ns / 1e9
  if (s < 60) return `${trim(s)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${Math.round(s - m * 60)}s`
  const h = Math.floor(m / 60)
  return `${h}h ${m - h * 60}m`
}

export function fmtSeconds(s: number): string {
  return s === 0 ? '0 s' : fmtDuration(s * 1e9)
}

// trim keeps three significant digits: 1.23, 12.3, 123.
function trim(v: number): string {
  if (v >= 100) return String(Math.round(v))
  if (v >= 10) return v.toFixed(1).replace(/\.0$/, '')
  return v.toFixed(2).replace(/\.?0+$/, '')
}

export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '–'
  const a = Math.abs(n)
  if (a < 10_000) return Math.round(n).toLocaleString('en-US')
  if (a < 1e6) return `${trim(n / 1e3)}k`
  if (a < 1e9) return `${trim(n / 1e6)}M`
  return `${trim(n / 1e9)}G`
}

export function fmtRate(count: number, seconds: number): string {
  if (seconds <= 0) return '–'
  const r = count / seconds
  if (r === 0) return '0/s'
  if (r < 0.1) return `${(r * 60).toFixed(1).replace(/\.0$/, '')}/min`
  return `${trim(r)}/s`
}

export function fmtPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–'
  const p = ratio * 100
  if (p === 0) return '0%'
  if (p < 0.1) return '<0.1%'
  return `${trim(p)}%`
}

export function fmtBytes(n: number): string {
  if (n < 0) return 'unknown'
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${trim(n / 1024)} KiB`
  return `${trim(n / 1024 / 1024)} MiB`
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0')

// fmtClock shows a Unix-nanosecond time as local HH:MM:SS.mmm.
export function fmtClock(ns: number): string {
  const d = new Date(ns / 1e6)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

// fmtDateTime shows a time (Unix ns or an ISO string) as local YYYY-MM-DD HH:MM:SS.
export function fmtDateTime(t: number | string): string {
  const d = typeof t === 'number' ? new Date(t / 1e6) : new Date(t)
  if (Number.isNaN(d.getTime())) return '–'
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

export function fmtAgo(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.floor(s / 60)}m ago`
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`
  return `${Math.floor(s / 86400)}d ago`
}

export interface PayloadView {
  kind: 'json' | 'text' | 'binary' | 'empty'
  text: string
}

// payloadView decodes a base64 payload for display: pretty JSON, text, or
// a hex dump of the first 256 bytes when it is not UTF-8 text.
export function payloadView(b64: string | undefined): PayloadView {
  if (!b64) return { kind: 'empty', text: '' }
  let bytes: Uint8Array
  try {
    const bin = atob(b64)
    bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0))
  } catch {
    return { kind: 'binary', text: 'payload is not valid base64' }
  }
  let text: string | null = null
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    text = null
  }
  if (text !== null && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(text), null, 2) }
    } catch {
      return { kind: 'text', text }
    }
  }
  const lines: string[] = []
  for (let i = 0; i < Math.min(bytes.length, 256); i += 16) {
    const row = bytes.slice(i, i + 16)
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ')
    const ascii = [...row].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${i.toString(16).padStart(4, '0')}  ${hex.padEnd(47)}  ${ascii}`)
  }
  if (bytes.length > 256) lines.push(`… ${bytes.length - 256} more bytes`)
  return { kind: 'binary', text: lines.join('\n') }
}

export const idKindLabel: Record<IdKind, string> = {
  correlation_id: 'correlation id',
  event_id: 'event id',
  trace_id: 'trace id',
  message_key: 'message key',
}

// matchedLabel says what an id matched, for "order-42 matched the Kafka
// message key": a message key is a Kafka record key or a NATS
// Nats-Msg-Id, told apart by the system of an event that carries it.
export function matchedLabel(kind: IdKind, system?: string): string {
  switch (kind) {
    case 'correlation_id':
      return 'the correlation id'
    case 'event_id':
      return 'an event id'
    case 'trace_id':
      return 'a trace id'
    case 'message_key':
      return system === 'kafka' ? 'the Kafka message key' : system === 'nats' ? 'the NATS message id (Nats-Msg-Id)' : 'a message key'
  }
}
