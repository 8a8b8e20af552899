package embedded

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// errCorrupt is returned when a packed body does not decode: the file was
// changed outside the store or by a build that packs differently.
var errCorrupt = errors.New("corrupt packed row")

// encID is how an id is stored: the bytes it spells when it is lowercase
// hex of even length (trace, span and most event ids: half the size),
// else the string itself. decID inverts it exactly; the hex spelling
// keeps the ids' order, so ORDER BY and cursor comparisons are unchanged.
func encID(s string) any {
	if b, ok := hexBytes(s); ok {
		return b
	}
	return s
}

func hexBytes(s string) ([]byte, bool) {
	if s == "" || len(s)%2 != 0 || len(s) > 128 {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return nil, false
		}
	}
	b, err := hex.DecodeString(s)
	return b, err == nil
}

// decID returns the id a column holds (see encID).
func decID(v any) string {
	switch v := v.(type) {
	case []byte:
		return hex.EncodeToString(v)
	case string:
		return v
	}
	return ""
}

// packer appends values to a body: unsigned and zigzag varints, and
// strings and ids with a varint header (length<<1, low bit set for an id
// stored as the bytes of its hex spelling).
type packer struct{ b []byte }

func (p *packer) uint(v uint64) { p.b = binary.AppendUvarint(p.b, v) }
func (p *packer) int(v int64)   { p.b = binary.AppendVarint(p.b, v) }

func (p *packer) str(s string) {
	p.uint(uint64(len(s)) << 1)
	p.b = append(p.b, s...)
}

func (p *packer) id(s string) {
	if b, ok := hexBytes(s); ok {
		p.uint(uint64(len(b))<<1 | 1)
		p.b = append(p.b, b...)
		return
	}
	p.str(s)
}

// unpacker reads what a packer wrote; the first error sticks and every
// later read returns zero values.
type unpacker struct {
	b   []byte
	err error
}

func (u *unpacker) uint() uint64 {
	if u.err != nil {
		return 0
	}
	v, n := binary.Uvarint(u.b)
	if n <= 0 {
		u.err = errCorrupt
		return 0
	}
	u.b = u.b[n:]
	return v
}

func (u *unpacker) int() int64 {
	if u.err != nil {
		return 0
	}
	v, n := binary.Varint(u.b)
	if n <= 0 {
		u.err = errCorrupt
		return 0
	}
	u.b = u.b[n:]
	return v
}

// raw returns the next string or id's header bit and bytes.
func (u *unpacker) raw() (isID bool, b []byte) { return u.rawAfter(u.uint()) }

// rawAfter reads the bytes of a string or id whose header h was read.
func (u *unpacker) rawAfter(h uint64) (isID bool, b []byte) {
	n := h >> 1
	if u.err != nil || n > uint64(len(u.b)) {
		if u.err == nil {
			u.err = errCorrupt
		}
		return false, nil
	}
	b, u.b = u.b[:n], u.b[n:]
	return h&1 == 1, b
}

func (u *unpacker) str() string { return u.strAfter(u.uint()) }

func (u *unpacker) strAfter(h uint64) string {
	isID, b := u.rawAfter(h)
	if isID {
		return hex.EncodeToString(b)
	}
	return string(b)
}

// id reads what packer.id wrote (str reads it too).
func (u *unpacker) id() string { return u.str() }

// header is the varint header packer.str or packer.id writes for s.
func header(s string) (h uint64, b []byte) {
	if hb, ok := hexBytes(s); ok {
		return uint64(len(hb))<<1 | 1, hb
	}
	return uint64(len(s)) << 1, nil
}
