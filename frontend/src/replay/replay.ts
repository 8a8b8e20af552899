// Replay helpers shared by the replay dialog and the replay history.

import type { Replay } from '../api/types'

export function newIdempotencyKey(): string {
  const b = new Uint8Array(16)
  crypto.getRandomValues(b)
  return 'ui-' + [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
}

export const replayDone = (r: Replay) => r.state === 'succeeded' || r.state === 'failed' || r.state === 'cancelled'

// newer keeps the later of two states of a replay: live frames and REST
// answers may arrive out of order.
export function newer(cur: Replay | undefined, next: Replay): Replay {
  if (!cur || cur.id !== next.id) return next
  return next.updated_ns >= cur.updated_ns ? { ...cur, ...next, items: next.items ?? cur.items } : cur
}

// mergeReplays applies live replay frames to a list, newest first.
export function mergeReplays(list: Replay[], r: Replay): Replay[] {
  const i = list.findIndex((x) => x.id === r.id)
  if (i < 0) return [r, ...list].sort((a, b) => b.created_ns - a.created_ns)
  const out = list.slice()
  out[i] = newer(list[i], r)
  return out
}
