package keycloak

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// attrsJSON is record.AttrsJSON for a short list of pairs, without a map and
// reflection (it was half the parse time): a JSON object with sorted keys,
// the first of duplicate keys kept, empty and "-" values skipped; "" when
// nothing is left. It reorders attrs.
func attrsJSON(attrs []field) string {
	slices.SortStableFunc(attrs, func(a, b field) int { return strings.Compare(a.key, b.key) })
	var b strings.Builder
	prev := ""
	for i, f := range attrs {
		if i > 0 && f.key == prev {
			continue
		}
		prev = f.key
		if f.value == "" || f.value == "-" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		writeJSONString(&b, f.key)
		b.WriteByte(':')
		writeJSONString(&b, f.value)
	}
	if b.Len() == 0 {
		return ""
	}
	b.WriteByte('}')
	return b.String()
}

// writeJSONString writes s as a JSON string the way encoding/json does:
// control characters, <, >, &, U+2028 and U+2029 escaped, invalid UTF-8
// replaced by U+FFFD.
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
