package record

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
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
// that a token presented on many lines is shape-checked and copied once: a
// repeated value costs a map lookup and no allocation. The zero value is
// ready; it is used by one goroutine (one Parse). It holds at most
// MaxCacheBytes of values and starts over when full.
type BearerCache struct {
	m     map[string]bearerVerdict
	bytes int
}

type bearerVerdict struct{ token, key, reason string }

// MaxCacheBytes bounds the bytes a per-parse cache (BearerCache, the
// batcher's artifact keys) holds before it starts over.
const MaxCacheBytes = 64 << 20

// BearerJWT is BearerJWT(string(v)), remembered, with the token's
// ArtifactKey ("" when there is no token).
func (c *BearerCache) BearerJWT(v []byte) (token, key, rejectReason string) {
	if r, ok := c.m[string(v)]; ok {
		return r.token, r.key, r.reason
	}
	if c.m == nil || c.bytes+len(v) > MaxCacheBytes {
		c.m, c.bytes = make(map[string]bearerVerdict, 1024), 0
	}
	c.bytes += len(v)
	s := string(v)
	token, rejectReason = BearerJWT(s)
	if token != "" {
		key = ArtifactKey(token)
	}
	c.m[s] = bearerVerdict{token, key, rejectReason}
	return token, key, rejectReason
}

// ArtifactKey is the key of an artifact held raw: "sha256:<hex>" of its
// bytes.
func ArtifactKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}
