package record

import (
	"fmt"
	"hash/maphash"
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
	h := maphash.Bytes(c.seed, hot)
	if find(c.shards[h%bearerShards].cur[h], string(hot), maphash.Bytes(c.seed2, hot)) == nil {
		t.Error("the value in use was dropped with the older generation")
	}
	for i := range c.shards {
		if sh := &c.shards[i]; sh.bytes > MaxCacheBytes/2/bearerShards {
			t.Errorf("shard %d: the newer generation holds %d bytes, over %d", i, sh.bytes, MaxCacheBytes/2/bearerShards)
		}
	}
}

// Two values of one first hash each keep their own verdict and key, in
// either generation, and so do two values of one second hash (the
// chances of both are nil, short of the seeds).
func TestBearerCacheSameHash(t *testing.T) {
	var c BearerCache
	a, b := "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "Bearer opaque"
	for range 2 {
		for _, v := range []string{a, b, a} {
			h2 := uint64(7)
			if v == b {
				h2 = uint64(len(v)) // and once the same: the tails differ
			}
			tok, key, why, _ := c.lookupHashed(v, 42, h2)
			wtok, wwhy := BearerJWT(v)
			if tok != wtok || why != wwhy || (tok != "" && key != ArtifactKey(tok)) {
				t.Fatalf("%q: cache says %q %q %q, BearerJWT %q %q", v, tok, key, why, wtok, wwhy)
			}
		}
		sh := &c.shards[42%bearerShards]
		sh.old, sh.cur, sh.bytes = sh.cur, nil, 0 // the second round finds them in the older generation
	}
}

// BenchmarkBearerCacheMany is the cache as an access log uses it: 50k
// distinct tokens of ~800 bytes, met in a skewed order by two workers
// (each value copied first, as a line just read is in cache).
func BenchmarkBearerCacheMany(b *testing.B) {
	const n = 50000
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = fmt.Appendf(nil, "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLSVkIn0.%s%06d", strings.Repeat("s", 760), i)
	}
	order := make([]int, 1<<16)
	x := uint64(1)
	for i := range order {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		order[i] = int(x % n * (x >> 40 % n) / n) // skewed towards the low ids
	}
	var c BearerCache
	for _, v := range vals {
		c.Lookup(v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		var line []byte // the value as a parser has it: just read, in cache
		for pb.Next() {
			line = append(line[:0], vals[order[i&(len(order)-1)]]...)
			if tok, _, _, _ := c.Lookup(line); tok == "" {
				b.Fatal("no token")
			}
			i++
		}
	})
}
