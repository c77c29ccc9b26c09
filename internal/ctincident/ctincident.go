// Package ctincident generates a deterministic Certificate Transparency
// incident: a private CA ("Example Issuing CA 1") whose signing key leaked,
// the record of what it really issued (a CSV ledger and a step-ca log),
// certificates and precertificates forged with the leaked key, certificates
// of another CA, and one CT log that recorded them all, written twice in the
// formats an analyst gets them in: RFC 6962 get-entries responses, and
// static-ct-api tiles as Sunlight serves them. The ground truth comes with it.
// It feeds end-to-end tests and benchmarks of the certificate hunt.
//
// Keys are derived from the seed and every signature is deterministic
// (RFC 6979 ECDSA, PKCS #1 v1.5 RSA, Ed25519), so the same Config always
// gives byte-identical files.
package ctincident

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Where Generate writes, relative to its directory, with forward slashes.
const (
	ExposedKeyFile = "keys/exposed-ca.pem" // the exposed intermediate's certificate, what the analyst passes as the key
	RootFile       = "keys/root-ca.pem"    // the exposed CA's root certificate
	LedgerFile     = "ca/issued.csv"       // every certificate the exposed CA issued
	StepCAFile     = "ca/step-ca.log"      // the CA's step-ca JSON log; some of the certificates
	GetEntriesDir  = "ct/get-entries"      // examplelog-<start>-<end>.json, get-entries responses
	TilesDir       = "ct/tiles/examplelog" // checkpoint, tile/..., issuer/...
	TruthFile      = "truth.json"
)

// Scenario constants.
const (
	// LogOrigin is the log's name, the checkpoint's first line.
	LogOrigin = "example.log/2026"
	// ExposedIssuer is the exposed intermediate's subject as the ledger
	// writes it (OpenSSL's one-line form); its certificate spells it
	// C=US, O=Example Corp, CN=Example Issuing CA 1.
	ExposedIssuer = "/C=US/O=Example Corp/CN=Example Issuing CA 1"
	RootSubject   = "/C=US/O=Example Corp/CN=Example Root CA"
	PSCSubject    = "/C=US/O=Example Corp/CN=Example Issuing CA 1 Precertificate Signing"
	ForeignIssuer = "/C=US/O=Other Public Trust/CN=Other Public CA R3"
	ForeignRoot   = "/C=US/O=Other Public Trust/CN=Other Public Root X1"
	// GetEntriesBatch is the number of entries in each get-entries file
	// (the last one may hold fewer).
	GetEntriesBatch = 50
)

// CAs in Artifact.CA.
const (
	CAExposed = "exposed" // signed with the exposed key (directly or through its PSC)
	CAForeign = "foreign" // signed by another key
)

// Reasons in Artifact.Reason, for forged artifacts.
const (
	ReasonNoIssuance      = "no-issuance"      // the CA never issued it
	ReasonReusedSerial    = "reused-serial"    // carries the serial of a certificate the CA issued, with other names
	ReasonAfterRevocation = "after-revocation" // first logged after the key was revoked (its notBefore is backdated)
)

// Form selects the CT output forms; the zero value writes both.
type Form int

const (
	FormBoth       Form = iota
	FormGetEntries      // only ct/get-entries
	FormTiles           // only ct/tiles
)

// Config sizes the incident. Zero fields take their defaults, so a zero
// Config is valid.
type Config struct {
	Seed int64 // default 1
	// Entries is the number of log entries; default 600. Entries beyond the
	// distinct artifacts repeat foreign certificates, so that a large log is
	// quick to make. Generate fails if Entries cannot hold every artifact.
	Entries int
	// Legit is the number of certificates the exposed CA issued (each logged
	// as a precertificate and as the final certificate); default 40, or
	// enough for 1% of Entries to be signed with the exposed key when that
	// is more.
	Legit int
	// Foreign is the number of certificates of the foreign CA; default 24.
	// A third are for example.com names; half are logged as precertificates
	// too.
	Foreign int
	Form    Form
}

// DefaultConfig is a small incident: 600 entries, two full tiles and a partial one.
func DefaultConfig() Config {
	return Config{Seed: 1, Entries: 600}
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Entries <= 0 {
		c.Entries = 600
	}
	if c.Legit <= 0 {
		c.Legit = max(40, (c.Entries/100-numForged)/2)
	}
	if c.Foreign <= 0 {
		c.Foreign = 24
	}
	return c
}

// Window is a half-open time interval [From, To).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Artifact is one distinct certificate or precertificate in the log.
type Artifact struct {
	// ArtifactKey is "sha256:" and the hex SHA-256 of the certificate's DER
	// or, for a precertificate, of the pre_certificate's DER (with poison).
	ArtifactKey string `json:"artifact_key"`
	Kind        string `json:"kind"`   // "x509"
	Serial      string `json:"serial"` // lower-case hex, no leading zeros
	Precert     bool   `json:"precert"`
	ViaPSC      bool   `json:"via_psc"` // signed by a Precertificate Signing Certificate
	CA          string `json:"ca"`
	// Lookalike marks a foreign certificate whose issuer name is the exposed
	// CA's: only the signature tells it apart.
	Lookalike bool      `json:"lookalike,omitempty"`
	Forged    bool      `json:"forged"`
	Reason    string    `json:"reason,omitempty"`
	Subject   string    `json:"subject"` // the subject's common name
	Names     []string  `json:"names"`   // DNS SANs
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	LoggedAt  time.Time `json:"logged_at"` // timestamp of its first log entry
	// InLedger: a ledger row is this certificate, or the final certificate
	// of this precertificate (same issuer, serial and names).
	InLedger bool `json:"in_ledger"`
	InStepCA bool `json:"in_step_ca"` // likewise for the step-ca log
	// LeafIndexes are its entries in the log, in order; foreign filler
	// repeats some artifacts many times.
	LeafIndexes []int64 `json:"leaf_indexes"`
}

// ChainCert is a CA certificate found in log entries' chains (and under
// the tiles' issuer/ directory).
type ChainCert struct {
	ArtifactKey string `json:"artifact_key"` // "sha256:" + hex, the issuer/ file name after the prefix
	Role        string `json:"role"`         // root, intermediate, psc, foreign-root, foreign-intermediate, lookalike-intermediate
	Subject     string `json:"subject"`      // OpenSSL one-line form
	CA          string `json:"ca"`
	// Forged marks the PSC: signed with the exposed key, never issued.
	Forged bool `json:"forged"`
}

// Truth is what really happened; Generate writes it to DIR/truth.json.
type Truth struct {
	LogOrigin      string `json:"log_origin"`
	ExposedKeyFile string `json:"exposed_key_file"`
	RootFile       string `json:"root_file"`
	ExposedIssuer  string `json:"exposed_issuer"`
	// Window spans the log's entries; the CA issued from its start until
	// RevokedAt, the attacker from ExposedFrom on.
	Window      Window    `json:"window"`
	ExposedFrom time.Time `json:"exposed_from"`
	RevokedAt   time.Time `json:"revoked_at"`
	Entries     int       `json:"entries"`   // the tree size
	RootHash    string    `json:"root_hash"` // base64, as in the checkpoint (over the tiles' leaves)
	// LogPublicKey is the log's ECDSA key (base64 PKIX): the SCTs' and the
	// checkpoint's RFC 6962 signature; LogWitnessKey the note verifier key
	// of its Ed25519 checkpoint signature.
	LogPublicKey  string      `json:"log_public_key"`
	LogWitnessKey string      `json:"log_witness_key"`
	ChainCerts    []ChainCert `json:"chain_certificates"`
	Artifacts     []Artifact  `json:"artifacts"` // by first leaf index
	// Files are every file written but truth.json, relative with forward slashes.
	Files []string `json:"files"`
}

// Forged returns the artifact keys of the forged artifacts, in truth order.
func (t *Truth) Forged() []string {
	var keys []string
	for _, a := range t.Artifacts {
		if a.Forged {
			keys = append(keys, a.ArtifactKey)
		}
	}
	return keys
}

// Artifact returns the artifact with the given key, or nil.
func (t *Truth) Artifact(key string) *Artifact {
	for i := range t.Artifacts {
		if t.Artifacts[i].ArtifactKey == key {
			return &t.Artifacts[i]
		}
	}
	return nil
}

// Generate writes the incident into dir (created if needed; files of the
// same names are overwritten) and returns its truth, also written to
// dir/truth.json.
func Generate(dir string, cfg Config) (*Truth, error) {
	cfg = cfg.withDefaults()
	pki, err := newPKI(cfg.Seed)
	if err != nil {
		return nil, err
	}
	sc, err := plan(cfg, pki)
	if err != nil {
		return nil, err
	}
	if err := sc.build(); err != nil {
		return nil, err
	}
	w := &writer{dir: dir}
	truth := &Truth{
		LogOrigin:      LogOrigin,
		ExposedKeyFile: ExposedKeyFile,
		RootFile:       RootFile,
		ExposedIssuer:  ExposedIssuer,
		Window:         Window{From: utc(windowFrom), To: utc(windowTo)},
		ExposedFrom:    utc(exposedFrom),
		RevokedAt:      utc(revokedAt),
		Entries:        len(sc.entries),
		LogPublicKey:   pki.logPublicKey(),
		LogWitnessKey:  pki.witnessVerifierKey,
	}
	if err := w.keys(pki); err != nil {
		return nil, err
	}
	if err := w.ledger(sc); err != nil {
		return nil, err
	}
	if err := w.stepCA(sc); err != nil {
		return nil, err
	}
	if cfg.Form != FormTiles {
		if err := w.getEntries(sc); err != nil {
			return nil, err
		}
	}
	root, err := w.tiles(sc, cfg.Form != FormGetEntries)
	if err != nil {
		return nil, err
	}
	truth.RootHash = root
	truth.Files = w.files
	truth.ChainCerts = sc.chainCerts()
	truth.Artifacts = sc.truthArtifacts()
	data, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("ctincident: encode truth: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFile), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("ctincident: %w", err)
	}
	return truth, nil
}

// ReadTruth reads a truth.json written by Generate.
func ReadTruth(path string) (*Truth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ctincident: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("ctincident: read %s: %w", path, err)
	}
	return &t, nil
}

// The scenario's month and its milestones, in Unix milliseconds (UTC).
var (
	windowFrom  = ms(2026, 2, 1, 0)
	windowTo    = ms(2026, 3, 3, 0)
	exposedFrom = ms(2026, 2, 18, 0)
	revokedAt   = ms(2026, 2, 26, 12)
)

func ms(y int, m time.Month, d, h int) int64 {
	return time.Date(y, m, d, h, 0, 0, 0, time.UTC).UnixMilli()
}

func utc(msec int64) time.Time { return time.UnixMilli(msec).UTC() }
