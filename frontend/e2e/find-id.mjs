// Finds an id the way a user does — `/` from the flow map, the id typed
// into the one search box, Enter — in headless Chromium against a running
// studio, and prints what the causation graph then shows, as one JSON
// line on stdout. Go tests drive it and judge the answer
// (collector/lineage/interop: a kafkajs chain's order id).
//
//   node e2e/find-id.mjs http://127.0.0.1:7070 order-7
//
// Exit status 1 with the reason on stderr when the page fails: no
// Chromium, no graph within the timeout, a console error.

import { inkedPixels, launch, requireChromium, watch } from './harness.mjs'

const [studio, id] = process.argv.slice(2)
if (!studio || !id) {
  console.error('usage: node e2e/find-id.mjs STUDIO_URL ID')
  process.exit(2)
}

async function main() {
  requireChromium()
  const browser = await launch()
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage()
    const errors = []
    watch(page, errors, 'find-id')
    page.setDefaultTimeout(30_000)
    await page.goto(studio + '/flows')
    await page.locator('[data-search]').waitFor()
    await page.locator('body').press('/')
    await page.keyboard.type(id)
    await page.keyboard.press('Enter')
    await page.waitForURL((u) => u.pathname === '/graph' && u.searchParams.get('id') === id)
    const matched = page.locator('[data-testid=graph-matched]')
    await matched.waitFor()
    const rows = page.locator('[data-testid=timeline-row]')
    await rows.first().waitFor()
    // The canvas has painted the graph once (CausationCanvas reports it).
    await page.locator('[data-testid=graph-summary]:not([data-paint-ms=""])').waitFor()
    const shown = {
      url: page.url(),
      matched: await matched.getAttribute('data-matched'),
      matched_text: (await matched.innerText()).trim(),
      summary: await page.locator('[data-testid=graph-summary] > span').allInnerTexts(),
      rows: await rows.evaluateAll((els) => els.map((e) => ({ service: e.dataset.service, op: e.dataset.op, destination: e.dataset.destination, system: e.dataset.system }))),
      inked_pixels: await inkedPixels(page.locator('[data-testid=graph-canvas]')),
      errors,
    }
    console.log(JSON.stringify(shown))
  } finally {
    await browser.close()
  }
}

main().catch((err) => {
  console.error(err.stack || err.message)
  process.exit(1)
})
