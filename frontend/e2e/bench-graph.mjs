// Benchmark (not a test): how long the causation graph view takes from the
// arrival of a 2,000-event graph to its layout being painted, in headless
// Chromium. The graph is a BENCHMARK FIXTURE, generated here and served by
// intercepting /api/v1/graph; the built UI (dist/) is served by a small
// static server. Prints one line: ui_graph_2000_nodes_ms <median of runs>.
//
//   npm run build && node e2e/bench-graph.mjs

import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { dirname, extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cleanup, launch, onCleanup, requireChromium, watch } from './harness.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, '..', 'dist')
const runs = Number(process.env.RUNS || 5)
const N = 2000

// fixture builds a 2,000-event causation graph shaped like a bulk order:
// one publish fanning out to item flows that cross Kafka and NATS, with
// retries, DLQ hops and replays along the way.
function fixture() {
  const nodes = []
  const edges = []
  let t = 1_800_000_000_000_000_000
  const add = (e, parent, kind = 'link') => {
    const span = (nodes.length + 1).toString(16).padStart(16, '0')
    const ev = {
      event_id: 'bench-' + nodes.length, event_type: e.event_type, correlation_id: 'bench-2000', trace_id: 'be' + String(nodes.length % 97).padStart(30, '0'),
      span_id: span, service: e.service, system: e.system, destination: e.destination, partition: e.system === 'kafka' ? nodes.length % 6 : -1,
      offset: nodes.length, op: e.op, outcome: e.outcome ?? 'ok', attempt: e.attempt ?? (e.op === 'process' ? 1 : 0), start_ns: (t += 137_000),
      duration_ns: 200_000 + (nodes.length % 13) * 50_000, payload_size: 120, ...(e.replay_of ? { replay_of: e.replay_of } : {}),
    }
    nodes.push(ev)
    if (parent) edges.push({ from: `${parent.trace_id}/${parent.span_id}`, to: `${ev.trace_id}/${ev.span_id}`, kind })
    return ev
  }
  const root = add({ service: 'order-service', system: 'kafka', destination: 'orders.bulk', op: 'publish', event_type: 'order.bulk_placed' })
  const hops = [
    { service: 'payment-service', system: 'kafka', destination: 'orders.bulk', op: 'process', event_type: 'order.item' },
    { service: 'payment-service', system: 'kafka', destination: 'payments.authorized', op: 'publish', event_type: 'payment.authorized' },
    { service: 'fulfillment-service', system: 'kafka', destination: 'payments.authorized', op: 'process', event_type: 'payment.authorized' },
    { service: 'fulfillment-service', system: 'nats', destination: 'inventory.reserve', op: 'publish', event_type: 'inventory.reserve' },
    { service: 'inventory-service', system: 'nats', destination: 'inventory.reserve', op: 'process', event_type: 'inventory.reserve' },
    { service: 'inventory-service', system: 'nats', destination: 'inventory.reserved', op: 'publish', event_type: 'inventory.reserved' },
    { service: 'shipping-service', system: 'nats', destination: 'inventory.reserved', op: 'process', event_type: 'inventory.reserved' },
    { service: 'shipping-service', system: 'kafka', destination: 'shipments.scheduled', op: 'publish', event_type: 'shipment.scheduled' },
  ]
  for (let item = 0; nodes.length < N; item++) {
    let prev = root
    for (const h of hops) {
      if (nodes.length >= N) break
      if (item % 7 === 3 && h.op === 'process' && h.system === 'kafka' && nodes.length + 2 < N) {
        add({ ...h, outcome: 'retry', attempt: 1 }, prev) // a retried delivery beside the one that worked
      }
      if (item % 19 === 5 && h.service === 'inventory-service' && h.op === 'process' && nodes.length + 4 < N) {
        const dead = add({ ...h, outcome: 'dead_lettered' }, prev)
        add({ ...h, op: 'dead_letter', destination: 'inventory.reserve.dlq' }, dead, 'parent')
        const replay = add({ ...h, service: 'causeway-replay', op: 'replay', replay_of: dead.event_id }, dead, 'causation')
        prev = add({ ...h, replay_of: dead.event_id }, replay)
        continue
      }
      prev = add(h, prev, h.op === 'publish' ? 'parent' : 'link')
    }
  }
  return { nodes: nodes.slice(0, N), edges, truncated: false }
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' }
function serveDist() {
  return new Promise((resolve) => {
    const srv = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '')
      let file = join(dist, path)
      if (!file.startsWith(dist) || !existsSync(file) || path === '/') file = join(dist, 'index.html') // client-side routes
      res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' })
      res.end(readFileSync(file))
    })
    srv.listen(0, '127.0.0.1', () => resolve(srv))
  })
}

async function main() {
  requireChromium()
  if (!existsSync(join(dist, 'index.html'))) throw new Error('no build in dist/: run npm run build first')
  const graph = fixture()
  const ids = new Set(graph.nodes.map((n) => `${n.trace_id}/${n.span_id}`))
  graph.edges = graph.edges.filter((e) => ids.has(e.from) && ids.has(e.to))
  const body = JSON.stringify(graph)
  const srv = await serveDist()
  onCleanup(() => new Promise((r) => srv.close(r)))
  const base = `http://127.0.0.1:${srv.address().port}`
  const browser = await launch()
  onCleanup(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const errors = []
  watch(page, errors, 'bench')
  await page.route('**/api/v1/graph?**', (route) => route.fulfill({ status: 200, contentType: 'application/json', body }))
  await page.routeWebSocket('**/api/v1/live**', () => {}) // accepted, silent: no live updates during the benchmark
  const times = []
  for (let i = 0; i < runs; i++) {
    await page.goto(`${base}/graph?id=bench-2000&kind=correlation_id`)
    const ms = await page.locator('[data-testid=graph-summary]:not([data-paint-ms=""])').getAttribute('data-paint-ms', { timeout: 30_000 })
    times.push(Number(ms))
  }
  mkdirSync(join(here, 'artifacts'), { recursive: true })
  await page.screenshot({ path: join(here, 'artifacts', 'bench-graph-2000.png') })
  const nodes = await page.locator('[data-testid=graph-summary]').innerText()
  if (!nodes.includes(`${N} events`)) throw new Error('the view did not show the 2,000 events: ' + nodes)
  if (errors.length) throw new Error('browser errors:\n' + errors.join('\n'))
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  console.error(`runs (ms, sorted): ${times.map((t) => t.toFixed(1)).join(' ')}; ${graph.nodes.length} nodes, ${graph.edges.length} edges`)
  console.log(`ui_graph_2000_nodes_ms ${median.toFixed(1)}`)
}

main()
  .catch((err) => {
    console.error('bench-graph: ' + (err.stack || err.message))
    process.exitCode = 1
  })
  .finally(cleanup)
