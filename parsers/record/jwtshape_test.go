package record

import (
	"fmt"
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
		if tok, _, _, _ := c.Lookup(v); tok == "" {
			b.Fatal("no token")
		}
	}
}

// The cache answers as BearerJWT does, across its generations, and keeps a
// value in use when the older generation is dropped.
func TestBearerCache(t *testing.T) {
	var c BearerCache
	hot := []byte("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJob3QifQ.c2ln")
	check := func(v []byte) {
		t.Helper()
		tok, key, why, _ := c.Lookup(v)
		wtok, wwhy := BearerJWT(string(v))
		if tok != wtok || why != wwhy {
			t.Fatalf("%.40q: cache says %q %q, BearerJWT %q %q", v, tok, why, wtok, wwhy)
		}
		if (tok == "") != (key == "") || (tok != "" && key != ArtifactKey(tok)) {
			t.Fatalf("%.40q: key %q for token %q", v, key, tok)
		}
	}
	pad := strings.Repeat("A", 4000)
	for i := range 3 * MaxCacheBytes / 2 / 4000 { // three generations' worth
		check(hot)
		check(fmt.Appendf(nil, "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.%s%d", pad, i))
		if i%7 == 0 {
			check(fmt.Appendf(nil, "Basic %d", i))
			check(fmt.Appendf(nil, "Bearer not-a-jwt-%d", i))
		}
	}
	if _, ok := c.cur[string(hot)]; !ok {
		t.Error("the value in use was dropped with the older generation")
	}
	if c.bytes > MaxCacheBytes/2 {
		t.Errorf("the newer generation holds %d bytes, over %d", c.bytes, MaxCacheBytes/2)
	}
}
