package record

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
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
// that a token seen on many lines is checked and hashed once, and its
// value is ready; it is safe for concurrent use (the workers reading the
// parts of one input share one, so a token is held once). It holds at most
// MaxCacheBytes of values in two generations: when the newer is full, the
// older is dropped, so the tokens in use stay (a token is used for its
// lifetime, an hour or so, then never again).
//
// A value is found by a hash of its bytes, in one of several independently
// locked shards, and told from the others met by a 128-bit hash (two
// seeds), its length and its last 32 bytes, rather than by all its bytes:
// comparing a token of a line with its cold copy, 800 bytes away in memory,
// took a third of the cache's time. The seeds are random per process and
// never leave it, so no one can make a value that agrees with another on
// all three. Values that share the first hash are chained.
type BearerCache struct {
	once        sync.Once
	seed, seed2 maphash.Seed
	shards      [bearerShards]bearerShard
}

const bearerShards = 16

type bearerShard struct {
	mu       sync.Mutex
	cur, old map[uint64]*bearerVerdict
	bytes    int
	_        [64]byte // keeps the shards' locks on cache lines of their own
}

// bearerVerdict is what BearerJWT said of value (kept to move the entry to
// the newer generation without a copy), with the flag a sink sets once it
// has registered the token's artifact; next chains the values of one hash.
type bearerVerdict struct {
	value, token, key, reason string
	seen                      *atomic.Bool
	h2                        uint64   // the value's hash under the second seed
	tail                      [32]byte // the value's last bytes (all of a shorter one), beside h2 in memory
	next                      *bearerVerdict
}

func newVerdict(r bearerVerdict, h2 uint64) *bearerVerdict {
	r.h2, r.next = h2, nil
	copy(r.tail[:], r.value[max(0, len(r.value)-len(r.tail)):])
	return &r
}

// MaxCacheBytes bounds the bytes a per-parse cache (BearerCache, the
// batcher's artifact keys) holds.
const MaxCacheBytes = 64 << 20

// LookupString is Lookup of a string value.
func (c *BearerCache) LookupString(v string) (token, key, rejectReason string, seen *atomic.Bool) {
	return c.lookup(v)
}

// Lookup is BearerJWT(string(v)), remembered, with the token's ArtifactKey
// ("" when there is no token) and the flag that says whether a sink has
// registered the token's artifact since the cache met it (see
// Sighting.RawKeySeen); nil when there is no token.
func (c *BearerCache) Lookup(v []byte) (token, key, rejectReason string, seen *atomic.Bool) {
	return c.lookup(unsafe.String(unsafe.SliceData(v), len(v))) // not kept: copied below when new
}

func (c *BearerCache) lookup(v string) (token, key, rejectReason string, seen *atomic.Bool) {
	c.once.Do(c.init)
	return c.lookupHashed(v, maphash.String(c.seed, v), maphash.String(c.seed2, v))
}

func (c *BearerCache) init() { c.seed, c.seed2 = maphash.MakeSeed(), maphash.MakeSeed() }

// lookupHashed is lookup of v whose hashes are h and h2.
func (c *BearerCache) lookupHashed(v string, h, h2 uint64) (token, key, rejectReason string, seen *atomic.Bool) {
	c.once.Do(c.init)
	sh := &c.shards[h%bearerShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := find(sh.cur[h], v, h2)
	if r != nil {
		return r.token, r.key, r.reason, r.seen
	}
	if r = find(sh.old[h], v, h2); r == nil {
		fresh := bearerVerdict{value: strings.Clone(v)} // the token below is a part of it
		fresh.token, fresh.reason = BearerJWT(fresh.value)
		if fresh.token != "" {
			fresh.key = ArtifactKey(fresh.token)
			fresh.seen = new(atomic.Bool)
		}
		r = newVerdict(fresh, h2)
	} else {
		r = newVerdict(*r, h2)
	}
	if sh.cur == nil || sh.bytes+len(v) > MaxCacheBytes/2/bearerShards {
		sh.old, sh.cur, sh.bytes = sh.cur, make(map[uint64]*bearerVerdict, 256), 0
	}
	sh.bytes += len(v)
	r.next = sh.cur[h]
	sh.cur[h] = r
	return r.token, r.key, r.reason, r.seen
}

// find is the verdict of v (second hash h2) in the chain from r, nil when
// there is none.
func find(r *bearerVerdict, v string, h2 uint64) *bearerVerdict {
	tail := v[max(0, len(v)-len(r.tail)):]
	for ; r != nil; r = r.next {
		if r.h2 == h2 && len(r.value) == len(v) && string(r.tail[:len(tail)]) == tail {
			return r
		}
	}
	return nil
}

// ArtifactKey is the key of an artifact held raw: "sha256:<hex>" of its
// bytes.
func ArtifactKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}
