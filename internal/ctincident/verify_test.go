package ctincident

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/sunlight"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// logEntry is what a test reads back of one log entry, from either form.
type logEntry struct {
	timestamp     uint64
	precert       bool
	cert          []byte // the x509_entry's certificate, or the precert_entry's tbs_certificate
	issuerKeyHash [32]byte
	preCert       []byte   // the pre_certificate
	chain         [][]byte // get-entries only: the chain itself
	fingerprints  [][32]byte
	leafHash      tlog.Hash // tiles only: RFC 6962 leaf hash, with the leaf_index extension
}

// artifactKey is the truth's key of the entry's certificate or precertificate.
func (e *logEntry) artifactKey() string {
	der := e.cert
	if e.precert {
		der = e.preCert
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (e *logEntry) der() []byte {
	if e.precert {
		return e.preCert
	}
	return e.cert
}

type incident struct {
	dir        string
	truth      *Truth
	getEntries []*logEntry // by index
	tiles      []*logEntry // by index
	staleTiles int         // partial data tiles whose entries a full tile holds
}

var (
	defaultOnce     sync.Once
	defaultIncident *incident
	defaultErr      error
)

// generated is the default incident, generated and read back once.
func generated(t *testing.T) *incident {
	t.Helper()
	defaultOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ctincident-")
		if err != nil {
			defaultErr = err
			return
		}
		truth, err := Generate(dir, DefaultConfig())
		if err != nil {
			defaultErr = err
			return
		}
		defaultIncident = &incident{dir: dir, truth: truth}
	})
	if defaultErr != nil {
		t.Fatal(defaultErr)
	}
	inc := defaultIncident
	if inc.getEntries == nil {
		inc.getEntries = readGetEntries(t, filepath.Join(inc.dir, filepath.FromSlash(GetEntriesDir)))
		inc.tiles, inc.staleTiles = readTiles(t, filepath.Join(inc.dir, filepath.FromSlash(TilesDir)))
	}
	return inc
}

func TestMain(m *testing.M) {
	code := m.Run()
	if defaultIncident != nil {
		os.RemoveAll(defaultIncident.dir)
	}
	os.Exit(code)
}

var getEntriesName = regexp.MustCompile(`^examplelog-(\d+)-(\d+)\.json$`)

// readGetEntries parses every get-entries response with
// certificate-transparency-go.
func readGetEntries(t *testing.T, dir string) []*logEntry {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*logEntry
	starts := map[int]bool{}
	byIndex := map[int64]*logEntry{}
	for _, f := range files {
		m := getEntriesName.FindStringSubmatch(f.Name())
		if m == nil {
			t.Fatalf("unexpected file %s in %s", f.Name(), dir)
		}
		start, _ := strconv.Atoi(m[1])
		end, _ := strconv.Atoi(m[2])
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var resp ct.GetEntriesResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		if start%GetEntriesBatch != 0 || len(resp.Entries) != end-start+1 || len(resp.Entries) > GetEntriesBatch {
			t.Errorf("%s holds %d entries", f.Name(), len(resp.Entries))
		}
		starts[start] = true
		for k := range resp.Entries {
			index := int64(start + k)
			raw, err := ct.RawLogEntryFromLeaf(index, &resp.Entries[k])
			if err != nil {
				t.Fatalf("%s entry %d: %v", f.Name(), index, err)
			}
			// A full parse too, as a monitor does.
			if _, err := raw.ToLogEntry(); ctx509.IsFatal(err) {
				t.Fatalf("%s entry %d: %v", f.Name(), index, err)
			}
			te := raw.Leaf.TimestampedEntry
			if raw.Leaf.Version != ct.V1 || raw.Leaf.LeafType != ct.TimestampedEntryLeafType || len(te.Extensions) != 0 {
				t.Errorf("entry %d: leaf version %v type %v extensions %x", index, raw.Leaf.Version, raw.Leaf.LeafType, te.Extensions)
			}
			e := &logEntry{timestamp: te.Timestamp}
			switch te.EntryType {
			case ct.X509LogEntryType:
				e.cert = te.X509Entry.Data
			case ct.PrecertLogEntryType:
				e.precert, e.cert, e.issuerKeyHash, e.preCert = true, te.PrecertEntry.TBSCertificate, te.PrecertEntry.IssuerKeyHash, raw.Cert.Data
			default:
				t.Fatalf("entry %d: type %v", index, te.EntryType)
			}
			for _, c := range raw.Chain {
				e.chain = append(e.chain, c.Data)
				e.fingerprints = append(e.fingerprints, sha256.Sum256(c.Data))
			}
			if byIndex[index] != nil {
				t.Fatalf("entry %d twice", index)
			}
			byIndex[index] = e
		}
	}
	for i := range int64(len(byIndex)) {
		if byIndex[i] == nil {
			t.Fatalf("get-entries lack entry %d of %d", i, len(byIndex))
		}
		out = append(out, byIndex[i])
	}
	return out
}

// readTiles parses every data tile with sunlight.ReadTileLeaf; an entry
// that two tiles hold (a stale partial one) must be the same in both.
func readTiles(t *testing.T, dir string) ([]*logEntry, int) {
	t.Helper()
	byIndex := map[int64]*logEntry{}
	stale := 0
	root := filepath.Join(dir, "tile", "data")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		tile, err := sunlight.ParseTilePath(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dup := 0
		for k := range tile.W {
			le, rest, err := sunlight.ReadTileLeaf(data)
			if err != nil {
				return fmt.Errorf("%s entry %d: %v", rel, k, err)
			}
			data = rest
			index := tile.N*sunlight.TileWidth + int64(k)
			if le.LeafIndex != index {
				return fmt.Errorf("%s entry %d has leaf index %d", rel, k, le.LeafIndex)
			}
			e := &logEntry{
				timestamp: uint64(le.Timestamp), precert: le.IsPrecert, cert: le.Certificate,
				issuerKeyHash: le.IssuerKeyHash, preCert: le.PreCertificate, fingerprints: le.ChainFingerprints,
				leafHash: tlog.RecordHash(le.MerkleTreeLeaf()),
			}
			if prev := byIndex[index]; prev != nil {
				if prev.leafHash != e.leafHash || !bytes.Equal(prev.preCert, e.preCert) || !slices.Equal(prev.fingerprints, e.fingerprints) {
					return fmt.Errorf("%s: entry %d differs from the one another tile holds", rel, index)
				}
				dup++
				continue
			}
			byIndex[index] = e
		}
		if len(data) != 0 {
			return fmt.Errorf("%s: %d bytes after its %d entries", rel, len(data), tile.W)
		}
		if dup > 0 {
			if dup != tile.W {
				return fmt.Errorf("%s: %d of its %d entries are in another tile", rel, dup, tile.W)
			}
			stale++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []*logEntry
	for i := range int64(len(byIndex)) {
		if byIndex[i] == nil {
			t.Fatalf("tiles lack entry %d of %d", i, len(byIndex))
		}
		out = append(out, byIndex[i])
	}
	return out, stale
}

// Both forms hold the same entries, and each is one of the truth's artifacts.
func TestFormsAgree(t *testing.T) {
	inc := generated(t)
	n := inc.truth.Entries
	if len(inc.getEntries) != n || len(inc.tiles) != n || n != DefaultConfig().Entries {
		t.Fatalf("%d get-entries, %d tile entries, truth %d", len(inc.getEntries), len(inc.tiles), n)
	}
	if inc.staleTiles != 1 {
		t.Errorf("%d stale partial tiles, want 1", inc.staleTiles)
	}
	if _, err := os.Stat(filepath.Join(inc.dir, filepath.FromSlash(TilesDir), "tile", "data", "000.p", "100")); err != nil {
		t.Error(err)
	}
	artifactAt := map[int64]string{}
	for _, a := range inc.truth.Artifacts {
		for _, i := range a.LeafIndexes {
			if artifactAt[i] != "" {
				t.Fatalf("entry %d is two artifacts", i)
			}
			artifactAt[i] = a.ArtifactKey
		}
	}
	if len(artifactAt) != n {
		t.Errorf("the truth's artifacts have %d entries, want %d", len(artifactAt), n)
	}
	var last uint64
	for i := range n {
		g, tl := inc.getEntries[i], inc.tiles[i]
		if g.timestamp != tl.timestamp || g.precert != tl.precert || !bytes.Equal(g.cert, tl.cert) ||
			g.issuerKeyHash != tl.issuerKeyHash || !bytes.Equal(g.preCert, tl.preCert) || !slices.Equal(g.fingerprints, tl.fingerprints) {
			t.Fatalf("entry %d differs between get-entries and tiles", i)
		}
		if g.timestamp < last {
			t.Errorf("entry %d: timestamp goes back", i)
		}
		last = g.timestamp
		if k := g.artifactKey(); artifactAt[int64(i)] != k {
			t.Errorf("entry %d is %s, truth says %s", i, k, artifactAt[int64(i)])
		}
	}
}

// The checkpoint is signed as Sunlight signs it, over the tree of the tile
// leaves, and the hash tiles agree with it.
func TestCheckpoint(t *testing.T) {
	inc := generated(t)
	tilesDir := filepath.Join(inc.dir, filepath.FromSlash(TilesDir))
	msg, err := os.ReadFile(filepath.Join(tilesDir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := base64.StdEncoding.DecodeString(inc.truth.LogPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	logKey, err := x509.ParsePKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	rfc6962, err := sunlight.NewRFC6962Verifier(LogOrigin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	witness, err := note.NewVerifier(inc.truth.LogWitnessKey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(msg, note.VerifierList(rfc6962, witness))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Sigs) != 2 || len(n.UnverifiedSigs) != 1 {
		t.Errorf("%d verified and %d unverified signatures, want 2 and a grease one", len(n.Sigs), len(n.UnverifiedSigs))
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[0] != LogOrigin || lines[1] != strconv.Itoa(inc.truth.Entries) || lines[2] != inc.truth.RootHash {
		t.Errorf("checkpoint text %q", n.Text)
	}
	cp, err := sunlight.ParseCheckpoint(n.Text)
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([]tlog.Hash, len(inc.tiles))
	for i, e := range inc.tiles {
		hashes[i] = e.leafHash
	}
	if root := merkleRoot(hashes); root != cp.Hash {
		t.Errorf("checkpoint root %v, the leaves' %v", cp.Hash, root)
	}
	// The hash tiles, read as a client does.
	reader := tlog.TileHashReader(cp.Tree, fileTiles(tilesDir))
	for _, i := range []int64{0, 255, 256, int64(len(hashes) - 1)} {
		got, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
		if err != nil {
			t.Fatalf("hash tiles: %v", err)
		}
		if got[0] != hashes[i] {
			t.Errorf("hash tile: leaf %d", i)
		}
	}
}

// merkleRoot is RFC 6962's Merkle tree hash, written out.
func merkleRoot(leaves []tlog.Hash) tlog.Hash {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return tlog.NodeHash(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

// fileTiles reads hash tiles from a tile directory.
type fileTiles string

func (d fileTiles) Height() int { return sunlight.TileHeight }
func (d fileTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		data, err := os.ReadFile(filepath.Join(string(d), filepath.FromSlash(sunlight.TilePath(t))))
		if err != nil {
			return nil, err
		}
		out = append(out, data)
	}
	return out, nil
}
func (d fileTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func readCertPEM(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no certificate", name)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Every forged artifact verifies with the exposed key (a PSC's precert
// with the PSC, which verifies with the exposed key); no foreign one does.
func TestSignatures(t *testing.T) {
	inc := generated(t)
	exposed := readCertPEM(t, filepath.Join(inc.dir, filepath.FromSlash(inc.truth.ExposedKeyFile)))
	root := readCertPEM(t, filepath.Join(inc.dir, filepath.FromSlash(inc.truth.RootFile)))
	if err := exposed.CheckSignatureFrom(root); err != nil {
		t.Errorf("exposed CA under its root: %v", err)
	}
	if oneLine(exposed.Subject) != ExposedIssuer || oneLine(root.Subject) != RootSubject {
		t.Errorf("subjects %s, %s", oneLine(exposed.Subject), oneLine(root.Subject))
	}
	exposedKeyHash := sha256.Sum256(exposed.RawSubjectPublicKeyInfo)
	pub, _ := base64.StdEncoding.DecodeString(inc.truth.LogPublicKey)
	logKey, _ := x509.ParsePKIXPublicKey(pub)
	logID := sha256.Sum256(pub)

	seen := map[string]bool{}
	count := map[string]int{}
	for i, e := range inc.getEntries {
		key := e.artifactKey()
		if seen[key] {
			continue
		}
		seen[key] = true
		a := inc.truth.Artifact(key)
		cert, err := x509.ParseCertificate(e.der())
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if a.Serial != cert.SerialNumber.Text(16) || !slices.Equal(a.Names, cert.DNSNames) || a.Subject != cert.Subject.CommonName ||
			!a.NotBefore.Equal(cert.NotBefore) || !a.NotAfter.Equal(cert.NotAfter) || a.Precert != e.precert {
			t.Errorf("entry %d: truth %+v does not describe its certificate", i, a)
		}
		if a.LoggedAt.UnixMilli() != int64(inc.getEntries[a.LeafIndexes[0]].timestamp) {
			t.Errorf("%s: logged_at %v", a.Subject, a.LoggedAt)
		}
		signedByExposed := cert.CheckSignatureFrom(exposed) == nil
		switch {
		case a.ViaPSC:
			psc, err := x509.ParseCertificate(e.chain[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := psc.CheckSignatureFrom(exposed); err != nil {
				t.Errorf("the PSC does not verify with the exposed key: %v", err)
			}
			if err := cert.CheckSignatureFrom(psc); err != nil {
				t.Errorf("the PSC's precertificate does not verify with the PSC: %v", err)
			}
			if !slices.ContainsFunc(psc.UnknownExtKeyUsage, func(o asn1.ObjectIdentifier) bool { return o.Equal(oidCTEKU) }) || !psc.IsCA {
				t.Error("the PSC lacks the CT EKU or CA:true")
			}
			if !bytes.Equal(cert.RawIssuer, psc.RawSubject) || signedByExposed {
				t.Error("the PSC's precertificate names or verifies with the CA, not the PSC")
			}
			cc := inc.truth.chainCert(e.chain[0])
			if cc == nil || cc.Role != rolePSC || !cc.Forged {
				t.Errorf("the PSC in the truth: %+v", cc)
			}
		case a.CA == CAExposed:
			if !signedByExposed {
				t.Errorf("%s (%s) does not verify with the exposed key", a.Subject, a.ArtifactKey)
			}
		default:
			if signedByExposed {
				t.Errorf("foreign %s verifies with the exposed key", a.Subject)
			}
			if a.Lookalike != bytes.Equal(cert.RawIssuer, exposed.RawSubject) {
				t.Errorf("%s: lookalike %v, issuer %s", a.Subject, a.Lookalike, cert.Issuer)
			}
		}
		if e.precert {
			poison := slices.IndexFunc(cert.Extensions, func(x pkix.Extension) bool { return x.Id.Equal(oidCTPoison) })
			if poison < 0 || !cert.Extensions[poison].Critical || !bytes.Equal(cert.Extensions[poison].Value, []byte{5, 0}) {
				t.Errorf("%s: no critical poison extension", a.Subject)
			}
			var preIssuer *ctx509.Certificate
			if a.ViaPSC {
				preIssuer, _ = ctx509.ParseCertificate(e.chain[0])
			}
			tbs, err := ctx509.BuildPrecertTBS(cert.RawTBSCertificate, preIssuer)
			if err != nil || !bytes.Equal(tbs, e.cert) {
				t.Errorf("%s: the entry's tbs_certificate is not the precertificate's (%v)", a.Subject, err)
			}
			if a.CA == CAExposed && e.issuerKeyHash != exposedKeyHash {
				t.Errorf("%s: issuer_key_hash is not the exposed CA key's", a.Subject)
			}
		}
		if !e.precert && a.CA == CAExposed && !a.Forged {
			checkSCT(t, inc, cert, e, logKey.(*ecdsa.PublicKey), logID)
		}
		if a.Forged {
			count[a.Reason]++
			if a.Precert {
				count["precert"]++
			}
		}
	}
	want := map[string]int{ReasonNoIssuance: 5, ReasonReusedSerial: 1, ReasonAfterRevocation: 1, "precert": 3}
	if !maps(count, want) {
		t.Errorf("forged: %v, want %v", count, want)
	}
	if len(seen) != len(inc.truth.Artifacts) {
		t.Errorf("%d artifacts in the log, %d in the truth", len(seen), len(inc.truth.Artifacts))
	}
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (t *Truth) chainCert(der []byte) *ChainCert {
	sum := sha256.Sum256(der)
	for i := range t.ChainCerts {
		if t.ChainCerts[i].ArtifactKey == "sha256:"+hex.EncodeToString(sum[:]) {
			return &t.ChainCerts[i]
		}
	}
	return nil
}

// checkSCT checks a legitimate final certificate's SCT: for its
// precertificate's entry, signed by the log.
func checkSCT(t *testing.T, inc *incident, cert *x509.Certificate, e *logEntry, logKey *ecdsa.PublicKey, logID [32]byte) {
	t.Helper()
	ctCert, err := ctx509.ParseCertificate(cert.Raw)
	if ctx509.IsFatal(err) {
		t.Fatal(err)
	}
	if len(ctCert.SCTList.SCTList) != 1 {
		t.Fatalf("%s: %d SCTs", cert.Subject.CommonName, len(ctCert.SCTList.SCTList))
	}
	var sct ct.SignedCertificateTimestamp
	if rest, err := cttls.Unmarshal(ctCert.SCTList.SCTList[0].Val, &sct); err != nil || len(rest) > 0 {
		t.Fatalf("%s: SCT: %v", cert.Subject.CommonName, err)
	}
	ext, err := sunlight.ParseExtensions(sct.Extensions)
	if err != nil {
		t.Fatal(err)
	}
	pre := inc.tiles[ext.LeafIndex]
	if !pre.precert || sct.Timestamp != pre.timestamp || sct.LogID.KeyID != logID {
		t.Fatalf("%s: SCT for entry %d at %d", cert.Subject.CommonName, ext.LeafIndex, sct.Timestamp)
	}
	tbs, err := ctx509.RemoveSCTList(cert.RawTBSCertificate)
	if err != nil || !bytes.Equal(tbs, pre.cert) {
		t.Errorf("%s: its TBS without the SCT list is not its precertificate's (%v)", cert.Subject.CommonName, err)
	}
	leaf := ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType, TimestampedEntry: &ct.TimestampedEntry{
		Timestamp: pre.timestamp, EntryType: ct.PrecertLogEntryType, Extensions: sct.Extensions,
		PrecertEntry: &ct.PreCert{IssuerKeyHash: pre.issuerKeyHash, TBSCertificate: pre.cert},
	}}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: leaf})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(input)
	if !ecdsa.VerifyASN1(logKey, digest[:], sct.Signature.Signature) {
		t.Errorf("%s: the SCT does not verify with the log's key", cert.Subject.CommonName)
	}
	if leafBytes, _ := cttls.Marshal(leaf); tlog.RecordHash(leafBytes) != pre.leafHash {
		t.Errorf("%s: the SCT's leaf is not the tile's", cert.Subject.CommonName)
	}
}

// The forgeries are the scenario's: reused serial, times, validity.
func TestForgedScenario(t *testing.T) {
	tr := generated(t).truth
	legitSerials := map[string][]string{}
	for _, a := range tr.Artifacts {
		if a.CA == CAExposed && !a.Forged {
			legitSerials[a.Serial] = a.Names
			if !a.InLedger || a.LoggedAt.Before(tr.Window.From) || !a.LoggedAt.Before(tr.RevokedAt) {
				t.Errorf("legitimate %s: in ledger %v, logged %v", a.Subject, a.InLedger, a.LoggedAt)
			}
			if a.NotAfter.Sub(a.NotBefore) != 90*24*time.Hour {
				t.Errorf("legitimate %s valid %v", a.Subject, a.NotAfter.Sub(a.NotBefore))
			}
		}
	}
	psc := 0
	for _, a := range tr.Artifacts {
		if !a.Forged {
			continue
		}
		if a.CA != CAExposed || a.InLedger || a.InStepCA || len(a.LeafIndexes) != 1 {
			t.Errorf("forged %s: %+v", a.Subject, a)
		}
		if a.ViaPSC {
			psc++
		}
		names, reused := legitSerials[a.Serial]
		switch a.Reason {
		case ReasonReusedSerial:
			if !reused || slices.Equal(names, a.Names) {
				t.Errorf("%s reuses serial %s of %v", a.Subject, a.Serial, names)
			}
		case ReasonAfterRevocation:
			if !a.LoggedAt.After(tr.RevokedAt) || !a.NotBefore.Before(tr.RevokedAt) {
				t.Errorf("%s: logged %v, notBefore %v, revoked %v", a.Subject, a.LoggedAt, a.NotBefore, tr.RevokedAt)
			}
		default:
			if reused {
				t.Errorf("%s reuses a serial", a.Subject)
			}
		}
		if a.Reason != ReasonAfterRevocation && (a.LoggedAt.Before(tr.ExposedFrom) || !a.LoggedAt.Before(tr.RevokedAt)) {
			t.Errorf("%s logged at %v", a.Subject, a.LoggedAt)
		}
		if a.Subject == "*.example.com" && a.NotAfter.Sub(a.NotBefore) != 398*24*time.Hour {
			t.Errorf("the wildcard is valid %v", a.NotAfter.Sub(a.NotBefore))
		}
	}
	if psc != 1 {
		t.Errorf("%d forged via a PSC", psc)
	}
}

// The ledger and the step-ca log record exactly the legitimate certificates.
func TestLedgerAndStepCA(t *testing.T) {
	inc := generated(t)
	tr := inc.truth
	legit := map[string]*Artifact{} // by serial: the final certificates
	for i := range tr.Artifacts {
		a := &tr.Artifacts[i]
		if a.CA == CAExposed && !a.Forged && !a.Precert {
			legit[a.Serial] = a
		}
	}
	der := map[string][]byte{}
	for _, e := range inc.getEntries {
		der[e.artifactKey()] = e.der()
	}

	f, err := os.Open(filepath.Join(inc.dir, filepath.FromSlash(LedgerFile)))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], ledgerHeader) {
		t.Errorf("header %q", rows[0])
	}
	rows = rows[1:]
	if len(rows) != len(legit) || len(legit) != 40 {
		t.Fatalf("%d ledger rows, %d legitimate certificates", len(rows), len(legit))
	}
	withRaw := 0
	inLedger := map[string]bool{}
	for i, r := range rows {
		serial, ok := new(big.Int).SetString(strings.ReplaceAll(r[2], ":", ""), 16)
		if !ok || r[2] != strings.ToUpper(r[2]) {
			t.Fatalf("row %d: serial %q", i+2, r[2])
		}
		a := legit[serial.Text(16)]
		if a == nil || inLedger[a.Serial] {
			t.Fatalf("row %d: serial %s is no legitimate certificate, or twice", i+2, r[2])
		}
		inLedger[a.Serial] = true
		if r[0] != "certificate" || r[1] != ExposedIssuer || r[3] != "/CN="+a.Subject || r[4] != strings.Join(a.Names, ";") ||
			r[5] != a.NotBefore.Format(time.RFC3339) || r[6] != a.NotAfter.Format(time.RFC3339) {
			t.Errorf("row %d: %q for %+v", i+2, r, a)
		}
		if r[7] != "" {
			withRaw++
			if sum := sha256.Sum256(der[a.ArtifactKey]); r[7] != hex.EncodeToString(sum[:]) {
				t.Errorf("row %d: raw_sha256 is not the certificate's", i+2)
			}
		}
	}
	if withRaw != len(rows)/2 {
		t.Errorf("%d of %d rows with raw_sha256", withRaw, len(rows))
	}

	data, err := os.ReadFile(filepath.Join(inc.dir, filepath.FromSlash(StepCAFile)))
	if err != nil {
		t.Fatal(err)
	}
	signed := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("step-ca line %d: %v", i+1, err)
		}
		for _, k := range []string{"level", "msg", "time", "fields.time", "request-id", "method", "path", "status", "duration-ns", "user-agent"} {
			if _, ok := v[k]; !ok {
				t.Errorf("step-ca line %d lacks %s", i+1, k)
			}
		}
		if v["path"] != "/1.0/sign" || v["status"] != float64(201) {
			continue
		}
		serial, ok := new(big.Int).SetString(v["serial"].(string), 10)
		if !ok {
			t.Fatalf("step-ca line %d: serial %v", i+1, v["serial"])
		}
		a := legit[serial.Text(16)]
		if a == nil || !a.InStepCA || signed[a.Serial] {
			t.Fatalf("step-ca line %d: serial %s", i+1, serial)
		}
		signed[a.Serial] = true
		cert, _ := base64.StdEncoding.DecodeString(v["certificate"].(string))
		sans, _ := v["sans"].(map[string]any)
		if !bytes.Equal(cert, der[a.ArtifactKey]) || v["subject"] != a.Subject || v["issuer"] != "Example Issuing CA 1" ||
			v["valid-from"] != a.NotBefore.Format(time.RFC3339) || v["valid-to"] != a.NotAfter.Format(time.RFC3339) ||
			fmt.Sprint(sans["dns"]) != fmt.Sprint(a.Names) || !strings.HasPrefix(v["provisioner"].(string), provisionerName+" (") ||
			strings.Count(v["ott"].(string), ".") != 2 {
			t.Errorf("step-ca line %d: %s", i+1, line)
		}
	}
	want := 0
	for _, a := range legit {
		if a.InStepCA {
			want++
			if !signed[a.Serial] {
				t.Errorf("%s is in the step-ca log by the truth, not in the file", a.Serial)
			}
		}
	}
	if len(signed) != want || want != 24 {
		t.Errorf("%d certificates in the step-ca log, want %d (60%%)", len(signed), want)
	}
}

// The files the truth lists are the files written.
func TestFiles(t *testing.T) {
	inc := generated(t)
	var got []string
	err := filepath.WalkDir(inc.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(inc.dir, p)
		if rel != TruthFile {
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(inc.truth.Files)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("files written %q, truth %q", got, want)
	}
	read, err := ReadTruth(filepath.Join(inc.dir, TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Artifacts) != len(inc.truth.Artifacts) || read.RootHash != inc.truth.RootHash {
		t.Error("truth.json differs from the returned truth")
	}
	issuers, _ := os.ReadDir(filepath.Join(inc.dir, filepath.FromSlash(TilesDir), "issuer"))
	if len(issuers) != len(inc.truth.ChainCerts) {
		t.Errorf("%d issuer files, %d chain certificates", len(issuers), len(inc.truth.ChainCerts))
	}
	for _, f := range issuers {
		data, _ := os.ReadFile(filepath.Join(inc.dir, filepath.FromSlash(TilesDir), "issuer", f.Name()))
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.Name() || inc.truth.chainCert(data) == nil {
			t.Errorf("issuer/%s", f.Name())
		}
	}
	for _, f := range inc.truth.Files {
		if path.Clean(f) != f || strings.Contains(f, `\`) {
			t.Errorf("file name %q", f)
		}
	}
}

// A large log: 1% of it signed with the exposed key, quickly.
func TestLargeLog(t *testing.T) {
	start := time.Now()
	cfg := Config{Seed: 3, Entries: 20000, Form: FormTiles}
	tr, err := Generate(t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	exposed := 0
	for _, a := range tr.Artifacts {
		if a.CA == CAExposed {
			exposed += len(a.LeafIndexes)
		}
	}
	if tr.Entries != cfg.Entries || exposed < cfg.Entries/100-2 || exposed > cfg.Entries/100+2 {
		t.Errorf("%d entries, %d of them by the exposed key", tr.Entries, exposed)
	}
	for _, f := range tr.Files {
		if strings.HasPrefix(f, GetEntriesDir) {
			t.Fatalf("FormTiles wrote %s", f)
		}
	}
	t.Logf("%d entries in %v", tr.Entries, time.Since(start))
}

func TestTooFewEntries(t *testing.T) {
	if _, err := Generate(t.TempDir(), Config{Entries: 50}); err == nil {
		t.Fatal("want an error for fewer entries than artifacts")
	}
}

// Another seed is another CA.
func TestSeeds(t *testing.T) {
	a := generated(t)
	dir := t.TempDir()
	if _, err := Generate(dir, Config{Seed: 2, Form: FormTiles}); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(filepath.Join(a.dir, filepath.FromSlash(ExposedKeyFile)))
	y, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ExposedKeyFile)))
	if bytes.Equal(x, y) {
		t.Error("seeds 1 and 2 gave the same exposed CA")
	}
}

func BenchmarkGenerate100k(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(b.TempDir(), Config{Entries: 100_000, Form: FormTiles}); err != nil {
			b.Fatal(err)
		}
	}
}
