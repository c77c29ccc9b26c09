package ct

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"filippo.io/sunlight"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Tile reads static-ct-api data tiles (c2sp.org/static-ct-api) as Sunlight
// and other tiled CT logs serve them, saved under the log's prefix:
//
//	<log>/checkpoint                  first line: the log's origin (its name)
//	<log>/tile/data/x001/234          a full tile: entries 1234*256 ... +255
//	<log>/tile/data/x001/235.p/17     a partial tile: its first 17 entries
//	<log>/issuer/<hex sha256>         the DER of each chain certificate
//
// (a tile saved gzip-compressed is read too). Each entry is decoded with
// filippo.io/sunlight (its TileLeaf, with the leaf_index extension; an
// archived RFC 6962 leaf without it is read, its index counted from the
// tile's path). A precertificate's pre_certificate is in the tile; its
// issuing chain certificate, which may be a Precertificate Signing
// Certificate, is read from issuer/ by its fingerprint when the directory
// is there. Without it a PSC-signed precertificate cannot be checked; the
// issuer_key_hash the log recorded still names the CA key.
//
// A log serves an entry in a partial tile until its tile is full, and a
// mirror keeps both: the entries of a partial tile that a full tile (or a
// wider partial) beside it also holds are ignored (IgnoreRepeated), one
// sighting per log entry. A tile that breaks off (truncated, or an entry
// that does not decode) is rejected at that entry, with its index; the
// entries before it stand. Each entry is a record at Line = its place in
// the tile (1-based); the observer is the checkpoint's origin, else the
// log directory's name.
var Tile record.Format = tile{}

type tile struct{}

func (tile) Name() string { return "ct-tile" }
func (tile) Description() string {
	return "static-ct-api data tiles (tile/data/..., partial tiles <N>.p/<W>, with issuer/ when present)"
}

// Sniff: tiles are binary; they are recognised by SniffFile.
func (tile) Sniff([][]byte) bool { return false }

// SniffFile claims a file under a tile/data/ path whose head decodes as a
// tile leaf.
func (tile) SniffFile(name string, head []byte) bool {
	if isCheckpoint(name) {
		return true
	}
	if _, _, ok := tilePath(name); !ok {
		return false
	}
	_, _, err := sunlight.ReadTileLeafMaybeArchival(head)
	return err == nil || len(head) >= 256<<10 // a first entry larger than the head
}

// tilePath splits name into the log's root directory and the tile path
// ("tile/data/...").
func tilePath(name string) (root, rel string, ok bool) {
	slash := filepath.ToSlash(name)
	i := strings.LastIndex(slash, "tile/data/")
	if i < 0 || (i > 0 && slash[i-1] != '/') {
		return "", "", false
	}
	root = slash[:i]
	if root == "" {
		root = "."
	}
	rel = strings.TrimSuffix(strings.TrimSuffix(slash[i:], ".gz"), ".zst")
	return filepath.FromSlash(root), rel, true
}

// IgnoreCheckpoint is the reason a tile log's checkpoint is read and
// ignored: it holds no entry; its origin names the log's sightings.
const IgnoreCheckpoint = "tile log checkpoint (names the log)"

// isCheckpoint says whether name is the checkpoint of a tile log: a file
// named checkpoint beside a tile/data directory.
func isCheckpoint(name string) bool {
	if filepath.Base(name) != "checkpoint" {
		return false
	}
	st, err := os.Stat(filepath.Join(filepath.Dir(name), "tile", "data"))
	return err == nil && st.IsDir()
}

func (tile) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	if isCheckpoint(in.Name) {
		in.CountRecord()
		sink.Ignore(record.Position{File: in.Name, Line: 1, Format: Tile.Name()}, IgnoreCheckpoint)
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(in.R, MaxFileBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	root, rel, _ := tilePath(in.Name)
	n, width, partial := tileCoords(rel)
	repeated := int64(0)
	if partial && root != "" {
		repeated = coveredByWider(root, rel, n, width)
	}
	log := logName(in.Options, checkpointOrigin(root), filepath.Join(root, "x"))
	issuers := issuerDir{root: root}
	rest := data
	for i := int64(0); len(rest) > 0; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		in.CountRecord()
		pos := record.Position{File: in.Name, Line: i + 1, Format: Tile.Name()}
		le, next, err := readLeaf(rest)
		index := int64(-1)
		if n >= 0 {
			index = n*sunlight.TileWidth + i
		}
		if err != nil {
			sink.Reject(&record.Reject{Pos: pos, Reason: where(&entry{index: index}, i+1) + ": " + err.Error() + " (the rest of the tile cannot be read)", Excerpt: hex.EncodeToString(rest[:min(len(rest), 64)])})
			return nil
		}
		rest = next
		if i < repeated {
			sink.Ignore(pos, IgnoreRepeated)
			continue
		}
		e := &entry{index: index, timestamp: uint64(le.Timestamp), precert: le.IsPrecert, cert: le.Certificate}
		if !le.RFC6962ArchivalLeaf {
			e.index = le.LeafIndex
		}
		if le.IsPrecert {
			e.cert = le.PreCertificate
			e.ikh = le.IssuerKeyHash[:]
			if len(le.ChainFingerprints) > 0 {
				if der := issuers.get(le.ChainFingerprints[0]); der != nil {
					e.issuers = [][]byte{der}
				}
			}
		}
		if len(e.cert) == 0 {
			sink.Ignore(pos, IgnoreNoCert)
			continue
		}
		sink.Sighting(sighting(e, log, pos))
	}
	return nil
}

// readLeaf is sunlight.ReadTileLeafMaybeArchival, never panicking.
func readLeaf(b []byte) (e *sunlight.LogEntry, rest []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, rest, err = nil, nil, fmt.Errorf("tile entry does not decode: %v", r)
		}
	}()
	return sunlight.ReadTileLeafMaybeArchival(b)
}

// tileCoords reads a tile path's index and width; n is -1 when the path
// is not a tile path.
func tileCoords(rel string) (n int64, width int, partial bool) {
	t, err := sunlight.ParseTilePath(rel)
	if err != nil || t.L != -1 {
		return -1, sunlight.TileWidth, false
	}
	return t.N, t.W, t.W < sunlight.TileWidth
}

// coveredByWider is how many leading entries of the partial tile rel
// another tile of the same index beside it holds too: the full tile, or
// the widest other partial, counted by reading its entries (a truncated
// full tile covers only what it holds).
func coveredByWider(root, rel string, n int64, width int) int64 {
	base := strings.SplitN(rel, ".p/", 2)[0]
	dir := filepath.Join(root, filepath.FromSlash(base))
	candidates := []string{dir, dir + ".gz"}
	if ents, err := os.ReadDir(dir + ".p"); err == nil {
		for _, de := range ents {
			w, err := strconv.Atoi(strings.TrimSuffix(de.Name(), ".gz"))
			if err == nil && w > width {
				candidates = append(candidates, filepath.Join(dir+".p", de.Name()))
			}
		}
	}
	best := int64(0)
	for _, c := range candidates {
		if st, err := os.Stat(c); err != nil || st.IsDir() {
			continue
		}
		best = max(best, countLeaves(c))
	}
	return min(best, int64(width))
}

// countLeaves counts the entries of a tile file that decode.
func countLeaves(path string) int64 {
	data, err := readMaybeGzip(path)
	if err != nil {
		return 0
	}
	var n int64
	for len(data) > 0 {
		_, rest, err := readLeaf(data)
		if err != nil {
			break
		}
		data = rest
		n++
	}
	return n
}

// checkpointOrigin is the first line of the log's checkpoint, its origin,
// or "".
func checkpointOrigin(root string) string {
	if root == "" {
		return ""
	}
	f, err := os.Open(filepath.Join(root, "checkpoint"))
	if err != nil {
		return ""
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(io.LimitReader(f, 4096), 4096).ReadString('\n')
	if err != nil && line == "" {
		return ""
	}
	origin := strings.TrimSpace(line)
	if origin == "" || strings.ContainsFunc(origin, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	return origin
}

// issuerDir reads chain certificates from a log's issuer/ directory.
type issuerDir struct {
	root  string
	cache map[[32]byte][]byte
}

func (d *issuerDir) get(fp [32]byte) []byte {
	if d.root == "" {
		return nil
	}
	if der, ok := d.cache[fp]; ok {
		return der
	}
	if d.cache == nil {
		d.cache = map[[32]byte][]byte{}
	}
	der, err := readMaybeGzip(filepath.Join(d.root, "issuer", hex.EncodeToString(fp[:])))
	if err != nil || len(der) > 64<<10 {
		der = nil
	}
	d.cache[fp] = der
	return der
}

// readMaybeGzip reads a small file, gunzipping it when it is gzip.
func readMaybeGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		f, err = os.Open(path + ".gz")
		if err != nil {
			return nil, err
		}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return gunzip(data)
	}
	return data, nil
}
