package record

import "testing"

func TestJSONError(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1`, "invalid JSON: truncated line"},
		{`{"a":"bc`, "invalid JSON: truncated line"},
		{`{"a" 1}`, "invalid JSON at byte 6: invalid character '1' after object key"},
		{`nope`, "invalid JSON at byte 2: invalid character 'o' in literal null (expecting 'u')"},
	}
	for _, tt := range tests {
		if got := jsonSyntaxReason([]byte(tt.in)); got != tt.want {
			t.Errorf("jsonSyntaxReason(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
