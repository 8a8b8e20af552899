// Typed client of the studio REST API (docs/openapi.json).

import { apiBase, loadSettings, type Settings } from '../settings/settings'
import type {
  AlertEvent, DLQEntry, DLQPage, EventPage, FlowMap, Graph, GroupLag, JourneyDetail, JourneySummary, LagSample, LedgerEntry,
  Replay, ReplayPage, ReplayPreview, ReplayRequest, Rule, RuleStatus, StuckReport,
} from './types'

// ApiError is a failed request: the HTTP status (0 when the studio could
// not be reached), the API's error code and its message.
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

export type Query = Record<string, string | number | undefined | null>

export function queryString(q: Query = {}): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue
    p.set(k, String(v))
  }
  const s = p.toString()
  return s ? '?' + s : ''
}

interface RequestOptions {
  method?: string
  query?: Query
  body?: unknown
  headers?: Record<string, string>
  signal?: AbortSignal
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>

export class Client {
  private readonly settings: () => Pick<Settings, 'studioUrl' | 'token'>
  private readonly fetchFn: Fetch

  constructor(settings: () => Pick<Settings, 'studioUrl' | 'token'> = loadSettings, fetchFn: Fetch = (i, init) => fetch(i, init)) {
    this.settings = settings
    this.fetchFn = fetchFn
  }

  async request<T>(path: string, o: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const s = this.settings()
    const url = apiBase(s.studioUrl) + path + queryString(o.query)
    const headers: Record<string, string> = { Accept: 'application/json', ...o.headers }
    if (s.token) headers.Authorization = 'Bearer ' + s.token
    // The studio takes state changes only as JSON (a cross-site page cannot send that without asking).
    if (o.body !== undefined || (o.method ?? 'GET') !== 'GET') headers['Content-Type'] = 'application/json'
    let res: Response
    try {
      res = await this.fetchFn(url, {
        method: o.method ?? 'GET',
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: o.signal,
      })
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err
      const where = s.studioUrl.trim() || 'this origin'
      throw new ApiError(0, 'unreachable', `cannot reach the studio at ${where}: ${(err as Error).message}`)
    }
    const text = await res.text()
    let body: unknown = undefined
    if (text) {
      try {
        body = JSON.parse(text)
      } catch {
        if (res.ok) throw new ApiError(res.status, 'bad_response', `${path}: the studio answered something that is not JSON`)
      }
    }
    if (!res.ok) throw toError(res.status, body, text)
    return { status: res.status, body: body as T }
  }

  async get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return (await this.request<T>(path, { query, signal })).body
  }

  // Lists may come as null from a Go nil slice: they are made [] here,
  // once, so that no view has to care.
  health = () => this.get<{ status: string }>('/health')
  events = async (q: Query, signal?: AbortSignal) => {
    const p = await this.get<EventPage>('/events', q, signal)
    return { ...p, events: p.events ?? [] }
  }
  graph = async (q: Query, signal?: AbortSignal) => {
    const g = await this.get<Graph>('/graph', q, signal)
    return { ...g, nodes: g.nodes ?? [], edges: g.edges ?? [] }
  }
  flows = async (q: Query, signal?: AbortSignal) => {
    const f = await this.get<FlowMap>('/flows', q, signal)
    return { ...f, nodes: f.nodes ?? [], edges: f.edges ?? [] }
  }
  lag = async (q: Query = {}, signal?: AbortSignal) => {
    const l = await this.get<{ groups: GroupLag[] | null }>('/lag', q, signal)
    return { groups: (l.groups ?? []).map((g) => ({ ...g, partitions: g.partitions ?? [] })) }
  }
  lagSeries = async (q: Query, signal?: AbortSignal) => {
    const s = await this.get<{ group: string; samples: LagSample[] | null }>('/lag/series', q, signal)
    return { group: s.group, samples: s.samples ?? [] }
  }
  dlq = async (q: Query, signal?: AbortSignal) => {
    const d = await this.get<DLQPage>('/dlq', q, signal)
    return { ...d, entries: d.entries ?? [], groups: d.groups ?? [] }
  }
  dlqEntry = (id: string, signal?: AbortSignal) => this.get<DLQEntry>('/dlq/' + encodeURIComponent(id), undefined, signal)

  previewReplay = async (req: ReplayRequest) =>
    (await this.request<ReplayPreview>('/replays', { method: 'POST', body: { ...req, dry_run: true } })).body
  // startReplay runs a replay; the same idempotency key never publishes twice.
  startReplay = async (req: ReplayRequest, idempotencyKey: string) =>
    (await this.request<Replay>('/replays', { method: 'POST', body: { ...req, dry_run: false }, headers: { 'Idempotency-Key': idempotencyKey } })).body
  replays = async (q: Query = {}, signal?: AbortSignal) => {
    const r = await this.get<ReplayPage>('/replays', q, signal)
    return { ...r, replays: r.replays ?? [] }
  }
  replay = (id: string, signal?: AbortSignal) => this.get<Replay>('/replays/' + encodeURIComponent(id), undefined, signal)
  cancelReplay = async (id: string) =>
    (await this.request<Replay>('/replays/' + encodeURIComponent(id) + '/cancel', { method: 'POST' })).body

  rules = async (signal?: AbortSignal) => {
    const r = await this.get<{ rules: RuleStatus[] | null }>('/alerts/rules', undefined, signal)
    return { rules: r.rules ?? [] }
  }
  saveRule = async (r: Rule, isNew: boolean) =>
    (await this.request<Rule>(isNew ? '/alerts/rules' : '/alerts/rules/' + encodeURIComponent(r.id), { method: isNew ? 'POST' : 'PUT', body: r })).body
  deleteRule = async (id: string) => {
    await this.request<void>('/alerts/rules/' + encodeURIComponent(id), { method: 'DELETE' })
  }
  testRule = async (id: string) =>
    (await this.request<AlertEvent>('/alerts/rules/' + encodeURIComponent(id) + '/test', { method: 'POST' })).body
  journeys = async (q: Query = {}, signal?: AbortSignal) => {
    const j = await this.get<{ journeys: JourneySummary[] | null }>('/journeys', q, signal)
    return { journeys: j.journeys ?? [] }
  }
  journey = async (name: string, q: Query = {}, signal?: AbortSignal) =>
    (await this.get<{ journey: JourneyDetail }>('/journeys/' + encodeURIComponent(name), q, signal)).journey
  journeyStuck = async (name: string, step?: string, signal?: AbortSignal) => {
    const s = await this.get<StuckReport>('/journeys/' + encodeURIComponent(name) + '/stuck', { step }, signal)
    return { ...s, steps: s.steps ?? [] }
  }
  journeyEntities = async (name: string, q: Query, signal?: AbortSignal) => {
    const e = await this.get<{ entities: LedgerEntry[] | null }>('/journeys/' + encodeURIComponent(name) + '/entities', q, signal)
    return { entities: e.entities ?? [] }
  }

  alertEvents = async (signal?: AbortSignal) => {
    const e = await this.get<{ events: AlertEvent[] | null }>('/alerts/events', undefined, signal)
    return { events: e.events ?? [] }
  }
}

// toError turns an error answer into an ApiError, using the API's
// {"error":{"code","message"}} when the body has it.
export function toError(status: number, body: unknown, text: string): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
  if (e && typeof e.message === 'string') {
    return new ApiError(status, typeof e.code === 'string' ? e.code : 'http_' + status, e.message)
  }
  const snippet = text.trim().slice(0, 200)
  const hint = status === 401 ? ': set an API token in Settings' : ''
  return new ApiError(status, 'http_' + status, `HTTP ${status}${snippet ? ' ' + snippet : ''}${hint}`)
}

export const api = new Client()
