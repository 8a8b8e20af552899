package desktop

import (
	"errors"
	"io"
	"testing"
)

// TestSchemelessURLIsHTTPS: a URL typed without a scheme is https://,
// except to this machine, whose studio serves plain HTTP by default.
func TestSchemelessURLIsHTTPS(t *testing.T) {
	for in, want := range map[string]string{
		"causeway.example.com":      "https://causeway.example.com",
		"10.0.0.5:7070/studio/":     "https://10.0.0.5:7070/studio",
		"[2001:db8::1]:7070":        "https://[2001:db8::1]:7070",
		"127.0.0.1:7070":            "http://127.0.0.1:7070",
		"localhost:7070":            "http://localhost:7070",
		"[::1]:7070":                "http://[::1]:7070",
		"http://causeway.internal":  "http://causeway.internal",
		"https://causeway.internal": "https://causeway.internal",
	} {
		u, err := ParseStudioURL(in)
		if err != nil || u.String() != want {
			t.Errorf("ParseStudioURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
}

// TestPlainHTTPNeedsConfirmation: http:// to a host that is not loopback
// is refused with ErrPlaintext unless the user confirmed (the connect
// request's insecure flag, --insecure); https:// and loopback need none.
func TestPlainHTTPNeedsConfirmation(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		refused  bool
	}{
		{"http://causeway.example.com", false, true},
		{"http://10.0.0.5:7070", false, true},
		{"http://[2001:db8::1]:7070", false, true},
		{"http://causeway.example.com", true, false},
		{"https://causeway.example.com", false, false},
		{"http://127.0.0.1:7070", false, false},
		{"http://127.8.9.10:7070", false, false},
		{"http://localhost:7070", false, false},
		{"http://[::1]:7070", false, false},
	} {
		u, err := ParseStudioURL(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckPlaintext(u, tc.insecure); errors.Is(err, ErrPlaintext) != tc.refused {
			t.Errorf("CheckPlaintext(%s, insecure=%v) = %v, want refused=%v", tc.url, tc.insecure, err, tc.refused)
		}
	}
	// The start screen's request is checked before anything is dialled.
	a := &App{}
	if err := a.connect(connectRequest{Mode: ModeRemote, URL: "http://causeway.example.com:7070", Token: "t0ken"}); !errors.Is(err, ErrPlaintext) {
		t.Fatalf("connect without confirmation: %v, want ErrPlaintext", err)
	}
	// --remote needs --insecure for the same URL.
	env := func(string) string { return "" }
	if _, err := ParseArgs([]string{"--remote", "http://causeway.example.com:7070"}, env, io.Discard); !errors.Is(err, ErrPlaintext) {
		t.Fatalf("--remote http:// without --insecure: %v, want ErrPlaintext", err)
	}
	o, err := ParseArgs([]string{"--remote", "http://causeway.example.com:7070", "--insecure"}, env, io.Discard)
	if err != nil || !o.Insecure {
		t.Fatalf("--remote http:// --insecure: %+v, %v", o, err)
	}
}
