// Shared by the e2e run and the graph benchmark: headless Chromium from
// Debian driven by playwright-core, free ports, the causeway demo as a
// child process, and cleanup that also runs on failure.

import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { createServer as createHTTPServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

// requireChromium stops the run when there is no browser: a missing
// browser never counts as a pass, in CI or locally.
export function requireChromium() {
  if (existsSync(chromiumPath)) return
  const ci = process.env.CI === 'true'
  console.error(
    `FAIL: no Chromium at ${chromiumPath}. Install Debian's chromium package (apt-get install chromium; .ci/setup does it)` +
      ` or set CHROMIUM_PATH.${ci ? ' CI=true: the browser tests are required.' : ' The browser tests did not run.'}`,
  )
  process.exit(1)
}

export async function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

const cleanups = []
export function onCleanup(fn) {
  cleanups.push(fn)
}
export async function cleanup() {
  while (cleanups.length) {
    const fn = cleanups.pop()
    try {
      await fn()
    } catch (err) {
      console.error('cleanup:', err.message)
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await cleanup()
    process.exit(130)
  })
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  onCleanup(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

// startDemo runs `causeway demo` on free ports with its own data dir and
// waits for the studio's health endpoint; args are added to its command
// line (e.g. ['--webhook', url]).
export async function startDemo(bin, { orderEvery = '100ms', args: extra = [] } = {}) {
  if (!existsSync(bin)) throw new Error(`no causeway binary at ${bin}: run \`go build -o bin/causeway ./cmd/causeway\` (after \`npm run build\`) or set CAUSEWAY_BIN`)
  const dir = tempDir('causeway-e2e-')
  const [kafka, nats, otlpHTTP, otlpGRPC, listen] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()])
  const log = join(dir, 'demo.log')
  const fd = openSync(log, 'a')
  const args = ['demo', '--data', join(dir, 'data'), '--kafka-port', String(kafka), '--nats-port', String(nats),
    '--otlp-http', `127.0.0.1:${otlpHTTP}`, '--otlp-grpc', `127.0.0.1:${otlpGRPC}`, '--listen', `127.0.0.1:${listen}`, '--order-every', orderEvery, ...extra]
  const proc = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true })
  let exited = null
  proc.on('exit', (code, signal) => (exited = { code, signal }))
  onCleanup(() => stopProcess(proc))
  const url = `http://127.0.0.1:${listen}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (exited) throw new Error(`causeway demo exited (${JSON.stringify(exited)}) before it was healthy; log: ${log}`)
    try {
      const r = await fetch(url + '/api/v1/health')
      if (r.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`causeway demo not healthy after 60 s; log: ${log}`)
    await sleep(250)
  }
  return { url, dir, log, proc }
}

async function stopProcess(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const gone = new Promise((r) => proc.once('exit', r))
  try {
    process.kill(-proc.pid, 'SIGTERM') // the demo's process group
  } catch {
    return
  }
  const t = setTimeout(() => {
    try {
      process.kill(-proc.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }, 8000)
  await gone
  clearTimeout(t)
}

// webhookReceiver is an alert webhook target on 127.0.0.1 (a free port)
// that keeps the JSON notifications it receives, in order.
export async function webhookReceiver() {
  const received = []
  const server = createHTTPServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      try {
        received.push(JSON.parse(body))
      } catch {
        // not a JSON notification
      }
      res.writeHead(204).end()
    })
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  onCleanup(() => new Promise((r) => server.close(r)))
  return { url: `http://127.0.0.1:${server.address().port}/hook`, received }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// poll calls fn until it returns a truthy value or the time is up.
export async function poll(what, fn, timeoutMs = 60_000, everyMs = 500) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ': ' + last.message : ''}`)
    await sleep(everyMs)
  }
}

// watch records the page's console errors and uncaught exceptions.
export function watch(page, errors, name) {
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`[${name}] console.error: ${m.text()} (${m.location().url}:${m.location().lineNumber})`)
  })
  page.on('pageerror', (e) => errors.push(`[${name}] page error: ${e.message}`))
}

// inkedPixels counts the pixels of a canvas that differ from its most
// common colour: a chart or graph that drew something has many.
export async function inkedPixels(locator) {
  return locator.evaluate((c) => {
    const ctx = c.getContext('2d')
    const { data } = ctx.getImageData(0, 0, c.width, c.height)
    const counts = new Map()
    for (let i = 0; i < data.length; i += 4) {
      const k = (data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3]
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
    let top = 0
    for (const n of counts.values()) top = Math.max(top, n)
    return data.length / 4 - top
  })
}
