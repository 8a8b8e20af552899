//go:build !desktop

// Command causeway-desktop is the Causeway desktop app (Wails v2). Built
// without the "desktop" tag, as `go build ./...` builds it, it is only
// this message, so that the module builds and vets without GTK and WebKit.
// Build the app with `make desktop`.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "causeway-desktop: built without the desktop tag; build the app with `make desktop` (see docs/desktop.md)")
	os.Exit(2)
}
