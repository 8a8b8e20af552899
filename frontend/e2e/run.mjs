// End-to-end test of the studio UI in headless Chromium against the real
// causeway binary running its demo (embedded Kafka and NATS, a shop with
// faults). Fails on any console error or page error. Screenshots of every
// view go to e2e/artifacts/.
//
//   CAUSEWAY_BIN=../bin/causeway npm run e2e

import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cleanup, inkedPixels, launch, onCleanup, poll, requireChromium, startDemo, watch } from './harness.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const artifacts = join(here, 'artifacts')
const bin = resolve(process.env.CAUSEWAY_BIN || join(here, '..', '..', 'bin', 'causeway'))
const viewport = { width: 1280, height: 800 }
const errors = []
let failed = false

let current = null // the page a failing step leaves a screenshot of

async function step(name, fn) {
  const t = Date.now()
  try {
    await fn()
    console.log(`ok   ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`)
  } catch (err) {
    failed = true
    console.log(`FAIL ${name}: ${err.stack || err.message}`)
    await current?.screenshot({ path: join(artifacts, 'FAILED.png') }).catch(() => {})
    err.reported = true
    throw err
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, name + '.png') })
}

async function getJSON(url) {
  const r = await fetch(url)
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`)
  return r.json()
}

// graphOf is the stored causation graph of a correlation id, as the UI asks for it.
async function graphOf(api, corr) {
  return getJSON(api + '/graph?correlation_id=' + encodeURIComponent(corr) + '&max_nodes=2000')
}

// fraudQuiet waits until a replay cannot land in one of the demo's
// fraud-check outages (7 s every two minutes, demo.fraudCheckDown), where
// a replayed order is dead-lettered again: the newest fraud-check dead
// letter is more than 10 s old (the outage is over, retries included) and
// less than 90 s (the next one is at least 20 s away).
async function fraudQuiet(api) {
  await poll('the fraud-check outage over, the next one 20 s away or more', async () => {
    const letters = (await getJSON(api + '/dlq?limit=1000')).entries ?? []
    const newest = Math.max(0, ...letters.filter((d) => /fraud-check/.test(d.reason)).map((d) => d.time_ns))
    const age = Date.now() - newest / 1e6
    return newest > 0 && age > 10_000 && age < 90_000
  }, 150_000)
}

// Each step first waits, through the API, for the data it will look for
// on screen (a loaded machine may store it late); the UI is then asked to
// show what is known to be there, within the page's timeout.
async function main() {
  requireChromium()
  mkdirSync(artifacts, { recursive: true })
  const demo = await startDemo(bin)
  const api = demo.url + '/api/v1'
  console.log(`demo on ${demo.url} (log ${demo.log})`)

  const index = await (await fetch(demo.url + '/')).text()
  if (!index.includes('id="root"')) throw new Error(`${bin} serves the placeholder page: run npm run build, then rebuild the binary`)

  const browser = await launch()
  onCleanup(() => browser.close())
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 })
  const page = await context.newPage()
  current = page
  watch(page, errors, 'main')
  page.setDefaultTimeout(45_000) // the machine may be busy with other builds

  await step('flow map shows the shop', async () => {
    await poll('flows with order-service, payment-service and NATS', async () => {
      const f = await getJSON(api + '/flows?since=5m')
      const names = new Set(f.nodes.map((n) => n.name))
      return ['order-service', 'payment-service', 'fulfillment-service', 'orders.placed', 'inventory.reserve'].every((n) => names.has(n)) &&
        f.edges.some((e) => e.consumer_group === 'payments')
    })
    await page.goto(demo.url + '/flows?window=5m')
    for (const name of ['order-service', 'payment-service', 'fulfillment-service', 'orders.placed', 'inventory.reserve']) {
      await page.locator(`[data-testid=flow-node][data-name="${name}"]`).first().waitFor()
    }
    // A consumer group is drawn inside its service.
    await page.locator('[data-testid=flow-node][data-name="payment-service"]:not([data-ref]) [data-testid=flow-group][data-name=payments]').waitFor()
    const backward = await page.locator('[data-testid=flow-map]').getAttribute('data-backward')
    if (backward !== '0') throw new Error(`${backward} edges run right to left on the flow map`)
    // Edge labels re-render as live updates come in: poll for them.
    await poll('edge labels with rates and p99', async () => {
      const text = await page.locator('.flow-edge-label').allInnerTexts()
      return text.length >= 5 && text.some((t) => /\/(s|min)/.test(t)) && text.some((t) => /p99/.test(t))
    }, 20_000)
    // Flow deltas from the websocket turn into current rates after 5 s.
    await poll('live rates on the edges', async () => (await page.locator('.flow-edge-label[title*="over the last 30 s"]').count()) > 0, 45_000)
    await shot(page, '01-flow-map')
  })

  await step('flow map node drills into event search', async () => {
    await poll('events of payment-service', async () => (await getJSON(api + '/events?service=payment-service&limit=1')).events.length > 0)
    await page.locator('[data-testid=flow-node][data-name="payment-service"]:not([data-ref]) .flow-node-name').click()
    await page.waitForURL(/\/events\?service=payment-service/)
    await page.locator('[data-testid=event-row]').first().waitFor()
    const services = await page.locator('[data-testid=event-row] td:nth-child(2)').allInnerTexts()
    if (!services.length || services.some((s) => s !== 'payment-service')) throw new Error('rows not filtered: ' + services.slice(0, 5).join(','))
    // The same by keyboard: a focused node opens with Enter.
    await page.goBack()
    await page.locator('.react-flow__node[data-id="destination:kafka:orders.placed"]').focus()
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/events\?destination=orders.placed/)
    // A consumer group in its service opens the group's lag.
    await page.goBack()
    await page.locator('[data-testid=flow-group][data-name=payments]').first().click()
    await page.waitForURL(/\/lag\?group=payments/)
  })

  // An order that went all the way across Kafka and NATS.
  const corr = await poll('an order processed from inventory.reserve', async () => {
    const evs = (await getJSON(api + '/events?destination=inventory.reserved&limit=50')).events.filter((e) => e.op === 'process' && e.correlation_id)
    return evs.at(-1)?.correlation_id
  })

  await step('event search by keyboard and the detail drawer', async () => {
    await poll('more than 3 events of ' + corr, async () => (await getJSON(api + '/events?correlation_id=' + encodeURIComponent(corr))).events.length > 3)
    await page.goto(demo.url + '/events')
    await page.locator('[data-testid=event-row]').first().waitFor()
    await page.locator('input[name=correlation_id]').focus()
    await page.keyboard.type(corr)
    await page.keyboard.press('Enter')
    await page.waitForURL(new RegExp('correlation_id=' + corr))
    await poll('rows of ' + corr, async () => {
      const c = await page.locator('[data-testid=event-row] td:last-child').allInnerTexts()
      return c.length > 3 && c.every((x) => x === corr)
    }, 15_000)
    await page.locator('[data-testid=event-results]').focus()
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Enter')
    await page.locator('[data-testid=event-detail]').waitFor()
    await shot(page, '03-events')
    await page.keyboard.press('Escape')
    await page.locator('[data-testid=event-detail]').waitFor({ state: 'detached' })
  })

  await step(`causation graph of ${corr} spans Kafka and NATS`, async () => {
    await poll(`a graph of ${corr} across Kafka and NATS and four services`, async () => {
      const nodes = (await graphOf(api, corr)).nodes
      const has = (f, vals) => vals.every((v) => nodes.some((n) => n[f] === v))
      return has('system', ['kafka', 'nats']) && has('service', ['order-service', 'payment-service', 'fulfillment-service', 'inventory-service'])
    })
    // The one search box, from any view by "/": one request (graph?id=)
    // finds the order and says what its id matched.
    await page.goto(demo.url + '/lag')
    await page.locator('body').press('/')
    await page.keyboard.type(corr)
    await page.keyboard.press('Enter')
    await page.waitForURL(new RegExp('/graph\\?id=' + corr))
    await page.locator('[data-testid=timeline-row]').first().waitFor()
    const matched = page.locator('[data-testid=graph-matched]')
    if ((await matched.getAttribute('data-matched')) !== 'correlation_id') throw new Error('matched: ' + (await matched.innerText()))
    if (!(await matched.innerText()).includes('matched the correlation id')) throw new Error('matched says: ' + (await matched.innerText()))
    const rows = page.locator('[data-testid=timeline-row]')
    const systems = new Set(await rows.evaluateAll((els) => els.map((e) => e.dataset.system)))
    const services = new Set(await rows.evaluateAll((els) => els.map((e) => e.dataset.service)))
    for (const s of ['kafka', 'nats']) if (!systems.has(s)) throw new Error(`no ${s} event in the graph: ${[...systems]}`)
    for (const s of ['order-service', 'payment-service', 'fulfillment-service', 'inventory-service']) if (!services.has(s)) throw new Error(`no ${s} in the graph: ${[...services]}`)
    const ink = await inkedPixels(page.locator('[data-testid=graph-canvas]'))
    if (ink < 5000) throw new Error(`the graph canvas looks empty (${ink} inked pixels)`)
    await page.locator('[data-testid=timeline-row]').nth(1).click()
    await page.locator('.graph-detail').waitFor()
    await shot(page, '02-causation-graph')
    // A trace id in the same box: the studio says it matched a trace id.
    const trace = (await graphOf(api, corr)).nodes[0].trace_id
    await page.locator('[data-search]').fill(trace)
    await page.locator('[data-search]').press('Enter')
    await poll('the trace id matched', async () => (await page.locator('[data-testid=graph-matched]').getAttribute('data-matched')) === 'trace_id', 15_000)
  })

  await step('unknown id shows the empty state', async () => {
    await page.goto(demo.url + '/graph?id=no-such-order-e2e')
    await page.getByText('no event carries it as a correlation id, event id, trace id or message key').waitFor()
  })

  await step('consumer lag table and a drawn uPlot chart', async () => {
    await poll('lag samples of analytics', async () => (await getJSON(api + '/lag/series?group=analytics&since=5m')).samples.length >= 6)
    await page.goto(demo.url + '/lag?group=analytics&window=5m')
    await page.locator('[data-testid=lag-group][data-group=analytics]').waitFor()
    const canvas = page.locator('[data-testid=lag-chart] canvas').first()
    await canvas.waitFor()
    await poll('lines on the lag chart', async () => (await inkedPixels(canvas)) > 1500, 20_000)
    const badges = await page.locator('[data-testid=lag-groups] .badge').allInnerTexts()
    if (!badges.every((b) => ['OK', 'WARN', 'ERR', 'STOP', 'STALL', 'REWIND'].includes(b))) throw new Error('unexpected status badges ' + badges)
    await shot(page, '04-lag')
  })

  const dead = await poll('three dead letters', async () => {
    const d = await getJSON(api + '/dlq?limit=50')
    return d.entries.filter((e) => e.correlation_id).length >= 3 && d.entries.filter((e) => e.correlation_id)
  }, 90_000)
  // Prefer an order the fraud-check outage dead-lettered: its replay can go all the way.
  const one = dead.find((e) => /fraud/.test(e.reason)) ?? dead[0]

  // A second page shows the dead letter's graph, and must show the replay
  // appear without a reload.
  const watcher = await context.newPage()
  watch(watcher, errors, 'graph-watcher')
  watcher.setDefaultTimeout(45_000)
  await step(`graph of ${one.correlation_id} before the replay`, async () => {
    // The dead letter can be listed before its order's events are stored.
    await poll(`stored events of ${one.correlation_id}`, async () => (await graphOf(api, one.correlation_id)).nodes.length > 0, 90_000)
    await watcher.goto(demo.url + '/graph?id=' + encodeURIComponent(one.correlation_id))
    await watcher.locator('[data-testid=timeline-row]').first().waitFor()
    await watcher.evaluate(() => (window.__notReloaded = true))
    const replays = await watcher.locator('[data-testid=timeline-row][data-op=replay]').count()
    if (replays) throw new Error(`${replays} replays before replaying`)
  })

  await step('DLQ browser: groups, payload preview', async () => {
    await page.goto(demo.url + '/dlq')
    await page.locator('[data-testid=dlq-group]').first().waitFor()
    const row = page.locator(`[data-testid=dlq-row][data-id="${one.id}"]`)
    await row.waitFor()
    await row.getByRole('button', { name: 'Inspect' }).click()
    await page.locator('[data-testid=payload]').waitFor()
    await shot(page, '05-dlq-entry')
    await page.keyboard.press('Escape')
  })

  await step('single replay through the UI succeeds', async () => {
    await fraudQuiet(api)
    await page.locator(`[data-testid=dlq-row][data-id="${one.id}"] [data-testid=replay-one]`).click()
    const dlg = page.locator('[data-testid=replay-dialog]')
    await dlg.locator('[data-testid=replay-preview][data-count="1"]').waitFor()
    const run = dlg.locator('[data-testid=replay-run]')
    if (await run.isEnabled()) throw new Error('Run is enabled without a reason')
    await dlg.locator('input[name=reason]').fill('e2e: single replay')
    await run.click()
    await dlg.locator('[data-testid=replay-progress][data-state=succeeded]').waitFor()
    await dlg.getByText('1 sent, 0 failed of 1').waitFor()
    await shot(page, '06-replay-single')
  })

  await step('the replay appears as a new branch in the open graph, live', async () => {
    await poll(`the replay of ${one.correlation_id} stored`, async () => (await graphOf(api, one.correlation_id)).nodes.some((n) => n.op === 'replay'), 90_000)
    await watcher.locator('[data-testid=timeline-row][data-op=replay]').first().waitFor({ timeout: 30_000 })
    if (!(await watcher.evaluate(() => window.__notReloaded === true))) throw new Error('the graph page reloaded')
    const ink = await inkedPixels(watcher.locator('[data-testid=graph-canvas]'))
    if (ink < 3000) throw new Error('the graph canvas looks empty')
    await watcher.getByText(/1 replay\b/).waitFor()
    await watcher.setViewportSize(viewport)
    await shot(watcher, '07-graph-replay-branch')
  })

  await step('bulk replay needs the typed count', async () => {
    await fraudQuiet(api)
    await page.keyboard.press('Escape')
    await page.locator('[data-testid=replay-dialog]').waitFor({ state: 'detached' })
    for (const e of dead.filter((x) => x.id !== one.id).slice(0, 2)) await page.locator(`[data-testid=dlq-row][data-id="${e.id}"] input[type=checkbox]`).check()
    await page.locator('[data-testid=replay-selected]').click()
    const dlg = page.locator('[data-testid=replay-dialog]')
    await dlg.locator('[data-testid=replay-preview][data-count="2"]').waitFor()
    await dlg.locator('input[name=reason]').fill('e2e: bulk replay')
    const run = dlg.locator('[data-testid=replay-run]')
    await dlg.locator('input[name=confirm]').fill('3')
    if (await run.isEnabled()) throw new Error('Run is enabled with a wrong typed count')
    await dlg.locator('input[name=confirm]').fill('2')
    if (!(await run.isEnabled())) throw new Error('Run is disabled with the right typed count')
    await shot(page, '08-replay-bulk-confirm')
    await run.click()
    await dlg.locator('[data-testid=replay-progress][data-state=succeeded]').waitFor()
    await dlg.getByText('2 sent, 0 failed of 2').waitFor()
  })

  await step('replay history lists both replays with their results', async () => {
    await poll('two succeeded replays', async () => (await getJSON(api + '/replays')).replays.filter((r) => r.state === 'succeeded').length >= 2)
    await page.keyboard.press('Escape')
    await page.goto(demo.url + '/dlq?tab=history')
    await poll('two succeeded replays', async () => (await page.locator('[data-testid=replay-row][data-state=succeeded]').count()) >= 2, 15_000)
    await page.locator('[data-testid=replay-row]').first().getByRole('button', { name: 'Results' }).click()
    await page.getByRole('dialog').getByText('sent').first().waitFor()
    await shot(page, '09-replay-history')
    await page.keyboard.press('Escape')
  })

  // Journeys: the demo's order journey from its tile to the orders stuck
  // at a step and one's graph, the stuck point marked, its dead letter
  // one click from the DLQ entry and the replay dialog. (Following an
  // alert's link to a replay that ends the order is alert-to-fix.mjs.)
  const journey = 'order'
  const stuck = await poll(`an order of journey ${journey} stuck with a dead letter`, async () => {
    const entities = (await getJSON(`${api}/journeys/${journey}/entities?state=stuck&limit=1000`)).entities ?? []
    const letters = (await getJSON(api + '/dlq?limit=500')).entries
    for (const e of entities) {
      const dl = letters.find((d) => d.correlation_id === e.correlation_id)
      if (dl) return { entity: e, letter: dl }
    }
  }, 120_000)
  await step(`journeys: the ${journey} tile, its steps, ${stuck.entity.correlation_id} stuck at ${stuck.entity.step} and its graph`, async () => {
    await page.goto(demo.url + '/journeys')
    await page.locator(`[data-testid=journey-tile][data-name="${journey}"]`).click()
    await page.locator(`[data-testid=journey-step][data-step="${stuck.entity.step}"]`).click()
    // The ledger may take an entity off the stuck list for a while (a side
    // consumer's late event) and put it back once older than stuck_after.
    const row = page.locator(`[data-testid=stuck-entity][data-id="${stuck.entity.correlation_id}"]`)
    await row.waitFor({ timeout: 90_000 })
    await shot(page, '08-journey-stuck')
    await row.locator('a').click()
    await page.waitForURL(/\/graph\?/)
    await page.locator('[data-testid=entity-state]').waitFor()
    const dlq = page.locator(`[data-testid=dead-letter][data-id="${stuck.letter.id}"]`)
    const href = await dlq.getByRole('link', { name: 'DLQ entry' }).getAttribute('href')
    if (!href.includes('entry=' + stuck.letter.id)) throw new Error('DLQ entry link: ' + href)
    await dlq.locator('[data-testid=replay-dead-letter]').click()
    await page.locator('[data-testid=replay-dialog] [data-testid=replay-preview][data-count="1"]').waitFor()
    await shot(page, '09-journey-graph')
    await page.keyboard.press('Escape')
  })

  await step('alerts: rules, a new rule, send test, live history', async () => {
    await poll('the demo alert rule', async () => (await getJSON(api + '/alerts/rules')).rules?.some((r) => r.id === 'demo-analytics-lag'))
    await page.goto(demo.url + '/alerts')
    await page.locator('[data-testid=rule][data-id=demo-analytics-lag]').waitFor()
    await page.locator('[data-testid=new-rule]').click()
    const ed = page.locator('[data-testid=rule-editor]')
    await ed.locator('input[name=name]').fill('e2e dead letters')
    await ed.locator('select[name=kind]').selectOption('dlq_arrivals')
    await ed.locator('input[name=threshold]').fill('1000')
    await ed.locator('input[name=window]').fill('10m')
    await ed.getByRole('button', { name: 'Save rule' }).click()
    const rule = page.locator('[data-testid=rule][data-id=e2e-dead-letters]')
    await rule.waitFor()
    await rule.locator('[data-testid=send-test]').click()
    await rule.locator('[data-testid=test-result]').waitFor()
    await page.locator('[data-testid=alert-history]').getByText('test', { exact: true }).first().waitFor()
    await shot(page, '10-alerts')
  })

  await step('settings: connection check and dark theme', async () => {
    await page.goto(demo.url + '/settings')
    await page.getByRole('button', { name: 'Test connection' }).click()
    await page.getByText('Connected:').waitFor()
    await page.getByRole('radio', { name: 'dark' }).click()
    if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== 'dark') throw new Error('dark theme not applied')
    await shot(page, '11-settings-dark')
    await page.goto(demo.url + '/flows?window=5m')
    await page.locator('[data-testid=flow-node]').first().waitFor()
    await shot(page, '12-flow-map-dark')
    await page.goto(demo.url + '/graph?id=' + encodeURIComponent(one.correlation_id))
    await page.locator('[data-testid=timeline-row][data-op=replay]').first().waitFor()
    await shot(page, '13-graph-dark')
    await page.goto(demo.url + '/settings')
    await page.getByRole('radio', { name: 'light' }).click()
  })

  await step('a laptop screen (1024×640) still fits the graph view', async () => {
    await page.setViewportSize({ width: 1024, height: 640 })
    await page.goto(demo.url + '/graph?id=' + encodeURIComponent(corr))
    await page.locator('[data-testid=timeline-row]').first().waitFor()
    const box = await page.locator('[data-testid=graph-canvas]').boundingBox()
    if (!box || box.width < 300 || box.height < 250) throw new Error('graph canvas too small: ' + JSON.stringify(box))
    await shot(page, '14-graph-laptop')
    await page.setViewportSize(viewport)
  })

  if (errors.length) {
    failed = true
    console.log('FAIL browser console errors or page errors:\n  ' + errors.join('\n  '))
  }
}

main()
  .catch((err) => {
    failed = true
    if (!err.reported) console.log('FAIL ' + (err.stack || err.message))
    if (errors.length) console.log('browser console errors or page errors before the failure:\n  ' + errors.join('\n  '))
  })
  .finally(async () => {
    await cleanup()
    console.log(failed ? 'e2e: FAILED' : 'e2e: passed')
    process.exit(failed ? 1 : 0)
  })
