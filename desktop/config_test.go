package desktop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigRoundTripKeepsTheTokenPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "causeway", "desktop.json")
	c, err := LoadConfig(path)
	if err != nil || c != (Config{}) {
		t.Fatalf("missing file: %+v, %v; want the zero config", c, err)
	}
	want := Config{Mode: ModeRemote, Remote: Remote{URL: "https://causeway.example.com", Token: "s3cret-token"}, GatewayPort: 41234}
	if err := SaveConfig(path, want); err != nil {
		t.Fatal(err)
	}
	// Saving over an existing file keeps it private too.
	want.Demo = true
	if err := SaveConfig(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil || got != want {
		t.Fatalf("LoadConfig = %+v, %v; want %+v", got, err, want)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), mode)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the config directory holds %d files, want only desktop.json (no temporary files left)", len(entries))
	}
}

func TestLoadConfigRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"garbage": "{not json", "mode": `{"mode":"cloud"}`} {
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
}

func TestParseStudioURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://causeway.example.com/":       "https://causeway.example.com",
		"  http://10.0.0.5:7070  ":            "http://10.0.0.5:7070",
		"127.0.0.1:7070":                      "http://127.0.0.1:7070",
		"https://ops.example.com/causeway///": "https://ops.example.com/causeway",
	} {
		u, err := ParseStudioURL(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseStudioURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, in := range []string{"", "ftp://x", "https://", "https://user:pw@host", "https://host/?q=1", "http://host/#x"} {
		if u, err := ParseStudioURL(in); err == nil {
			t.Errorf("ParseStudioURL(%q) = %v, want an error", in, u)
		}
	}
}
