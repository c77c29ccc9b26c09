package record

import (
	"strings"
	"testing"
)

func TestJWTShaped(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", true},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", true}, // unsecured: empty signature
		{"eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn", true},
		{"eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy.dGFn", true}, // JWE "dir": empty key
		{"a.b.c", true},
		{".b.c", false},
		{"a..c", false},
		{"a.b", false},
		{"a.b.c.d", false},
		{"a.b.c.d.e.f", false},
		{"a..c.d.", true},            // JWE with empty key and tag
		{"a..c..e", false},           // JWE without ciphertext
		{"a.b.c..", false},           // JWE without ciphertext
		{"eyJ.eyJ=.c2ln", true},      // padded: verified as presented, flagged
		{"eyJh==.eyJ=.c2ln==", true}, // AWS ALB's x-amzn-oidc-data pads every segment
		{"eyJ.=.c2ln", false},        // padding without data
		{"eyJ.e=J.c2ln", false},      // "=" inside a segment
		{"eyJ.eyJ===.c2ln", false},   // more padding than base64 has
		{"eyJ.eyJ.c2/n", false},
		{"eyJ.eyJ.c2+n", false},
		{"eyJ eyJ c2ln", false},
		{"", false},
		{"opaque-token", false},
	}
	for _, tt := range tests {
		if got := JWTShaped(tt.in); got != tt.want {
			t.Errorf("JWTShaped(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBearerJWT(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"
	tests := []struct{ in, tok, why string }{
		{"Bearer " + jwt, jwt, ""},
		{"bearer  " + jwt + " ", jwt, ""},
		{"BEARER " + jwt, jwt, ""},
		{jwt, jwt, ""},
		{" " + jwt, jwt, ""},
		{"Bearer opaque", "", ReasonBearerNotJWT},
		{"Bearer " + jwt + ", Bearer " + jwt, "", ReasonBearerNotJWT},
		{"Bearer", "", ""},
		{"Bearer ", "", ""},
		{"Basic YWxpY2U6c2VjcmV0", "", ""},
		{"opaque", "", ""},
		{"-", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if tok, why := BearerJWT(tt.in); tok != tt.tok || why != tt.why {
			t.Errorf("BearerJWT(%q) = %q, %q, want %q, %q", tt.in, tok, why, tt.tok, tt.why)
		}
	}
}

// BenchmarkBearerCache is the cost of a bearer value met again: a map
// lookup, no shape check, no copy.
func BenchmarkBearerCache(b *testing.B) {
	v := []byte("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9." + strings.Repeat("A", 342))
	var c BearerCache
	b.ReportAllocs()
	for b.Loop() {
		if tok, _, _ := c.BearerJWT(v); tok == "" {
			b.Fatal("no token")
		}
	}
}
