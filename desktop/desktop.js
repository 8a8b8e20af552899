// Loaded by the desktop app's gateway into the studio UI's pages, before
// the UI's own script. It tells the UI it runs in the desktop app, and
// reports to the app what the page sees of the live channel (the frames
// its websockets receive, the UI's status label) so that the window title
// shows it and the app's log proves live updates reach the webview.
(() => {
  window.__CAUSEWAY__ = Object.assign(window.__CAUSEWAY__ || {}, { desktop: true, connect: 'File › Connect…' })

  const channels = {}
  let frames = 0
  let sockets = 0
  const Native = window.WebSocket
  // Counting costs a prefix match per frame: frames start with
  // {"channel":"…" (studio/live encodes the channel first).
  const channelOf = /^\{"channel":"([a-z_]+)"/
  class CountingWebSocket extends Native {
    constructor(url, protocols) {
      super(url, protocols)
      sockets++
      this.addEventListener('message', (e) => {
        frames++
        const m = typeof e.data === 'string' ? channelOf.exec(e.data.slice(0, 40)) : null
        const ch = m ? m[1] : 'other'
        channels[ch] = (channels[ch] || 0) + 1
      })
    }
  }
  window.WebSocket = CountingWebSocket

  let last = ''
  const report = () => {
    const label = document.querySelector('[data-testid="live-status"]')
    const elements = {}
    for (const el of document.querySelectorAll('[data-testid]')) {
      const id = el.getAttribute('data-testid')
      // The UI's own names, not the graph library's per-node ids.
      if (/^[a-z][a-z0-9-]*$/.test(id)) elements[id] = (elements[id] || 0) + 1
    }
    const body = JSON.stringify({
      path: location.pathname + location.search,
      status: label ? label.textContent.trim() : '',
      frames,
      channels,
      sockets,
      elements,
    })
    if (body === last) return
    last = body
    fetch('/__causeway/live', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }).catch(() => {})
  }
  setInterval(report, 1000)
})()
