package keycloak

import (
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// attrsJSON must write what record.AttrsJSON writes.
func TestAttrsJSONMatchesRecord(t *testing.T) {
	tests := [][]field{
		nil,
		{{"a", ""}, {"b", "-"}},
		{{"type", "CODE_TO_TOKEN"}, {"scope", "openid profile"}, {"realm", "acme"}},
		{{"k", "dup1"}, {"k", "dup2"}, {"j", "x"}},
		{{"note", "quote \" backslash \\ <b>&amp; \n\r\t\x00\x1f\x7f \b\f é \u2028\u2029 \xff end"}},
		{{"k\"ey", "v"}},
	}
	for _, pairs := range tests {
		m := map[string]string{}
		for _, f := range pairs {
			if _, dup := m[f.key]; !dup {
				m[f.key] = f.value
			}
		}
		want := record.AttrsJSON(m)
		if got := attrsJSON(append([]field(nil), pairs...)); got != want {
			t.Errorf("attrsJSON(%q) = %s, want %s", pairs, got, want)
		}
	}
}

func FuzzAttrsJSON(f *testing.F) {
	f.Add("k", "v", "k", "w")
	f.Add("a\x00", "\xff\u2028<", "", "-")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		pairs := []field{{k1, v1}, {k2, v2}}
		m := map[string]string{}
		for _, f := range pairs {
			if _, dup := m[f.key]; !dup {
				m[f.key] = f.value
			}
		}
		if got, want := attrsJSON(pairs), record.AttrsJSON(m); got != want {
			t.Fatalf("attrsJSON(%q) = %s, want %s", pairs, got, want)
		}
	})
}
