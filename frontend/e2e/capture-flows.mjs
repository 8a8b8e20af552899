// Captures the demo's flow map (GET /api/v1/flows) as the flow-map layout
// test's fixture, src/flowmap/testdata/demo-flows.json: runs `causeway
// demo` on free ports and waits until the map has stopped growing (every
// service, topic, subject, DLQ and the refund saga seen) for 30 s.
//
//   CAUSEWAY_BIN=../bin/causeway node e2e/capture-flows.mjs

import { writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cleanup, sleep, startDemo } from './harness.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const bin = resolve(process.env.CAUSEWAY_BIN || join(here, '..', '..', 'bin', 'causeway'))
const out = join(here, '..', 'src', 'flowmap', 'testdata', 'demo-flows.json')

async function main() {
  const demo = await startDemo(bin)
  console.log(`demo on ${demo.url}`)
  let shape = ''
  let stableSince = Date.now()
  let flows
  const deadline = Date.now() + 240_000
  while (Date.now() < deadline) {
    await sleep(2000)
    flows = await (await fetch(demo.url + '/api/v1/flows?since=15m')).json()
    const s = JSON.stringify([(flows.nodes ?? []).map((n) => n.id).sort(), (flows.edges ?? []).map((e) => `${e.source}>${e.target}:${e.op}:${e.consumer_group ?? ''}`).sort()])
    if (s !== shape) {
      shape = s
      stableSince = Date.now()
      console.log(`${flows.nodes?.length ?? 0} nodes, ${flows.edges?.length ?? 0} edges`)
    } else if (Date.now() - stableSince > 30_000) break
  }
  writeFileSync(out, JSON.stringify(flows, null, 1) + '\n')
  console.log(`wrote ${out}`)
}

main()
  .catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(cleanup)
