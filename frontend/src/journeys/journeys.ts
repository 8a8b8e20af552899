// What the Journeys view computes from the API's answers: the steps of a
// journey in the order an entity meets them with the stuck count of each,
// a sparkline's path, and the ledger entries of a list kept current by
// the live channel's updates (a replayed order moves to completed without
// a refetch).

import type { JourneyDetail, JourneyState, JourneySummary, LedgerEntry, LedgerUpdate } from '../api/types'

export interface StepView {
  step: string
  kind: string
  stuck: number
  deadLettered: number
  // reachedP50Ns: the time from the start to the step (0: not known).
  reachedP50Ns: number
}

// journeySteps lists a journey's steps left to right: the detail's
// breakdown when there is one, else the summary's step names; stuck
// counts from the summary's stuck_steps where the breakdown has none.
export function journeySteps(j: JourneySummary | JourneyDetail): StepView[] {
  const stuck = new Map((j.stuck_steps ?? []).map((s) => [s.step, s.count]))
  const breakdown = 'breakdown' in j ? (j.breakdown ?? []) : []
  if (breakdown.length) {
    return breakdown.map((b) => ({
      step: b.step, kind: b.kind, stuck: Math.max(b.stuck, stuck.get(b.step) ?? 0), deadLettered: b.dead_lettered, reachedP50Ns: b.reached.count ? b.reached.p50_ns : 0,
    }))
  }
  const names = j.step_names ?? []
  const out: StepView[] = names.map((step, i) => ({ step, kind: i === 0 ? 'start' : 'step', stuck: stuck.get(step) ?? 0, deadLettered: 0, reachedP50Ns: 0 }))
  // A stuck step the names do not list (a definition changed since) still shows.
  for (const [step, n] of stuck) if (!names.includes(step)) out.push({ step, kind: 'step', stuck: n, deadLettered: 0, reachedP50Ns: 0 })
  return out
}

// sparkPath is an SVG path through values scaled into w × h (higher
// values higher up); a missing value (null) breaks the line.
export function sparkPath(values: (number | null | undefined)[], w: number, h: number, lo?: number, hi?: number): string {
  const known = values.filter((v): v is number => typeof v === 'number')
  if (!known.length) return ''
  const min = lo ?? Math.min(...known)
  const max = hi ?? Math.max(...known)
  const span = max - min || 1
  const step = values.length > 1 ? w / (values.length - 1) : 0
  let d = ''
  let pen = false
  values.forEach((v, i) => {
    if (typeof v !== 'number') {
      pen = false
      return
    }
    const x = values.length > 1 ? i * step : w / 2
    const y = h - ((v - min) / span) * h
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`
    pen = true
  })
  return d
}

const terminal = new Set<JourneyState>(['completed', 'failed', 'compensated'])

// placeKey is where an entity stands, as the ledger ranks it
// (store.LedgerRank), most significant first: a terminal state above all
// (then the later event), else the step's position in the journey, at one
// step a dead-lettering (one that says why first), then the later event.
function placeKey(state: JourneyState, stepIndex: number | undefined, reason: string | undefined, atNS: number): number[] {
  if (terminal.has(state)) return [1, 0, 0, atNS]
  return [0, stepIndex ?? 0, state === 'dead_lettered' ? (reason ? 2 : 1) : 0, atNS]
}

// outranks reports whether place a ranks at or above place b.
function outranks(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] > b[i]
  }
  return true
}

const updateKey = (u: LedgerUpdate) => placeKey(u.state, u.step_index, u.reason, u.at_ns)

// applyUpdates returns the entries with the live updates of their
// correlations applied, as the ledger ranks them (placeKey): an entity
// only moves forward, so a late event of an earlier step (the slow
// analytics consumer processing order.placed) leaves a dead-lettered
// order where it is.
export function applyUpdates(entries: LedgerEntry[], updates: Map<string, LedgerUpdate>): LedgerEntry[] {
  if (!updates.size) return entries
  return entries.map((e) => {
    const u = updates.get(e.correlation_id)
    if (!u || u.journey !== e.journey) return e
    if (!outranks(updateKey(u), placeKey(e.state, e.step_index, e.reason, e.last_ns))) return e
    return { ...e, state: u.state, step: u.step, step_index: u.step_index, service: u.service, destination: u.destination, op: u.op, event_id: u.event_id, last_ns: u.at_ns, reason: u.reason }
  })
}

// latestUpdates folds a frame's updates into the latest per correlation
// (by the same ranking), for applyUpdates.
export function latestUpdates(into: Map<string, LedgerUpdate>, updates: LedgerUpdate[]): Map<string, LedgerUpdate> {
  const out = new Map(into)
  for (const u of updates) {
    const cur = out.get(u.correlation_id)
    if (!cur || outranks(updateKey(u), updateKey(cur))) out.set(u.correlation_id, u)
  }
  return out
}
