// DLQ browser: dead letters grouped by reason and original destination,
// a payload preview, single and bulk replays through the safety flow, and
// the replay history (the audit log) with each replay's results. Live on
// the "dlq" and "replays" channels.

import { useCallback, useEffect, useMemo, useState } from 'react'
import { api } from '../api/client'
import { Badge, Drawer, KeyValues, Link, Modal, Refreshing } from '../ui/components'
import { Status } from '../ui/Status'
import { fmtAgo, fmtBytes, fmtCount, fmtDateTime, payloadView } from '../ui/format'
import { useLiveData, useResource } from '../api/resource'
import { navigate } from '../ui/route'
import { mergeReplays } from '../replay/replay'
import type { DLQEntry, Replay } from '../api/types'
import { ReplayDialog, ReplayItems, type ReplaySource } from '../replay/ReplayDialog'

export function DLQView({ params }: { params: URLSearchParams }) {
  const tab = params.get('tab') === 'history' ? 'history' : 'entries'
  return (
    <section className="view view-dlq">
      <header className="view-header">
        <h1>Dead letters &amp; replays</h1>
        <div className="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={tab === 'entries'} className={tab === 'entries' ? 'on' : ''} onClick={() => navigate('/dlq')}>
            Dead letters
          </button>
          <button type="button" role="tab" aria-selected={tab === 'history'} className={tab === 'history' ? 'on' : ''} onClick={() => navigate('/dlq', { tab: 'history' })}>
            Replay history
          </button>
        </div>
      </header>
      {tab === 'entries' ? <Entries params={params} /> : <History params={params} />}
    </section>
  )
}

interface Dialog {
  source: ReplaySource
  title: string
  correlationId?: string
}

function Entries({ params }: { params: URLSearchParams }) {
  const reason = params.get('reason') ?? ''
  const original = params.get('original') ?? ''
  const res = useResource((signal) => api.dlq({ reason, original, limit: 200 }, signal), [reason, original], { channel: 'dlq', throttleMs: 2000 })
  // Groups come from all dead letters, not just the filtered ones: a
  // bigger page, so refreshed less often.
  const all = useResource((signal) => api.dlq({ limit: 1000 }, signal), [], { channel: 'dlq', throttleMs: 10_000 })
  const [picked, setPicked] = useState<Set<string>>(new Set())
  const [open, setOpen] = useState<DLQEntry | null>(null)
  const [dialog, setDialog] = useState<Dialog | null>(null)
  const entries = useMemo(() => res.data?.entries ?? [], [res.data])
  useEffect(() => {
    // Forget picks that left the list.
    setPicked((cur) => {
      const ids = new Set(entries.map((e) => e.id))
      const next = new Set([...cur].filter((id) => ids.has(id)))
      return next.size === cur.size ? cur : next
    })
  }, [entries])
  const toggle = (id: string) =>
    setPicked((cur) => {
      const n = new Set(cur)
      if (n.has(id)) n.delete(id)
      else n.add(id)
      return n
    })
  // entry: a link to one dead letter (from a graph) opens it.
  const entryParam = params.get('entry')
  useEffect(() => {
    const e = entryParam ? entries.find((x) => x.id === entryParam) : undefined
    if (e) setOpen(e)
  }, [entryParam, entries])
  const closeDrawer = useCallback(() => setOpen(null), [])
  const groups = all.data?.groups ?? []
  const now = Date.now()

  return (
    <>
      <div className="dlq-groups" aria-label="Dead letters by reason and destination">
        <Status of={all} what="groups">
          {() => (
            <>
              {all.data?.next_cursor && (
                <p className="muted small dlq-note">Counts of the newest {fmtCount(all.data.entries.length)} dead letters; a group’s dry run counts all of them.</p>
              )}
              {groups.map((g) => {
                const on = g.reason === reason && g.original === original
                return (
                  <div key={g.reason + '\0' + g.original} className={'dlq-group' + (on ? ' on' : '')} data-testid="dlq-group">
                    <button type="button" className="plain" onClick={() => navigate('/dlq', on ? {} : { reason: g.reason, original: g.original })} aria-pressed={on}>
                      <span className="count">{fmtCount(g.count)}</span>
                      <span className="reason">{g.reason || '(no reason)'}</span>
                      <span className="muted small">→ {g.original}</span>
                    </button>
                    <button
                      type="button"
                      className="secondary small"
                      onClick={() => setDialog({ source: { dlq_filter: { reason: g.reason, destination: g.original } }, title: `Replay every dead letter of “${g.reason}” to ${g.original}` })}
                    >
                      Replay group…
                    </button>
                  </div>
                )
              })}
            </>
          )}
        </Status>
      </div>
      <div className="toolbar">
        {(reason || original) && (
          <span>
            Showing <b>{reason || 'any reason'}</b> → <b>{original || 'any destination'}</b>{' '}
            <button type="button" className="link" onClick={() => navigate('/dlq')}>
              show all
            </button>
          </span>
        )}
        <button
          type="button"
          disabled={picked.size === 0}
          onClick={() => setDialog({ source: { dlq_ids: [...picked] }, title: `Replay ${picked.size} selected dead letter${picked.size > 1 ? 's' : ''}` })}
          data-testid="replay-selected"
        >
          Replay selected ({picked.size})…
        </button>
        <Refreshing on={res.refreshing} />
      </div>
      <Status of={res} what="dead letters" isEmpty={() => entries.length === 0} empty={<>No dead letters{reason || original ? ' for this filter' : ''}. New ones appear here as the sidecar reports them.</>}>
        {() => (
          <div className="table-wrap">
            <table className="table dlq-table" data-testid="dlq-table">
              <thead>
                <tr>
                  <th>
                    <input
                      type="checkbox"
                      aria-label="Select all"
                      checked={picked.size === entries.length}
                      onChange={(e) => setPicked(e.target.checked ? new Set(entries.map((x) => x.id)) : new Set())}
                    />
                  </th>
                  <th>arrived</th>
                  <th>DLQ</th>
                  <th>original</th>
                  <th>reason</th>
                  <th>correlation</th>
                  <th>size</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} data-testid="dlq-row" data-id={e.id} data-correlation={e.correlation_id ?? ''} className={picked.has(e.id) ? 'active' : ''}>
                    <td>
                      <input type="checkbox" aria-label={`Select ${e.id}`} checked={picked.has(e.id)} onChange={() => toggle(e.id)} />
                    </td>
                    <td title={fmtDateTime(e.time_ns)}>{fmtAgo(e.time_ns / 1e6, now)}</td>
                    <td>
                      <span className={`sys sys-${e.system}`}>{e.system}</span> {e.source}
                    </td>
                    <td>{e.original}</td>
                    <td className="reason-cell" title={e.reason}>
                      {e.reason}
                    </td>
                    <td className="mono">{e.correlation_id}</td>
                    <td className="num">{fmtBytes(e.payload_size)}</td>
                    <td className="row-actions">
                      <button type="button" className="secondary small" onClick={() => setOpen(e)}>
                        Inspect
                      </button>
                      <button
                        type="button"
                        className="small"
                        onClick={() => setDialog({ source: { dlq_ids: [e.id] }, title: 'Replay one dead letter', correlationId: e.correlation_id })}
                        data-testid="replay-one"
                      >
                        Replay…
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {res.data?.next_cursor && <p className="muted small">Showing the newest {entries.length}; narrow by a group to see older ones.</p>}
          </div>
        )}
      </Status>
      {open && (
        <Drawer title="Dead letter" onClose={closeDrawer}>
          <DLQDetail entry={open} onReplay={() => setDialog({ source: { dlq_ids: [open.id] }, title: 'Replay one dead letter', correlationId: open.correlation_id })} />
        </Drawer>
      )}
      {dialog && <ReplayDialog {...dialog} onClose={() => setDialog(null)} />}
    </>
  )
}

function DLQDetail({ entry, onReplay }: { entry: DLQEntry; onReplay: () => void }) {
  const full = useResource((signal) => api.dlqEntry(entry.id, signal), [entry.id])
  const e = full.data ?? entry
  const view = payloadView(full.data?.payload)
  return (
    <div className="dlq-detail" data-testid="dlq-detail">
      <div className="actions">
        <button type="button" onClick={onReplay}>
          Replay…
        </button>
        {e.correlation_id && (
          <Link to="/graph" params={{ id: e.correlation_id }}>
            Causation graph →
          </Link>
        )}
      </div>
      <KeyValues
        rows={[
          ['reason', e.reason],
          ['arrived', fmtDateTime(e.time_ns)],
          ['DLQ', `${e.system} ${e.source} [${e.source_partition}] @${e.source_offset}`],
          ['original', `${e.original}${e.original_partition >= 0 ? ` [${e.original_partition}]` : ''}${e.original_offset >= 0 ? ` @${e.original_offset}` : ''}`],
          ['deliveries', e.deliveries ? String(e.deliveries) : 'unknown'],
          ['source', e.trusted ? 'read from the broker by a trusted sidecar' : 'untrusted: replays re-read it from the broker'],
          ['event id', e.event_id ?? ''],
          ['correlation id', e.correlation_id ?? ''],
        ]}
      />
      <h3>
        Payload <span className="muted small">{fmtBytes(e.payload_size)}{e.truncated ? ', truncated' : ''} · {view.kind}</span>
      </h3>
      <Status of={full} what="the payload" isEmpty={(d) => !d.payload_hidden && view.kind === 'empty'} empty="No payload captured.">
        {(d) => (d.payload_hidden ? <p className="muted">{d.payload_hidden}</p> : <pre className="payload" data-testid="payload">{view.text}</pre>)}
      </Status>
      <h3>Headers</h3>
      <table className="table attrs">
        <tbody>
          {Object.entries(e.headers ?? {})
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td className="mono">{v}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  )
}

function History({ params }: { params: URLSearchParams }) {
  const res = useResource((signal) => api.replays({ limit: 100 }, signal), [])
  const [list, setList] = useState<Replay[]>([])
  useEffect(() => setList(res.data?.replays ?? []), [res.data])
  // Progress frames update the rows in place; unknown replays are added.
  useLiveData('replays', {}, (d) => setList((cur) => mergeReplays(cur, d as Replay)), res.reload)
  const openId = params.get('replay')
  return (
    <>
      <Status of={res} what="replays" isEmpty={() => list.length === 0} empty={<>No replays yet. Replays started here, over the API or by another operator show up live.</>}>
        {() => (
          <div className="table-wrap">
            <table className="table" data-testid="replay-history">
              <thead>
                <tr>
                  <th>started</th>
                  <th>state</th>
                  <th>progress</th>
                  <th>by</th>
                  <th>reason</th>
                  <th>target</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((r) => (
                  <tr key={r.id} data-testid="replay-row" data-state={r.state}>
                    <td>{fmtDateTime(r.created_at)}</td>
                    <td>
                      <Badge kind={r.state}>{r.state}</Badge>
                    </td>
                    <td>
                      <div className="progress small" role="progressbar" aria-valuemin={0} aria-valuemax={r.total} aria-valuenow={r.sent + r.failed}>
                        <div className="progress-sent" style={{ width: `${r.total ? (r.sent / r.total) * 100 : 0}%` }} />
                        <div className="progress-failed" style={{ width: `${r.total ? (r.failed / r.total) * 100 : 0}%` }} />
                      </div>
                      <span className="small">
                        {fmtCount(r.sent)}/{fmtCount(r.total)}
                        {r.failed > 0 && <span className="err"> · {fmtCount(r.failed)} failed</span>}
                      </span>
                    </td>
                    <td>{r.requested_by}</td>
                    <td>{r.reason}</td>
                    <td>{r.target || <span className="muted">original</span>}</td>
                    <td>
                      <button type="button" className="secondary small" onClick={() => navigate('/dlq', { tab: 'history', replay: r.id })}>
                        Results
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Status>
      {openId && <ReplayResults id={openId} onClose={() => navigate('/dlq', { tab: 'history' })} />}
    </>
  )
}

function ReplayResults({ id, onClose }: { id: string; onClose: () => void }) {
  const res = useResource((signal) => api.replay(id, signal), [id], { channel: 'replays', filter: { replay_id: id }, throttleMs: 1000 })
  return (
    <Modal title={`Replay ${id.slice(0, 12)}…`} onClose={onClose}>
      <Status of={res} what="the replay">
        {(r) => (
          <div>
            <KeyValues
              rows={[
                ['state', <Badge key="s" kind={r.state}>{r.state}</Badge>],
                ['requested by', r.requested_by],
                ['reason', r.reason],
                ['created', fmtDateTime(r.created_at)],
                ['finished', r.finished_at ? fmtDateTime(r.finished_at) : ''],
                ['messages', `${r.sent} sent, ${r.failed} failed of ${r.total} at ${r.rate_per_sec}/s`],
                ['target', r.target || 'each message’s original destination'],
                ['error', r.error ?? ''],
                ['request', <code key="r">{r.request}</code>],
              ]}
            />
            {r.items && r.items.length > 0 ? <ReplayItems items={r.items} /> : <p className="muted">No per-message results yet.</p>}
          </div>
        )}
      </Status>
    </Modal>
  )
}
