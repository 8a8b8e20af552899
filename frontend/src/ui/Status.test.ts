import { createElement as h } from 'react'
import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/client'
import { Status, type StatusOf } from './Status'

const render = (of: StatusOf<string[]>, children = (d: string[]) => h('ul', null, d.join(','))) =>
  renderToStaticMarkup(h(Status<string[]>, { of, what: 'rules', empty: 'No rules.', isEmpty: (d: string[]) => d.length === 0, children }))

describe('Status', () => {
  it('says what is loading', () => {
    expect(render({ loading: true })).toContain('Loading rules…')
  })
  it('shows the data, or the empty message when there is none', () => {
    expect(render({ data: ['a', 'b'] })).toBe('<ul>a,b</ul>')
    expect(render({ data: [] })).toContain('state-empty')
    expect(render({ data: [] })).toContain('No rules.')
  })
  it('shows an error above the data from before, with Retry when it can retry', () => {
    const out = render({ data: ['a'], error: new ApiError(503, 'unavailable', 'store busy'), reload: () => {} })
    expect(out).toMatch(/role="alert".*Request failed \(unavailable\).*store busy.*Retry.*<ul>a<\/ul>/)
    expect(render({ error: new Error('boom') })).not.toContain('Retry')
  })
  it('says the studio is unreachable and where a token goes', () => {
    expect(render({ error: new ApiError(0, 'unreachable', 'cannot reach') })).toContain('Studio unreachable')
    expect(render({ error: new ApiError(401, 'unauthorized', 'no token') })).toContain('Settings')
  })
  it('shows no empty message over an error', () => {
    expect(render({ data: [], error: new Error('boom') })).not.toContain('No rules.')
  })
})
