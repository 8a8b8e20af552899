package embedded

import (
	"os"
	"path/filepath"
	"runtime"
)

// DefaultDir is the per-user data directory Causeway keeps its data in by
// default: $XDG_DATA_HOME/causeway or ~/.local/share/causeway on Linux and
// other Unix systems, ~/Library/Application Support/causeway on macOS,
// %LocalAppData%\causeway on Windows. When no home directory is known (a
// container without $HOME, say) it is causeway in the temporary directory,
// so that the result is always an absolute path.
func DefaultDir() string {
	return defaultDir(runtime.GOOS, os.Getenv, os.UserHomeDir)
}

func defaultDir(goos string, getenv func(string) string, home func() (string, error)) string {
	join := filepath.Join // goos is runtime.GOOS but in tests
	switch goos {
	case "windows":
		if d := getenv("LocalAppData"); d != "" {
			return join(d, "causeway")
		}
	case "darwin", "ios":
	default:
		// The XDG spec: a relative $XDG_DATA_HOME is invalid and ignored.
		if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
			return join(d, "causeway")
		}
	}
	h, err := home()
	if err != nil || h == "" {
		return join(os.TempDir(), "causeway")
	}
	switch goos {
	case "windows":
		return join(h, "AppData", "Local", "causeway")
	case "darwin", "ios":
		return join(h, "Library", "Application Support", "causeway")
	}
	return join(h, ".local", "share", "causeway")
}
