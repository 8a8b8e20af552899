// Consumer lag: every group's status (Burrow-style OK, WARN, ERR, STOP,
// STALL, REWIND), lag in messages and seconds per partition, and a chart
// of the selected group over time. Live on the "lag" channel.

import { useMemo } from 'react'
import { api } from '../api/client'
import { Badge, Refreshing, WindowPicker } from '../ui/components'
import { Status } from '../ui/Status'
import { fmtAgo, fmtCount, fmtSeconds } from '../ui/format'
import { useResource } from '../api/resource'
import { navigate } from '../ui/route'
import { lagColumns } from './lagseries'
import { LagChart } from './LagChart'

// seriesLimit is the most samples a chart asks for (the API's maximum page).
const seriesLimit = 10000

const statusHelp: Record<string, string> = {
  OK: 'consuming and keeping up',
  WARN: 'lag is growing',
  ERR: 'committed offsets stopped while lag exists',
  STOP: 'no commits for a long time',
  STALL: 'committing the same offset while lag exists',
  REWIND: 'the committed offset went backwards',
}

export function LagView({ params }: { params: URLSearchParams }) {
  const win = params.get('window') ?? '15m'
  const groups = useResource((signal) => api.lag({}, signal), [], { channel: 'lag', throttleMs: 2000 })
  const list = groups.data?.groups ?? []
  const group = params.get('group') ?? list[0]?.group ?? ''
  const current = list.find((g) => g.group === group)
  const series = useResource(
    (signal) => (group ? api.lagSeries({ group, since: win, limit: seriesLimit }, signal) : Promise.resolve(null)),
    [group, win],
    group ? { channel: 'lag', filter: { group }, throttleMs: 2000 } : null,
  )
  const cols = useMemo(() => (series.data ? lagColumns(series.data.samples) : null), [series.data])
  const now = Date.now()

  return (
    <section className="view view-lag">
      <header className="view-header">
        <h1>Consumer lag</h1>
        <WindowPicker value={win} onChange={(w) => navigate('/lag', { group, window: w }, true)} label="Chart window" />
        <Refreshing on={groups.refreshing || series.refreshing} />
      </header>
      <Status of={groups} what="consumer groups" isEmpty={() => list.length === 0} empty={<>No lag samples in the last 5 minutes. The broker sidecar (causeway agent) reports consumer lag.</>}>
        {() => (
          <div className="lag-layout">
            <div className="table-wrap lag-groups">
              <table className="table" data-testid="lag-groups">
                <thead>
                  <tr>
                    <th>group</th>
                    <th>status</th>
                    <th>lag</th>
                    <th>seconds</th>
                    <th>updated</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((g) => (
                    <tr
                      key={g.system + g.group}
                      className={g.group === group ? 'active' : ''}
                      onClick={() => navigate('/lag', { group: g.group, window: win })}
                      data-testid="lag-group"
                      data-group={g.group}
                    >
                      <td>
                        <button type="button" className="plain" onClick={() => navigate('/lag', { group: g.group, window: win })}>
                          <span className={`sys sys-${g.system}`}>{g.system}</span> {g.group}
                        </button>
                      </td>
                      <td>
                        <Badge kind={g.status} title={statusHelp[g.status]}>
                          {g.status}
                        </Badge>
                      </td>
                      <td className="num">{fmtCount(g.total_lag)}</td>
                      <td className="num">{fmtSeconds(g.max_lag_seconds)}</td>
                      <td className="muted small">{fmtAgo(Date.parse(g.time), now)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="lag-detail">
              {current && (
                <>
                  <h2>
                    {current.group} <Badge kind={current.status}>{current.status}</Badge> <small className="muted">{statusHelp[current.status]}</small>
                  </h2>
                  <Status of={series} what="the lag series" isEmpty={() => !cols || cols.x.length === 0} empty={<>No samples for {current.group} in the last {win}.</>}>
                    {(d) => <LagChart cols={cols!} title={`${current.group}: lag over the last ${win}${d!.samples.length >= seriesLimit ? ` (the newest ${fmtCount(seriesLimit)} samples)` : ''}`} />}
                  </Status>
                  <table className="table small" data-testid="lag-partitions">
                    <thead>
                      <tr>
                        <th>topic / stream</th>
                        <th>partition</th>
                        <th>status</th>
                        <th>committed</th>
                        <th>end</th>
                        <th>lag</th>
                        <th>seconds</th>
                      </tr>
                    </thead>
                    <tbody>
                      {current.partitions.map((p) => (
                        <tr key={p.topic + p.partition}>
                          <td>{p.topic}</td>
                          <td className="num">{p.partition >= 0 ? p.partition : '–'}</td>
                          <td>
                            <Badge kind={p.status} title={statusHelp[p.status]}>
                              {p.status}
                            </Badge>
                          </td>
                          <td className="num">{p.committed >= 0 ? fmtCount(p.committed) : '–'}</td>
                          <td className="num">{p.end >= 0 ? fmtCount(p.end) : '–'}</td>
                          <td className="num">{fmtCount(p.lag)}</td>
                          <td className="num">{fmtSeconds(p.lag_seconds)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
              {!current && group && <Status of={{ data: group }} isEmpty={() => true} empty={<>No recent lag for {group}.</>} />}
            </div>
          </div>
        )}
      </Status>
    </section>
  )
}
