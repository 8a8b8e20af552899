package desktop

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	env := map[string]string{"CAUSEWAY_TOKEN": "tok-from-env", "CAUSEWAY_OTLP_HTTP_ADDR": "127.0.0.1:14318", "XDG_CONFIG_HOME": "/x"}
	getenv := func(k string) string { return env[k] }

	o, err := ParseArgs(nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode != "" || o.Listen != DefaultListen || o.OTLPHTTP != "127.0.0.1:14318" || o.OTLPGRPC != DefaultOTLPGRPC || o.LogLevel != slog.LevelInfo {
		t.Errorf("no flags: %+v", o)
	}
	if filepath.Base(o.ConfigPath) != "desktop.json" {
		t.Errorf("config path %q", o.ConfigPath)
	}

	o, err = ParseArgs([]string{"--local", "--demo", "--otlp-http", ":24318", "--open", "/graph?id=order-1", "--log-level", "debug"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode != ModeLocal || !o.Demo || o.OTLPHTTP != ":24318" || o.Open != "/graph?id=order-1" || o.LogLevel != slog.LevelDebug {
		t.Errorf("--local --demo: %+v", o)
	}

	o, err = ParseArgs([]string{"--remote", "https://causeway.example.com"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode != ModeRemote || o.Token != "tok-from-env" {
		t.Errorf("--remote: %+v (the token comes from CAUSEWAY_TOKEN)", o)
	}

	for _, args := range [][]string{
		{"--local", "--remote", "http://x"},
		{"--demo"},
		{"--remote", "ftp://x"},
		{"--open", "graph"},
		{"--log-level", "loud"},
		{"stray"},
	} {
		if _, err := ParseArgs(args, getenv, io.Discard); err == nil {
			t.Errorf("ParseArgs(%q): no error", args)
		}
	}
}

func TestDataDirs(t *testing.T) {
	o := Options{}
	if a, b := o.dataDir(false), o.dataDir(true); a == b || !strings.HasSuffix(a, "desktop") || !strings.HasSuffix(b, "desktop-demo") {
		t.Errorf("data dirs %q and %q: the demo's data must stay apart", a, b)
	}
	o.DataDir = "/data"
	if o.dataDir(true) != "/data" {
		t.Errorf("--data is not used")
	}
}
