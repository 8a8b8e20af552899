//go:build !race

package embedded

// raceEnabled: see race_on_test.go.
const raceEnabled = false
