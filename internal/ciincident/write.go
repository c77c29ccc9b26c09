package ciincident

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// writer writes the incident's files and remembers their names.
type writer struct {
	dir   string
	files []string
}

func (w *writer) write(rel string, data []byte) error {
	name := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("ciincident: %w", err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		return fmt.Errorf("ciincident: %w", err)
	}
	w.files = append(w.files, path.Clean(rel))
	return nil
}

func (sc *scenario) write(w *writer) error {
	if err := w.write(ExposedKeyFile, publicPEM(sc.exposed.key)); err != nil {
		return err
	}
	for _, b := range sc.builds {
		st := sc.bprov[b]
		switch {
		case st == nil:
		case b.Enveloped:
			env := sc.attestation(b).envelope
			if err := w.write(b.Provenance, append(slices.Clip(env), '\n')); err != nil {
				return err
			}
		default:
			if err := w.write(b.Provenance, st.pretty); err != nil {
				return err
			}
		}
	}
	if err := sc.writeLedger(w); err != nil {
		return err
	}
	if sc.cfg.Form == FormBundle {
		return sc.writeBundles(w)
	}
	return sc.writeRekor(w)
}

func (sc *scenario) attestation(b *Build) *sig {
	for _, s := range sc.sigs {
		if s.build == b && s.typ == record.SigDSSE {
			return s
		}
	}
	return nil
}

// writeLedger records the builds whose provenance is missing, one row a
// subject, in the generic ledger's JSON Lines form.
func (sc *scenario) writeLedger(w *writer) error {
	var out bytes.Buffer
	for _, b := range sc.builds {
		if !b.InLedger {
			continue
		}
		for _, s := range b.Subjects {
			row, err := json.Marshal(struct {
				Kind       string `json:"kind"`
				ArtifactID string `json:"artifact_id"`
				IssuedAt   string `json:"issued_at"`
				Build      string `json:"build"`
				Name       string `json:"subject_name"`
				Invocation string `json:"invocation_id"`
			}{record.KindSignature, s.Digest, b.FinishedOn.Format(time.RFC3339), b.Name, s.Name, b.InvocationID})
			if err != nil {
				return err
			}
			out.Write(append(row, '\n'))
		}
	}
	if out.Len() == 0 {
		return nil
	}
	return w.write(LedgerFile, out.Bytes())
}

// allEntries is every entry of every shard, by integrated time.
func (sc *scenario) allEntries() []*entry {
	var all []*entry
	for _, sh := range sc.logs {
		all = append(all, sh.entries...)
	}
	slices.SortStableFunc(all, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.shard.offset, b.shard.offset), cmp.Compare(a.localIndex, b.localIndex))
	})
	return all
}

// The Rekor v1 API's LogEntry, its fields in the generated model's order.
type logEntryJSON struct {
	Attestation    *attestationJSON `json:"attestation,omitempty"`
	Body           string           `json:"body"`
	IntegratedTime int64            `json:"integratedTime"`
	LogID          string           `json:"logID"`
	LogIndex       int64            `json:"logIndex"`
	Verification   verificationJSON `json:"verification"`
}

type attestationJSON struct {
	Data string `json:"data,omitempty"`
}

type verificationJSON struct {
	InclusionProof       *inclusionProofJSON `json:"inclusionProof,omitempty"`
	SignedEntryTimestamp string              `json:"signedEntryTimestamp"`
}

type inclusionProofJSON struct {
	Checkpoint string   `json:"checkpoint"`
	Hashes     []string `json:"hashes"`
	LogIndex   int64    `json:"logIndex"`
	RootHash   string   `json:"rootHash"`
	TreeSize   int64    `json:"treeSize"`
}

// logEntry is e as the API returns it: a one-key map from the UUID (the
// 80-hex form with the tree id for every third entry).
func (e *entry) logEntry(i int) map[string]logEntryJSON {
	le := logEntryJSON{
		Body: b64(e.body), IntegratedTime: e.at, LogID: e.shard.logID, LogIndex: e.logIndex,
		Verification: verificationJSON{SignedEntryTimestamp: b64(e.set), InclusionProof: &inclusionProofJSON{
			Checkpoint: e.shard.note, LogIndex: e.localIndex, RootHash: hex.EncodeToString(e.shard.root[:]),
			TreeSize: int64(len(e.shard.entries)), Hashes: hexes(e.proof)}},
	}
	if e.s.kind == kindIntoto {
		le.Attestation = &attestationJSON{Data: b64(e.s.payload)}
	}
	uuid := e.uuid
	if i%3 == 1 {
		uuid = e.treeUUID()
	}
	return map[string]logEntryJSON{uuid: le}
}

func hexes(hs [][32]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

// writeRekor writes the log as Rekor API responses, in the four shapes
// analysts save them in: one entry a file (GET /api/v1/log/entries/{uuid}),
// pretty-printed entries concatenated (rekor-cli output appended to a
// file), JSON Lines, and the array of POST /api/v1/log/entries/retrieve.
func (sc *scenario) writeRekor(w *writer) error {
	var concat, lines bytes.Buffer
	var array []map[string]logEntryJSON
	const concatFile, linesFile, arrayFile = RekorDir + "/fetched.json", RekorDir + "/entries.jsonl", RekorDir + "/retrieve.json"
	for i, e := range sc.allEntries() {
		le := e.logEntry(i)
		switch i % 4 {
		case 0:
			e.file = fmt.Sprintf("%s/entry-%d.json", RekorDir, e.logIndex)
			b, err := json.Marshal(le)
			if err != nil {
				return err
			}
			if err := w.write(e.file, append(b, '\n')); err != nil {
				return err
			}
		case 1:
			e.file = concatFile
			b, err := json.MarshalIndent(le, "", "  ")
			if err != nil {
				return err
			}
			concat.Write(append(b, '\n'))
		case 2:
			e.file = linesFile
			b, err := json.Marshal(le)
			if err != nil {
				return err
			}
			lines.Write(append(b, '\n'))
		case 3:
			e.file = arrayFile
			array = append(array, le)
		}
	}
	b, err := json.Marshal(array)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{concatFile, concat.Bytes()}, {linesFile, lines.Bytes()}, {arrayFile, append(b, '\n')}} {
		if err := w.write(f.name, f.data); err != nil {
			return err
		}
	}
	return nil
}

// The Sigstore bundle as protojson writes it (protobuf-specs v0.5:
// sigstore_bundle.proto, sigstore_rekor.proto, sigstore_common.proto,
// envelope.proto): lowerCamel names, fields in field-number order, bytes
// in standard base64, 64-bit integers as strings, enums by name.
type bundleJSON struct {
	MediaType            string            `json:"mediaType"`
	VerificationMaterial materialJSONB     `json:"verificationMaterial"`
	MessageSignature     *messageSigJSON   `json:"messageSignature,omitempty"`
	DSSEEnvelope         *dsseEnvelopeJSON `json:"dsseEnvelope,omitempty"`
}

type materialJSONB struct {
	PublicKey            *hintJSON       `json:"publicKey,omitempty"`
	X509CertificateChain *certChainJSON  `json:"x509CertificateChain,omitempty"`
	TlogEntries          []tlogEntryJSON `json:"tlogEntries"`
	Certificate          *rawBytesJSON   `json:"certificate,omitempty"`
}

type rawBytesJSON struct {
	RawBytes string `json:"rawBytes"`
}

type certChainJSON struct {
	Certificates []rawBytesJSON `json:"certificates"`
}

type tlogEntryJSON struct {
	LogIndex          string           `json:"logIndex"`
	LogID             logIDJSON        `json:"logId"`
	KindVersion       kindVersionJSON  `json:"kindVersion"`
	IntegratedTime    string           `json:"integratedTime"`
	InclusionPromise  *setJSON         `json:"inclusionPromise,omitempty"`
	InclusionProof    *bundleProofJSON `json:"inclusionProof,omitempty"`
	CanonicalizedBody string           `json:"canonicalizedBody"`
}

type kindVersionJSON struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

type setJSON struct {
	SignedEntryTimestamp string `json:"signedEntryTimestamp"`
}

type bundleProofJSON struct {
	LogIndex   string   `json:"logIndex"`
	RootHash   string   `json:"rootHash"`
	TreeSize   string   `json:"treeSize"`
	Hashes     []string `json:"hashes"`
	Checkpoint struct {
		Envelope string `json:"envelope"`
	} `json:"checkpoint"`
}

type messageSigJSON struct {
	MessageDigest struct {
		Algorithm string `json:"algorithm"`
		Digest    string `json:"digest"`
	} `json:"messageDigest"`
	Signature string `json:"signature"`
}

type dsseEnvelopeJSON struct {
	Payload     string `json:"payload"`
	PayloadType string `json:"payloadType"`
	Signatures  []struct {
		Sig   string `json:"sig"`
		KeyID string `json:"keyid,omitempty"`
	} `json:"signatures"`
}

type hintJSON struct {
	Hint string `json:"hint"`
}

type logIDJSON struct {
	KeyID string `json:"keyId"`
}

func mediaType(v string) string {
	if v == "0.3" {
		return "application/vnd.dev.sigstore.bundle.v0.3+json"
	}
	return "application/vnd.dev.sigstore.bundle+json;version=" + v
}

// bundle is the Sigstore bundle of one entry of s.
func (e *entry) bundle(v string) (*bundleJSON, error) {
	s := e.s
	b := &bundleJSON{MediaType: mediaType(v)}
	vm := &b.VerificationMaterial
	switch {
	case s.signer.cert != nil && v == "0.3":
		vm.Certificate = &rawBytesJSON{b64(s.signer.cert)}
	case s.signer.cert != nil:
		vm.X509CertificateChain = &certChainJSON{[]rawBytesJSON{{b64(s.signer.cert)}, {b64(s.signer.ca)}}}
	default:
		// cosign's hint: the base64 sha256 of the public key's DER
		h := sha256.Sum256(spki(s.signer.key))
		vm.PublicKey = &hintJSON{b64(h[:])}
	}
	logID, err := hex.DecodeString(e.shard.logID)
	if err != nil {
		return nil, err
	}
	t := tlogEntryJSON{
		LogIndex:          fmt.Sprint(e.logIndex),
		KindVersion:       kindVersionJSON{s.kind, kindVersion(s.kind)},
		IntegratedTime:    fmt.Sprint(e.at),
		InclusionPromise:  &setJSON{b64(e.set)},
		CanonicalizedBody: b64(e.body),
	}
	t.LogID.KeyID = b64(logID)
	if v != "0.1" {
		p := &bundleProofJSON{LogIndex: fmt.Sprint(e.localIndex), RootHash: b64(e.shard.root[:]), TreeSize: fmt.Sprint(len(e.shard.entries))}
		for _, h := range e.proof {
			p.Hashes = append(p.Hashes, b64(h[:]))
		}
		p.Checkpoint.Envelope = e.shard.note
		t.InclusionProof = p
	}
	vm.TlogEntries = []tlogEntryJSON{t}
	if s.typ == record.SigDSSE {
		d := &dsseEnvelopeJSON{Payload: b64(s.payload), PayloadType: inTotoPayload}
		d.Signatures = append(d.Signatures, struct {
			Sig   string `json:"sig"`
			KeyID string `json:"keyid,omitempty"`
		}{Sig: b64(s.sigBytes)})
		b.DSSEEnvelope = d
	} else {
		m := &messageSigJSON{Signature: b64(s.sigBytes)}
		m.MessageDigest.Algorithm = "SHA2_256"
		m.MessageDigest.Digest = b64(s.digest)
		b.MessageSignature = m
	}
	return b, nil
}

// writeBundles writes one bundle a log entry (the duplicate has two), and
// the attestations of four builds inside an npm registry and a GitHub
// attestations API response.
func (sc *scenario) writeBundles(w *writer) error {
	type npmItem struct {
		PredicateType string      `json:"predicateType"`
		Bundle        *bundleJSON `json:"bundle"`
	}
	type ghItem struct {
		Bundle       *bundleJSON `json:"bundle"`
		RepositoryID int64       `json:"repository_id"`
	}
	var npm []npmItem
	var gh []ghItem
	const npmFile, ghFile = BundleDir + "/npm-attestations.json", BundleDir + "/github-attestations.json"
	for i, e := range sc.allEntries() {
		v := e.s.bundleV
		switch e.s.wrapper {
		case "npm":
			v = "0.2"
		case "github":
			v = "0.3"
		}
		b, err := e.bundle(v)
		if err != nil {
			return err
		}
		switch e.s.wrapper {
		case "npm":
			e.file = npmFile
			npm = append(npm, npmItem{e.s.build.Predicate, b})
			continue
		case "github":
			e.file = ghFile
			gh = append(gh, ghItem{b, 55512345})
			continue
		}
		var data []byte
		if i%2 == 0 {
			data, err = json.Marshal(b)
		} else {
			data, err = json.MarshalIndent(b, "", "  ")
		}
		if err != nil {
			return err
		}
		e.file = fmt.Sprintf("%s/%d.sigstore.json", BundleDir, e.logIndex)
		if err := w.write(e.file, append(data, '\n')); err != nil {
			return err
		}
	}
	if len(npm) > 0 {
		data, err := json.Marshal(struct {
			Attestations []npmItem `json:"attestations"`
		}{npm})
		if err != nil {
			return err
		}
		if err := w.write(npmFile, append(data, '\n')); err != nil {
			return err
		}
	}
	if len(gh) > 0 {
		data, err := json.MarshalIndent(struct {
			Attestations []ghItem `json:"attestations"`
		}{gh}, "", "  ")
		if err != nil {
			return err
		}
		if err := w.write(ghFile, append(data, '\n')); err != nil {
			return err
		}
	}
	return nil
}
