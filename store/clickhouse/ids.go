package clickhouse

import (
	"encoding/hex"
	"fmt"
)

// Span ids in the events table (span_id, parent_span_id) are stored in
// binary: a W3C span id is 16 hex digits, which LZ4 cannot shrink (it
// has no entropy coding), so as text it took 17 bytes per event on disk
// and in binary it takes 10. A stored id is "\x01" and the bytes of a
// lowercase hex id, "\x02" and the id itself for any other id, or empty;
// rows written before this encoding hold the id as plain text, which
// never starts with "\x01" or "\x02", so every form reads back as the id
// it was given. Other tables keep ids as text.

const (
	idBinary = 0x01
	idText   = 0x02
)

// compactID is the stored form of a span id.
func compactID(id string) string {
	if id == "" {
		return ""
	}
	if len(id)%2 == 0 && isLowerHex(id) {
		b := make([]byte, 1+len(id)/2)
		b[0] = idBinary
		hex.Decode(b[1:], []byte(id)) // cannot fail: checked above
		return string(b)
	}
	return string(rune(idText)) + id
}

// isLowerHex says whether s holds only 0-9 and a-f.
func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// idTextSQL is the SQL expression reading a stored span id column back
// as the id: the inverse of compactID, and plain text as it is.
func idTextSQL(col string) string {
	return fmt.Sprintf(`multiIf(substring(%[1]s, 1, 1) = '\x01', lower(hex(substring(%[1]s, 2))), substring(%[1]s, 1, 1) = '\x02', substring(%[1]s, 2), %[1]s)`, col)
}
