// Package ciincident generates a deterministic CI signing incident: a
// project's cosign key (ECDSA P-256) leaked, its build system's SLSA
// provenance (the record of what it really built), and a Sigstore
// transparency log holding the project's legitimate signatures, signatures
// the attacker made with the leaked key over artifacts no build produced,
// one legitimate signature logged twice (on two log shards), and other
// projects' entries (other keys, and self-made "Fulcio" certificates).
// The log is written as Rekor v1 API responses (Form "rekor") or as
// Sigstore bundles (Form "bundle"). The ground truth comes with it.
//
// The Rekor and bundle documents are shaped as Rekor v1.5 and
// protobuf-specs v0.5 write them (canonical entry bodies, entry UUIDs,
// signed entry timestamps and inclusion proofs that verify against the
// generator's own log keys), written with local types that mirror the
// wire forms: the published Go types' dependencies are not in go.sum.
//
// Keys are derived from the seed and every signature is deterministic
// (RFC 6979 ECDSA), so the same Config always gives byte-identical files.
package ciincident

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Where Generate writes, relative to its directory, with forward slashes.
const (
	ExposedKeyFile = "keys/exposed.pub.pem" // the leaked cosign key's public key (PKIX PEM)
	ProvenanceDir  = "provenance"           // <build>.intoto.jsonl (DSSE, signed) and <build>.provenance.json (bare)
	RekorDir       = "rekor"                // Rekor v1 API LogEntry responses (Form "rekor")
	BundleDir      = "bundles"              // Sigstore bundles and attestation API responses (Form "bundle")
	LedgerFile     = "ledger/releases.jsonl"
	TruthFile      = "truth.json"
)

// Forms.
const (
	FormRekor  = "rekor"
	FormBundle = "bundle"
)

// Log IDs: the public Rekor log's, and the second shard's (the hex sha256
// of the generator's second log key).
const PublicLogID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"

// Signature classes (Signature.Class).
const (
	ClassLegit   = "legit"   // made by a build, with the exposed key
	ClassForged  = "forged"  // made with the exposed key over what no build produced
	ClassForeign = "foreign" // another signer's
)

// Signer kinds (Signature.Signer).
const (
	SignerExposed = "exposed"
	SignerKey     = "foreign-key"
	SignerFulcio  = "foreign-fulcio"
)

// Reasons (Signature.Reason).
const (
	ReasonRandomDigest   = "random-digest"   // forged: a message signature over a digest no build produced
	ReasonFakeProvenance = "fake-provenance" // forged: a DSSE provenance claiming a builder the project never used
	ReasonSameDigest     = "same-digest"     // foreign: signs a digest a legit build produced
	ReasonDuplicate      = "duplicate"       // legit: logged twice
)

// Config sizes the incident. Zero fields take their defaults.
type Config struct {
	Seed    int64  // default 1
	Builds  int    // legitimate builds; default 40
	Forged  int    // forged signatures; default 5 (one of them a DSSE attestation)
	Foreign int    // other projects' entries; default 30
	Form    string // FormRekor (default) or FormBundle
}

func (c Config) withDefaults() (Config, error) {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Builds <= 0 {
		c.Builds = 40
	}
	if c.Forged <= 0 {
		c.Forged = 5
	}
	if c.Foreign <= 0 {
		c.Foreign = 30
	}
	if c.Form == "" {
		c.Form = FormRekor
	}
	if c.Form != FormRekor && c.Form != FormBundle {
		return c, fmt.Errorf("ciincident: unknown form %q (want %q or %q)", c.Form, FormRekor, FormBundle)
	}
	if c.Builds < 8 {
		return c, fmt.Errorf("ciincident: at least 8 builds are needed, got %d", c.Builds)
	}
	return c, nil
}

// Subject is one artifact a build produced.
type Subject struct {
	Name   string `json:"name"`
	Digest string `json:"digest"` // canonical, "sha256:<hex>"
}

// Build is one legitimate build.
type Build struct {
	Name          string    `json:"name"`
	Predicate     string    `json:"predicate_type"`
	BuilderID     string    `json:"builder_id"`
	InvocationID  string    `json:"invocation_id"`
	StartedOn     time.Time `json:"started_on"`
	FinishedOn    time.Time `json:"finished_on"`
	Subjects      []Subject `json:"subjects"`
	Provenance    string    `json:"provenance_file,omitempty"` // "" when its provenance is missing
	Enveloped     bool      `json:"enveloped"`                 // the provenance is a DSSE envelope signed with the exposed key
	InLedger      bool      `json:"in_ledger"`                 // the ledger records it (its provenance is missing)
	Attestation   string    `json:"attestation_key,omitempty"` // the artifact key of its logged DSSE attestation
	BlobSignature []string  `json:"blob_signature_keys"`       // the artifact keys of its subjects' message signatures
}

// Entry is one logging of a signature.
type Entry struct {
	File     string `json:"file"`
	UUID     string `json:"uuid"` // 64 hex digits: the leaf hash, hex sha256(0x00 || body)
	LogID    string `json:"log_id"`
	LogIndex int64  `json:"log_index"`
	Kind     string `json:"kind"` // hashedrekord, intoto, dsse
	Version  string `json:"version"`
}

// Signature is one distinct signature in the log.
type Signature struct {
	// Key is record.SigKey(signature, Signed): what the signature
	// artifact's key is for the reader.
	Key  string `json:"key"`
	Type string `json:"type"` // "message" or "dsse" (record.SigMessage, record.SigDSSE)
	// Signed is the canonical digest the key is computed over: the
	// message signature's digest, or the sha256 of the DSSE payload.
	Signed string `json:"signed"`
	// Digests are the artifacts the signature vouches for: the message
	// signature's digest, or the DSSE statement's subjects.
	Digests   []string `json:"digests"`
	Class     string   `json:"class"`
	Signer    string   `json:"signer"`
	Reason    string   `json:"reason,omitempty"`
	Build     string   `json:"build,omitempty"` // the build that made it (legit)
	SignedAt  int64    `json:"integrated_time"` // of its first entry, Unix seconds
	Entries   []Entry  `json:"entries"`
	PublicKey string   `json:"public_key"` // the signer's PKIX public key, base64
}

// Truth is what really happened; Generate writes it to DIR/truth.json.
type Truth struct {
	Seed             int64       `json:"seed"`
	Form             string      `json:"form"`
	ExposedKeyFile   string      `json:"exposed_key_file"`
	ExposedPublicKey string      `json:"exposed_public_key"` // base64 PKIX
	ExposedFrom      time.Time   `json:"exposed_from"`       // the attacker signs from then on
	LogIDs           []string    `json:"log_ids"`            // PublicLogID, then the second shard's
	LogPublicKeys    []string    `json:"log_public_keys"`    // base64 PKIX, in LogIDs' order: they verify SETs and checkpoints
	Builds           []Build     `json:"builds"`
	Signatures       []Signature `json:"signatures"` // by first integrated time
	Duplicate        string      `json:"duplicate"`  // the key of the signature logged twice
	Files            []string    `json:"files"`      // every file written but truth.json
}

func (t *Truth) keys(class string) []string {
	var out []string
	for _, s := range t.Signatures {
		if s.Class == class {
			out = append(out, s.Key)
		}
	}
	slices.Sort(out)
	return out
}

// Forged returns the forged signatures' keys, sorted.
func (t *Truth) Forged() []string { return t.keys(ClassForged) }

// Legit returns the legitimate signatures' keys, sorted.
func (t *Truth) Legit() []string { return t.keys(ClassLegit) }

// Foreign returns the other signers' signatures' keys, sorted.
func (t *Truth) Foreign() []string { return t.keys(ClassForeign) }

// ForgedDigests returns the digests the forged signatures vouch for, sorted.
func (t *Truth) ForgedDigests() []string {
	var out []string
	for _, s := range t.Signatures {
		if s.Class == ClassForged {
			out = append(out, s.Digests...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Signature returns the signature with the given key, or nil.
func (t *Truth) Signature(key string) *Signature {
	for i := range t.Signatures {
		if t.Signatures[i].Key == key {
			return &t.Signatures[i]
		}
	}
	return nil
}

// Generate writes the incident into dir (created if needed; files of the
// same names are overwritten) and returns its truth, also written to
// dir/truth.json.
func Generate(dir string, cfg Config) (*Truth, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	sc, err := plan(cfg)
	if err != nil {
		return nil, err
	}
	w := &writer{dir: dir}
	if err := sc.write(w); err != nil {
		return nil, err
	}
	truth := sc.truth()
	truth.Files = w.files
	data, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("ciincident: encode truth: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFile), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("ciincident: %w", err)
	}
	return truth, nil
}

// ReadTruth reads a truth.json written by Generate.
func ReadTruth(path string) (*Truth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ciincident: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("ciincident: read %s: %w", path, err)
	}
	return &t, nil
}
