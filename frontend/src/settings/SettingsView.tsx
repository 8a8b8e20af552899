// Settings: which studio to talk to and with which token (kept in
// localStorage; the desktop app points this at a remote studio), the
// theme, and a connection check.

import { useState } from 'react'
import { Client } from '../api/client'
import { Status } from '../ui/Status'
import { useLiveStatus } from '../api/resource'
import { loadSettings, saveSettings, type Settings, type Theme } from './settings'

export function SettingsView() {
  const [s, setS] = useState<Settings>(loadSettings)
  const [saved, setSaved] = useState(false)
  const [check, setCheck] = useState<{ busy: boolean; ok?: string; error?: Error }>({ busy: false })
  const live = useLiveStatus()

  const update = (patch: Partial<Settings>) => {
    setS((cur) => ({ ...cur, ...patch }))
    setSaved(false)
  }
  const test = async () => {
    setCheck({ busy: true })
    // Check what is typed, before saving it.
    const c = new Client(() => s)
    try {
      await c.health()
      const { rules } = await c.rules() // needs a valid token when tokens are configured
      setCheck({ busy: false, ok: `Connected: the studio answers and accepts the token (${rules.length} alert rules visible).` })
    } catch (error) {
      setCheck({ busy: false, error: error as Error })
    }
  }

  return (
    <section className="view view-settings">
      <header className="view-header">
        <h1>Settings</h1>
      </header>
      <form
        className="settings"
        onSubmit={(e) => {
          e.preventDefault()
          saveSettings(s)
          setSaved(true)
        }}
      >
        <fieldset>
          <legend>Connection</legend>
          <label>
            Studio URL
            <input name="studioUrl" value={s.studioUrl} onChange={(e) => update({ studioUrl: e.target.value })} placeholder={`this page's studio (${location.origin})`} spellCheck={false} />
            <span className="muted small">Empty: the studio serving this page. Another studio must allow this origin.</span>
          </label>
          <label>
            API token
            <input name="token" type="password" value={s.token} onChange={(e) => update({ token: e.target.value })} placeholder="none (loopback studio without tokens)" autoComplete="off" />
            <span className="muted small">Sent as Authorization: Bearer, and as access_token on the live websocket. Kept in this browser's local storage.</span>
          </label>
          <div className="actions">
            <button type="button" className="secondary" onClick={test} disabled={check.busy}>
              {check.busy ? 'Checking…' : 'Test connection'}
            </button>
            <span className="small">
              Live updates: <b data-testid="settings-live">{live.status}</b>
              {live.detail && <span className="muted"> ({live.detail})</span>}
            </span>
          </div>
          {check.ok && <p className="ok-text">{check.ok}</p>}
          <Status of={{ error: check.error }} />
        </fieldset>
        <fieldset>
          <legend>Theme</legend>
          <div className="segmented" role="radiogroup" aria-label="Theme">
            {(['system', 'light', 'dark'] as Theme[]).map((t) => (
              <button
                key={t}
                type="button"
                role="radio"
                aria-checked={s.theme === t}
                className={s.theme === t ? 'on' : ''}
                onClick={() => {
                  const next = { ...s, theme: t }
                  setS(next)
                  // The theme applies at once; connection changes wait for Save.
                  saveSettings({ ...loadSettings(), theme: t })
                }}
              >
                {t}
              </button>
            ))}
          </div>
        </fieldset>
        <div className="actions">
          <button type="submit">Save</button>
          {saved && <span className="ok-text">Saved; the live connection reconnects.</span>}
        </div>
      </form>
    </section>
  )
}
