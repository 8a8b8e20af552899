import { expect, it } from 'vitest'
import { views } from './routes'

// The views that read each path's query parameters.
const viewFiles: Record<string, string> = {
  '/lag': './lag/LagView.tsx',
  '/dlq': './dlq/DLQView.tsx',
  '/journeys': './journeys/JourneysView.tsx',
  '/graph': './causation/CausationView.tsx',
  '/events': './events/EventsView.tsx',
}
const sources = import.meta.glob<string>('./*/*View.tsx', { query: '?raw', import: 'default', eager: true })

// Alert notifications link into the UI with the URLs studio/alert lists
// in links.go; each must open a view that reads its parameters.
const links = Object.values(import.meta.glob<string>('../../studio/alert/links.go', { query: '?raw', import: 'default', eager: true }))[0]

it.skipIf(!links)('routes the deep links of alert notifications', () => {
  const table = [...links.matchAll(/^\/\/\t(\/[a-z]+)\?(\S+)/gm)]
  expect(table.length).toBeGreaterThanOrEqual(5)
  for (const [, path, query] of table) {
    expect(views.map((v) => v.path)).toContain(path)
    const src = sources[viewFiles[path]]
    expect(src, `the view of ${path}`).toBeTruthy()
    for (const key of query.replace(/[[\]]/g, '').split('&').map((kv) => kv.split('=')[0])) {
      expect(src, `${path} reads ${key}`).toMatch(new RegExp(`'${key}'`))
    }
  }
})
