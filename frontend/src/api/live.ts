// Client of the studio's live websocket (/api/v1/live; see the package doc
// of studio/live): subscriptions per channel with a filter, reconnection
// with backoff, and resync (refetch) notices when frames may have been
// missed — after the server dropped frames or after a reconnect.

export type Channel = 'events' | 'flows' | 'lag' | 'dlq' | 'replays' | 'alerts' | 'journeys'

export interface LiveFilter {
  correlation_id?: string
  trace_id?: string
  service?: string
  destination?: string
  event_type?: string
  outcome?: string
  group?: string
  source?: string
  replay_id?: string
  journey?: string
}

export type LiveStatus = 'idle' | 'connecting' | 'open' | 'reconnecting'

export interface Subscription {
  channel: Channel
  filter: LiveFilter
  // onData receives the frames' data, already narrowed to the filter.
  onData: (data: unknown) => void
  // onResync is called when frames may have been missed: refetch.
  onResync?: () => void
}

// The server keeps one filter per channel and connection, so when two
// subscribers of a channel want different filters the client subscribes
// to everything and filters each frame itself (narrow).

const eventKeys = ['correlation_id', 'trace_id', 'service', 'destination', 'event_type', 'outcome'] as const

function pick(filter: LiveFilter, keys: readonly (keyof LiveFilter)[]): (x: Record<string, unknown>) => boolean {
  const want = keys.filter((k) => filter[k])
  return (x) => want.every((k) => x[k] === filter[k])
}

// narrow returns the part of a frame's data a subscriber's filter accepts,
// or undefined when nothing is left.
export function narrow(channel: Channel, filter: LiveFilter, data: unknown): unknown {
  let keep: ((x: Record<string, unknown>) => boolean) | undefined
  switch (channel) {
    case 'events':
      keep = pick(filter, eventKeys)
      break
    case 'lag':
      keep = pick(filter, ['group'])
      break
    case 'dlq':
      keep = pick(filter, ['source'])
      break
    case 'replays':
      if (filter.replay_id && (data as { id?: string })?.id !== filter.replay_id) return undefined
      return data
    case 'journeys':
      if (filter.journey && (data as { journey?: string })?.journey !== filter.journey) return undefined
      return data
    default:
      return data
  }
  if (!Array.isArray(data)) return data
  const out = data.filter((x) => keep!(x as Record<string, unknown>))
  return out.length ? out : undefined
}

function sameFilter(a: LiveFilter, b: LiveFilter): boolean {
  const ka = Object.keys(a).filter((k) => a[k as keyof LiveFilter])
  const kb = Object.keys(b).filter((k) => b[k as keyof LiveFilter])
  return ka.length === kb.length && ka.every((k) => a[k as keyof LiveFilter] === b[k as keyof LiveFilter])
}

// serverFilter is the filter to send for a channel's subscribers.
export function serverFilter(subs: Subscription[]): LiveFilter {
  if (subs.length === 0) return {}
  const first = subs[0].filter
  return subs.every((s) => sameFilter(s.filter, first)) ? first : {}
}

interface Socket {
  readyState: number
  send(data: string): void
  close(): void
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: unknown) => void) | null
  onerror: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
}

export interface LiveOptions {
  socket?: (url: string) => Socket
  minDelayMs?: number
  maxDelayMs?: number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (t: unknown) => void
}

const OPEN = 1

export class Live {
  private readonly url: () => string
  private readonly socket: (url: string) => Socket
  private readonly minDelay: number
  private readonly maxDelay: number
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  private readonly clearTimer: (t: unknown) => void
  private subs = new Set<Subscription>()
  private statusFns = new Set<(s: LiveStatus, detail: string) => void>()
  private ws: Socket | null = null
  private timer: unknown = null
  private delay: number
  private opened = false // whether a connection was ever open (a reopen must resync)
  private lagging = '' // the server's lagging message: it closes the connection next
  private sent = new Map<Channel, string>()
  status: LiveStatus = 'idle'
  detail = ''

  constructor(url: () => string, o: LiveOptions = {}) {
    this.url = url
    this.socket = o.socket ?? ((u) => new WebSocket(u) as unknown as Socket)
    this.minDelay = o.minDelayMs ?? 500
    this.maxDelay = o.maxDelayMs ?? 10_000
    this.setTimer = o.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
    this.clearTimer = o.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>))
    this.delay = this.minDelay
  }

  subscribe(sub: Subscription): () => void {
    const s = { ...sub }
    this.subs.add(s)
    if (!this.ws && this.timer === null) this.connect()
    else this.sync(s.channel)
    return () => {
      this.subs.delete(s)
      this.sync(s.channel)
    }
  }

  onStatus(fn: (s: LiveStatus, detail: string) => void): () => void {
    this.statusFns.add(fn)
    return () => this.statusFns.delete(fn)
  }

  // reconnect drops the connection and opens a new one (new URL or token).
  reconnect(): void {
    this.teardown()
    this.delay = this.minDelay
    if (this.subs.size > 0) this.connect()
  }

  close(): void {
    this.subs.clear()
    this.teardown()
    this.setStatus('idle', '')
  }

  private teardown() {
    if (this.timer !== null) this.clearTimer(this.timer)
    this.timer = null
    const ws = this.ws
    this.ws = null
    if (ws) {
      ws.onopen = ws.onclose = ws.onerror = ws.onmessage = null
      ws.close()
    }
    this.sent.clear()
  }

  private setStatus(s: LiveStatus, detail: string) {
    this.status = s
    this.detail = detail
    for (const fn of this.statusFns) fn(s, detail)
  }

  private connect() {
    this.timer = null
    let ws: Socket
    try {
      ws = this.socket(this.url())
    } catch (err) {
      this.setStatus('reconnecting', (err as Error).message)
      this.retry()
      return
    }
    this.ws = ws
    this.setStatus(this.opened ? 'reconnecting' : 'connecting', '')
    ws.onopen = () => {
      const reopened = this.opened
      this.opened = true
      this.delay = this.minDelay
      this.sent.clear()
      this.setStatus('open', '')
      for (const ch of this.channels()) this.sync(ch)
      if (reopened) this.resyncAll()
    }
    ws.onmessage = (ev) => this.frame(ev.data)
    ws.onclose = () => {
      this.ws = null
      this.sent.clear()
      if (this.subs.size === 0) {
        this.setStatus('idle', '')
        return
      }
      this.setStatus('reconnecting', this.lagging || 'connection lost')
      this.lagging = ''
      this.retry()
    }
    ws.onerror = () => {
      // onclose follows; nothing to do here.
    }
  }

  private retry() {
    const d = this.delay
    this.delay = Math.min(this.maxDelay, this.delay * 2)
    this.timer = this.setTimer(() => this.connect(), d)
  }

  private channels(): Set<Channel> {
    return new Set([...this.subs].map((s) => s.channel))
  }

  // sync tells the server the channel's current filter, or unsubscribes
  // when nobody listens any more.
  private sync(channel: Channel) {
    const ws = this.ws
    if (!ws || ws.readyState !== OPEN) return
    const subs = [...this.subs].filter((s) => s.channel === channel)
    const msg = subs.length === 0
      ? JSON.stringify({ op: 'unsubscribe', channel })
      : JSON.stringify({ op: 'subscribe', channel, filter: serverFilter(subs) })
    if (this.sent.get(channel) === msg) return
    if (subs.length === 0 && !this.sent.has(channel)) return
    ws.send(msg)
    if (subs.length === 0) this.sent.delete(channel)
    else this.sent.set(channel, msg)
  }

  private resyncAll() {
    for (const s of [...this.subs]) s.onResync?.()
  }

  private frame(raw: unknown) {
    if (typeof raw !== 'string') return
    let f: { channel?: string; data?: unknown; message?: string }
    try {
      f = JSON.parse(raw)
    } catch {
      return
    }
    if (f.channel === 'resync') {
      this.resyncAll()
      return
    }
    if (f.channel === 'lagging') {
      // This client fell behind: the server closes the connection, we
      // reconnect and every subscriber refetches (resync on reopen).
      this.lagging = f.message ?? 'fell behind the live stream'
      return
    }
    if (f.channel === 'error') {
      this.detail = f.message ?? 'error'
      for (const fn of this.statusFns) fn(this.status, this.detail)
      return
    }
    for (const s of [...this.subs]) {
      if (s.channel !== f.channel) continue
      const d = narrow(s.channel, s.filter, f.data)
      if (d !== undefined) s.onData(d)
    }
  }
}
