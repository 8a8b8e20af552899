// Status is the one loading / empty / error state of every view: what a
// request is doing, said the same way everywhere.

import type { ReactNode } from 'react'
import { ApiError } from '../api/client'
import { Link } from './components'

// StatusOf is what Status needs of a request: a useResource result, or a
// hand-made one for an action (a save, a dry run).
export interface StatusOf<T> {
  data?: T
  error?: Error
  loading?: boolean
  reload?: () => void
}

// Status shows, in order: the error (with Retry when the request can be
// retried; data from before stays below it), a spinner until the first
// answer, the empty message when the answer holds nothing, and otherwise
// what children makes of the data.
export function Status<T>({
  of,
  what = 'data',
  empty,
  isEmpty,
  children,
}: {
  of: StatusOf<T>
  what?: string
  empty?: ReactNode
  isEmpty?: (d: T) => boolean
  children?: (d: T) => ReactNode
}) {
  const err = of.error && <ErrorBox error={of.error} retry={of.reload} />
  if (of.loading) {
    return (
      <>
        {err}
        <div className="state state-loading" role="status">
          <span className="spinner" aria-hidden /> Loading {what}…
        </div>
      </>
    )
  }
  if (of.data === undefined) return err || null
  if (empty !== undefined && isEmpty?.(of.data)) {
    return err || <div className="state state-empty">{empty}</div>
  }
  return (
    <>
      {err}
      {children?.(of.data)}
    </>
  )
}

// Nothing is Status's empty message on its own, for a view that has
// nothing to ask for yet (no id typed).
export function Nothing({ children }: { children: ReactNode }) {
  return <Status of={{ data: null }} empty={children} isEmpty={() => true} />
}

function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  const api = error instanceof ApiError ? error : undefined
  return (
    <div className="state state-error" role="alert">
      <strong>{api?.status === 0 ? 'Studio unreachable' : api ? `Request failed (${api.code})` : 'Something went wrong'}</strong>
      <span>{error.message}</span>
      {api && (api.status === 401 || api.status === 403) && <span>Check the API token in <Link to="/settings">Settings</Link>.</span>}
      {retry && (
        <button type="button" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  )
}
