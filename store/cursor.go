package store

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/causeway-dev/causeway/event"
)

// Cursor is a position in the newest-first order of Reader.Events: the
// (StartNS, SpanID) of the last event of a page. The next page holds the
// events strictly after it in that order.
type Cursor struct {
	StartNS uint64
	SpanID  string
}

// Encode returns the opaque string form of c.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(c.StartNS, 10) + "." + c.SpanID))
}

// CursorAfter is the cursor that continues after e.
func CursorAfter(e event.Event) string {
	return Cursor{StartNS: e.StartNS, SpanID: e.SpanID}.Encode()
}

// ParseCursor decodes a cursor made by Encode. The empty string is the
// zero Cursor, meaning "from the start". Errors wrap ErrInvalidQuery.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, Invalid("invalid cursor: %v", err)
	}
	ns, span, ok := strings.Cut(string(b), ".")
	if !ok {
		return Cursor{}, Invalid("invalid cursor: no separator")
	}
	n, err := strconv.ParseUint(ns, 10, 64)
	if err != nil {
		return Cursor{}, Invalid("invalid cursor: %v", err)
	}
	if !isHex(span) {
		return Cursor{}, Invalid("invalid cursor: span id %q is not hex", span)
	}
	return Cursor{StartNS: n, SpanID: span}, nil
}

// Limit validates and defaults a query limit. Errors wrap ErrInvalidQuery.
func Limit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, Invalid("limit %d is negative", n)
	case n == 0:
		return DefaultLimit, nil
	case n > MaxLimit:
		return 0, Invalid("limit %d is above the maximum %d", n, MaxLimit)
	}
	return n, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
