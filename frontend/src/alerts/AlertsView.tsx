// Alerts: the rules with their state, an editor, a send-test button per
// rule, and the firing history, live on the "alerts" channel.

import { useEffect, useState } from 'react'
import { api } from '../api/client'
import { Badge, Link, Modal, Refreshing } from '../ui/components'
import { Status } from '../ui/Status'
import { fmtDateTime } from '../ui/format'
import { useLiveData, useResource } from '../api/resource'
import type { AlertEvent, AlertLink, Rule, RuleKind, RuleStatus } from '../api/types'

const kinds: { kind: RuleKind; label: string; unit: string }[] = [
  { kind: 'lag_messages', label: 'Lag in messages', unit: 'messages (total of the group)' },
  { kind: 'lag_seconds', label: 'Lag in seconds', unit: 'seconds (oldest unconsumed message)' },
  { kind: 'lag_status', label: 'Lag status', unit: '' },
  { kind: 'dlq_arrivals', label: 'DLQ arrivals', unit: 'dead letters within the window' },
  { kind: 'error_rate', label: 'Handler error rate', unit: 'ratio 0..1 within the window' },
  { kind: 'e2e_latency', label: 'End-to-end latency', unit: 'p99 seconds from one event type to another' },
  { kind: 'journey_stuck', label: 'Journey: entities stuck', unit: 'entities stuck at one step' },
  { kind: 'journey_slo', label: 'Journey: SLO attainment', unit: 'ratio 0..1 within the window (0: the journey’s target)' },
]
const statuses = ['WARN', 'ERR', 'STOP', 'STALL', 'REWIND']

export function describeRule(r: Rule): string {
  const scope = r.group ? ` of ${r.group}` : r.destination ? ` on ${r.destination}` : ''
  switch (r.kind) {
    case 'lag_messages':
      return `lag${scope || ' of any group'} > ${r.threshold} messages`
    case 'lag_seconds':
      return `lag${scope || ' of any group'} > ${r.threshold} s`
    case 'lag_status':
      return `status${scope || ' of any group'} in ${(r.statuses ?? []).join(', ')}`
    case 'dlq_arrivals':
      return `> ${r.threshold} dead letters${scope} in ${r.window || '5m'}`
    case 'error_rate':
      return `error rate${scope} > ${(r.threshold * 100).toFixed(1)}% in ${r.window || '5m'}`
    case 'e2e_latency':
      return `p99 ${r.from_event_type} → ${r.to_event_type} > ${r.threshold} s in ${r.window || '5m'}`
    case 'journey_stuck':
      return `> ${r.threshold} ${r.journey} stuck${r.step ? ` at ${r.step}` : ' at a step'}`
    case 'journey_slo':
      return `${r.journey} SLO attainment < ${r.threshold ? `${(r.threshold * 100).toFixed(1)}%` : 'its target'} in ${r.window || '5m'}`
  }
}

export function AlertsView() {
  const rules = useResource((signal) => api.rules(signal), [], { channel: 'alerts', throttleMs: 500 })
  const history = useResource((signal) => api.alertEvents(signal), [])
  const [events, setEvents] = useState<AlertEvent[]>([])
  useEffect(() => setEvents(history.data?.events ?? []), [history.data])
  useLiveData('alerts', {}, (d) => setEvents((cur) => [d as AlertEvent, ...cur].slice(0, 1000)), history.reload)
  const [editing, setEditing] = useState<{ rule: Rule; isNew: boolean } | null>(null)
  const [tests, setTests] = useState<Record<string, { busy: boolean; result?: AlertEvent; error?: Error }>>({})
  const [del, setDel] = useState<{ id: string; error?: Error } | null>(null)

  const sendTest = (id: string) => {
    setTests((t) => ({ ...t, [id]: { busy: true } }))
    api.testRule(id).then(
      (result) => setTests((t) => ({ ...t, [id]: { busy: false, result } })),
      (error: Error) => setTests((t) => ({ ...t, [id]: { busy: false, error } })),
    )
  }
  const list = rules.data?.rules ?? []

  return (
    <section className="view view-alerts">
      <header className="view-header">
        <h1>Alerts</h1>
        <button type="button" onClick={() => setEditing({ rule: { id: '', name: '', kind: 'lag_messages', threshold: 100, for: '30s', webhooks: [] }, isNew: true })} data-testid="new-rule">
          New rule
        </button>
        <Refreshing on={rules.refreshing} />
      </header>
      <div className="alerts-layout">
        <div>
          <h2>Rules</h2>
          <Status of={rules} what="rules" isEmpty={() => list.length === 0} empty={<>No rules. Add one here, or in the configuration file under studio.alerts.</>}>
            {() => (
              <ul className="rules" data-testid="rules">
                {list.map((r: RuleStatus) => {
                  const t = tests[r.id]
                  return (
                    <li key={r.id} className={`rule state-${r.state}`} data-testid="rule" data-id={r.id}>
                      <div className="rule-head">
                        <Badge kind={r.state}>{r.state}</Badge>
                        <strong>{r.name}</strong>
                        <span className="muted small">{r.id}</span>
                      </div>
                      <div className="small">
                        {describeRule(r)}
                        {r.for && ` for ${r.for}`}
                        {r.since && r.state !== 'ok' && <span className="muted"> · since {fmtDateTime(r.since)}</span>}
                      </div>
                      <div className="small muted">
                        {(r.webhooks ?? []).length ? (r.webhooks ?? []).map((w) => `${w.format || 'json'} → ${w.url}`).join(', ') : 'no webhooks (logged only)'}
                        {r.updated_by && ` · changed by ${r.updated_by}`}
                      </div>
                      <div className="actions">
                        <button type="button" className="secondary small" onClick={() => setEditing({ rule: stripState(r), isNew: false })}>
                          Edit
                        </button>
                        <button type="button" className="secondary small" disabled={t?.busy} onClick={() => sendTest(r.id)} data-testid="send-test">
                          {t?.busy ? 'Sending…' : 'Send test'}
                        </button>
                        <button type="button" className="secondary small danger-text" onClick={() => setDel({ id: r.id })}>
                          Delete
                        </button>
                      </div>
                      <Status of={{ error: t?.error }} />
                      {t?.result && (
                        <p className="small test-result" data-testid="test-result">
                          Test sent: delivered to {t.result.delivered} webhook{t.result.delivered === 1 ? '' : 's'}
                          {t.result.failed?.length ? <span className="err">, failed: {t.result.failed.join('; ')}</span> : ''}
                          {(r.webhooks ?? []).length === 0 && ' (this rule has no webhooks)'}
                        </p>
                      )}
                    </li>
                  )
                })}
              </ul>
            )}
          </Status>
        </div>
        <div>
          <h2>History</h2>
          <Status of={history} what="alert history" isEmpty={() => events.length === 0} empty={<>Nothing has fired yet. Firing, resolved and test notifications appear here live.</>}>
            {() => (
              <table className="table small" data-testid="alert-history">
                <thead>
                  <tr>
                    <th>at</th>
                    <th>status</th>
                    <th>rule</th>
                    <th>summary</th>
                    <th>delivered</th>
                  </tr>
                </thead>
                <tbody>
                  {events.map((e, i) => (
                    <tr key={e.at + e.rule_id + i}>
                      <td>{fmtDateTime(e.at)}</td>
                      <td>
                        <Badge kind={e.status}>{e.status}</Badge>
                      </td>
                      <td>{e.rule_name}</td>
                      <td>
                        {e.summary}
                        <AlertLinks links={e.links ?? []} />
                      </td>
                      <td>
                        {e.delivered}
                        {e.failed?.length ? <span className="err" title={e.failed.join('\n')}> · {e.failed.length} failed</span> : ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Status>
        </div>
      </div>
      {editing && (
        <RuleEditor
          initial={editing.rule}
          isNew={editing.isNew}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null)
            rules.reload()
          }}
        />
      )}
      {del && (
        <Modal title={`Delete rule ${del.id}?`} onClose={() => setDel(null)}>
          <p>The rule stops being evaluated; its history stays.</p>
          <Status of={{ error: del.error }} />
          <div className="actions">
            <button
              type="button"
              className="danger"
              onClick={() =>
                api.deleteRule(del.id).then(
                  () => {
                    setDel(null)
                    rules.reload()
                  },
                  (error: Error) => setDel({ id: del.id, error }),
                )
              }
            >
              Delete
            </button>
            <button type="button" className="secondary" onClick={() => setDel(null)}>
              Keep
            </button>
          </div>
        </Modal>
      )}
    </section>
  )
}

function stripState(r: RuleStatus): Rule {
  const { state: _s, since: _t, ...rule } = r
  void _s
  void _t
  return rule
}

// AlertLinks shows a notification's links to the views that explain it;
// a link to this studio opens in the app, one to another (its public URL
// differs) as a page.
function AlertLinks({ links }: { links: AlertLink[] }) {
  if (!links.length) return null
  return (
    <span className="alert-links">
      {links.map((l) => {
        const u = new URL(l.url, location.origin)
        return u.origin === location.origin ? (
          <Link key={l.url} to={u.pathname} params={Object.fromEntries(u.searchParams)} className="button small">
            {l.label}
          </Link>
        ) : (
          <a key={l.url} href={l.url} className="button small">
            {l.label}
          </a>
        )
      })}
    </span>
  )
}

function RuleEditor({ initial, isNew, onClose, onSaved }: { initial: Rule; isNew: boolean; onClose: () => void; onSaved: () => void }) {
  const [r, setR] = useState<Rule>({ ...initial, webhooks: initial.webhooks ?? [] })
  const [saving, setSaving] = useState<{ busy: boolean; error?: Error }>({ busy: false })
  const set = (patch: Partial<Rule>) => setR((cur) => ({ ...cur, ...patch }))
  const k = r.kind
  const unit = kinds.find((x) => x.kind === k)?.unit
  const save = async () => {
    setSaving({ busy: true })
    const rule: Rule = {
      ...r,
      id: r.id.trim() || slug(r.name),
      group: ['lag_messages', 'lag_seconds', 'lag_status'].includes(k) ? r.group || undefined : undefined,
      destination: ['dlq_arrivals', 'error_rate'].includes(k) ? r.destination || undefined : undefined,
      statuses: k === 'lag_status' ? r.statuses : undefined,
      from_event_type: k === 'e2e_latency' ? r.from_event_type : undefined,
      to_event_type: k === 'e2e_latency' ? r.to_event_type : undefined,
      journey: k === 'journey_stuck' || k === 'journey_slo' ? r.journey : undefined,
      step: k === 'journey_stuck' ? r.step || undefined : undefined,
      window: ['dlq_arrivals', 'error_rate', 'e2e_latency', 'journey_slo'].includes(k) ? r.window || undefined : undefined,
      for: r.for || undefined,
      threshold: k === 'lag_status' ? 0 : Number(r.threshold),
      webhooks: (r.webhooks ?? []).filter((w) => w.url.trim()),
    }
    try {
      await api.saveRule(rule, isNew)
      onSaved()
    } catch (error) {
      setSaving({ busy: false, error: error as Error })
    }
  }
  return (
    <Modal title={isNew ? 'New alert rule' : `Edit ${initial.name}`} onClose={onClose}>
      <form
        className="rule-editor"
        data-testid="rule-editor"
        onSubmit={(e) => {
          e.preventDefault()
          void save()
        }}
      >
        <div className="row2">
          <label>
            Name
            <input name="name" value={r.name} onChange={(e) => set({ name: e.target.value })} required />
          </label>
          <label>
            Id
            <input name="id" value={r.id} onChange={(e) => set({ id: e.target.value })} disabled={!isNew} placeholder={slug(r.name) || 'from the name'} />
          </label>
        </div>
        <label>
          Kind
          <select name="kind" value={k} onChange={(e) => set({ kind: e.target.value as RuleKind })}>
            {kinds.map((x) => (
              <option key={x.kind} value={x.kind}>
                {x.label}
              </option>
            ))}
          </select>
        </label>
        {(k === 'lag_messages' || k === 'lag_seconds' || k === 'lag_status') && (
          <label>
            Consumer group (empty: every group)
            <input name="group" value={r.group ?? ''} onChange={(e) => set({ group: e.target.value })} />
          </label>
        )}
        {(k === 'dlq_arrivals' || k === 'error_rate') && (
          <label>
            Destination (empty: all)
            <input name="destination" value={r.destination ?? ''} onChange={(e) => set({ destination: e.target.value })} />
          </label>
        )}
        {k === 'e2e_latency' && (
          <div className="row2">
            <label>
              From event type
              <input name="from_event_type" value={r.from_event_type ?? ''} onChange={(e) => set({ from_event_type: e.target.value })} required />
            </label>
            <label>
              To event type
              <input name="to_event_type" value={r.to_event_type ?? ''} onChange={(e) => set({ to_event_type: e.target.value })} required />
            </label>
          </div>
        )}
        {(k === 'journey_stuck' || k === 'journey_slo') && (
          <div className="row2">
            <label>
              Journey
              <input name="journey" value={r.journey ?? ''} onChange={(e) => set({ journey: e.target.value })} required />
            </label>
            {k === 'journey_stuck' && (
              <label>
                Step (empty: any one step)
                <input name="step" value={r.step ?? ''} onChange={(e) => set({ step: e.target.value })} />
              </label>
            )}
          </div>
        )}
        {k === 'lag_status' ? (
          <fieldset className="checks">
            <legend>Fire on status</legend>
            {statuses.map((s) => (
              <label key={s} className="toggle">
                <input
                  type="checkbox"
                  checked={(r.statuses ?? []).includes(s)}
                  onChange={(e) => set({ statuses: e.target.checked ? [...(r.statuses ?? []), s] : (r.statuses ?? []).filter((x) => x !== s) })}
                />
                {s}
              </label>
            ))}
          </fieldset>
        ) : (
          <label>
            Threshold <span className="muted small">{unit}</span>
            <input name="threshold" type="number" step="any" min="0" value={r.threshold} onChange={(e) => set({ threshold: e.target.value === '' ? 0 : Number(e.target.value) })} />
          </label>
        )}
        <div className="row2">
          {(k === 'dlq_arrivals' || k === 'error_rate' || k === 'e2e_latency' || k === 'journey_slo') && (
            <label>
              Window
              <input name="window" value={r.window ?? ''} onChange={(e) => set({ window: e.target.value })} placeholder="5m" />
            </label>
          )}
          <label>
            For (how long before firing)
            <input name="for" value={r.for ?? ''} onChange={(e) => set({ for: e.target.value })} placeholder="30s" />
          </label>
        </div>
        <fieldset>
          <legend>Webhooks</legend>
          {(r.webhooks ?? []).map((w, i) => (
            <div key={i} className="webhook-row">
              <input aria-label="Webhook URL" value={w.url} placeholder="https://…" onChange={(e) => set({ webhooks: (r.webhooks ?? []).map((x, j) => (j === i ? { ...x, url: e.target.value } : x)) })} />
              <select aria-label="Format" value={w.format || 'json'} onChange={(e) => set({ webhooks: (r.webhooks ?? []).map((x, j) => (j === i ? { ...x, format: e.target.value as 'json' | 'slack' } : x)) })}>
                <option value="json">signed JSON</option>
                <option value="slack">Slack</option>
              </select>
              <input aria-label="Signing secret" type="password" value={w.secret ?? ''} placeholder="secret (optional)" onChange={(e) => set({ webhooks: (r.webhooks ?? []).map((x, j) => (j === i ? { ...x, secret: e.target.value } : x)) })} />
              <button type="button" className="icon" aria-label="Remove webhook" onClick={() => set({ webhooks: (r.webhooks ?? []).filter((_, j) => j !== i) })}>
                ✕
              </button>
            </div>
          ))}
          <button type="button" className="secondary small" onClick={() => set({ webhooks: [...(r.webhooks ?? []), { url: '', format: 'json' }] })}>
            Add webhook
          </button>
        </fieldset>
        <Status of={{ error: saving.error }} />
        <div className="actions">
          <button type="submit" disabled={saving.busy || !r.name.trim()}>
            {saving.busy ? 'Saving…' : 'Save rule'}
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  )
}

export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60)
}
