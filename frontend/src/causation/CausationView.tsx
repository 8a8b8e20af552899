// Causation graph of any id — a correlation id, an event id, a trace id
// or a message key, typed into the one search box (ui/SearchBox) and
// found by one request that says what it matched — drawn on a canvas,
// with a waterfall beside it and the selected event's details. Follows
// the correlation live: new events (a replay, say) appear as new branches
// without a reload.

import { useMemo, useState } from 'react'
import { api } from '../api/client'
import { layoutCausation } from './causation'
import { KeyValues, Link, Refreshing } from '../ui/components'
import { Nothing, Status } from '../ui/Status'
import { fmtBytes, fmtClock, fmtDuration, idKindLabel, matchedLabel } from '../ui/format'
import { useResource } from '../api/resource'
import type { Graph, IdKind, IdMatch } from '../api/types'
import { CausationCanvas } from './CausationCanvas'
import { StuckPoint } from './StuckPoint'
import { Timeline } from './Timeline'

interface Found {
  matched: IdMatch
  graph: Graph
  arrivedAt: number
}

const kinds: IdKind[] = ['correlation_id', 'event_id', 'trace_id', 'message_key']

// find asks for the graph of id in one request: the studio tries it as
// each kind of id and says which matched; a link that knows the kind
// (a trace id from an event's details) asks for that kind only.
async function find(id: string, kind: IdKind | null, signal: AbortSignal): Promise<Found> {
  const graph = await api.graph(kind && kind !== 'message_key' ? { [kind]: id, max_nodes: 2000 } : { id, max_nodes: 2000 }, signal)
  const matched: IdMatch = kind ?? graph.matched ?? (graph.nodes.length ? 'correlation_id' : 'none')
  return { matched: graph.nodes.length ? matched : 'none', graph, arrivedAt: performance.now() }
}

export function CausationView({ params }: { params: URLSearchParams }) {
  const id = (params.get('id') ?? '').trim()
  const kindParam = kinds.find((k) => k === params.get('kind')) ?? null
  // event: the stuck point a journey's list links to, selected at first.
  const eventParam = params.get('event')
  const journeyParam = params.get('journey')
  const [selId, setSelId] = useState<string | null>(null)
  const [paintMs, setPaintMs] = useState<number | null>(null)

  const [follow, setFollow] = useState<{ correlation_id?: string; trace_id?: string } | null>(null)
  const res = useResource<Found | null>(
    (signal) => (id ? find(id, kindParam, signal) : Promise.resolve(null)),
    [id, kindParam],
    follow ? { channel: 'events', filter: follow, throttleMs: 1000 } : null,
  )
  const found = res.data
  const layout = useMemo(() => (found && found.graph.nodes.length ? layoutCausation(found.graph) : null), [found])
  // The selection is kept by node id: a live refetch re-numbers the nodes.
  // A message's events share its event id (publish, process, dead letter):
  // the stuck point is the last of them.
  const stuckAt = useMemo(() => {
    let at = -1
    layout?.nodes.forEach((n, i) => {
      if (n.ev.event_id === eventParam && (at < 0 || n.ev.start_ns >= layout.nodes[at].ev.start_ns)) at = i
    })
    return at
  }, [layout, eventParam])
  const selected = layout && selId ? layout.index.get(selId) ?? null : stuckAt >= 0 ? stuckAt : null
  const setSelected = (i: number) => layout && setSelId(layout.nodes[i].id)

  // Follow what the graph is about: its correlation id, else its trace.
  const corr = layout?.correlationId
  const trace = found?.matched === 'trace_id' ? id.toLowerCase() : undefined
  const want = corr ? { correlation_id: corr } : trace ? { trace_id: trace } : null
  if (JSON.stringify(want) !== JSON.stringify(follow)) setFollow(want)

  const sel = layout && selected !== null ? layout.nodes[selected] : undefined
  const systems = layout ? [...new Set(layout.nodes.map((n) => n.ev.system).filter(Boolean))] : []
  const services = layout ? new Set(layout.nodes.map((n) => n.ev.service)).size : 0
  const replays = layout ? layout.nodes.filter((n) => n.ev.op === 'replay').length : 0

  return (
    <section className="view view-graph">
      <header className="view-header">
        <h1>Causation graph</h1>
        <Refreshing on={res.refreshing} />
      </header>
      {!id ? (
        <Nothing>Type any id into the search box (<kbd>/</kbd>): a correlation id (an order id), a Kafka or NATS message key, a trace id or an event id. Any event in Events links here too.</Nothing>
      ) : (
        <Status
          of={res}
          what={`the graph of ${id}`}
          isEmpty={() => !layout}
          empty={<>No events found for <code>{id}</code>{kindParam ? ` as a ${idKindLabel[kindParam]}` : ': no event carries it as a correlation id, event id, trace id or message key'}.</>}
        >
          {() => layout && (
            <>
              <div className="graph-summary" data-testid="graph-summary" data-paint-ms={paintMs ?? ''}>
                <span data-testid="graph-matched" data-matched={found!.matched}>
                  <code>{id}</code> matched {found!.matched !== 'none' && matchedLabel(found!.matched, systemOfKey(found!.graph, id))}
                </span>
                <span>{layout.nodes.length} events</span>
                <span>{layout.edges.length} edges</span>
                <span>{services} services</span>
                <span>{systems.join(' + ')}</span>
                <span>{fmtDuration(layout.t1 - layout.t0)} end to end</span>
                {replays > 0 && <span className="mark-replay">{replays} replay{replays > 1 ? 's' : ''}</span>}
                {found!.graph.truncated && <span className="warn">truncated: a bound stopped the walk</span>}
                {follow && <span className="muted">following live</span>}
              </div>
              <div className="graph-layout">
                <CausationCanvas layout={layout} selected={selected} marked={stuckAt >= 0 ? stuckAt : null} onSelect={setSelected} arrivedAt={found!.arrivedAt} onPainted={setPaintMs} />
                <div className="graph-side">
                  {(journeyParam || eventParam) && corr && <StuckPoint correlationId={corr} journey={journeyParam} events={found!.graph.nodes} />}
                  <Timeline layout={layout} selected={selected} onSelect={setSelected} />
                  {sel ? (
                    <div className="graph-detail" aria-live="polite">
                      <h2>
                        {sel.ev.event_type || sel.ev.op} <small>{sel.ev.service}</small>
                      </h2>
                      <KeyValues
                        rows={[
                          ['operation', `${sel.ev.op} · ${sel.ev.outcome}${sel.ev.attempt ? ` · attempt ${sel.ev.attempt}` : ''}`],
                          ['destination', `${sel.ev.system ?? ''} ${sel.ev.destination ?? ''}${sel.ev.partition >= 0 ? ` [${sel.ev.partition}]` : ''}${sel.ev.offset >= 0 ? ` @${sel.ev.offset}` : ''}`],
                          ['started', fmtClock(sel.ev.start_ns)],
                          ['duration', fmtDuration(sel.ev.duration_ns)],
                          ['event id', <code key="e">{sel.ev.event_id}</code>],
                          ['trace id', <Link key="t" to="/graph" params={{ id: sel.ev.trace_id, kind: 'trace_id' }}>{sel.ev.trace_id}</Link>],
                          ['replay of', sel.ev.replay_of ?? ''],
                          ['payload', sel.ev.payload_size >= 0 ? fmtBytes(sel.ev.payload_size) : ''],
                          ['error', sel.ev.error ?? ''],
                        ]}
                      />
                      <Link to="/events" params={{ trace_id: sel.ev.trace_id }}>
                        All events of this trace →
                      </Link>
                    </div>
                  ) : (
                    <p className="muted small">Select an event in the graph or the list for its details.</p>
                  )}
                </div>
              </div>
              <div className="legend graph-legend">
                <span className="sys-kafka">▌Kafka</span>
                <span className="sys-nats">▌NATS</span>
                <span className="mark-replay">- - replay branch</span>
                <span className="mark-dlq">- - DLQ hop</span>
                <span className="mark-retry">— retry</span>
              </div>
            </>
          )}
        </Status>
      )}
    </section>
  )
}

// systemOfKey is the system of an event whose message key is id, which
// tells a Kafka record key from a NATS message id.
function systemOfKey(g: Graph, id: string): string | undefined {
  return g.nodes.find((e) => e.message_key === id)?.system
}
