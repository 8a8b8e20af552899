package chtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ServerCPU returns the CPU time (user and system) used so far by the
// clickhouse-server processes this process started, and whether there
// are any (none when CAUSEWAY_CLICKHOUSE_DSN names an outside server).
// On a shared machine a benchmark's wall time grows with everybody's
// load; the CPU the server spent on its work does not.
func ServerCPU() (time.Duration, bool) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks uint64
	found := false
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime(14) stime(15): split after the comm.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "clickhouse") {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64)
		st, _ := strconv.ParseUint(f[12], 10, 64)
		ticks += u + st
		found = true
	}
	return time.Duration(ticks) * 10 * time.Millisecond, found // USER_HZ = 100
}
