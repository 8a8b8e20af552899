// StuckPoint is the panel of a graph opened from a journey's stuck list:
// the entity's journey state, kept live (a replay moves it to completed
// on screen), and, when the correlation was dead-lettered, its DLQ entry
// and the replay dialog, one click each.

import { useState } from 'react'
import { api } from '../api/client'
import { useLiveData, useResource } from '../api/resource'
import type { CwEvent, JourneysFrame, LedgerEntry, LedgerUpdate } from '../api/types'
import { findDLQEntry } from '../dlq/find'
import { applyUpdates, latestUpdates } from '../journeys/journeys'
import { ReplayDialog } from '../replay/ReplayDialog'
import { Badge, Link } from '../ui/components'
import { Status } from '../ui/Status'

// entityOf reads the ledger entry of a correlation: among the stuck
// first, else among those that started in the last day.
async function entityOf(journey: string, corr: string, signal: AbortSignal): Promise<LedgerEntry | null> {
  const stuck = await api.journeyEntities(journey, { state: 'stuck', limit: 1000 }, signal)
  const hit = stuck.entities.find((e) => e.correlation_id === corr)
  if (hit) return hit
  const recent = await api.journeyEntities(journey, { since: '24h', limit: 1000 }, signal)
  return recent.entities.find((e) => e.correlation_id === corr) ?? null
}

function newest(events: CwEvent[]): CwEvent | undefined {
  return events.reduce<CwEvent | undefined>((a, e) => (!a || e.start_ns > a.start_ns ? e : a), undefined)
}

export function StuckPoint({ correlationId, journey, events }: { correlationId: string; journey: string | null; events: CwEvent[] }) {
  // The newest consumed message that was dead-lettered (its event id is
  // its DLQ entry's; a replay dead-lettered again is a newer one), else
  // the newest publish to the DLQ.
  const dead = newest(events.filter((e) => e.outcome === 'dead_lettered')) ?? newest(events.filter((e) => e.op === 'dead_letter'))
  return (
    <div className="stuck-point" data-testid="stuck-point">
      {journey && <EntityState journey={journey} corr={correlationId} />}
      {dead && <DeadLetter corr={correlationId} eventId={dead.event_id} />}
    </div>
  )
}

function EntityState({ journey, corr }: { journey: string; corr: string }) {
  const res = useResource((signal) => entityOf(journey, corr, signal), [journey, corr])
  const [updates, setUpdates] = useState<Map<string, LedgerUpdate>>(new Map())
  useLiveData('journeys', { journey }, (d) => setUpdates((cur) => latestUpdates(cur, ((d as JourneysFrame).updates ?? []).filter((u) => u.correlation_id === corr))), res.reload)
  return (
    <Status of={res} what="the journey state">
      {(entry) => {
        if (!entry) return <span className="muted small">Not in the ledger of {journey} (it may have started more than a day ago).</span>
        const e = applyUpdates([entry], updates)[0]
        return (
          <div data-testid="entity-state" data-state={e.state}>
            <Link to="/journeys" params={{ journey, step: e.step }}>
              {journey}
            </Link>
            : <Badge kind={e.state === 'completed' ? 'ok' : e.state}>{e.state.replace('_', ' ')}</Badge> at <strong>{e.step}</strong>{' '}
            <span className="muted small">
              ({e.service} · {e.op} {e.destination})
            </span>
          </div>
        )
      }}
    </Status>
  )
}

function DeadLetter({ corr, eventId }: { corr: string; eventId: string }) {
  const res = useResource((signal) => findDLQEntry(api.dlq, { correlationId: corr, eventId }, signal), [corr, eventId], { channel: 'dlq', throttleMs: 5000 })
  const [replaying, setReplaying] = useState(false)
  return (
    <Status of={res} what="its dead letter">
      {(entry) =>
        entry ? (
          <div className="actions" data-testid="dead-letter" data-id={entry.id}>
            <span>
              Dead-lettered: <strong>{entry.reason}</strong>
            </span>
            <Link to="/dlq" params={{ reason: entry.reason, entry: entry.id }} className="button secondary">
              DLQ entry
            </Link>
            <button type="button" onClick={() => setReplaying(true)} data-testid="replay-dead-letter">
              Replay…
            </button>
            {replaying && <ReplayDialog source={{ dlq_ids: [entry.id] }} title={`Replay the dead letter of ${corr}`} correlationId={corr} onClose={() => setReplaying(false)} />}
          </div>
        ) : (
          <span className="muted small">Dead-lettered; no DLQ entry of {corr} in the query window (it may have passed retention).</span>
        )
      }
    </Status>
  )
}
