package store

import (
	"testing"

	"github.com/causeway-dev/causeway/event"
)

func TestCursorRoundTrip(t *testing.T) {
	c := CursorAfter(event.Event{StartNS: 1795343935116809318, SpanID: "869fdf22a9b4d4eb"})
	got, err := ParseCursor(c)
	if err != nil || got.StartNS != 1795343935116809318 || got.SpanID != "869fdf22a9b4d4eb" {
		t.Fatalf("ParseCursor(%q) = %+v, %v", c, got, err)
	}
	for _, bad := range []string{"%%%", "bm9wZQ", Cursor{StartNS: 1, SpanID: "ZZ"}.Encode()} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q): want an error", bad)
		}
	}
}

// FuzzParseCursor: any string either parses to a cursor that encodes back
// to an equivalent cursor, or is an error; never a panic.
func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{StartNS: 42, SpanID: "00ff"}.Encode())
	f.Add("")
	f.Add("MTIzLg")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		again, err := ParseCursor(c.Encode())
		if err != nil || again != c {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, c, c.Encode(), again, err)
		}
	})
}
