package keycloak

import (
	"fmt"
	"strings"
)

// field is one key=value pair of an event message.
type field struct {
	key, value string
}

// parseFields splits the message of a Keycloak event ("type=CODE_TO_TOKEN,
// realmId=acme, ...") into its key=value pairs, appending to dst.
//
// Keycloak has written three value styles over the years, all handled:
//   - unquoted (older versions): a value ends at the next ", key=", so it may
//     contain spaces and even commas not followed by a key;
//   - single-quoted when the value holds a space (older jboss-logging):
//     scope='openid profile';
//   - quoted with the configured quote character (newer versions, "\"" by
//     default), the quote escaped as \" inside the value.
//
// A quoted value ends at a quote followed by the end of the message or by
// ", key=" (see quotedEnd), so "a\", b=\"c" stays one value. Keycloak does
// not escape backslashes: a value ending in "\" looks like an escaped quote
// and still ends where the next quoted value begins.
// In a message whose first value is quoted, every value is: one without its
// closing quote is an error, not a value. The literal value null (Keycloak
// prints missing values so) becomes "".
func parseFields(dst []field, msg string) ([]field, error) {
	msg = strings.TrimRight(msg, " \t")
	pos := 0
	start := len(dst)
	var quoted byte // the quote of the first value, if it was quoted
	for pos < len(msg) {
		eq := strings.IndexByte(msg[pos:], '=')
		if eq < 0 || !validKey(msg[pos:pos+eq]) {
			return dst, fmt.Errorf("expected key= at byte %d", pos)
		}
		key := msg[pos : pos+eq]
		pos += eq + 1
		var value string
		if pos < len(msg) && (msg[pos] == '"' || msg[pos] == '\'') {
			end, ok := quotedEnd(msg, pos)
			if !ok && len(dst) > start && quoted == msg[pos] {
				// Every value of a quoted-style message is quoted: this
				// one was cut off (a truncated last line, say).
				return dst, fmt.Errorf("unterminated quoted value of %s", key)
			}
			if ok && len(dst) == start {
				quoted = msg[pos]
			}
			if ok {
				value = unescape(msg[pos+1:end], msg[pos])
				pos = end + 1
				if pos < len(msg) {
					pos += len(", ") // quotedEnd guarantees the separator
				}
				dst = append(dst, field{key, nullToEmpty(value)})
				continue
			}
		}
		end := nextSeparator(msg, pos)
		value = msg[pos:end]
		pos = end
		if pos < len(msg) {
			pos += len(", ")
		}
		dst = append(dst, field{key, nullToEmpty(value)})
	}
	return dst, nil
}

// quotedEnd finds the closing quote of the value whose opening quote is at
// msg[open]: a quote followed by ", key=" that is unescaped, or escaped but
// followed by a quoted value (inside a value Keycloak would have escaped that
// quote too); else a quote at the end of msg, unescaped preferred.
func quotedEnd(msg string, open int) (int, bool) {
	q := msg[open]
	for i := open + 1; i < len(msg); i++ {
		j := strings.IndexByte(msg[i:], q)
		if j < 0 {
			break
		}
		i += j
		if i+1 == len(msg) {
			return i, true
		}
		if !separatorAt(msg, i+1) {
			continue
		}
		if msg[i-1] != '\\' {
			return i, true
		}
		next := i + 1 + len(", ") + strings.IndexByte(msg[i+1+len(", "):], '=') + 1
		if next < len(msg) && msg[next] == q {
			return i, true
		}
	}
	return 0, false
}

// nextSeparator returns the index of the next ", key=" at or after pos, or
// len(msg).
func nextSeparator(msg string, pos int) int {
	for {
		j := strings.Index(msg[pos:], ", ")
		if j < 0 {
			return len(msg)
		}
		if separatorAt(msg, pos+j) {
			return pos + j
		}
		pos += j + 1
	}
}

// separatorAt reports whether msg[i:] starts with ", key=". It looks at most
// maxKey bytes ahead, so scanning a line stays linear.
func separatorAt(msg string, i int) bool {
	if !strings.HasPrefix(msg[i:], ", ") {
		return false
	}
	rest := msg[i+2:]
	for j := 0; j < len(rest) && j <= maxKey; j++ {
		if rest[j] == '=' {
			return validKey(rest[:j])
		}
		if !keyByte(rest[j]) {
			return false
		}
	}
	return false
}

// maxKey bounds the length of a key.
const maxKey = 128

// validKey reports whether k looks like a Keycloak event key or detail name
// (type, realmId, token_id, redirect_uri, custom.claim, x-y).
func validKey(k string) bool {
	if k == "" || len(k) > maxKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !keyByte(k[i]) || (k[i] == '.' || k[i] == '-') && i == 0 {
			return false
		}
	}
	return true
}

func keyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func unescape(s string, q byte) string {
	esc := string([]byte{'\\', q})
	if !strings.Contains(s, esc) {
		return s
	}
	return strings.ReplaceAll(s, esc, string(q))
}

func nullToEmpty(s string) string {
	if s == "null" {
		return ""
	}
	return s
}
