package ciincident

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/ledger"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
	"github.com/forgehunt/forgehunt/parsers/slsa"
)

// seen is what the log files say of one signature.
type seen struct {
	signer  *ecdsa.PublicKey
	entries int
	logIDs  map[string]bool
}

type checker struct {
	t       *testing.T
	dir     string
	truth   *Truth
	logKeys map[string]*ecdsa.PublicKey // by log ID (hex)
	keys    map[string]*ecdsa.PublicKey // by cosign hint
	payload map[string][]byte           // DSSE payloads of the provenance files, by sha256
	sigs    map[string]*seen
}

func newChecker(t *testing.T, form string) *checker {
	dir := t.TempDir()
	truth, err := Generate(dir, Config{Form: form})
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{t: t, dir: dir, truth: truth, logKeys: map[string]*ecdsa.PublicKey{}, keys: map[string]*ecdsa.PublicKey{},
		payload: map[string][]byte{}, sigs: map[string]*seen{}}
	for i, id := range truth.LogIDs {
		c.logKeys[id] = parseSPKI(t, truth.LogPublicKeys[i])
	}
	for _, s := range truth.Signatures {
		der, _ := base64.StdEncoding.DecodeString(s.PublicKey)
		h := sha256.Sum256(der)
		c.keys[base64.StdEncoding.EncodeToString(h[:])] = parseSPKI(t, s.PublicKey)
	}
	for _, b := range truth.Builds {
		if !b.Enveloped {
			continue
		}
		var env dsseEnvelope
		if err := json.Unmarshal(c.read(b.Provenance), &env); err != nil {
			t.Fatal(err)
		}
		p, _ := base64.StdEncoding.DecodeString(env.Payload)
		c.payload[record.SHA256Digest(p)] = p
	}
	return c
}

func (c *checker) read(rel string) []byte {
	b, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(rel)))
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

func parseSPKI(t *testing.T, b64s string) *ecdsa.PublicKey {
	der, err := base64.StdEncoding.DecodeString(b64s)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*ecdsa.PublicKey)
}

// pemKey reads a hashedrekord's or a DSSE verifier's PEM: a public key or
// a certificate.
func (c *checker) pemKey(b64s string) *ecdsa.PublicKey {
	raw, err := base64.StdEncoding.DecodeString(b64s)
	if err != nil {
		c.t.Fatal(err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		c.t.Fatal("verifier is not PEM")
	}
	if blk.Type == "CERTIFICATE" {
		return c.certKey(blk.Bytes)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		c.t.Fatal(err)
	}
	return k.(*ecdsa.PublicKey)
}

func (c *checker) certKey(der []byte) *ecdsa.PublicKey {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		c.t.Fatal(err)
	}
	var issuer bool
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidIssuerV2) {
			var s string
			if _, err := asn1.Unmarshal(e.Value, &s); err != nil || s != githubOIDCIssuer {
				c.t.Errorf("issuer extension %q, %v", s, err)
			}
			issuer = true
		}
	}
	if !issuer || len(cert.URIs) != 1 {
		c.t.Errorf("Fulcio certificate without its issuer extension or identity")
	}
	return cert.PublicKey.(*ecdsa.PublicKey)
}

func sum(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// signature records one verified signature.
func (c *checker) signature(pub *ecdsa.PublicKey, sigBytes []byte, signed, logID string) {
	key := record.SigKey(sigBytes, signed)
	s := c.sigs[key]
	if s == nil {
		s = &seen{signer: pub, logIDs: map[string]bool{}}
		c.sigs[key] = s
	}
	s.entries++
	s.logIDs[logID] = true
}

// body verifies one canonical Rekor body and the signature it holds;
// payload is the DSSE payload when the entry or bundle carries it.
func (c *checker) body(body []byte, logID string, payload []byte) {
	t := c.t
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(canonicalJSON(generic), body) {
		t.Errorf("body is not canonical: %s", body)
	}
	var b struct {
		Kind string
		Spec struct {
			Data struct {
				Hash hashJSON
			}
			Signature struct {
				Content   string
				PublicKey struct{ Content string }
			}
			Content struct {
				Envelope struct {
					Signatures []struct{ PublicKey, Sig string }
				}
				PayloadHash hashJSON
			}
			PayloadHash hashJSON
			Signatures  []struct{ Signature, Verifier string }
		}
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	switch b.Kind {
	case kindHashedRekord:
		pub := c.pemKey(b.Spec.Signature.PublicKey.Content)
		d, _ := hex.DecodeString(b.Spec.Data.Hash.Value)
		sig, _ := base64.StdEncoding.DecodeString(b.Spec.Signature.Content)
		if !ecdsa.VerifyASN1(pub, d, sig) {
			t.Errorf("hashedrekord signature does not verify")
		}
		c.signature(pub, sig, "sha256:"+b.Spec.Data.Hash.Value, logID)
	case kindIntoto, kindDSSE:
		var pub *ecdsa.PublicKey
		var sig []byte
		ph := b.Spec.PayloadHash.Value
		if b.Kind == kindIntoto {
			s := b.Spec.Content.Envelope.Signatures[0]
			pub = c.pemKey(s.PublicKey)
			inner, _ := base64.StdEncoding.DecodeString(s.Sig) // the base64 of the envelope's sig
			sig, _ = base64.StdEncoding.DecodeString(string(inner))
			ph = b.Spec.Content.PayloadHash.Value
		} else {
			pub = c.pemKey(b.Spec.Signatures[0].Verifier)
			sig, _ = base64.StdEncoding.DecodeString(b.Spec.Signatures[0].Signature)
		}
		if payload == nil {
			payload = c.payload["sha256:"+ph]
		}
		if payload == nil || hex.EncodeToString(sum(payload)) != ph {
			t.Fatalf("%s entry: payload of hash %s not found", b.Kind, ph)
		}
		if !ecdsa.VerifyASN1(pub, sum(record.DSSEPAE(inTotoPayload, payload)), sig) {
			t.Errorf("%s signature does not verify", b.Kind)
		}
		c.signature(pub, sig, "sha256:"+ph, logID)
	default:
		t.Fatalf("unexpected kind %q", b.Kind)
	}
}

// inclusion checks an RFC 9162 inclusion proof.
func inclusion(index, size int64, leaf [32]byte, path [][32]byte, root [32]byte) bool {
	if index < 0 || index >= size {
		return false
	}
	fn, sn, r := index, size-1, leaf
	for _, p := range path {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			r = nodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = nodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && r == root
}

func (c *checker) set(body []byte, at, index int64, logID string, set []byte) {
	msg := canonicalJSON(map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": at, "logID": logID, "logIndex": index})
	if !ecdsa.VerifyASN1(c.logKeys[logID], sum(msg), set) {
		c.t.Errorf("SET of entry %d does not verify", index)
	}
}

// compare checks what the files showed against the truth.
func (c *checker) compare() {
	t, truth := c.t, c.truth
	exposed := parseSPKI(t, truth.ExposedPublicKey)
	if len(c.sigs) != len(truth.Signatures) {
		t.Errorf("%d signatures in the files, %d in the truth", len(c.sigs), len(truth.Signatures))
	}
	produced := map[string]bool{}
	for _, b := range truth.Builds {
		for _, s := range b.Subjects {
			produced[s.Digest] = true
		}
	}
	sameDigest := 0
	for _, s := range truth.Signatures {
		got := c.sigs[s.Key]
		if got == nil {
			t.Errorf("%s signature %s not in the files", s.Class, s.Key)
			continue
		}
		if got.entries != len(s.Entries) {
			t.Errorf("%s: %d entries, truth says %d", s.Key, got.entries, len(s.Entries))
		}
		if (s.Class == ClassForeign) == got.signer.Equal(exposed) {
			t.Errorf("%s signature %s: signer is exposed = %v", s.Class, s.Key, got.signer.Equal(exposed))
		}
		for _, d := range s.Digests {
			switch {
			case s.Class == ClassForged && produced[d]:
				t.Errorf("forged signature over %s, which a build produced", d)
			case s.Class == ClassLegit && !produced[d]:
				t.Errorf("legit signature over %s, which no build produced", d)
			case s.Class == ClassForeign && s.Reason == ReasonSameDigest && produced[d]:
				sameDigest++
			}
		}
	}
	if sameDigest != 3 {
		t.Errorf("%d foreign signatures over a built digest, want 3", sameDigest)
	}
	dup := c.sigs[truth.Duplicate]
	if dup == nil || dup.entries != 2 || len(dup.logIDs) != 2 {
		t.Errorf("duplicate: %+v", dup)
	}
	if d := truth.Signature(truth.Duplicate); d == nil || d.Class != ClassLegit {
		t.Errorf("duplicate is not a legit signature")
	}
	var fake int
	for _, s := range truth.Signatures {
		if s.Reason == ReasonFakeProvenance {
			fake++
			if s.Type != record.SigDSSE {
				t.Errorf("fake provenance is a %s signature", s.Type)
			}
		}
	}
	if fake != 1 {
		t.Errorf("%d fake provenance signatures", fake)
	}
}

func TestRekorForm(t *testing.T) {
	c := newChecker(t, FormRekor)
	files, _ := filepath.Glob(filepath.Join(c.dir, RekorDir, "*"))
	if len(files) < 4 {
		t.Fatalf("rekor files: %v", files)
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		var entries []map[string]logEntryJSON
		if data[0] == '[' {
			if err := json.Unmarshal(data, &entries); err != nil {
				t.Fatal(err)
			}
		} else {
			dec := json.NewDecoder(bytes.NewReader(data))
			for {
				var m map[string]logEntryJSON
				if err := dec.Decode(&m); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(f, err)
				}
				entries = append(entries, m)
			}
		}
		for _, m := range entries {
			if len(m) != 1 {
				t.Fatalf("%s: an entry map of %d keys", f, len(m))
			}
			for uuid, le := range m {
				body, _ := base64.StdEncoding.DecodeString(le.Body)
				leaf := leafHash(body)
				if h := hex.EncodeToString(leaf[:]); uuid != h && !(len(uuid) == 80 && uuid[16:] == h) {
					t.Errorf("UUID %s is not the body's leaf hash %s", uuid, h)
				}
				set, _ := base64.StdEncoding.DecodeString(le.Verification.SignedEntryTimestamp)
				c.set(body, le.IntegratedTime, le.LogIndex, le.LogID, set)
				p := le.Verification.InclusionProof
				var path [][32]byte
				for _, h := range p.Hashes {
					var x [32]byte
					hex.Decode(x[:], []byte(h))
					path = append(path, x)
				}
				var root [32]byte
				hex.Decode(root[:], []byte(p.RootHash))
				if !inclusion(p.LogIndex, p.TreeSize, leaf, path, root) {
					t.Errorf("inclusion proof of %s does not verify", uuid)
				}
				if !strings.Contains(p.Checkpoint, base64.StdEncoding.EncodeToString(root[:])) {
					t.Errorf("checkpoint does not name the root")
				}
				var payload []byte
				if le.Attestation != nil {
					payload, _ = base64.StdEncoding.DecodeString(le.Attestation.Data)
				}
				c.body(body, le.LogID, payload)
			}
		}
	}
	c.compare()
	c.provenance()
}

func TestBundleForm(t *testing.T) {
	c := newChecker(t, FormBundle)
	files, _ := filepath.Glob(filepath.Join(c.dir, BundleDir, "*.json"))
	versions := map[string]int{}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		var bundles []bundleRead
		if strings.HasSuffix(f, "attestations.json") {
			var w struct {
				Attestations []struct {
					PredicateType string
					Bundle        bundleRead
					RepositoryID  int64 `json:"repository_id"`
				}
			}
			if err := json.Unmarshal(data, &w); err != nil {
				t.Fatal(err)
			}
			for _, a := range w.Attestations {
				bundles = append(bundles, a.Bundle)
			}
		} else {
			var b bundleRead
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			bundles = append(bundles, b)
		}
		for _, b := range bundles {
			versions[b.MediaType]++
			c.bundle(b)
		}
	}
	if len(versions) != 3 {
		t.Errorf("bundle media types: %v", versions)
	}
	c.compare()
	c.provenance()
}

type bundleRead struct {
	MediaType            string
	VerificationMaterial struct {
		PublicKey            *struct{ Hint string }
		X509CertificateChain *struct{ Certificates []struct{ RawBytes []byte } }
		Certificate          *struct{ RawBytes []byte }
		TlogEntries          []struct {
			LogIndex         int64 `json:",string"`
			LogID            struct{ KeyID []byte }
			KindVersion      struct{ Kind, Version string }
			IntegratedTime   int64 `json:",string"`
			InclusionPromise *struct{ SignedEntryTimestamp []byte }
			InclusionProof   *struct {
				LogIndex   int64 `json:",string"`
				RootHash   []byte
				TreeSize   int64 `json:",string"`
				Hashes     [][]byte
				Checkpoint struct{ Envelope string }
			}
			CanonicalizedBody []byte
		}
	}
	MessageSignature *struct {
		MessageDigest struct {
			Algorithm string
			Digest    []byte
		}
		Signature []byte
	}
	DSSEEnvelope *struct {
		Payload     []byte
		PayloadType string
		Signatures  []struct{ Sig []byte }
	}
}

func (c *checker) bundle(b bundleRead) {
	t := c.t
	vm := b.VerificationMaterial
	if len(vm.TlogEntries) != 1 {
		t.Fatalf("bundle with %d tlog entries", len(vm.TlogEntries))
	}
	te := vm.TlogEntries[0]
	logID := hex.EncodeToString(te.LogID.KeyID)
	c.set(te.CanonicalizedBody, te.IntegratedTime, te.LogIndex, logID, te.InclusionPromise.SignedEntryTimestamp)
	if p := te.InclusionProof; p != nil {
		var path [][32]byte
		for _, h := range p.Hashes {
			path = append(path, [32]byte(h))
		}
		if !inclusion(p.LogIndex, p.TreeSize, leafHash(te.CanonicalizedBody), path, [32]byte(p.RootHash)) {
			t.Errorf("bundle inclusion proof does not verify")
		}
	} else if b.MediaType != mediaType("0.1") {
		t.Errorf("%s bundle without an inclusion proof", b.MediaType)
	}
	var pub *ecdsa.PublicKey
	switch {
	case vm.PublicKey != nil:
		pub = c.keys[vm.PublicKey.Hint]
	case vm.Certificate != nil:
		pub = c.certKey(vm.Certificate.RawBytes)
	case vm.X509CertificateChain != nil:
		pub = c.certKey(vm.X509CertificateChain.Certificates[0].RawBytes)
	}
	if pub == nil {
		t.Fatal("bundle without a known verifier")
	}
	var payload []byte
	if d := b.DSSEEnvelope; d != nil {
		payload = d.Payload
		if !ecdsa.VerifyASN1(pub, sum(record.DSSEPAE(d.PayloadType, d.Payload)), d.Signatures[0].Sig) {
			t.Errorf("bundle DSSE signature does not verify")
		}
		if te.KindVersion.Kind != kindIntoto && te.KindVersion.Kind != kindDSSE {
			t.Errorf("DSSE bundle of a %s entry", te.KindVersion.Kind)
		}
	} else {
		m := b.MessageSignature
		if m.MessageDigest.Algorithm != "SHA2_256" || !ecdsa.VerifyASN1(pub, m.MessageDigest.Digest, m.Signature) {
			t.Errorf("bundle message signature does not verify")
		}
		if !strings.Contains(string(te.CanonicalizedBody), hex.EncodeToString(m.MessageDigest.Digest)) {
			t.Errorf("tlog entry is not of the bundle's digest")
		}
	}
	c.body(te.CanonicalizedBody, logID, payload)
}

// provenance checks that the provenance files and the ledger read back
// with their readers as one issuance a subject.
func (c *checker) provenance() {
	t := c.t
	want, got := map[string]bool{}, map[string]bool{}
	wantLedger, gotLedger := map[string]bool{}, map[string]bool{}
	for _, b := range c.truth.Builds {
		for _, s := range b.Subjects {
			if b.InLedger {
				wantLedger[s.Digest] = true
			} else {
				want[s.Digest] = true
			}
		}
		if b.InLedger {
			continue
		}
		col, err := recordtest.Parse(slsa.Format, b.Provenance, c.read(b.Provenance), record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(col.Issuances) != len(b.Subjects) || len(col.Rejects)+len(col.Ignores) != 0 {
			t.Errorf("%s: %d issuances for %d subjects, %v, %v", b.Provenance, len(col.Issuances), len(b.Subjects), col.Rejects, col.Ignores)
		}
		sniffer := slsa.Format.(record.FileSniffer)
		if !sniffer.SniffFile(b.Provenance, c.read(b.Provenance)) {
			t.Errorf("%s is not recognised as provenance", b.Provenance)
		}
		for _, is := range col.Issuances {
			got[is.ArtifactID] = true
			if !strings.Contains(is.Attrs, b.BuilderID) || !is.IssuedAt.Equal(b.FinishedOn) && !is.IssuedAt.Equal(b.StartedOn) {
				t.Errorf("%s: issuance %+v", b.Provenance, is)
			}
		}
	}
	col, err := recordtest.Parse(ledger.Format, LedgerFile, c.read(LedgerFile), record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range col.Issuances {
		if is.Kind != record.KindSignature {
			t.Errorf("ledger row of kind %s", is.Kind)
		}
		gotLedger[is.ArtifactID] = true
	}
	if !mapsEqual(want, got) || !mapsEqual(wantLedger, gotLedger) || len(wantLedger) == 0 {
		t.Errorf("provenance gives %d digests of %d, the ledger %d of %d", len(got), len(want), len(gotLedger), len(wantLedger))
	}
	// no provenance file names a forged digest
	for _, d := range c.truth.ForgedDigests() {
		if got[d] || gotLedger[d] {
			t.Errorf("forged digest %s is in the provenance", d)
		}
	}
	if !slices.IsSorted(c.truth.Forged()) {
		t.Errorf("Forged() not sorted")
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
