// The replay safety flow: a dry-run preview (count, targets, sample), a
// reason, a typed count confirmation for more than one message, then the
// run with live progress from the "replays" channel and a cancel button.
// One idempotency key per dialog, so a double click replays once.

import { useEffect, useState } from 'react'
import { ApiError, api } from '../api/client'
import { Badge, Link, Modal } from '../ui/components'
import { Status } from '../ui/Status'
import { fmtCount, fmtSeconds } from '../ui/format'
import { useLiveData } from '../api/resource'
import { newer, newIdempotencyKey, replayDone } from './replay'
import type { Replay, ReplayItem, ReplayPreview, ReplayRequest } from '../api/types'

export type ReplaySource = Pick<ReplayRequest, 'dlq_ids' | 'dlq_filter' | 'event_ids'>

interface Props {
  source: ReplaySource
  title: string
  correlationId?: string
  onClose: () => void
}

export function ReplayDialog({ source, title, correlationId, onClose }: Props) {
  const [preview, setPreview] = useState<{ p?: ReplayPreview; error?: Error; loading: boolean }>({ loading: true })
  const [reason, setReason] = useState('')
  const [target, setTarget] = useState('')
  const [rate, setRate] = useState('')
  const [typed, setTyped] = useState('')
  const [key] = useState(newIdempotencyKey)
  const [run, setRun] = useState<{ replay?: Replay; error?: Error; starting: boolean }>({ starting: false })
  const [cancel, setCancel] = useState<{ busy: boolean; error?: Error }>({ busy: false })
  const [items, setItems] = useState<ReplayItem[] | null>(null)

  const loadPreview = () => {
    setPreview({ loading: true })
    api.previewReplay({ ...source, target: target.trim() || undefined }).then(
      (p) => {
        setPreview({ p, loading: false })
        setRate((r) => r || String(p.rate_per_sec))
      },
      (error: Error) => setPreview({ error, loading: false }),
    )
  }
  useEffect(loadPreview, [])

  const id = run.replay?.id
  const refresh = () => {
    if (id) api.replay(id).then((r) => setRun((s) => ({ ...s, replay: newer(s.replay, r) })), () => {})
  }
  useLiveData(id ? 'replays' : null, { replay_id: id }, (d) => setRun((s) => ({ ...s, replay: newer(s.replay, d as Replay) })), refresh)
  // Catch up with what happened before the subscription took effect.
  useEffect(refresh, [id])
  const done = run.replay && replayDone(run.replay)
  useEffect(() => {
    if (done && id) api.replay(id).then((r) => setItems(r.items ?? []), () => setItems([]))
  }, [done, id])

  const p = preview.p
  const needTyped = !!p && (p.confirm_count || p.count > 1)
  const rateNum = Number(rate)
  const canRun = !!p && p.count > 0 && reason.trim() !== '' && (!needTyped || typed.trim() === String(p.count)) && rateNum > 0 && !run.starting && !run.replay

  const start = async () => {
    if (!p) return
    setRun({ starting: true })
    try {
      const replay = await api.startReplay(
        { ...source, reason: reason.trim(), target: target.trim() || undefined, rate_per_sec: rateNum, expected_count: p.count },
        key,
      )
      setRun({ replay, starting: false })
    } catch (error) {
      setRun({ error: error as Error, starting: false })
    }
  }

  const r = run.replay
  const doneCount = r ? r.sent + r.failed : 0
  return (
    <Modal title={title} onClose={onClose}>
      <div className="replay-dialog" data-testid="replay-dialog">
        <h3>1 · Dry run</h3>
        <Status of={{ ...preview, data: p, reload: loadPreview }} what="the dry run" isEmpty={(d) => d.count === 0} empty="Nothing to replay: the selection matches no message.">
          {(p) => (
            <div className="preview" data-testid="replay-preview" data-count={p.count}>
              <p>
                <strong>{fmtCount(p.count)}</strong> message{p.count === 1 ? '' : 's'} would be published at {p.rate_per_sec}/s (about {fmtSeconds(p.seconds)}):
              </p>
              <ul className="targets">
                {p.targets.map((t) => (
                  <li key={t.system + t.destination}>
                    <span className={`sys sys-${t.system}`}>{t.system}</span> {t.destination} × {fmtCount(t.count)}
                  </li>
                ))}
              </ul>
              <details open={p.sample.length <= 3}>
                <summary>Sample ({p.sample.length})</summary>
                <ul className="sample">
                  {p.sample.map((s, i) => (
                    <li key={(s.dlq_id ?? s.event_id ?? '') + i}>
                      <div className="muted small">
                        {s.correlation_id} · {s.destination} {s.reason && `· ${s.reason}`}
                      </div>
                      <pre className="payload">{s.payload_preview || s.payload_hidden || '(no payload preview)'}</pre>
                    </li>
                  ))}
                </ul>
              </details>
            </div>
          )}
        </Status>

        <h3>2 · Confirm</h3>
        <fieldset disabled={!p || p.count === 0 || !!r || run.starting}>
          <label>
            Reason (kept in the audit log)
            <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. fraud-check is back" required />
          </label>
          <div className="row2">
            <label>
              Target override (optional)
              <input name="target" value={target} onChange={(e) => setTarget(e.target.value)} placeholder="original destination" />
            </label>
            <label>
              Rate (messages/s)
              <input name="rate" type="number" min="1" value={rate} onChange={(e) => setRate(e.target.value)} />
            </label>
          </div>
          {needTyped && (
            <label>
              <span>
                Type the number of messages, <strong>{p!.count}</strong>, to confirm
              </span>
              <input name="confirm" inputMode="numeric" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" aria-invalid={typed !== '' && typed.trim() !== String(p!.count)} />
            </label>
          )}
        </fieldset>
        {run.error && (
          <div>
            <Status of={{ error: run.error }} />
            {run.error instanceof ApiError && run.error.code === 'count_mismatch' && (
              <button type="button" onClick={() => { setTyped(''); setRun({ starting: false }); loadPreview() }}>
                The count changed: preview again
              </button>
            )}
          </div>
        )}

        <h3>3 · Replay</h3>
        {!r ? (
          <div className="actions">
            <button type="button" className="danger" disabled={!canRun} onClick={start} data-testid="replay-run">
              {run.starting ? 'Starting…' : p ? `Replay ${fmtCount(p.count)} message${p.count === 1 ? '' : 's'}` : 'Replay'}
            </button>
            <button type="button" className="secondary" onClick={onClose}>
              Close
            </button>
          </div>
        ) : (
          <div className="progress-block" data-testid="replay-progress" data-state={r.state}>
            <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={r.total} aria-valuenow={doneCount}>
              <div className="progress-sent" style={{ width: `${r.total ? (r.sent / r.total) * 100 : 0}%` }} />
              <div className="progress-failed" style={{ width: `${r.total ? (r.failed / r.total) * 100 : 0}%` }} />
            </div>
            <p>
              <Badge kind={r.state}>{r.state}</Badge> {fmtCount(r.sent)} sent, {fmtCount(r.failed)} failed of {fmtCount(r.total)}
              {r.error && <span className="err"> — {r.error}</span>}
            </p>
            <div className="actions">
              {!done && (
                <button
                  type="button"
                  className="secondary"
                  disabled={cancel.busy}
                  onClick={() => {
                    setCancel({ busy: true })
                    api.cancelReplay(r.id).then(
                      (x) => {
                        setRun((s) => ({ ...s, replay: newer(s.replay, x) }))
                        setCancel({ busy: false })
                      },
                      (error: Error) => setCancel({ busy: false, error }),
                    )
                  }}
                >
                  {cancel.busy ? 'Cancelling…' : 'Cancel replay'}
                </button>
              )}
              {done && correlationId && (
                <Link to="/graph" params={{ id: correlationId }}>
                  See the replay in the causation graph →
                </Link>
              )}
              <button type="button" className="secondary" onClick={onClose}>
                Close
              </button>
            </div>
            <Status of={{ error: cancel.error }} />
            {items && items.length > 0 && <ReplayItems items={items} />}
          </div>
        )}
      </div>
    </Modal>
  )
}

export function ReplayItems({ items }: { items: ReplayItem[] }) {
  return (
    <table className="table small">
      <thead>
        <tr>
          <th>#</th>
          <th>destination</th>
          <th>status</th>
          <th>new event id</th>
          <th>error</th>
        </tr>
      </thead>
      <tbody>
        {items.slice(0, 200).map((it) => (
          <tr key={it.seq}>
            <td className="num">{it.seq + 1}</td>
            <td>
              <span className={`sys sys-${it.system}`}>{it.system}</span> {it.destination}
            </td>
            <td>
              <Badge kind={it.status === 'sent' ? 'ok' : 'error'}>{it.status}</Badge>
            </td>
            <td className="mono">{it.new_event_id}</td>
            <td className="err">{it.error}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
