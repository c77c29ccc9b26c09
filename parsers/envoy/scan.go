package envoy

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// jval is one top-level value of a line: its JSON type and its bytes (a
// string's unescaped text, a number as written). set is false for a slot
// the line does not fill.
type jval struct {
	t   fastjson.Type
	b   []byte
	set bool
}

// maxScanDepth is the nesting the fast path reads; deeper lines go to
// fastjson.
const maxScanDepth = 64

// lineScanner reads a line that is one strict (RFC 8259) JSON object, in
// one pass and without building a tree: the fast path for access-log
// lines. Whatever it does not accept (not an object, a syntax error, a
// control character inside a string, a \u escape of a surrogate, nesting
// past maxScanDepth) it leaves to fastjson, which decides; so a line it
// accepts, fastjson accepts with the same members (FuzzScanLine checks it).
type lineScanner struct {
	s     []byte
	i     int
	arena []byte // unescaped strings; never grows past len(s), so slices of it stay put
	depth int
}

// scan calls member for each top-level member of line and reports whether
// line was read; member's bytes are valid until the next scan.
func (p *lineScanner) scan(line []byte, member func(key []byte, v jval)) bool {
	p.s, p.i, p.depth = line, 0, 0
	if cap(p.arena) < len(line) {
		p.arena = make([]byte, 0, len(line))
	}
	p.arena = p.arena[:0]
	p.ws()
	if !p.eat('{') {
		return false
	}
	p.ws()
	if p.eat('}') {
		p.ws()
		return p.i == len(p.s)
	}
	for {
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return false
		}
		key, ok := p.str()
		if !ok {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		v, ok := p.value()
		if !ok {
			return false
		}
		member(key, v)
		p.ws()
		if p.eat(',') {
			p.ws()
			continue
		}
		if !p.eat('}') {
			return false
		}
		p.ws()
		return p.i == len(p.s)
	}
}

func (p *lineScanner) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *lineScanner) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *lineScanner) lit(word string) bool {
	if len(p.s)-p.i >= len(word) && string(p.s[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

// value reads one value at p.i.
func (p *lineScanner) value() (jval, bool) {
	if p.i >= len(p.s) {
		return jval{}, false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		b, ok := p.str()
		return jval{t: fastjson.TypeString, b: b, set: true}, ok
	case c == '{' || c == '[':
		t := fastjson.TypeObject
		if c == '[' {
			t = fastjson.TypeArray
		}
		return jval{t: t, set: true}, p.nested()
	case c == 't':
		return jval{t: fastjson.TypeTrue, set: true}, p.lit("true")
	case c == 'f':
		return jval{t: fastjson.TypeFalse, set: true}, p.lit("false")
	case c == 'n':
		return jval{t: fastjson.TypeNull, set: true}, p.lit("null")
	case c == '-' || ('0' <= c && c <= '9'):
		start := p.i
		if !p.number() {
			return jval{}, false
		}
		return jval{t: fastjson.TypeNumber, b: p.s[start:p.i], set: true}, true
	}
	return jval{}, false
}

// nested reads an object or array at p.i (its members are checked, not
// kept).
func (p *lineScanner) nested() bool {
	if p.depth++; p.depth > maxScanDepth {
		return false
	}
	defer func() { p.depth-- }()
	obj := p.s[p.i] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	p.i++
	p.ws()
	if p.eat(closer) {
		return true
	}
	for {
		if obj {
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return false
			}
			if _, ok := p.str(); !ok {
				return false
			}
			p.ws()
			if !p.eat(':') {
				return false
			}
			p.ws()
		}
		if _, ok := p.value(); !ok {
			return false
		}
		p.ws()
		if p.eat(',') {
			p.ws()
			continue
		}
		return p.eat(closer)
	}
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at p.i.
func (p *lineScanner) number() bool {
	digits := func() int {
		n := 0
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	p.eat('-')
	if p.eat('0') {
		if p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			return false
		}
	} else if digits() == 0 {
		return false
	}
	if p.eat('.') && digits() == 0 {
		return false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}

// str reads the string at p.i (its opening quote) and returns its text:
// the line's own bytes when it has no escape, else unescaped into arena.
func (p *lineScanner) str() ([]byte, bool) {
	p.i++
	start := p.i
	q := bytes.IndexByte(p.s[p.i:], '"')
	if q < 0 {
		return nil, false
	}
	seg := p.s[start : start+q]
	switch special(seg) {
	case '\\':
		p.i = start + bytes.IndexByte(seg, '\\')
		return p.escaped(start)
	case 0:
		p.i = start + q + 1
		return seg, true
	}
	return nil, false // a control character, before any backslash
}

// special returns '\\' when b holds a backslash before any byte below
// 0x20, 1 when it holds such a byte first, 0 when neither: one pass, eight
// bytes at a time.
func special(b []byte) byte {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	const lim, slash = 0x20 * ones, '\\' * ones
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		y := x ^ slash
		if (x-lim)&^x&highs|(y-ones)&^y&highs != 0 {
			break // the first such byte is in these eight
		}
		b = b[8:]
	}
	for _, c := range b {
		switch {
		case c == '\\':
			return '\\'
		case c < 0x20:
			return 1
		}
	}
	return 0
}

// escaped is str from the first backslash on.
func (p *lineScanner) escaped(start int) ([]byte, bool) {
	a0 := len(p.arena)
	p.arena = append(p.arena, p.s[start:p.i]...)
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return p.arena[a0:len(p.arena):len(p.arena)], true
		case c < 0x20:
			return nil, false
		case c != '\\':
			p.arena = append(p.arena, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.s) {
			return nil, false
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			p.arena = append(p.arena, e)
		case 'b':
			p.arena = append(p.arena, '\b')
		case 'f':
			p.arena = append(p.arena, '\f')
		case 'n':
			p.arena = append(p.arena, '\n')
		case 'r':
			p.arena = append(p.arena, '\r')
		case 't':
			p.arena = append(p.arena, '\t')
		case 'u':
			if p.i+4 > len(p.s) {
				return nil, false
			}
			var r rune
			for _, h := range p.s[p.i : p.i+4] {
				var d byte
				switch {
				case '0' <= h && h <= '9':
					d = h - '0'
				case 'a' <= h && h <= 'f':
					d = h - 'a' + 10
				case 'A' <= h && h <= 'F':
					d = h - 'A' + 10
				default:
					return nil, false
				}
				r = r<<4 | rune(d)
			}
			if 0xd800 <= r && r <= 0xdfff {
				return nil, false // surrogates: fastjson's reading decides
			}
			p.i += 4
			p.arena = utf8.AppendRune(p.arena, r)
		default:
			return nil, false
		}
	}
	return nil, false
}
