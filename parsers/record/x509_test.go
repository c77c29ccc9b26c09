package record

import "testing"

func TestCanonicalSerial(t *testing.T) {
	for in, want := range map[string]string{
		"0x00AB:cd": "abcd", "01:02:03": "10203", "00": "0", "  7f ": "7f", "-0a": "-a",
		"5A-3B": "5a3b",
	} {
		got, err := CanonicalSerial(in)
		if err != nil || got != want {
			t.Errorf("CanonicalSerial(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "xyz", "12g4", "0x"} {
		if got, err := CanonicalSerial(bad); err == nil {
			t.Errorf("CanonicalSerial(%q) = %q, want an error", bad, got)
		}
	}
	if got, err := SerialFromDecimal("255"); err != nil || got != "ff" {
		t.Errorf("SerialFromDecimal(255) = %q, %v", got, err)
	}
	if _, err := SerialFromDecimal("12a"); err == nil {
		t.Error("SerialFromDecimal(12a) did not fail")
	}
}

func TestCanonicalDN(t *testing.T) {
	want := "c=us,cn=example issuing ca,o=example, inc."
	for _, in := range []string{
		`CN=Example Issuing CA,O=Example\, Inc.,C=US`,
		`/C=US/O=Example, Inc./CN=Example Issuing CA`,
		`CN = Example  Issuing CA, O="Example, Inc.", C = US`,
		`commonName=example issuing ca;organizationName=Example\2C Inc.;countryName=us`,
		`2.5.4.3=Example Issuing CA,2.5.4.10=Example\, Inc.,2.5.4.6=US`,
	} {
		if got := CanonicalDN(in); got != CanonicalDNAttrs([]DNAttr{{"C", "US"}, {"CN", "Example Issuing CA"}, {"O", "Example, Inc."}}) {
			t.Errorf("CanonicalDN(%q) = %q", in, got)
		}
	}
	if got := CanonicalDNAttrs([]DNAttr{{"C", "US"}, {"CN", "Example Issuing CA"}, {"O", "Example, Inc."}}); got != `c=us,cn=example issuing ca,o=example\, inc.` {
		t.Errorf("canonical form = %q (want %q, with the comma escaped)", got, want)
	}
	if CanonicalDN("CN=A,O=B") == CanonicalDN("CN=A,O=C") {
		t.Error("different names compare equal")
	}
	if got := CanonicalDN("Example  CA"); got != "example ca" {
		t.Errorf("free text = %q", got)
	}
	if CanonicalDN("") != "" {
		t.Error("empty name is not empty")
	}
}
