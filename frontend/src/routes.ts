// The studio's views: the path of each (its state is in the query
// string, so every view can be linked to: alert notifications link to
// /lag, /dlq, /journeys, /graph and /events, see routes.test.ts), its
// label and its g-then-key shortcut.

export const views = [
  { path: '/flows', label: 'Flow map', key: 'f' },
  { path: '/journeys', label: 'Journeys', key: 'j' },
  { path: '/graph', label: 'Causation graph', key: 'g' },
  { path: '/events', label: 'Events', key: 'e' },
  { path: '/lag', label: 'Consumer lag', key: 'l' },
  { path: '/dlq', label: 'DLQ & replays', key: 'd' },
  { path: '/alerts', label: 'Alerts', key: 'a' },
  { path: '/settings', label: 'Settings', key: 's' },
]
