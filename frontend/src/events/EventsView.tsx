// Event search: filters in the URL, newest first, pages by cursor, new
// matching events arriving live on top; a detail drawer with the event's
// fields and attributes. Keyboard: / focuses the search, arrows move
// through the results, Enter opens one, Escape closes it.

import { useCallback, useEffect, useRef, useState } from 'react'
import { api } from '../api/client'
import { Badge, Drawer, KeyValues, Link, Refreshing, WindowPicker } from '../ui/components'
import { Status } from '../ui/Status'
import { fmtBytes, fmtClock, fmtDateTime, fmtDuration } from '../ui/format'
import { useLiveData, useResource } from '../api/resource'
import { navigate } from '../ui/route'
import type { LiveFilter } from '../api/live'
import type { CwEvent } from '../api/types'
import { ReplayDialog } from '../replay/ReplayDialog'

const fields = ['correlation_id', 'trace_id', 'event_id', 'service', 'destination', 'event_type', 'outcome'] as const
const outcomes = ['', 'ok', 'error', 'retry', 'dead_lettered', 'duplicate_skipped']
const key = (e: CwEvent) => `${e.trace_id}/${e.span_id}`
const maxShown = 1000

export function EventsView({ params }: { params: URLSearchParams }) {
  const filter: Record<string, string> = {}
  for (const f of fields) {
    const v = params.get(f)
    if (v) filter[f] = v
  }
  const win = params.get('since') ?? '1h'
  // An id is selective enough to search all of time; other filters keep
  // to the window.
  const idSearch = !!(filter.correlation_id || filter.trace_id || filter.event_id)
  const since = idSearch ? undefined : win
  const filterKey = JSON.stringify(filter) + win
  const [draft, setDraft] = useState<Record<string, string>>(filter)
  const [draftFor, setDraftFor] = useState(filterKey)
  if (draftFor !== filterKey) {
    setDraftFor(filterKey)
    setDraft(filter)
  }

  const first = useResource((signal) => api.events({ ...filter, since, limit: 100 }, signal), [filterKey])
  const [rows, setRows] = useState<CwEvent[]>([])
  const [cursor, setCursor] = useState('')
  const [more, setMore] = useState<{ loading: boolean; error?: Error }>({ loading: false })
  const [paused, setPaused] = useState(false)
  const [active, setActive] = useState(0)
  const [open, setOpen] = useState<CwEvent | null>(null)
  const [replay, setReplay] = useState<CwEvent | null>(null)
  const list = useRef<HTMLDivElement>(null)

  useEffect(() => {
    if (!first.data) return
    setRows(first.data.events)
    setCursor(first.data.next_cursor)
    setActive(0)
  }, [first.data])

  // New events matching the filter arrive on top. event_id cannot be
  // followed live; such a search is a lookup anyway.
  const liveFilter: LiveFilter | null = filter.event_id || paused ? null : { ...filter }
  useLiveData(
    liveFilter ? 'events' : null,
    liveFilter ?? {},
    (d) => {
      const evs = (d as CwEvent[]).slice().sort((a, b) => b.start_ns - a.start_ns)
      setRows((cur) => {
        const have = new Set(cur.map(key))
        const add = evs.filter((e) => !have.has(key(e)))
        return add.length ? [...add, ...cur].slice(0, maxShown) : cur
      })
    },
    () => first.reload(),
  )

  const loadMore = async () => {
    setMore({ loading: true })
    try {
      const page = await api.events({ ...filter, since, limit: 100, cursor })
      setRows((cur) => {
        const have = new Set(cur.map(key))
        return [...cur, ...page.events.filter((e) => !have.has(key(e)))]
      })
      setCursor(page.next_cursor)
      setMore({ loading: false })
    } catch (err) {
      setMore({ loading: false, error: err as Error })
    }
  }

  const submit = () => {
    const p: Record<string, string> = { since: win }
    for (const f of fields) if (draft[f]?.trim()) p[f] = draft[f].trim()
    if (p.trace_id) p.trace_id = p.trace_id.toLowerCase() // as stored, so that live frames match
    navigate('/events', p)
    list.current?.focus()
  }

  const onKey = useCallback(
    (e: React.KeyboardEvent) => {
      if (!rows.length) return
      if (e.key === 'ArrowDown') setActive((a) => Math.min(rows.length - 1, a + 1))
      else if (e.key === 'ArrowUp') setActive((a) => Math.max(0, a - 1))
      else if (e.key === 'Home') setActive(0)
      else if (e.key === 'End') setActive(rows.length - 1)
      else if (e.key === 'Enter') setOpen(rows[Math.min(active, rows.length - 1)])
      else return
      e.preventDefault()
    },
    [rows, active],
  )
  useEffect(() => {
    list.current?.querySelector(`[data-index="${active}"]`)?.scrollIntoView({ block: 'nearest' })
  }, [active])
  const closeDrawer = useCallback(() => setOpen(null), [])

  return (
    <section className="view view-events">
      <header className="view-header">
        <h1>Events</h1>
        {idSearch ? (
          <span className="muted small">all time (searching by id)</span>
        ) : (
          <WindowPicker value={win} onChange={(w) => navigate('/events', { ...filter, since: w }, true)} label="Since" />
        )}
        <label className="toggle">
          <input type="checkbox" checked={!paused} onChange={(e) => setPaused(!e.target.checked)} /> live
        </label>
        <Refreshing on={first.refreshing} />
      </header>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          submit()
        }}
      >
        {fields.map((f) =>
          f === 'outcome' ? (
            <label key={f}>
              outcome
              <select value={draft.outcome ?? ''} onChange={(e) => setDraft({ ...draft, outcome: e.target.value })}>
                {outcomes.map((o) => (
                  <option key={o} value={o}>
                    {o || 'any'}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <label key={f}>
              {f.replace('_', ' ')}
              <input
                name={f}
                value={draft[f] ?? ''}
                onChange={(e) => setDraft({ ...draft, [f]: e.target.value })}
                spellCheck={false}
              />
            </label>
          ),
        )}
        <div className="filter-actions">
          <button type="submit">Search</button>
          <button type="button" className="secondary" onClick={() => navigate('/events', { since: win })}>
            Clear
          </button>
        </div>
      </form>
      <Status of={first} what="events" isEmpty={() => rows.length === 0} empty={<>No events match{idSearch ? '' : ` in the last ${win}`}{liveFilter ? '; new ones will appear here as they arrive' : ''}.</>}>
        {() => (
          <div className="table-wrap" ref={list} tabIndex={0} onKeyDown={onKey} role="grid" aria-label="Events" aria-rowcount={rows.length} data-testid="event-results">
            <table className="table events-table">
              <thead>
                <tr>
                  <th>time</th>
                  <th>service</th>
                  <th>op</th>
                  <th>destination</th>
                  <th>type</th>
                  <th>outcome</th>
                  <th>duration</th>
                  <th>correlation</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e, i) => (
                  <tr
                    key={key(e)}
                    data-index={i}
                    className={i === active ? 'active' : ''}
                    aria-selected={i === active}
                    onClick={() => {
                      setActive(i)
                      setOpen(e)
                    }}
                    data-testid="event-row"
                  >
                    <td className="mono">{fmtClock(e.start_ns)}</td>
                    <td>{e.service}</td>
                    <td>{e.op}{e.replay_of && <Badge kind="replay">replay</Badge>}</td>
                    <td>
                      <span className={`sys sys-${e.system}`}>{e.system}</span> {e.destination}
                    </td>
                    <td>{e.event_type}</td>
                    <td>
                      <Badge kind={e.outcome}>{e.outcome}</Badge>
                    </td>
                    <td className="num">{fmtDuration(e.duration_ns)}</td>
                    <td className="mono">{e.correlation_id}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div className="more">
              <Status of={{ error: more.error, reload: loadMore }} />
              {cursor ? (
                <button type="button" onClick={loadMore} disabled={more.loading}>
                  {more.loading ? 'Loading…' : 'Load older events'}
                </button>
              ) : (
                <span className="muted">{rows.length} events — that is all{idSearch ? '' : ' in the window'}</span>
              )}
            </div>
          </div>
        )}
      </Status>
      {open && (
        <Drawer title={`${open.event_type || open.op} · ${open.service}`} onClose={closeDrawer}>
          <EventDetail e={open} onReplay={() => setReplay(open)} />
        </Drawer>
      )}
      {replay && <ReplayDialog source={{ event_ids: [replay.event_id] }} title={`Replay event ${replay.event_id}`} correlationId={replay.correlation_id} onClose={() => setReplay(null)} />}
    </section>
  )
}

function EventDetail({ e, onReplay }: { e: CwEvent; onReplay: () => void }) {
  const attrs = Object.entries(e.attributes ?? {}).sort(([a], [b]) => a.localeCompare(b))
  return (
    <div className="event-detail" data-testid="event-detail">
      <div className="actions">
        {e.correlation_id && (
          <Link to="/graph" params={{ id: e.correlation_id }}>
            Causation graph of {e.correlation_id} →
          </Link>
        )}
        <Link to="/graph" params={{ id: e.trace_id, kind: 'trace_id' }}>
          Graph of this trace →
        </Link>
        {e.op === 'publish' && (
          <button type="button" className="secondary" onClick={onReplay}>
            Replay this message…
          </button>
        )}
      </div>
      <KeyValues
        rows={[
          ['event id', <code key="id">{e.event_id}</code>],
          ['event type', e.event_type ?? ''],
          ['correlation id', e.correlation_id ?? ''],
          ['causation id', e.causation_id ?? ''],
          ['trace / span', <code key="ts">{e.trace_id} / {e.span_id}</code>],
          ['parent span', e.parent_span_id ?? ''],
          ['service', e.service + (e.handler ? ` (${e.handler})` : '')],
          ['system', `${e.system ?? ''}${e.cluster ? ' · ' + e.cluster : ''}`],
          ['destination', `${e.destination ?? ''}${e.partition >= 0 ? ` partition ${e.partition}` : ''}${e.offset >= 0 ? ` offset ${e.offset}` : ''}`],
          ['consumer group', e.consumer_group ?? ''],
          ['operation', `${e.op} → ${e.outcome}${e.attempt ? `, attempt ${e.attempt}` : ''}`],
          ['error', e.error ?? ''],
          ['started', fmtDateTime(e.start_ns) + ' · ' + fmtClock(e.start_ns)],
          ['duration', fmtDuration(e.duration_ns)],
          ['payload', e.payload_size >= 0 ? `${fmtBytes(e.payload_size)} (bodies are kept for dead letters only: see DLQ)` : 'size unknown'],
          ['replay of', e.replay_of ?? ''],
          ['links', (e.links ?? []).map((l) => `${l.trace_id}/${l.span_id}`).join(', ')],
        ]}
      />
      <h3>Attributes and headers</h3>
      {attrs.length ? (
        <table className="table attrs">
          <tbody>
            {attrs.map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td className="mono">{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No further attributes.</p>
      )}
    </div>
  )
}
