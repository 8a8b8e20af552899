//go:build race

package embedded

// raceEnabled: the race detector slows writes about tenfold, so tests
// that build big tables build smaller ones.
const raceEnabled = true
