package record

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
)

// JWTShaped reports whether s has the compact serialization shape of a JWT:
// three base64url segments separated by dots (a JWS; the signature may be
// empty, as in an unsecured "alg":"none" token, which must reach the analyzer
// to be recorded), or five (a JWE). Header and payload (JWS), or header and
// ciphertext (JWE), must be non-empty. A segment may end in one or two "="
// of padding (not the JWT encoding, but some verifiers accept it and AWS
// ALB's x-amzn-oidc-data header uses it: the analyzer verifies such tokens
// as presented and flags them). Other characters are not allowed. Nothing
// is decoded; a shaped value may still be malformed.
func JWTShaped(s string) bool {
	end, ok := jwtAt(s, 0)
	return ok && end == len(s)
}

// ReasonBearerNotJWT is the reject reason for a Bearer credential that is not
// JWT-shaped. It never quotes the credential.
const ReasonBearerNotJWT = "bearer value is not a JWT"

// BearerJWT returns the JWT an Authorization-style value carries: the
// credential of "Bearer <jwt>" (scheme in any case), or the whole value when it
// is itself JWT-shaped (custom headers such as X-Jwt-Assertion hold bare
// tokens). It returns "", "" when there is nothing to hunt: "", "-", another
// scheme ("Basic ..."), an opaque value, or "Bearer" with no credential; and
// "", ReasonBearerNotJWT when a Bearer credential is not JWT-shaped.
func BearerJWT(v string) (token, rejectReason string) {
	if tok, ok := BearerToken(v); ok {
		if tok == "" {
			return "", ""
		}
		if !JWTShaped(tok) {
			return "", ReasonBearerNotJWT
		}
		return tok, ""
	}
	if v = strings.TrimSpace(v); JWTShaped(v) {
		return v, ""
	}
	return "", ""
}

// BearerCache remembers what BearerJWT said of the values a parser met, so
// that a token presented on many lines is shape-checked, copied and hashed
// once: a repeated value costs a map lookup and no allocation. The zero
// value is ready; it is safe for concurrent use (the workers reading the
// parts of one input share one, so a token is held once). It holds at most
// MaxCacheBytes of values in two generations: when the newer is full, the
// older is dropped, so the tokens in use stay (a token is used for its
// lifetime, an hour or so, then never again).
type BearerCache struct {
	mu       sync.Mutex
	cur, old map[string]bearerVerdict
	bytes    int
}

// bearerVerdict is what BearerJWT said of value (the map key's text, kept
// to move the entry to the newer generation without a copy), with the
// flag a sink sets once it has registered the token's artifact.
type bearerVerdict struct {
	value, token, key, reason string
	seen                      *atomic.Bool
}

// MaxCacheBytes bounds the bytes a per-parse cache (BearerCache, the
// batcher's artifact keys) holds.
const MaxCacheBytes = 64 << 20

// LookupString is Lookup of a string value.
func (c *BearerCache) LookupString(v string) (token, key, rejectReason string, seen *atomic.Bool) {
	c.mu.Lock()
	r, ok := c.cur[v]
	c.mu.Unlock()
	if ok {
		return r.token, r.key, r.reason, r.seen
	}
	return c.Lookup([]byte(v))
}

// Lookup is BearerJWT(string(v)), remembered, with the token's ArtifactKey
// ("" when there is no token) and the flag that says whether a sink has
// registered the token's artifact since the cache met it (see
// Sighting.RawKeySeen); nil when there is no token.
func (c *BearerCache) Lookup(v []byte) (token, key, rejectReason string, seen *atomic.Bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.cur[string(v)]; ok {
		return r.token, r.key, r.reason, r.seen
	}
	r, ok := c.old[string(v)]
	if !ok {
		r.value = string(v) // the token below is a part of it
		r.token, r.reason = BearerJWT(r.value)
		if r.token != "" {
			r.key = ArtifactKey(r.token)
			r.seen = new(atomic.Bool)
		}
	}
	if c.cur == nil || c.bytes+len(v) > MaxCacheBytes/2 {
		c.old, c.cur, c.bytes = c.cur, make(map[string]bearerVerdict, 1024), 0
	}
	c.bytes += len(v)
	c.cur[r.value] = r
	return r.token, r.key, r.reason, r.seen
}

// ArtifactKey is the key of an artifact held raw: "sha256:<hex>" of its
// bytes.
func ArtifactKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}
