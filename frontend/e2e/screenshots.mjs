// Screenshots of the studio's pages against `causeway demo` on free ports,
// for looking at what was built and for docs/img: e2e/artifacts/shot-*.png.
//
//   CAUSEWAY_BIN=../bin/causeway node e2e/screenshots.mjs [warm-up seconds] [path ...]
//   CAUSEWAY_URL=http://127.0.0.1:7070 node e2e/screenshots.mjs 0 /journeys   (a studio already running)

import { mkdirSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cleanup, launch, onCleanup, sleep, startDemo } from './harness.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const artifacts = join(here, 'artifacts')
const bin = resolve(process.env.CAUSEWAY_BIN || join(here, '..', '..', 'bin', 'causeway'))
const [warm = '90', ...paths] = process.argv.slice(2)

async function main() {
  mkdirSync(artifacts, { recursive: true })
  const demo = process.env.CAUSEWAY_URL ? { url: process.env.CAUSEWAY_URL } : await startDemo(bin)
  console.log(`studio on ${demo.url}; warming up ${warm} s`)
  await sleep(Number(warm) * 1000)
  const browser = await launch()
  onCleanup(() => browser.close())
  const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage()
  page.on('console', (m) => m.type() === 'error' && console.log('console error:', m.text()))
  for (const p of paths.length ? paths : ['/flows?window=15m']) {
    await page.goto(demo.url + p)
    await sleep(4000)
    const name = 'shot-' + p.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '')
    await page.screenshot({ path: join(artifacts, name + '.png') })
    console.log(`${p} → e2e/artifacts/${name}.png`)
  }
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(cleanup)
