// The studio shell: navigation, live connection status, theme, and the
// view the path names.

import { useEffect, useState } from 'react'
import { Link } from './ui/components'
import { SearchBox } from './ui/SearchBox'
import { views } from './routes'
import { useLiveStatus } from './api/resource'
import { navigate, useRoute } from './ui/route'
import { loadSettings, onSettings, type Theme } from './settings/settings'
import { AlertsView } from './alerts/AlertsView'
import { CausationView } from './causation/CausationView'
import { DLQView } from './dlq/DLQView'
import { EventsView } from './events/EventsView'
import { FlowMapView } from './flowmap/FlowMapView'
import { JourneysView } from './journeys/JourneysView'
import { LagView } from './lag/LagView'
import { SettingsView } from './settings/SettingsView'


function useTheme(): void {
  const [theme, setTheme] = useState<Theme>(loadSettings().theme)
  useEffect(() => onSettings((s) => setTheme(s.theme)), [])
  useEffect(() => {
    const mq = window.matchMedia('(prefers-color-scheme: dark)')
    const apply = () => {
      document.documentElement.dataset.theme = theme === 'system' ? (mq.matches ? 'dark' : 'light') : theme
    }
    apply()
    mq.addEventListener('change', apply)
    return () => mq.removeEventListener('change', apply)
  }, [theme])
}

function LiveIndicator() {
  const { status, detail } = useLiveStatus()
  const label = { idle: 'live: idle', connecting: 'connecting…', open: 'live', reconnecting: 'reconnecting…' }[status]
  return (
    <div className={`live-indicator live-${status}`} title={detail || (status === 'idle' ? 'this view follows no live data' : label)} data-testid="live-status">
      <span className="dot" aria-hidden /> {label}
    </div>
  )
}

export function App() {
  useTheme()
  const { path, params } = useRoute()
  useEffect(() => {
    if (!views.some((v) => v.path === path)) navigate('/flows', {}, true)
  }, [path])
  // g then a letter jumps between views, as in many consoles.
  useEffect(() => {
    let armed = false
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement
      if (t.closest('input, textarea, select, [contenteditable]') || e.metaKey || e.ctrlKey || e.altKey) return
      if (armed) {
        armed = false
        const v = views.find((x) => x.key === e.key)
        if (v) navigate(v.path)
        return
      }
      if (e.key === 'g') armed = true
      if (e.key === '/') {
        const search = document.querySelector<HTMLInputElement>('[data-search]')
        if (search) {
          e.preventDefault()
          search.focus()
        }
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [])

  let view
  switch (path) {
    case '/journeys':
      view = <JourneysView params={params} />
      break
    case '/graph':
      view = <CausationView params={params} />
      break
    case '/events':
      view = <EventsView params={params} />
      break
    case '/lag':
      view = <LagView params={params} />
      break
    case '/dlq':
      view = <DLQView params={params} />
      break
    case '/alerts':
      view = <AlertsView />
      break
    case '/settings':
      view = <SettingsView />
      break
    default:
      view = <FlowMapView params={params} />
  }
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Views">
        <div className="brand">
          <span className="logo" aria-hidden>
            ⟿
          </span>{' '}
          Causeway
        </div>
        <SearchBox />
        <ul>
          {views.map((v) => (
            <li key={v.path}>
              <Link to={v.path} className={path === v.path ? 'active' : ''} current={path === v.path}>
                {v.label}
              </Link>
            </li>
          ))}
        </ul>
        <LiveIndicator />
        <p className="hint">
          <kbd>/</kbd> search · <kbd>g</kbd> then <kbd>f j g e l d a s</kbd> views
        </p>
      </nav>
      <main className="main">{view}</main>
    </div>
  )
}
