package ciincident

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// tlogShard is one Rekor log (a shard): its key signs the entries' SETs
// and its checkpoint.
type tlogShard struct {
	key     *ecdsa.PrivateKey
	logID   string
	treeID  int64
	offset  int64 // the first global (virtual) log index of the shard
	entries []*entry
	root    [32]byte
	note    string // the signed checkpoint over all its entries
}

// entry is one Rekor entry.
type entry struct {
	s          *sig
	shard      *tlogShard
	body       []byte // canonical JSON
	leaf       [32]byte
	uuid       string // hex leaf hash
	localIndex int64
	logIndex   int64
	at         int64
	set        []byte
	proof      [][32]byte
	file       string // set when written
}

// treeUUID is the 80-hex entry UUID: the tree id, then the leaf hash.
func (e *entry) treeUUID() string { return fmt.Sprintf("%016x%s", e.shard.treeID, e.uuid) }

// canonicalJSON re-encodes v as Rekor stores bodies (RFC 8785 for the
// values used here: object keys sorted, no white space, no HTML escaping).
func canonicalJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var generic any
	if err := d.Decode(&generic); err != nil {
		panic(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n"))
}

type hashJSON struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

func sha256Hash(b []byte) hashJSON {
	s := sha256.Sum256(b)
	return hashJSON{"sha256", hex.EncodeToString(s[:])}
}

var b64 = base64.StdEncoding.EncodeToString

// body is the canonical Rekor body of s's entry.
func (s *sig) body() []byte {
	material := b64(s.signer.material())
	var v any
	switch s.kind {
	case kindHashedRekord:
		v = map[string]any{"apiVersion": "0.0.1", "kind": kindHashedRekord, "spec": map[string]any{
			"data":      map[string]any{"hash": hashJSON{"sha256", hex.EncodeToString(s.digest)}},
			"signature": map[string]any{"content": b64(s.sigBytes), "publicKey": map[string]any{"content": material}},
		}}
	case kindIntoto:
		// intoto v0.0.2 keeps the envelope without its payload, and the
		// signature as the base64 of the envelope's (base64) sig string
		v = map[string]any{"apiVersion": "0.0.2", "kind": kindIntoto, "spec": map[string]any{"content": map[string]any{
			"envelope": map[string]any{"payloadType": inTotoPayload, "signatures": []any{
				map[string]any{"publicKey": material, "sig": b64([]byte(b64(s.sigBytes)))}}},
			"hash":        sha256Hash(s.envelope),
			"payloadHash": sha256Hash(s.payload),
		}}}
	case kindDSSE:
		v = map[string]any{"apiVersion": "0.0.1", "kind": kindDSSE, "spec": map[string]any{
			"envelopeHash": sha256Hash(s.envelope),
			"payloadHash":  sha256Hash(s.payload),
			"signatures":   []any{map[string]any{"signature": b64(s.sigBytes), "verifier": material}},
		}}
	}
	return canonicalJSON(v)
}

func leafHash(body []byte) [32]byte {
	return sha256.Sum256(append([]byte{0}, body...))
}

func nodeHash(l, r [32]byte) [32]byte {
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

// merkleRoot is RFC 6962's MTH.
func merkleRoot(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := split(len(leaves))
	return nodeHash(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

// split is the largest power of two below n (n > 1).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// inclusionPath is RFC 6962's PATH(m, leaves), leaf to root.
func inclusionPath(m int, leaves [][32]byte) [][32]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := split(len(leaves))
	if m < k {
		return append(inclusionPath(m, leaves[:k]), merkleRoot(leaves[k:]))
	}
	return append(inclusionPath(m-k, leaves[k:]), merkleRoot(leaves[:k]))
}

// buildLog logs every signature: bodies, UUIDs, indexes, SETs, inclusion
// proofs and checkpoints.
func (sc *scenario) buildLog() error {
	type pending struct {
		s     *sig
		shard int
		at    int64
		seq   int
	}
	var all []pending
	for _, s := range sc.sigs {
		for i, sh := range s.shards {
			all = append(all, pending{s, sh, s.at + int64(i)*317, len(all)})
		}
	}
	slices.SortStableFunc(all, func(a, b pending) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq)) })
	for _, p := range all {
		sh := sc.logs[p.shard]
		e := &entry{s: p.s, shard: sh, body: p.s.body(), at: p.at, localIndex: int64(len(sh.entries))}
		e.leaf = leafHash(e.body)
		e.uuid = hex.EncodeToString(e.leaf[:])
		e.logIndex = sh.offset + e.localIndex
		set, err := signMessage(sh.key, canonicalJSON(map[string]any{
			"body": b64(e.body), "integratedTime": e.at, "logID": sh.logID, "logIndex": e.logIndex}))
		if err != nil {
			return err
		}
		e.set = set
		sh.entries = append(sh.entries, e)
		p.s.entries = append(p.s.entries, e)
	}
	for _, sh := range sc.logs {
		leaves := make([][32]byte, len(sh.entries))
		for i, e := range sh.entries {
			leaves[i] = e.leaf
		}
		sh.root = merkleRoot(leaves)
		for i, e := range sh.entries {
			e.proof = inclusionPath(i, leaves)
		}
		text := "rekor.sigstore.dev - " + strconv.FormatInt(sh.treeID, 10) + "\n" + strconv.Itoa(len(leaves)) + "\n" + b64(sh.root[:]) + "\n"
		sig, err := signMessage(sh.key, []byte(text))
		if err != nil {
			return err
		}
		hint := sha256.Sum256(spki(sh.key))
		sh.note = text + "\n\u2014 rekor.sigstore.dev " + b64(append(hint[:4:4], sig...)) + "\n"
	}
	return nil
}
