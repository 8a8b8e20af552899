//go:build !(linux || darwin)

package retention

import (
	"errors"
	"fmt"
	"runtime"
)

// diskSpace is not implemented on this platform: the free-space
// watermark is off.
func diskSpace(string) (free, total uint64, err error) {
	return 0, 0, fmt.Errorf("free disk space on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
