package record

import (
	"encoding/binary"
	"unicode/utf8"
)

// Attrs builds the same JSON object as AttrsJSON without maps or reflection,
// for formats that emit one per line. Keys are written in the order they are
// added (add them sorted to match AttrsJSON); empty and "-" values are
// skipped. The zero value is ready; Reset reuses the buffer.
type Attrs struct{ buf []byte }

// Reset empties a.
func (a *Attrs) Reset() { a.buf = a.buf[:0] }

// Add adds key with a string value.
func (a *Attrs) Add(key, value string) { a.AddBytes(key, []byte(value)) } // no copy: value does not escape

// AddBytes adds key with the value in b, which a does not keep.
func (a *Attrs) AddBytes(key string, b []byte) {
	if len(b) == 0 || len(b) == 1 && b[0] == '-' {
		return
	}
	if len(a.buf) == 0 {
		a.buf = append(a.buf, '{')
	} else {
		a.buf = append(a.buf, ',')
	}
	a.buf = appendJSONString(a.buf, []byte(key))
	a.buf = append(a.buf, ':')
	a.buf = appendJSONString(a.buf, b)
}

// String returns the object, or "" when nothing was added.
func (a *Attrs) String() string {
	if len(a.buf) == 0 {
		return ""
	}
	return string(append(a.buf, '}'))
}

// plain8 reports whether none of the eight bytes of x is below 0x20, a
// quote, a backslash or at or above 0x80.
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasLess := (x - 0x20*ones) &^ x & highs
	hasByte := func(b uint64) uint64 { y := x ^ (b * ones); return (y - ones) &^ y & highs }
	return (hasLess | hasByte('"') | hasByte('\\') | x&highs) == 0
}

// appendJSONString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, line and paragraph
// separators escaped (as encoding/json does).
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// eight plain bytes at a time (no control byte, quote, backslash
		// or non-ASCII byte among them): the common case
		for i+8 <= len(s) && plain8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
