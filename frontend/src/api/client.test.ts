import { describe, expect, it } from 'vitest'
import { ApiError, Client, queryString } from './client'

function fakeFetch(status: number, body: string, seen: { url?: string; init?: RequestInit }[] = []) {
  return async (url: string, init?: RequestInit) => {
    seen.push({ url, init })
    return new Response(body, { status, headers: { 'Content-Type': 'application/json' } })
  }
}

describe('Client', () => {
  it('sends the token and decodes JSON', async () => {
    const seen: { url?: string; init?: RequestInit }[] = []
    const c = new Client(() => ({ studioUrl: 'http://studio:7070/', token: 'secret-token-123456' }), fakeFetch(200, '{"events":[],"next_cursor":""}', seen))
    const page = await c.events({ service: 'order-service', outcome: '', limit: 5 })
    expect(page.events).toEqual([])
    expect(seen[0].url).toBe('http://studio:7070/api/v1/events?service=order-service&limit=5')
    expect((seen[0].init!.headers as Record<string, string>).Authorization).toBe('Bearer secret-token-123456')
  })

  it('turns the API error body into an ApiError', async () => {
    const c = new Client(() => ({ studioUrl: '', token: '' }), fakeFetch(409, '{"error":{"code":"count_mismatch","message":"expected 3, found 4"}}'))
    const err = await c.startReplay({ dlq_ids: ['a', 'b'] }, 'k').catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ status: 409, code: 'count_mismatch', message: 'expected 3, found 4' })
  })

  it('reports a non-JSON error with its status and text', async () => {
    const c = new Client(() => ({ studioUrl: '', token: '' }), fakeFetch(502, 'Bad Gateway'))
    const err = await c.health().catch((e) => e)
    expect(err).toMatchObject({ status: 502, code: 'http_502' })
    expect(err.message).toContain('Bad Gateway')
  })

  it('hints at the token on 401 without an API body', async () => {
    const c = new Client(() => ({ studioUrl: '', token: '' }), fakeFetch(401, ''))
    const err = await c.rules().catch((e) => e)
    expect(err.message).toMatch(/token in Settings/)
  })

  it('says the studio is unreachable when fetch fails', async () => {
    const c = new Client(() => ({ studioUrl: 'http://nowhere:1', token: '' }), async () => {
      throw new TypeError('Failed to fetch')
    })
    const err = await c.health().catch((e) => e)
    expect(err).toMatchObject({ status: 0, code: 'unreachable' })
    expect(err.message).toContain('http://nowhere:1')
  })

  it('rejects a 200 that is not JSON', async () => {
    const c = new Client(() => ({ studioUrl: '', token: '' }), fakeFetch(200, '<html>placeholder</html>'))
    await expect(c.flows({})).rejects.toMatchObject({ code: 'bad_response' })
  })

  it('posts replays with dry_run and the idempotency key', async () => {
    const seen: { url?: string; init?: RequestInit }[] = []
    const c = new Client(() => ({ studioUrl: '', token: '' }), fakeFetch(202, '{"id":"r1","state":"queued"}', seen))
    await c.startReplay({ dlq_ids: ['x'], reason: 'ok' }, 'key-1')
    await c.previewReplay({ dlq_ids: ['x'] })
    expect(JSON.parse(seen[0].init!.body as string)).toEqual({ dlq_ids: ['x'], reason: 'ok', dry_run: false })
    expect((seen[0].init!.headers as Record<string, string>)['Idempotency-Key']).toBe('key-1')
    expect(JSON.parse(seen[1].init!.body as string)).toEqual({ dlq_ids: ['x'], dry_run: true })
    expect((seen[1].init!.headers as Record<string, string>)['Idempotency-Key']).toBeUndefined()
  })

  it('turns null lists into empty ones', async () => {
    const c = (body: string) => new Client(() => ({ studioUrl: '', token: '' }), fakeFetch(200, body))
    expect((await c('{"events":null,"next_cursor":""}').events({})).events).toEqual([])
    expect(await c('{"nodes":null,"edges":null,"truncated":false}').graph({})).toEqual({ nodes: [], edges: [], truncated: false })
    expect((await c('{"groups":[{"group":"g","partitions":null}]}').lag()).groups[0].partitions).toEqual([])
    expect((await c('{"group":"g","samples":null}').lagSeries({})).samples).toEqual([])
    expect((await c('{"entries":null,"groups":null,"next_cursor":""}').dlq({})).entries).toEqual([])
    expect((await c('{"rules":null}').rules()).rules).toEqual([])
  })

  it('accepts an empty 204', async () => {
    const c = new Client(() => ({ studioUrl: '', token: '' }), async () => new Response(null, { status: 204 }))
    await expect(c.deleteRule('r')).resolves.toBeUndefined()
  })
})

describe('queryString', () => {
  it('skips empty values and escapes', () => {
    expect(queryString({ a: '', b: undefined, c: null, d: 0, e: 'x y&z' })).toBe('?d=0&e=x+y%26z')
    expect(queryString({})).toBe('')
  })
})
