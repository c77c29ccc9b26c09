// Package kinds is the ordered registry of artifact kinds: what the analyzer
// does with each kind of artifact it meets (a JWT; certificates, code
// signatures and SAML assertions to come). Adding a kind is a package that
// implements Kind and passes kindtest.Check, and one line in the analyzer's
// ordered registry (analyzer.Kinds).
//
// The contract of a kind, as record.Format's is of a format:
//   - Name is the kind's value in artifacts.kind, sightings.kind,
//     issuances.kind and a rule's kind; IDLabel names its id for people.
//   - Key is the canonical artifact key of a raw artifact: the same artifact
//     met in another encoding has the same key.
//   - Verify decodes without trusting and checks against the keys; it never
//     fails and never panics: bad input is a Verdict with status malformed
//     and a note. It checks first, cheaply, which keys could have signed the
//     artifact (type and algorithm), so that artifacts of other issuers cost
//     a compare, not a signature check.
//   - Fields are the labelled facts a detail view shows of a verdict, from
//     the verdict's columns alone (a stored artifact is read back into a
//     Verdict, so front ends show any kind without knowing it).
//   - WeakMatch says whether matching may account for an artifact without
//     its id.
package kinds

import (
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
)

// Signature statuses of a Verdict, as stored in artifacts.sig_status.
const (
	StatusValid        = "valid"        // a given key verifies it; SignerFP says which
	StatusInvalid      = "invalid"      // forged or tampered
	StatusUnknownKey   = "unknown-key"  // well formed; no given key verifies it
	StatusUnverifiable = "unverifiable" // nothing to verify (an id-only artifact, a kind without a verifier)
	StatusMalformed    = "malformed"    // cannot be verified as presented
	// StatusNotChecked: no exposed key verifies it and the trusted keys
	// that could were not tried (Options.DeferTrusted).
	StatusNotChecked = "not-checked"
)

// FlagBytesNotIssued is a verdict flag: the artifact's bytes are not what
// its issuer records for its id (a precertificate shares its serial with
// the certificate the CA records; a build record holds one statement of a
// digest that other signatures and attestations also vouch for), so a
// record's hash that differs is not held against it.
const FlagBytesNotIssued = "bytes-not-issued"

// Statuses are every status a Verdict may have.
var Statuses = []string{StatusValid, StatusInvalid, StatusUnknownKey, StatusUnverifiable, StatusMalformed, StatusNotChecked}

// Options tune a verification.
type Options struct {
	// DeferTrusted leaves the signature checks of trusted public keys out: an
	// artifact only they could verify is StatusNotChecked.
	DeferTrusted bool
}

// Split divides the keys that could have signed an artifact into those to
// check now, exposed first, and the trusted ones left for later
// (DeferTrusted).
func (o Options) Split(fit []*keys.Key) (tried, deferred []*keys.Key) {
	for _, k := range fit {
		if o.DeferTrusted && k.Role != keys.RoleExposed {
			deferred = append(deferred, k)
			continue
		}
		tried = append(tried, k)
	}
	keys.ExposedFirst(tried)
	return tried, deferred
}

// Verdict is what a kind reads from a raw artifact and what its signature
// check says. The shared columns are filled by every kind; AZP, KID, Alg,
// Header and Claims are the JWT's own (to move to kind-specific columns
// when the next kind comes).
type Verdict struct {
	ID, Issuer, Subject, Audience  string
	IssuedAt, NotBefore, ExpiresAt time.Time
	AZP, KID, Alg, Header, Claims  string

	Status, SignerFP, Note string
	// Flags are facts for rules (alg-none, padded-base64, ...).
	Flags []string

	// Names are what the artifact is for beyond its subject (a
	// certificate's DNS names, addresses and URIs), canonical.
	Names []string
	// LinkKey links artifacts that are one logical issuance (a
	// precertificate and its final certificate share their TBS hash); ""
	// when the artifact stands alone.
	LinkKey string
	// RawSHA256, when set, is the hex sha256 an issuer would log for the
	// artifact (a certificate's DER fingerprint) where that is not the hash
	// of the raw text as presented; "" means the hash of raw.
	RawSHA256 string
}

// Field is one labelled fact of a verdict, for a detail view.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Kind is one kind of artifact; see the package documentation.
type Kind interface {
	Name() string
	IDLabel() string
	Key(raw string) string
	Verify(raw string, set []*keys.Key, opts Options) Verdict
	Fields(v Verdict) []Field
	// WeakMatch says whether an issuance record without the artifact's id
	// may account for it by subject and times (a token logged without its
	// jti). For a certificate the serial, with the issuer, is its identity:
	// a record that lacks it never clears one.
	WeakMatch() bool
}

// PrincipalSubject is implemented by kinds whose platforms log, as the
// principal of a credential's use, something other than the subject it
// was issued to (an AWS session's use names the assumed-role session, its
// issuance the web identity token's subject).
type PrincipalSubject interface {
	PrincipalIsSubject() bool
}

// PrincipalIsSubject says whether the principal a platform logs with an
// id-only artifact's use is the subject the artifact was issued to, so
// that an issuance of its id to another subject is a conflict: true unless
// the kind says otherwise.
func PrincipalIsSubject(k Kind) bool {
	if p, ok := k.(PrincipalSubject); ok {
		return p.PrincipalIsSubject()
	}
	return true
}
