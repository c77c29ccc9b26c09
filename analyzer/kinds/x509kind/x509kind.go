// Package x509kind is the certificate artifact kind: X.509 certificates and
// RFC 6962 precertificates, as CT logs, CA logs and bundles carry them,
// verified against an exposed CA key.
//
// A raw artifact is record.CertRaw: the base64 of the certificate's DER,
// then "." and the base64 of each certificate the log carried that may be
// needed to verify it (a Precertificate Signing Certificate); PEM text is
// read too. Parsing uses certificate-transparency-go's x509, which keeps
// going over the malformations real CT logs hold (its non-fatal errors
// become a parse-warning flag and a note).
//
// The key is record.CertKey of the DER: the same certificate met as PEM,
// as DER or in a log entry is one artifact. The id is the serial (hex, lower
// case, no leading zeros), the issuer the canonical issuer name
// (record.CanonicalDNAttrs), so that a CA's ledger matches whatever form it
// wrote them in.
//
// Before any signature check, the certificate's issuer is compared with
// each key: its Authority Key Identifier with the key's Subject Key
// Identifier (the CA certificate's, and the RFC 5280 SHA-1 of the key), its
// issuer name with the CA certificate's subject. A key that matches neither
// is not tried, so the entries of other CAs in a real log cost a compare,
// not a signature check. A certificate that names its issuer by neither (no
// AKI, and a name no key's certificate has, or keys given without their
// certificate) is tried against every key: only a certificate whose issuer
// every verifier would look for elsewhere is skipped. Checks counts the
// signature checks that ran.
//
// A precertificate signed by a Precertificate Signing Certificate (EKU
// 1.3.6.1.4.1.11129.2.4.4, RFC 6962 3.1) is valid when the PSC verifies
// with a key and the precertificate with the PSC's key; its signer is the
// CA key, flag psc.
//
// LinkKey is "tbs:" and the sha256 of the TBSCertificate without the CT
// poison and SCT list, with a PSC's issuer and AKI replaced by the CA's
// (what RFC 6962 logs as a precert entry's tbs_certificate): a
// precertificate and its final certificate share it.
package x509kind

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	stdx509 "crypto/x509"
	stdpkix "crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ctasn1 "github.com/google/certificate-transparency-go/asn1"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509/pkix"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/parsers/certinfo"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Flags of certificate verdicts (artifacts.sig_flags).
const (
	FlagPrecert      = "precertificate"  // carries the CT poison extension
	FlagPSC          = "psc"             // signed by a Precertificate Signing Certificate
	FlagCA           = "ca"              // basicConstraints CA:true
	FlagParseWarning = "parse-warning"   // parsed with non-fatal errors
	FlagNoAKI        = "no-aki"          // names its issuer's key by no identifier
	FlagPrecheckSkip = "issuer-mismatch" // its issuer matched no given key: not checked
	// FlagIssuerKeyHash and a key's FP: a precertificate a CT log recorded
	// for that key that could not be verified (its PSC is missing).
	FlagIssuerKeyHash = "issuer-key-hash:"
)

// MaxRawBytes bounds a raw artifact: a certificate over 64 KiB (with its
// PSC) is not a real one.
const MaxRawBytes = 256 << 10

// oidPrecertSigning is the EKU of a Precertificate Signing Certificate.
var oidPrecertSigning = ctasn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4}

// Checks counts the certificate signature checks run by every Verify of
// this process (benchmarks report it).
var Checks atomic.Int64

// Kind is the x509 kind.
type Kind struct{}

func (Kind) Name() string    { return record.KindX509 }
func (Kind) IDLabel() string { return "serial" }

// WeakMatch: the serial is the certificate's identity.
func (Kind) WeakMatch() bool { return false }

// Key is record.RawArtifactKey: CertKey of the certificate's DER; raw that
// holds none is keyed by its own bytes (it is malformed and stays one
// artifact).
func (Kind) Key(raw string) string { return record.RawArtifactKey(record.KindX509, raw) }

// decodeRaw splits raw (record.CertRaw, or PEM certificates) into DER.
func decodeRaw(raw string) ([][]byte, error) {
	ders, _, err := decodeRawHint(raw)
	return ders, err
}

// decodeRawHint is decodeRaw that also returns the issuer key hash a CT
// log recorded for a precertificate (raw ending in "~" and its hex), or
// nil.
func decodeRawHint(raw string) ([][]byte, []byte, error) {
	if len(raw) > MaxRawBytes {
		return nil, nil, fmt.Errorf("raw certificate of %d bytes is larger than %d", len(raw), MaxRawBytes)
	}
	raw = strings.TrimSpace(raw)
	var ikh []byte
	if i := strings.LastIndexByte(raw, '~'); i >= 0 {
		h, err := hex.DecodeString(raw[i+1:])
		if err != nil || len(h) != sha256.Size {
			return nil, nil, errors.New("issuer key hash after ~ is not 32 bytes of hex")
		}
		raw, ikh = raw[:i], h
	}
	ders, err := decodeDER(raw)
	return ders, ikh, err
}

func decodeDER(raw string) ([][]byte, error) {
	if strings.HasPrefix(raw, "-----BEGIN") {
		var ders [][]byte
		rest := []byte(raw)
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type == "CERTIFICATE" || b.Type == "X509 CERTIFICATE" || b.Type == "TRUSTED CERTIFICATE" {
				ders = append(ders, b.Bytes)
			}
		}
		if len(ders) == 0 {
			return nil, errors.New("PEM text holds no CERTIFICATE block")
		}
		return ders, nil
	}
	parts := strings.Split(raw, ".")
	ders := make([][]byte, 0, len(parts))
	for i, p := range parts {
		der, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("part %d is not base64: %v", i+1, err)
		}
		if len(der) == 0 {
			return nil, fmt.Errorf("part %d is empty", i+1)
		}
		ders = append(ders, der)
	}
	return ders, nil
}

// parse is certinfo.Parse.
func parse(der []byte) (*ctx509.Certificate, string, error) { return certinfo.Parse(der) }

// Verify decodes the certificate without trusting it, pre-checks its issuer
// against each key and verifies its signature with the candidates.
func (Kind) Verify(raw string, set []*keys.Key, opts kinds.Options) kinds.Verdict {
	ders, ikh, err := decodeRawHint(raw)
	if err != nil {
		return kinds.Verdict{Status: kinds.StatusMalformed, Note: record.Escape(err.Error())}
	}
	sum := sha256.Sum256(ders[0])
	cert, warning, err := parse(ders[0])
	if err != nil {
		return kinds.Verdict{Status: kinds.StatusMalformed, RawSHA256: hex.EncodeToString(sum[:]),
			Note: record.Escape("certificate does not parse: " + err.Error())}
	}
	v := describe(cert)
	v.RawSHA256 = hex.EncodeToString(sum[:])
	if warning != "" {
		v.Flags = append(v.Flags, FlagParseWarning)
	}
	var psc *ctx509.Certificate
	if isPrecert(cert) {
		v.Flags = append(v.Flags, FlagPrecert)
		psc = findPSC(cert, ders[1:])
		if psc != nil {
			v.Flags = append(v.Flags, FlagPSC)
		}
	}
	v.LinkKey = linkKey(cert, psc)
	res := check(cert, psc, set, opts)
	if res.status != kinds.StatusValid && isPrecert(cert) && psc == nil && len(ikh) > 0 {
		// a precertificate the log recorded for one of the keys, signed by
		// a chain certificate the log's copy does not hold (a tile log
		// without its issuer/ directory): the log's word, not a signature
		if k := keyByFP(set, hex.EncodeToString(ikh)); k != nil {
			res = result{status: kinds.StatusUnverifiable, note: "the log recorded this precertificate for " + k.Name() +
				" (its issuer_key_hash), signed by a chain certificate the log's copy does not hold (no issuer/ directory?): the signature cannot be checked"}
			v.Flags = append(v.Flags, FlagIssuerKeyHash+k.FP)
		}
	}
	v.Status, v.SignerFP = res.status, res.signer
	notes := []string{res.note}
	if warning != "" {
		notes = append(notes, "parsed despite: "+warning)
	}
	if res.skipped {
		v.Flags = append(v.Flags, FlagPrecheckSkip)
	}
	if len(cert.AuthorityKeyId) == 0 {
		v.Flags = append(v.Flags, FlagNoAKI)
	}
	v.Note = record.Escape(strings.Join(slices.DeleteFunc(notes, func(s string) bool { return s == "" }), "; "))
	return v
}

// describe fills the verdict's columns from the certificate.
func describe(c *ctx509.Certificate) kinds.Verdict {
	v := kinds.Verdict{
		ID:        record.SerialFromInt(c.SerialNumber),
		Issuer:    record.Escape(CanonicalName(c.Issuer)),
		Subject:   record.Escape(subjectOf(c)),
		IssuedAt:  c.NotBefore.UTC(),
		NotBefore: c.NotBefore.UTC(),
		ExpiresAt: c.NotAfter.UTC(),
		Names:     names(c),
	}
	if c.IsCA {
		v.Flags = append(v.Flags, FlagCA)
	}
	v.Claims = claimsJSON(c)
	return v
}

// subjectOf is the subject's common name, else its whole canonical name.
func subjectOf(c *ctx509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return CanonicalName(c.Subject)
}

// CanonicalName is certinfo.CanonicalName.
func CanonicalName(n pkix.Name) string { return certinfo.CanonicalName(n) }

// canonicalStdName is CanonicalName of a crypto/x509 name (a key's
// certificate).
func canonicalStdName(c *stdx509.Certificate) string {
	var seq pkix.RDNSequence
	if _, err := ctasn1.Unmarshal(c.RawSubject, &seq); err != nil {
		return ""
	}
	var n pkix.Name
	n.FillFromRDNSequence(&seq)
	return CanonicalName(n)
}

// names are certinfo.Names, escaped as the artifact columns people see
// are.
func names(c *ctx509.Certificate) []string {
	out := certinfo.Names(c)
	for i := range out {
		out[i] = record.Escape(out[i])
	}
	return out
}

// certClaims is what the certificate says of itself, stored as the claims
// column (rules and people read it like a token's claims).
type certClaims struct {
	Subject            string `json:"subject"`
	Issuer             string `json:"issuer"`
	Serial             string `json:"serial"`
	NotBefore          string `json:"not_before"`
	NotAfter           string `json:"not_after"`
	IsCA               bool   `json:"is_ca"`
	SignatureAlgorithm string `json:"signature_algorithm"`
	PublicKeyAlgorithm string `json:"public_key_algorithm"`
	AuthorityKeyID     string `json:"authority_key_id,omitempty"`
	SubjectKeyID       string `json:"subject_key_id,omitempty"`
	SPKISHA256         string `json:"spki_sha256,omitempty"`
}

func claimsJSON(c *ctx509.Certificate) string {
	b, err := json.Marshal(certClaims{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: record.SerialFromInt(c.SerialNumber),
		NotBefore: c.NotBefore.UTC().Format(time.RFC3339), NotAfter: c.NotAfter.UTC().Format(time.RFC3339),
		IsCA: c.IsCA, SignatureAlgorithm: c.SignatureAlgorithm.String(), PublicKeyAlgorithm: c.PublicKeyAlgorithm.String(),
		AuthorityKeyID: hex.EncodeToString(c.AuthorityKeyId), SubjectKeyID: hex.EncodeToString(c.SubjectKeyId),
		SPKISHA256: spkiHash(c.RawSubjectPublicKeyInfo),
	})
	if err != nil {
		return ""
	}
	return string(b)
}

func spkiHash(spki []byte) string {
	if len(spki) == 0 {
		return ""
	}
	return keys.SPKIFingerprint(spki)
}

func isPrecert(c *ctx509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(ctx509.OIDExtensionCTPoison) {
			return true
		}
	}
	return false
}

// findPSC returns the Precertificate Signing Certificate among the chain
// certificates that issued c (its subject is c's issuer), or nil.
func findPSC(c *ctx509.Certificate, chain [][]byte) *ctx509.Certificate {
	for _, der := range chain {
		p, _, err := parse(der)
		if err != nil || !bytes.Equal(p.RawSubject, c.RawIssuer) {
			continue
		}
		for _, eku := range p.UnknownExtKeyUsage {
			if eku.Equal(oidPrecertSigning) {
				return p
			}
		}
		for _, e := range p.ExtKeyUsage {
			if e == ctx509.ExtKeyUsageCertificateTransparency {
				return p
			}
		}
	}
	return nil
}

// linkKey is the hash of the TBSCertificate as the final certificate has
// it without its SCT list; "" when the TBS cannot be rebuilt.
func linkKey(c *ctx509.Certificate, psc *ctx509.Certificate) string {
	tbs, err := ctx509.RemoveSCTList(c.RawTBSCertificate)
	if err != nil {
		tbs = c.RawTBSCertificate
	}
	if isPrecert(c) {
		if tbs, err = ctx509.BuildPrecertTBS(tbs, psc); err != nil {
			return ""
		}
	}
	sum := sha256.Sum256(tbs)
	return "tbs:" + hex.EncodeToString(sum[:])
}

// keyIDs are a key's identifiers as certificates name their issuer: its
// certificate's SKI, the RFC 5280 SHA-1 of its public key, and its
// certificate's canonical subject.
type keyIDs struct {
	skis    [][]byte
	subject string
}

var idCache sync.Map // key FP -> keyIDs

func idsOf(k *keys.Key) keyIDs {
	if v, ok := idCache.Load(k.FP); ok {
		ids := v.(keyIDs)
		if k.Cert == nil || ids.subject != "" {
			return ids
		}
	}
	var ids keyIDs
	if der, err := stdx509.MarshalPKIXPublicKey(k.Public); err == nil {
		var spki struct {
			Algorithm stdpkix.AlgorithmIdentifier
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(der, &spki); err == nil {
			sum := sha1.Sum(spki.PublicKey.Bytes)
			ids.skis = append(ids.skis, sum[:])
		}
	}
	if k.Cert != nil {
		if len(k.Cert.SubjectKeyId) > 0 {
			ids.skis = append(ids.skis, k.Cert.SubjectKeyId)
		}
		ids.subject = canonicalStdName(k.Cert)
	}
	idCache.Store(k.FP, ids)
	return ids
}

// candidate says whether k could have signed c, by its names for k: an
// AKI that is one of k's identifiers, or c's issuer name is k's
// certificate's subject, or c names its issuer's key by nothing and k's
// name is unknown or c's.
func candidate(c *ctx509.Certificate, k *keys.Key) bool {
	if k.Public == nil {
		return false
	}
	ids := idsOf(k)
	if len(c.AuthorityKeyId) > 0 {
		for _, ski := range ids.skis {
			if bytes.Equal(ski, c.AuthorityKeyId) {
				return true
			}
		}
	}
	if ids.subject != "" {
		return ids.subject == CanonicalName(c.Issuer)
	}
	return len(c.AuthorityKeyId) == 0
}

type result struct {
	status, signer, note string
	skipped              bool
}

// check verifies c (and its PSC) with the candidates of set: exposed keys
// first; trusted ones unless deferred.
func check(c, psc *ctx509.Certificate, set []*keys.Key, opts kinds.Options) result {
	target := c
	if psc != nil {
		target = psc
	}
	var fit []*keys.Key
	for _, k := range set {
		if k.Type != keys.TypeHMAC && candidate(target, k) {
			fit = append(fit, k)
		}
	}
	tried, deferred := opts.Split(fit)
	for _, k := range tried {
		Checks.Add(1)
		if err := (&ctx509.Certificate{PublicKey: k.Public}).CheckSignature(target.SignatureAlgorithm, target.RawTBSCertificate, target.Signature); err != nil {
			continue
		}
		if psc == nil {
			return result{status: kinds.StatusValid, signer: k.FP, note: "signed by " + k.Name()}
		}
		Checks.Add(1)
		if err := psc.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
			return result{status: kinds.StatusInvalid, note: "the Precertificate Signing Certificate verifies with " + k.Name() + " but the precertificate does not verify with the PSC's key: tampered"}
		}
		return result{status: kinds.StatusValid, signer: k.FP, note: "signed by a Precertificate Signing Certificate (" + psc.Subject.String() + ") that " + k.Name() + " signed"}
	}
	switch {
	case len(deferred) > 0:
		return result{status: kinds.StatusNotChecked}
	case len(tried) > 0:
		return result{status: kinds.StatusInvalid, note: "its issuer names a given key but the signature does not verify with it: forged or tampered"}
	case len(set) > 0:
		return result{status: kinds.StatusUnknownKey, skipped: true, note: "issued by " + c.Issuer.String() + ": neither its authority key id nor its issuer name is one of the given keys' (not checked)"}
	default:
		return result{status: kinds.StatusUnknownKey}
	}
}

// Fields are the certificate's own terms.
func (Kind) Fields(v kinds.Verdict) []kinds.Field {
	var c certClaims
	_ = json.Unmarshal([]byte(v.Claims), &c) // our own JSON; empty when absent
	kind := "certificate"
	if slices.Contains(v.Flags, FlagPrecert) {
		kind = "precertificate"
		if slices.Contains(v.Flags, FlagPSC) {
			kind += " (via a Precertificate Signing Certificate)"
		}
	}
	validity := ""
	if !v.NotBefore.IsZero() {
		validity = v.NotBefore.Format(time.RFC3339) + " to " + v.ExpiresAt.Format(time.RFC3339)
	}
	return []kinds.Field{
		{Label: "serial", Value: v.ID}, {Label: "type", Value: kind},
		{Label: "subject", Value: record.Escape(c.Subject)}, {Label: "names", Value: strings.Join(v.Names, " ")},
		{Label: "issuer", Value: record.Escape(c.Issuer)}, {Label: "validity", Value: validity},
		{Label: "signature", Value: record.Escape(c.SignatureAlgorithm)},
		{Label: "aki", Value: c.AuthorityKeyID}, {Label: "spki sha256", Value: c.SPKISHA256},
		{Label: "tbs", Value: strings.TrimPrefix(v.LinkKey, "tbs:")},
	}
}

func keyByFP(set []*keys.Key, fp string) *keys.Key {
	for _, k := range set {
		if k.FP == fp {
			return k
		}
	}
	return nil
}

// SubjectDN is the canonical subject name of the certificate a key was
// loaded from (how the certificates it issues name their issuer), or ""
// for a key given without its certificate.
func SubjectDN(k *keys.Key) string {
	if k == nil || k.Cert == nil {
		return ""
	}
	return idsOf(k).subject
}
