// findDLQEntry finds the newest dead letter of a correlation. The DLQ API
// filters by source, destination and reason, not by correlation, so this
// reads the newest pages (at most maxPages of 500) and looks.

import type { Query } from '../api/client'
import type { DLQEntry, DLQPage } from '../api/types'

export async function findDLQEntry(
  list: (q: Query, signal?: AbortSignal) => Promise<Pick<DLQPage, 'entries' | 'next_cursor'>>,
  correlationId: string,
  signal?: AbortSignal,
  maxPages = 4,
): Promise<DLQEntry | null> {
  let cursor: string | undefined
  for (let i = 0; i < maxPages; i++) {
    const page = await list({ limit: 500, cursor }, signal)
    const hit = (page.entries ?? []).find((e) => e.correlation_id === correlationId)
    if (hit) return hit
    if (!page.next_cursor) return null
    cursor = page.next_cursor
  }
  return null
}
