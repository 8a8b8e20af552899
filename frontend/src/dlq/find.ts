// findDLQEntry finds the dead letter of an entity in one request: the
// DLQ API's entries of its correlation (or, with no correlation, of its
// event), which the stores index, so an order dead-lettered long ago is
// found as well as one dead-lettered a minute ago.

import type { Query } from '../api/client'
import type { DLQEntry, DLQPage } from '../api/types'

// DLQTarget names the entity: its correlation id and, when known, the id
// of the event that was dead-lettered (the consumed message's event id,
// which its DLQ entry carries).
export interface DLQTarget {
  correlationId?: string
  eventId?: string
}

// maxEntries bounds the entries of one correlation read to choose from.
const maxEntries = 100

// findDLQEntry returns the entry of target.eventId among the entity's
// entries when it is there, else the entity's newest entry; null when it
// has none (or the target names nothing).
export async function findDLQEntry(
  list: (q: Query, signal?: AbortSignal) => Promise<Pick<DLQPage, 'entries'>>,
  target: DLQTarget,
  signal?: AbortSignal,
): Promise<DLQEntry | null> {
  const { correlationId, eventId } = target
  if (!correlationId && !eventId) return null
  const q: Query = correlationId ? { correlation_id: correlationId, limit: maxEntries } : { event_id: eventId, limit: maxEntries }
  const entries = (await list(q, signal)).entries ?? []
  return entries.find((e) => eventId && e.event_id === eventId) ?? entries[0] ?? null
}
