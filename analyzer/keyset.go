package analyzer

import (
	"crypto/sha256"
	"encoding/hex"
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
		var buf [64]byte
		copy(buf[:], hexKey)
		if _, err := hex.Decode(d[:], buf[:]); err == nil && hexKey == strings.ToLower(hexKey) {
			return d
		}
	}
	// a domain byte, so that no id key's hash can equal a raw digest by
	// construction
	return sha256.Sum256([]byte("\x00" + key))
}
