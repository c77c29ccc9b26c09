package ctincident

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"filippo.io/sunlight"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// writer writes the incident's files and remembers their names.
type writer struct {
	dir   string
	files []string
}

func (w *writer) write(rel string, data []byte) error {
	name := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("ctincident: %w", err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		return fmt.Errorf("ctincident: %w", err)
	}
	w.files = append(w.files, path.Clean(rel))
	return nil
}

// keys writes the certificates the analyst starts from.
func (w *writer) keys(p *pkiSet) error {
	if err := w.write(ExposedKeyFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.exposed.der})); err != nil {
		return err
	}
	return w.write(RootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.der}))
}

// getEntries writes the log as RFC 6962 get-entries responses of
// GetEntriesBatch entries, named by their first and last index. An RFC 6962
// log's leaves carry no CT extensions.
func (w *writer) getEntries(sc *scenario) error {
	n := len(sc.entries)
	for start := 0; start < n; start += GetEntriesBatch {
		end := min(start+GetEntriesBatch, n)
		resp := ct.GetEntriesResponse{Entries: make([]ct.LeafEntry, 0, end-start)}
		for i := start; i < end; i++ {
			leaf, err := cttls.Marshal(sc.merkleTreeLeaf(i, nil))
			if err != nil {
				return fmt.Errorf("ctincident: leaf %d: %w", i, err)
			}
			resp.Entries = append(resp.Entries, ct.LeafEntry{LeafInput: leaf, ExtraData: sc.entries[i].art.extraData})
		}
		data, err := json.Marshal(resp)
		if err != nil {
			return fmt.Errorf("ctincident: %w", err)
		}
		if err := w.write(fmt.Sprintf("%s/examplelog-%d-%d.json", GetEntriesDir, start, end-1), data); err != nil {
			return err
		}
	}
	return nil
}

// tiles computes the log's Merkle tree over its static-ct-api leaves and,
// if write is set, writes it as Sunlight serves it: data tiles, hash tiles,
// issuers and the signed checkpoint. It returns the root hash in base64.
func (w *writer) tiles(sc *scenario, write bool) (string, error) {
	n := int64(len(sc.entries))
	hashes := make([]tlog.Hash, 0, tlog.StoredHashCount(n))
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(hashes)) {
				return nil, fmt.Errorf("hash %d not stored", x)
			}
			out[i] = hashes[x]
		}
		return out, nil
	})
	const width = sunlight.TileWidth
	var tile, stale []byte
	for i := range n {
		le := sc.tileEntry(int(i))
		stored, err := tlog.StoredHashesForRecordHash(i, tlog.RecordHash(le.MerkleTreeLeaf()), reader)
		if err != nil {
			return "", fmt.Errorf("ctincident: tree: %w", err)
		}
		hashes = append(hashes, stored...)
		if !write {
			continue
		}
		tile = sunlight.AppendTileLeaf(tile, le)
		if i == 99 && n >= width {
			// A partial tile the log served before tile 0 filled up.
			stale = append([]byte(nil), tile...)
		}
		if (i+1)%width == 0 || i+1 == n {
			t := tlog.Tile{H: sunlight.TileHeight, L: -1, N: i / width, W: int(i%width) + 1}
			if err := w.write(TilesDir+"/"+sunlight.TilePath(t), tile); err != nil {
				return "", err
			}
			tile = tile[:0]
		}
	}
	root, err := tlog.TreeHash(n, reader)
	if err != nil {
		return "", fmt.Errorf("ctincident: tree: %w", err)
	}
	if !write {
		return base64.StdEncoding.EncodeToString(root[:]), nil
	}
	if stale != nil {
		t := tlog.Tile{H: sunlight.TileHeight, L: -1, N: 0, W: 100}
		if err := w.write(TilesDir+"/"+sunlight.TilePath(t), stale); err != nil {
			return "", err
		}
	}
	for _, t := range tlog.NewTiles(sunlight.TileHeight, 0, n) {
		data, err := tlog.ReadTileData(t, reader)
		if err != nil {
			return "", fmt.Errorf("ctincident: tile %s: %w", sunlight.TilePath(t), err)
		}
		if err := w.write(TilesDir+"/"+sunlight.TilePath(t), data); err != nil {
			return "", err
		}
	}
	p := sc.pki
	for _, a := range []*authority{p.root, p.exposed, p.psc, p.foreignRoot, p.foreign, p.look} {
		if err := w.write(fmt.Sprintf("%s/issuer/%x", TilesDir, sha256.Sum256(a.der)), a.der); err != nil {
			return "", err
		}
	}
	checkpoint, err := sc.checkpoint(tlog.Tree{N: n, Hash: root})
	if err != nil {
		return "", err
	}
	if err := w.write(TilesDir+"/checkpoint", checkpoint); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(root[:]), nil
}

// checkpoint signs the tree head as Sunlight does: an RFC 6962
// TreeHeadSignature note signature and an Ed25519 one, plus a grease
// signature that clients must ignore.
func (sc *scenario) checkpoint(tree tlog.Tree) ([]byte, error) {
	p := sc.pki
	timestamp := sc.entries[len(sc.entries)-1].ms + 1000
	input, err := ct.SerializeSTHSignatureInput(ct.SignedTreeHead{
		Version:        ct.V1,
		TreeSize:       uint64(tree.N),
		Timestamp:      uint64(timestamp),
		SHA256RootHash: ct.SHA256Hash(tree.Hash),
	})
	if err != nil {
		return nil, fmt.Errorf("ctincident: checkpoint: %w", err)
	}
	digest := sha256.Sum256(input)
	sig, err := p.logKey.Sign(nil, digest[:], crypto.SHA256) // nil: RFC 6979
	if err != nil {
		return nil, fmt.Errorf("ctincident: checkpoint: %w", err)
	}
	treeHeadSignature, err := cttls.Marshal(cttls.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	})
	if err != nil {
		return nil, fmt.Errorf("ctincident: checkpoint: %w", err)
	}
	rfc6962, err := sunlight.NewRFC6962InjectedSigner(LogOrigin, p.logKey.Public(), treeHeadSignature, timestamp)
	if err != nil {
		return nil, fmt.Errorf("ctincident: checkpoint: %w", err)
	}
	verifier, err := note.NewVerifier(p.witnessVerifierKey)
	if err != nil {
		return nil, fmt.Errorf("ctincident: checkpoint: %w", err)
	}
	witness := &ed25519NoteSigner{name: LogOrigin, hash: verifier.KeyHash(), key: p.witnessKey}

	grease := make([]byte, 4+8+sc.rng.IntN(40))
	for i := range grease {
		grease[i] = byte(sc.rng.Uint32())
	}
	text := sunlight.Checkpoint{Origin: LogOrigin, Tree: tree}.String()
	signed, err := note.Sign(&note.Note{
		Text: text,
		UnverifiedSigs: []note.Signature{{
			Name: "grease.invalid", Hash: binary.BigEndian.Uint32(grease), Base64: base64.StdEncoding.EncodeToString(grease),
		}},
	}, rfc6962, witness)
	if err != nil {
		return nil, fmt.Errorf("ctincident: checkpoint: %w", err)
	}
	return signed, nil
}

// ed25519NoteSigner signs notes with an Ed25519 key.
type ed25519NoteSigner struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
}

func (s *ed25519NoteSigner) Name() string                    { return s.name }
func (s *ed25519NoteSigner) KeyHash() uint32                 { return s.hash }
func (s *ed25519NoteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }
