// Journeys: one tile per journey (SLO attainment, end-to-end p50/p99, a
// sparkline, stuck count by step); a journey's page draws its steps left
// to right with the stuck count on each; a step lists the entities stuck
// there, each a link to its causation graph with the stuck point
// selected. Follows the ledger live (the journeys channel).
//
// URLs (alert notifications link here, see studio/alert links.go):
//   /journeys                          the tiles
//   /journeys?journey=J                J's steps
//   /journeys?journey=J&step=S         J's entities stuck at S

import { useState } from 'react'
import { api } from '../api/client'
import { useLiveData, useResource } from '../api/resource'
import type { JourneySummary, JourneysFrame, LedgerUpdate } from '../api/types'
import { Badge, Link, Refreshing, WindowPicker } from '../ui/components'
import { fmtAgo, fmtCount, fmtDuration, fmtPercent } from '../ui/format'
import { navigate } from '../ui/route'
import { Status } from '../ui/Status'
import { applyUpdates, journeySteps, latestUpdates, sparkPath, type StepView } from './journeys'

export function JourneysView({ params }: { params: URLSearchParams }) {
  const name = params.get('journey') ?? ''
  const step = params.get('step') ?? ''
  const win = params.get('window') ?? '1h'
  return name ? <JourneyPage name={name} step={step} win={win} /> : <JourneyTiles win={win} />
}

function JourneyTiles({ win }: { win: string }) {
  const res = useResource((signal) => api.journeys({ since: win, buckets: 24 }, signal), [win], { channel: 'journeys', throttleMs: 3000 })
  return (
    <section className="view view-journeys">
      <header className="view-header">
        <h1>Journeys</h1>
        <WindowPicker value={win} onChange={(w) => navigate('/journeys', { window: w }, true)} />
        <Refreshing on={res.refreshing} />
      </header>
      <Status
        of={res}
        what="journeys"
        isEmpty={(d) => d.journeys.length === 0}
        empty={<>No journeys defined. Define them under <code>journeys:</code> in the configuration file, or through the API (POST /api/v1/journeys).</>}
      >
        {(d) => (
          <div className="journey-tiles" data-testid="journey-tiles">
            {d.journeys.map((j) => (
              <JourneyTile key={j.name} j={j} win={win} />
            ))}
          </div>
        )}
      </Status>
    </section>
  )
}

function JourneyTile({ j, win }: { j: JourneySummary; win: string }) {
  const target = j.definition.slo.target ?? 0.99
  const series = j.series ?? []
  const stuck = j.stuck_steps ?? []
  return (
    <Link to="/journeys" params={{ journey: j.name, window: win }} className={`journey-tile ${j.meets_slo ? 'slo-ok' : 'slo-miss'}`}>
      <div className="journey-tile-head" data-testid="journey-tile" data-name={j.name}>
        <strong>{j.name}</strong>
        {j.saga && <Badge kind="replay">saga</Badge>}
        <span className="muted small">{j.definition.description}</span>
      </div>
      <div className="journey-figures">
        <div title={`${fmtCount(j.stats.good)} of ${fmtCount(j.stats.eligible)} ended within ${j.definition.slo.within ?? 'the SLO'}`}>
          <span className={'big ' + (j.meets_slo ? 'ok' : 'err')}>{j.attainment === undefined ? '–' : fmtPercent(j.attainment)}</span>
          <span className="muted small">SLO {fmtPercent(target)} in {j.definition.slo.within ?? '–'}</span>
        </div>
        <div>
          <span className="big">{j.stats.p50_ns ? fmtDuration(j.stats.p50_ns) : '–'}</span>
          <span className="muted small">p50 end to end</span>
        </div>
        <div>
          <span className="big">{j.stats.p99_ns ? fmtDuration(j.stats.p99_ns) : '–'}</span>
          <span className="muted small">p99</span>
        </div>
        <div>
          <span className={'big ' + (j.stats.stuck ? 'err' : '')}>{fmtCount(j.stats.stuck)}</span>
          <span className="muted small">stuck now</span>
        </div>
      </div>
      <Sparkline values={series.map((b) => b.attainment)} target={target} title={`SLO attainment per ${series.length ? Math.round(windowMinutes(win) / series.length) : 0} min, oldest first`} />
      <div className="muted small">
        {fmtCount(j.stats.started)} started · {fmtCount(j.stats.completed)} completed{j.stats.failed ? ` · ${fmtCount(j.stats.failed)} failed` : ''}
        {j.stats.compensated ? ` · ${fmtCount(j.stats.compensated)} compensated` : ''}
      </div>
      {stuck.length > 0 && (
        <ul className="stuck-steps" aria-label="stuck by step">
          {stuck.map((s) => (
            <li key={s.step} data-testid="tile-stuck-step" data-step={s.step}>
              <span className="count">{fmtCount(s.count)}</span> stuck at {s.step}
            </li>
          ))}
        </ul>
      )}
    </Link>
  )
}

const windowMinutes = (w: string) => {
  const m = /^(\d+)([mh])$/.exec(w)
  return m ? Number(m[1]) * (m[2] === 'h' ? 60 : 1) : 60
}

// Sparkline draws attainment (0–1) per bucket with the SLO target as a
// dashed line.
function Sparkline({ values, target, title }: { values: (number | undefined)[]; target: number; title: string }) {
  const w = 220
  const h = 36
  const lo = Math.min(target - 0.05, ...values.filter((v): v is number => v !== undefined))
  const ty = h - ((target - lo) / (1 - lo || 1)) * h
  return (
    <svg className="sparkline" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={title}>
      <title>{title}</title>
      <line x1={0} x2={w} y1={ty} y2={ty} className="spark-target" />
      <path d={sparkPath(values, w, h, lo, 1)} className="spark-line" />
    </svg>
  )
}

function JourneyPage({ name, step, win }: { name: string; step: string; win: string }) {
  const res = useResource((signal) => api.journey(name, { since: win }, signal), [name, win], { channel: 'journeys', filter: { journey: name }, throttleMs: 3000 })
  return (
    <section className="view view-journey">
      <header className="view-header">
        <h1>
          <Link to="/journeys" params={{ window: win }}>
            Journeys
          </Link>{' '}
          › {name}
        </h1>
        <WindowPicker value={win} onChange={(w) => navigate('/journeys', { journey: name, step, window: w }, true)} />
        <Refreshing on={res.refreshing} />
      </header>
      <Status of={res} what={`journey ${name}`}>
        {(j) => (
          <>
            <p className="muted">
              {j.definition.description} {j.saga && <Badge kind="replay">saga</Badge>} SLO: {fmtPercent(j.definition.slo.target ?? 0.99)} complete within {j.definition.slo.within}; stuck after{' '}
              {j.definition.slo.stuck_after}. Attainment {j.attainment === undefined ? '–' : fmtPercent(j.attainment)}, p50 {fmtDuration(j.stats.p50_ns)}, p99 {fmtDuration(j.stats.p99_ns)}.
            </p>
            <StepsRow steps={journeySteps(j)} current={step} onPick={(s) => navigate('/journeys', { journey: name, step: s === step ? undefined : s, window: win })} />
            {step ? <StuckList name={name} step={step} /> : <p className="muted">Pick a step for the entities stuck there.</p>}
          </>
        )}
      </Status>
    </section>
  )
}

// StepsRow draws the path an entity takes left to right (start, steps),
// then its possible ends stacked in one column (success, failure, and
// the compensation steps leading to a compensated end).
function StepsRow({ steps, current, onPick }: { steps: StepView[]; current: string; onPick: (step: string) => void }) {
  const path = steps.filter((s) => s.kind === 'start' || s.kind === 'step')
  const ends = steps.filter((s) => s.kind === 'success' || s.kind === 'failure')
  const compensation = steps.filter((s) => s.kind === 'compensation' || s.kind === 'compensated')
  const box = (s: StepView) => (
    <button
      type="button"
      key={s.step}
      className={`journey-step kind-${s.kind}${s.step === current ? ' on' : ''}${s.stuck ? ' has-stuck' : ''}`}
      aria-pressed={s.step === current}
      data-testid="journey-step"
      data-step={s.step}
      data-stuck={s.stuck}
      onClick={() => onPick(s.step)}
    >
      <span className="muted small">{s.kind}</span>
      <strong>{s.step}</strong>
      <span className={s.stuck ? 'stuck err' : 'stuck muted'}>{fmtCount(s.stuck)} stuck</span>
      {s.deadLettered > 0 && <span className="small err">{fmtCount(s.deadLettered)} dead-lettered</span>}
      {s.reachedP50Ns > 0 && <span className="muted small">reached in {fmtDuration(s.reachedP50Ns)} (p50)</span>}
    </button>
  )
  return (
    <ol className="journey-steps" data-testid="journey-steps">
      {path.map((s) => (
        <li key={s.step}>{box(s)}</li>
      ))}
      {(ends.length > 0 || compensation.length > 0) && (
        <li className="journey-ends">
          <div className="journey-ends-col">
            {ends.map(box)}
            {compensation.length > 0 && <div className="journey-compensation">{compensation.map((s, i) => [i > 0 && <span key={s.step + '→'} className="muted">→</span>, box(s)])}</div>}
          </div>
        </li>
      )}
    </ol>
  )
}

// StuckList lists the entities stuck at a step, with where each stopped
// and why; live updates move an entity on at once (to completed after a
// replay), the list itself is refetched at most every 5 s.
function StuckList({ name, step }: { name: string; step: string }) {
  const res = useResource(
    async (signal) => {
      const [entities, report] = await Promise.all([api.journeyEntities(name, { state: 'stuck', step, limit: 200 }, signal), api.journeyStuck(name, step, signal)])
      return { entities: entities.entities, report: report.steps.find((s) => s.step === step) }
    },
    [name, step],
    // Refetched as the ledger changes (newly stuck entities), at most every 5 s.
    { channel: 'journeys', filter: { journey: name }, throttleMs: 5000 },
  )
  const [updates, setUpdates] = useState<Map<string, LedgerUpdate>>(new Map())
  // Only the listed entities' updates are kept.
  const listed = new Set(res.data?.entities.map((e) => e.correlation_id))
  useLiveData('journeys', { journey: name }, (d) =>
    setUpdates((cur) => latestUpdates(cur, ((d as JourneysFrame).updates ?? []).filter((u) => listed.has(u.correlation_id)))),
  )
  const now = Date.now()
  return (
    <div className="stuck-list">
      <h2>Stuck at {step}</h2>
      <Status of={res} what={`the entities stuck at ${step}`} isEmpty={(d) => d.entities.length === 0} empty={<>Nothing is stuck at {step}.</>}>
        {(d) => (
          <>
            {d.report && (d.report.reasons ?? []).length > 0 && (
              <p className="small">
                {(d.report.reasons ?? []).map((r) => (
                  <span key={r.reason} className="reason">
                    <Link to="/dlq" params={{ reason: r.reason }}>
                      {fmtCount(r.count)} × {r.reason}
                    </Link>{' '}
                  </span>
                ))}
              </p>
            )}
            <table className="table" data-testid="stuck-entities">
              <thead>
                <tr>
                  <th>entity</th>
                  <th>state</th>
                  <th>stopped at</th>
                  <th>started</th>
                  <th>last event</th>
                  <th>reason</th>
                </tr>
              </thead>
              <tbody>
                {applyUpdates(d.entities, updates).map((e) => (
                  <tr key={e.correlation_id} data-testid="stuck-entity" data-id={e.correlation_id} data-state={e.state}>
                    <td>
                      <Link to="/graph" params={{ id: e.correlation_id, kind: 'correlation_id', event: e.event_id, journey: name }}>
                        {e.correlation_id}
                      </Link>
                    </td>
                    <td>
                      <Badge kind={e.state === 'completed' ? 'ok' : e.state}>{e.state.replace('_', ' ')}</Badge>
                    </td>
                    <td className="small">
                      {e.service} · {e.op} {e.destination}
                    </td>
                    <td className="small muted">{fmtAgo(e.started_ns / 1e6, now)}</td>
                    <td className="small muted">{fmtAgo(e.last_ns / 1e6, now)}</td>
                    <td className="small">{e.reason ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Status>
    </div>
  )
}
