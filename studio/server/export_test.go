package server

import "time"

// SetReadTimeout lowers the studio's request read timeout for a test and
// returns a function that restores it.
func SetReadTimeout(d time.Duration) (restore func()) {
	old := readTimeout
	readTimeout = d
	return func() { readTimeout = old }
}
