package record

import (
	"errors"
	"strings"
	"testing"
)

func TestJSONErrorReason(t *testing.T) {
	for _, tc := range []struct{ err, want string }{
		{`cannot parse JSON: cannot parse object: cannot parse object value: cannot parse string: missing closing '"'; unparsed tail: ""`,
			`invalid JSON: missing closing '"'`},
		{`cannot parse JSON: unexpected value found: "Bearer eyJ.secret"; unparsed tail: "Bearer eyJ.secret"`,
			`invalid JSON: unexpected value found`},
		{`cannot parse JSON: ` + strings.Repeat(`cannot parse array: cannot parse array value: `, 300) +
			`too big depth for the nested JSON; it exceeds 300; unparsed tail: "[[[["`,
			`invalid JSON: too big depth for the nested JSON; it exceeds 300`},
		{`cannot parse JSON: cannot parse empty string; unparsed tail: ""`, `invalid JSON: cannot parse empty string`},
		{`: "x"`, `invalid JSON: malformed`},
		{"odd \x1b[2J " + strings.Repeat("x", 300), "invalid JSON: odd \\x1b[2J " + strings.Repeat("x", 111) + "…"},
	} {
		if got := JSONErrorReason(errors.New(tc.err)); got != tc.want {
			t.Errorf("JSONErrorReason(%.60q…) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
