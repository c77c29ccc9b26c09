package nginx

import (
	"bytes"
	"testing"
)

// quotedLoop is quoted as a byte loop: a backslash escapes the next byte.
func quotedLoop(s []byte) (val, rest []byte, ok bool) {
	if len(s) < 3 || s[0] != ' ' || s[1] != '"' {
		return nil, s, false
	}
	for i := 2; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[2:i], s[i+1:], true
		}
	}
	return nil, s, false
}

// hasControlLoop is hasControl byte by byte.
func hasControlLoop(line []byte, allowed uint32) bool {
	for _, c := range line {
		if c == 0x7f || c < 0x20 && allowed&(1<<c) == 0 {
			return true
		}
	}
	return false
}

// The fast quoted and hasControl agree with their byte loops.
func FuzzQuotedAndControl(f *testing.F) {
	for _, s := range []string{
		` "GET / HTTP/1.1" 200`, ` "a\"b" c`, ` "a\\" b"`, ` "a\\\"b\\\\" c`, ` "\\\\\\"`, ` "unterminated\`,
		" \"tab\there\x7f\" x", " \"\x00\x1f\x20\x7e\x7f\x80\xff\"",
	} {
		f.Add([]byte(s), uint32(1<<'\t'))
	}
	f.Fuzz(func(t *testing.T, s []byte, allowed uint32) {
		v, r, ok := quoted(s)
		wv, wr, wok := quotedLoop(s)
		if ok != wok || !bytes.Equal(v, wv) || !bytes.Equal(r, wr) {
			t.Fatalf("quoted(%q) = %q %q %v, want %q %q %v", s, v, r, ok, wv, wr, wok)
		}
		if got, want := hasControl(s, allowed), hasControlLoop(s, allowed); got != want {
			t.Fatalf("hasControl(%q, %#x) = %v, want %v", s, allowed, got, want)
		}
	})
}
