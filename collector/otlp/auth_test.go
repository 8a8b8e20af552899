package otlp

import (
	"errors"
	"testing"
)

func TestTokens(t *testing.T) {
	toks, err := ParseTokens(" ci:0123456789abcdef0123 , sidecar:fedcba9876543210fedc,")
	if err != nil || len(toks) != 2 || toks[1].Name != "sidecar" {
		t.Fatalf("ParseTokens: %+v %v", toks, err)
	}
	if _, err := ParseTokens("no-colon"); err == nil {
		t.Error("an entry without name:token parsed")
	}
	a, err := NewTokens(toks)
	if err != nil {
		t.Fatal(err)
	}
	for header, want := range map[string]string{"Bearer 0123456789abcdef0123": "ci", "bearer  fedcba9876543210fedc ": "sidecar"} {
		if name, err := a.Check(header); err != nil || name != want {
			t.Errorf("Check(%q) = %q, %v", header, name, err)
		}
	}
	for _, header := range []string{"", "Bearer", "Bearer ", "Basic 0123456789abcdef0123", "0123456789abcdef0123", "Bearer 0123456789abcdef012"} {
		if _, err := a.Check(header); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Check(%q) = %v, want ErrUnauthenticated", header, err)
		}
	}
	var none *Tokens
	if _, err := none.Check(""); err != nil {
		t.Errorf("no tokens configured: %v", err)
	}
	for _, bad := range [][]Token{{{Name: "", Token: "0123456789abcdef"}}, {{Name: "a", Token: "short"}},
		{{Name: "a", Token: "0123456789abcdef"}, {Name: "b", Token: "0123456789abcdef"}}} {
		if _, err := NewTokens(bad); err == nil {
			t.Errorf("NewTokens(%+v): want an error", bad)
		}
	}
}
