package analyzer

import (
	"crypto/sha256"
	"strings"
	"sync"
)

// keySet is the set of artifact keys a case knows, safe for concurrent
// use, at 32 bytes a key whatever its length: a raw artifact's key
// ("sha256:<hex>") is stored as its digest, any other key ("jwt:<iss>:<id>")
// as the sha256 of its text. Ingest asks it once per sighting, so it is
// sharded (one lock per shard) and allocates nothing for a known key.
type keySet struct {
	shards [64]keyShard
}

type keyShard struct {
	mu sync.Mutex
	m  map[[32]byte]struct{}
}

// add adds key and reports whether it was new.
func (s *keySet) add(key string) bool {
	d := keyDigest(key)
	sh := &s.shards[d[0]&63]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[d]; ok {
		return false
	}
	if sh.m == nil {
		sh.m = map[[32]byte]struct{}{}
	}
	sh.m[d] = struct{}{}
	return true
}

// keyDigest is the 32 bytes a key is stored as.
func keyDigest(key string) [32]byte {
	var d [32]byte
	if hexKey, ok := strings.CutPrefix(key, "sha256:"); ok && len(hexKey) == 64 {
		valid := true
		for i := range d {
			hi, lo := lowerHex[hexKey[2*i]], lowerHex[hexKey[2*i+1]]
			if hi|lo > 0xf {
				valid = false
				break
			}
			d[i] = hi<<4 | lo
		}
		if valid {
			return d
		}
	}
	// a domain byte, so that no id key's hash can equal a raw digest by
	// construction
	return sha256.Sum256([]byte("\x00" + key))
}

// lowerHex is each byte's value as a lower-case hex digit, 0xff for the
// others (ArtifactKey writes lower case; "sha256:AB…" is another key).
var lowerHex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()
