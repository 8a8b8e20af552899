// SearchBox is the studio's one search box, in the sidebar of every view
// (`/` focuses it): any id — correlation id, event id, trace id or a
// Kafka/NATS message key — opens its causation graph, found by one
// request (GET /graph?id=), which says what the id matched.

import { useState } from 'react'
import { navigate, useRoute } from './route'

export function SearchBox() {
  const { path, params } = useRoute()
  const current = path === '/graph' ? (params.get('id') ?? '') : ''
  const [draft, setDraft] = useState(current)
  const [draftFor, setDraftFor] = useState(current)
  if (draftFor !== current) {
    setDraftFor(current)
    setDraft(current)
  }
  return (
    <form
      className="searchbox"
      role="search"
      onSubmit={(e) => {
        e.preventDefault()
        const id = draft.trim()
        if (id) navigate('/graph', { id })
      }}
    >
      <input
        data-search
        type="search"
        aria-label="Find any id: correlation id, order id, message key, trace id or event id"
        placeholder="Find any id…"
        title="A correlation id (an order id), a Kafka or NATS message key, a trace id or an event id"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        spellCheck={false}
      />
    </form>
  )
}
