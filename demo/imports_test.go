package demo

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyEntriesImportTheDemo: the product's packages never depend on
// the demo shop or on the desktop app. Only application entries (cmd/…,
// desktop/ and the root main package) may import demo/, and only the
// root main package may import desktop/.
func TestOnlyEntriesImportTheDemo(t *testing.T) {
	const mod = "github.com/causeway-dev/causeway"
	out, err := exec.Command("go", "list", "-tags", "desktop", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	entry := func(pkg string) bool {
		return pkg == mod || pkg == mod+"/desktop" || strings.HasPrefix(pkg, mod+"/cmd/")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list named %d packages", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		pkg := f[0]
		for _, imp := range f[1:] {
			switch {
			case imp == mod+"/demo" && !entry(pkg) && pkg != mod+"/demo":
				t.Errorf("%s imports the demo: only entries (cmd/, desktop/, the root main) may", pkg)
			case imp == mod+"/desktop" && pkg != mod && pkg != mod+"/desktop":
				t.Errorf("%s imports the desktop app: only the root main package may", pkg)
			}
		}
	}
}
