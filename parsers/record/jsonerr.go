package record

import "strings"

// JSONErrorReason turns a JSON parser's error (fastjson's, typically) into a
// short reject reason, "invalid JSON: <why>", that never quotes the input,
// which may hold a credential: fastjson's chain of "cannot parse ...:"
// contexts, its "unparsed tail" and any quoted fragment are dropped, and what
// is left is bounded.
func JSONErrorReason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "; unparsed tail"); i >= 0 {
		msg = msg[:i]
	}
	for strings.HasPrefix(msg, "cannot parse ") {
		i := strings.Index(msg, ": ")
		if i < 0 {
			break
		}
		msg = msg[i+2:]
	}
	if i := strings.Index(msg, `: "`); i >= 0 { // a quoted fragment of the input
		msg = msg[:i]
	}
	if msg == "" {
		msg = "malformed"
	}
	return "invalid JSON: " + Excerpt(msg, 120)
}
