package desktop

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Modes the start screen offers.
const (
	// ModeLocal runs a studio in the app: the embedded store in the
	// user's data directory and the collector on the standard OTLP ports.
	ModeLocal = "local"
	// ModeRemote connects to a running studio by URL and token.
	ModeRemote = "remote"
)

// Config is what the app remembers between runs, in desktop.json in the
// user's config directory. It holds a token, so the file is written with
// mode 0600 in a 0700 directory.
type Config struct {
	// Mode is the last mode chosen ("" before the first choice).
	Mode string `json:"mode,omitempty"`
	// Remote is the last remote studio.
	Remote Remote `json:"remote"`
	// Demo runs the demo shop with the local studio.
	Demo bool `json:"demo,omitempty"`
	// GatewayPort is the loopback port the webview loaded the studio from
	// last time: reusing it keeps the page's origin, and with it what the
	// UI keeps in localStorage (theme, view settings).
	GatewayPort int `json:"gateway_port,omitempty"`
}

// Remote is a remote studio.
type Remote struct {
	// URL is the studio's base URL, e.g. https://causeway.example.com.
	URL string `json:"url"`
	// Token is an API token (studio.tokens); empty for a studio on
	// loopback without tokens.
	Token string `json:"token,omitempty"`
	// Insecure records that the user confirmed a plain http:// URL to a
	// host that is not loopback (see CheckPlaintext).
	Insecure bool `json:"insecure,omitempty"`
}

// ConfigPath is where the config lives: os.UserConfigDir()/causeway/desktop.json
// ($XDG_CONFIG_HOME or ~/.config on Linux).
func ConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the user config directory: %w", err)
	}
	return filepath.Join(dir, "causeway", "desktop.json"), nil
}

// LoadConfig reads the config at path; a missing file is the zero Config.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("cannot read %q: %w", path, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("cannot parse %q: %w", path, err)
	}
	if c.Mode != "" && c.Mode != ModeLocal && c.Mode != ModeRemote {
		return Config{}, fmt.Errorf("%q: unknown mode %q (local or remote)", path, c.Mode)
	}
	return c, nil
}

// SaveConfig writes c to path atomically: a temporary file with mode 0600
// renamed over the old one, so the token is never readable by others, not
// even for a moment, and a crash never leaves half a file.
func SaveConfig(path string, c Config) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %q: %w", dir, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".desktop-*.json")
	if err != nil {
		return fmt.Errorf("cannot write the config in %q: %w", dir, err)
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing to remove
	// CreateTemp makes the file 0600 already; say so in case that changes.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("cannot chmod %q: %w", f.Name(), err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %q: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %q: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %q: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("cannot replace %q: %w", path, err)
	}
	return nil
}

// ParseStudioURL checks a remote studio's URL: http or https with a host,
// no query, no credentials in it (the token has its own field). A URL
// without a scheme is https://, except to a loopback host (a studio on
// this machine serves plain HTTP unless studio.tls is set). The result has
// no trailing slash.
func ParseStudioURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("the studio URL is empty")
	}
	if !strings.Contains(raw, "://") {
		scheme := "https://"
		if u, err := url.Parse("http://" + raw); err == nil && isLoopbackHost(u.Hostname()) {
			scheme = "http://"
		}
		raw = scheme + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold credentials
		}
		return nil, fmt.Errorf("studio URL: %w", err)
	}
	if u.User != nil { // not printed: it may hold a password
		return nil, errors.New("studio URL: put the token in the token field, not in the URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("studio URL %q: the scheme must be http or https", raw)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("studio URL %q has no host", raw)
	case u.User != nil:
		return nil, fmt.Errorf("studio URL %q: put the token in the token field, not in the URL", raw)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("studio URL %q: a base URL has no query or fragment", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// ErrPlaintext refuses a plain http:// URL to a host that is not loopback:
// the API token, and everything the studio shows, would cross the network
// unencrypted.
var ErrPlaintext = errors.New("http:// to a host that is not this machine sends the token and the data unencrypted: use https://, or confirm plain HTTP")

// CheckPlaintext refuses u when it is http:// to a host other than
// loopback (127.0.0.0/8, ::1, localhost) unless insecure is set, the
// user's explicit confirmation.
func CheckPlaintext(u *url.URL, insecure bool) error {
	if u.Scheme != "http" || insecure || isLoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%s: %w", u.Host, ErrPlaintext)
}

// isLoopbackHost tells whether host names this machine by loopback.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
