// Package sigkind is the code-signature artifact kind: cosign and Sigstore
// signatures over a digest (Rekor hashedrekord entries, a bundle's
// messageSignature, a cosign .sig manifest) and over a DSSE envelope (Rekor
// dsse and intoto entries, a bundle's dsseEnvelope: in-toto attestations),
// verified against an exposed signing key.
//
// A raw artifact is record.SigRaw's encoding; its key is SigRaw.Key (the
// signature bytes with the digest they sign), so one signature logged in
// two Rekor entries and carried in a bundle is one artifact.
//
// The id is the digest the signature vouches for: a message signature's
// digest, or the image digest of the cosign simple-signing payload it
// signs when the input carries it; for an in-toto statement, its first
// subject's digest (every subject is in Names). Issuer and issue time stay
// empty: a build's provenance or a ledger accounts for a signature by the
// digest alone, and the signature's time is its logging (the sighting's).
//
// Before any signature check, the signer the input names is compared with
// the keys: the embedded public key's SPKI fingerprint, or the leaf
// certificate's key and issuer (a Fulcio-style certificate whose authority
// key id or issuer name is a given CA key's is checked against that CA).
// Only an input that names no signer (a bundle with a key hint only) is
// tried against every key whose type fits. A DSSE signature whose payload
// the log did not keep (Rekor keeps its hash) cannot be checked; when its
// embedded key is a given key it is unverifiable with flag
// claimed-signer:<fp>.
//
// Where the signer is a certificate, its Sigstore extensions
// (1.3.6.1.4.1.57264.1.*: OIDC issuer, build signer, source repository,
// ref, digest, run invocation) are the signer's identity in the claims.
package sigkind

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Flags of signature verdicts (artifacts.sig_flags).
const (
	FlagDSSE           = "dsse"            // a DSSE envelope signature
	FlagInToto         = "in-toto"         // the payload is an in-toto statement
	FlagSimpleSigning  = "simple-signing"  // the payload is a cosign simple-signing payload
	FlagPayloadAbsent  = "payload-absent"  // only the payload's hash is known
	FlagCertificate    = "certificate"     // the signer is a certificate
	FlagViaCA          = "via-ca"          // the signer's certificate was issued by a given key
	FlagNoSigner       = "no-signer"       // the input names no signer (a key hint only)
	FlagSignerMismatch = "signer-mismatch" // the signer is no given key: not checked
	// FlagClaimedSigner and a key's FP: the input names that key as the
	// signer but what it signed is not there to check.
	FlagClaimedSigner = "claimed-signer:"
)

// MaxRawBytes bounds a raw signature artifact (a DSSE payload with its
// certificates).
const MaxRawBytes = 4 << 20

// Checks counts the signature checks run by every Verify of this process.
var Checks atomic.Int64

// Kind is the signature kind.
type Kind struct{}

func (Kind) Name() string    { return record.KindSignature }
func (Kind) IDLabel() string { return "digest" }

// WeakMatch: a signature is accounted for by the digest it signs, never by
// who and when alone.
func (Kind) WeakMatch() bool { return false }

// Key is record.RawArtifactKey of a signature.
func (Kind) Key(raw string) string { return record.RawArtifactKey(record.KindSignature, raw) }

// signer is what the input says signed the artifact.
type signer struct {
	pub   crypto.PublicKey
	fp    string            // hex sha256 of the SPKI DER
	cert  *x509.Certificate // the leaf, when the signer is a certificate
	chain []*x509.Certificate
}

// Verify decodes the signature without trusting it, pre-checks its signer
// against the keys and verifies it with the candidates.
func (Kind) Verify(raw string, set []*keys.Key, opts kinds.Options) kinds.Verdict {
	if len(raw) > MaxRawBytes {
		return kinds.Verdict{Status: kinds.StatusMalformed, Note: fmt.Sprintf("raw signature of %d bytes is larger than %d", len(raw), MaxRawBytes)}
	}
	r, err := record.DecodeSigRaw(raw)
	if err != nil {
		return kinds.Verdict{Status: kinds.StatusMalformed, Note: record.Escape(err.Error())}
	}
	v, st := describe(r)
	sg, err := signerOf(r)
	if err != nil {
		v.Status, v.Note = kinds.StatusMalformed, record.Escape(err.Error())
		return v
	}
	if sg != nil && sg.cert != nil {
		v.Flags = append(v.Flags, FlagCertificate)
		v.Subject = record.Escape(certIdentity(sg.cert))
	}
	if sg == nil {
		v.Flags = append(v.Flags, FlagNoSigner)
	}
	st.Signer = signerClaims(sg, r.KeyHint)
	v.Claims = st.json()
	res := check(r, sg, set, opts)
	v.Status, v.SignerFP, v.Note = res.status, res.signer, record.Escape(res.note)
	v.Flags = append(v.Flags, res.flags...)
	sort.Strings(v.Flags)
	v.Flags = slices.Compact(v.Flags)
	return v
}

// statement is what the claims column holds of a signature.
type statement struct {
	Type          string          `json:"type"`
	Signed        string          `json:"signed_digest"`
	PayloadType   string          `json:"payload_type,omitempty"`
	PredicateType string          `json:"predicate_type,omitempty"`
	Subjects      []subject       `json:"subjects,omitempty"`
	BuilderID     string          `json:"builder_id,omitempty"`
	BuildType     string          `json:"build_type,omitempty"`
	InvocationID  string          `json:"invocation_id,omitempty"`
	DockerRef     string          `json:"docker_reference,omitempty"`
	Signer        *signerIdentity `json:"signer,omitempty"`
}

type subject struct {
	Name   string `json:"name,omitempty"`
	Digest string `json:"digest"`
}

func (s *statement) json() string {
	b, err := json.Marshal(s)
	if err != nil {
		return ""
	}
	return string(b)
}

// describe fills the verdict's columns from what was signed.
func describe(r *record.SigRaw) (kinds.Verdict, *statement) {
	st := &statement{Type: r.Type, Signed: r.Signed(), PayloadType: record.Escape(r.PayloadType)}
	v := kinds.Verdict{ID: r.Signed(), KID: record.Escape(bounded(r.KeyHint, 256)), Flags: []string{kinds.FlagBytesNotIssued}}
	if r.Type == record.SigDSSE {
		v.Flags = append(v.Flags, FlagDSSE)
		// what a build record of the statement logs: its hash (a record
		// of this very statement accounts for it, payload or not)
		if alg, h, _ := strings.Cut(r.Signed(), ":"); alg == "sha256" {
			v.RawSHA256 = h
		}
	}
	if r.Payload == nil {
		if r.Type == record.SigDSSE {
			v.Flags = append(v.Flags, FlagPayloadAbsent)
		}
	} else if readInToto(r.Payload, st) {
		v.Flags = append(v.Flags, FlagInToto)
	} else if ref, dig, ok := readSimpleSigning(r.Payload); ok {
		v.Flags = append(v.Flags, FlagSimpleSigning)
		st.DockerRef = record.Escape(bounded(ref, 512))
		st.Subjects = []subject{{Name: st.DockerRef, Digest: dig}}
	}
	for _, s := range st.Subjects {
		if s.Digest != "" {
			v.Names = append(v.Names, s.Digest)
		}
	}
	if len(v.Names) > 0 {
		v.ID = v.Names[0]
		sort.Strings(v.Names)
		v.Names = slices.Compact(v.Names)
	}
	return v, st
}

// maxSubjects bounds the subjects read from one statement.
const maxSubjects = 256

// readInToto reads an in-toto statement (v0.1 or v1) into st: subjects,
// predicate type and, for SLSA provenance, the builder and invocation.
func readInToto(payload []byte, st *statement) bool {
	var s struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate json.RawMessage `json:"predicate"`
	}
	if json.Unmarshal(payload, &s) != nil || !strings.HasPrefix(s.Type, "https://in-toto.io/Statement/") {
		return false
	}
	st.PredicateType = record.Escape(bounded(s.PredicateType, 512))
	for i, sub := range s.Subject {
		if i == maxSubjects {
			break
		}
		st.Subjects = append(st.Subjects, subject{Name: record.Escape(bounded(sub.Name, 512)), Digest: subjectDigest(sub.Digest)})
	}
	var p struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		BuildType string `json:"buildType"`
		Metadata  struct {
			InvocationID string `json:"buildInvocationId"`
		} `json:"metadata"`
		BuildDefinition struct {
			BuildType string `json:"buildType"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
			Metadata struct {
				InvocationID string `json:"invocationId"`
			} `json:"metadata"`
		} `json:"runDetails"`
	}
	if json.Unmarshal(s.Predicate, &p) == nil {
		st.BuilderID = record.Escape(bounded(first(p.RunDetails.Builder.ID, p.Builder.ID), 512))
		st.BuildType = record.Escape(bounded(first(p.BuildDefinition.BuildType, p.BuildType), 512))
		st.InvocationID = record.Escape(bounded(first(p.RunDetails.Metadata.InvocationID, p.Metadata.InvocationID), 512))
	}
	return true
}

// subjectDigest is the canonical digest of an in-toto DigestSet: sha256,
// else sha512, else the first algorithm by name; "" when none is
// readable.
func subjectDigest(set map[string]string) string {
	for _, alg := range []string{"sha256", "sha512"} {
		if h, ok := set[alg]; ok {
			if d, err := record.CanonicalDigest(alg, h); err == nil {
				return d
			}
		}
	}
	algs := make([]string, 0, len(set))
	for a := range set {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	for _, a := range algs {
		if d, err := record.CanonicalDigest(a, set[a]); err == nil {
			return d
		}
	}
	return ""
}

// readSimpleSigning reads a cosign simple-signing payload: the image it
// signs and its manifest digest.
func readSimpleSigning(payload []byte) (ref, digest string, ok bool) {
	var p struct {
		Critical struct {
			Identity struct {
				Ref string `json:"docker-reference"`
			} `json:"identity"`
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type string `json:"type"`
		} `json:"critical"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Critical.Image.Digest == "" {
		return "", "", false
	}
	d, err := record.CanonicalDigest("", p.Critical.Image.Digest)
	if err != nil {
		return "", "", false
	}
	return p.Critical.Identity.Ref, d, true
}

// signerOf reads the signer the input names: its public key, or its
// certificate chain; nil when it names none.
func signerOf(r *record.SigRaw) (*signer, error) {
	switch {
	case len(r.Certs) > 0:
		var chain []*x509.Certificate
		for i, der := range r.Certs {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				if i == 0 {
					return nil, errors.New("the signer's certificate does not parse: " + err.Error())
				}
				continue // a bad chain certificate does not hide the leaf
			}
			chain = append(chain, c)
		}
		return &signer{pub: chain[0].PublicKey, fp: keys.SPKIFingerprint(chain[0].RawSubjectPublicKeyInfo), cert: chain[0], chain: chain[1:]}, nil
	case len(r.PublicKey) > 0:
		pub, err := x509.ParsePKIXPublicKey(r.PublicKey)
		if err != nil {
			return nil, errors.New("the signer's public key does not parse: " + err.Error())
		}
		return &signer{pub: pub, fp: keys.SPKIFingerprint(r.PublicKey)}, nil
	}
	return nil, nil
}

type result struct {
	status, signer, note string
	flags                []string
}

// check verifies r with the candidates of set: a key that is the signer's
// own key; a key that issued the signer's certificate; every key whose
// type fits when the input names no signer. Exposed keys first; trusted
// ones unless deferred.
func check(r *record.SigRaw, sg *signer, set []*keys.Key, opts kinds.Options) result {
	var fit []*keys.Key
	var viaCA bool
	for _, k := range set {
		if k.Public == nil || k.Type == keys.TypeHMAC {
			continue
		}
		switch {
		case sg == nil:
		case sg.fp == k.FP:
		case sg.cert != nil && issuedBy(sg.cert, k):
			viaCA = true
		default:
			continue
		}
		fit = append(fit, k)
	}
	tried, deferred := opts.Split(fit)
	msg, digest, hashed, hasMsg := signedBytes(r)
	if !hasMsg {
		for _, k := range append(tried, deferred...) {
			if sg != nil && sg.fp == k.FP {
				return result{status: kinds.StatusUnverifiable, flags: []string{FlagClaimedSigner + k.FP},
					note: "the entry names " + k.Name() + " as its signer, but the log kept only the payload's hash: the signature cannot be checked without the attestation"}
			}
		}
		if len(tried)+len(deferred) == 0 && len(set) > 0 && sg != nil {
			return result{status: kinds.StatusUnknownKey, flags: []string{FlagSignerMismatch}, note: "signed by a key that is none of the given keys (not checked)"}
		}
		return result{status: kinds.StatusUnverifiable, note: "the log kept only the payload's hash: the signature cannot be checked"}
	}
	for _, k := range tried {
		if sg != nil && sg.cert != nil && sg.fp != k.FP {
			// the key issued the signer's certificate: the certificate
			// must verify with it, the artifact with the certificate
			Checks.Add(1)
			if !certSignedBy(sg.cert, k) {
				continue
			}
			Checks.Add(1)
			if verifySig(sg.pub, msg, digest, hashed, r.Sig) {
				return result{status: kinds.StatusValid, signer: k.FP, flags: []string{FlagViaCA},
					note: "signed by a certificate (" + certIdentity(sg.cert) + ") that " + k.Name() + " issued"}
			}
			return result{status: kinds.StatusInvalid, flags: []string{FlagViaCA},
				note: "its certificate was issued by " + k.Name() + " but the signature does not verify with the certificate's key: forged or tampered"}
		}
		Checks.Add(1)
		if verifySig(k.Public, msg, digest, hashed, r.Sig) {
			return result{status: kinds.StatusValid, signer: k.FP, note: "signed by " + k.Name()}
		}
	}
	switch {
	case len(deferred) > 0:
		return result{status: kinds.StatusNotChecked}
	case len(tried) > 0 && sg != nil:
		var flags []string
		if viaCA {
			flags = append(flags, FlagViaCA)
		}
		return result{status: kinds.StatusInvalid, flags: flags, note: "it names a given key as its signer but does not verify with it: forged or tampered"}
	case len(tried) > 0:
		return result{status: kinds.StatusUnknownKey, note: "it names no signer and verifies with none of the given keys"}
	case len(set) > 0 && sg != nil:
		return result{status: kinds.StatusUnknownKey, flags: []string{FlagSignerMismatch}, note: "signed by a key that is none of the given keys (not checked)"}
	default:
		return result{status: kinds.StatusUnknownKey}
	}
}

// signedBytes are what r's signature signs: the message (a DSSE PAE, or a
// message signature's payload) and its digest. hashed names the digest's
// hash. hasMsg is false when neither is known.
func signedBytes(r *record.SigRaw) (msg, digest []byte, hashed crypto.Hash, hasMsg bool) {
	switch {
	case r.Type == record.SigDSSE && r.Payload != nil:
		msg = record.DSSEPAE(r.PayloadType, r.Payload)
	case r.Type == record.SigMessage && r.Payload != nil:
		msg = r.Payload
	case r.Type == record.SigMessage:
		alg, h, _ := strings.Cut(r.Digest, ":")
		d, err := hex.DecodeString(h)
		if err != nil {
			return nil, nil, 0, false
		}
		switch alg {
		case "sha256":
			hashed = crypto.SHA256
		case "sha384":
			hashed = crypto.SHA384
		case "sha512":
			hashed = crypto.SHA512
		default:
			return nil, nil, 0, false
		}
		if len(d) != hashed.Size() {
			return nil, nil, 0, false
		}
		return nil, d, hashed, true
	default:
		return nil, nil, 0, false
	}
	sum := sha256.Sum256(msg)
	return msg, sum[:], crypto.SHA256, true
}

// verifySig checks sig with pub over the message (when known) or its
// digest: ECDSA in ASN.1 or IEEE P1363 form, RSA PKCS#1 v1.5 or PSS,
// Ed25519 over the message itself.
func verifySig(pub crypto.PublicKey, msg, digest []byte, hashed crypto.Hash, sig []byte) bool {
	switch pk := pub.(type) {
	case *ecdsa.PublicKey:
		for _, d := range ecDigests(pk, msg, digest, hashed) {
			if ecdsa.VerifyASN1(pk, d, sig) {
				return true
			}
			if size := (pk.Curve.Params().BitSize + 7) / 8; len(sig) == 2*size {
				r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
				if ecdsa.Verify(pk, d, r, s) {
					return true
				}
			}
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(pk, hashed, digest, sig) == nil {
			return true
		}
		return rsa.VerifyPSS(pk, hashed, digest, sig, nil) == nil
	case ed25519.PublicKey:
		if msg != nil {
			return ed25519.Verify(pk, msg, sig)
		}
		if hashed == crypto.SHA512 {
			return ed25519.VerifyWithOptions(pk, digest, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
		}
	}
	return false
}

// ecDigests are the digests an ECDSA signature may be over: the given one,
// and for a known message the hash its curve goes with (P-384 signers
// hash with SHA-384).
func ecDigests(pk *ecdsa.PublicKey, msg, digest []byte, hashed crypto.Hash) [][]byte {
	out := [][]byte{digest}
	if msg == nil {
		return out
	}
	switch pk.Curve.Params().BitSize {
	case 384:
		s := sha512.Sum384(msg)
		out = append(out, s[:])
	case 521:
		s := sha512.Sum512(msg)
		out = append(out, s[:])
	}
	return out
}

// issuedBy says whether c names k as its issuer: its AKI is k's
// certificate's SKI or the SHA-1 of k's key, or its issuer name is k's
// certificate's subject.
func issuedBy(c *x509.Certificate, k *keys.Key) bool {
	if k.Cert != nil {
		if len(c.AuthorityKeyId) > 0 && bytes.Equal(c.AuthorityKeyId, k.Cert.SubjectKeyId) {
			return true
		}
		if bytes.Equal(c.RawIssuer, k.Cert.RawSubject) {
			return true
		}
	}
	if len(c.AuthorityKeyId) > 0 {
		if der, err := x509.MarshalPKIXPublicKey(k.Public); err == nil {
			var spki struct {
				Algorithm asn1.RawValue
				PublicKey asn1.BitString
			}
			if _, err := asn1.Unmarshal(der, &spki); err == nil {
				sum := sha1.Sum(spki.PublicKey.Bytes)
				return bytes.Equal(sum[:], c.AuthorityKeyId)
			}
		}
	}
	return false
}

// certSignedBy says whether k's key verifies c's signature.
func certSignedBy(c *x509.Certificate, k *keys.Key) bool {
	return (&x509.Certificate{PublicKey: k.Public, PublicKeyAlgorithm: pkAlg(k.Public)}).CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func pkAlg(pub crypto.PublicKey) x509.PublicKeyAlgorithm {
	switch pub.(type) {
	case *rsa.PublicKey:
		return x509.RSA
	case *ecdsa.PublicKey:
		return x509.ECDSA
	case ed25519.PublicKey:
		return x509.Ed25519
	}
	return x509.UnknownPublicKeyAlgorithm
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func bounded(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Fields are the signature's own terms.
func (Kind) Fields(v kinds.Verdict) []kinds.Field {
	var st statement
	_ = json.Unmarshal([]byte(v.Claims), &st) // our own JSON; empty when absent
	typ := "signature over a digest"
	switch {
	case slices.Contains(v.Flags, FlagDSSE) && st.PredicateType != "":
		typ = "attestation (DSSE, " + st.PredicateType + ")"
	case slices.Contains(v.Flags, FlagDSSE):
		typ = "DSSE envelope signature"
	case slices.Contains(v.Flags, FlagSimpleSigning):
		typ = "container image signature (cosign simple signing)"
	}
	var subs []string
	for _, s := range st.Subjects {
		subs = append(subs, strings.TrimSpace(s.Name+" "+s.Digest))
	}
	out := []kinds.Field{
		{Label: "digest", Value: v.ID}, {Label: "type", Value: typ},
		{Label: "signed", Value: st.Signed},
		{Label: "subjects", Value: strings.Join(subs, ", ")},
		{Label: "predicate", Value: st.PredicateType},
		{Label: "builder", Value: st.BuilderID},
		{Label: "invocation", Value: st.InvocationID},
		{Label: "image", Value: st.DockerRef},
	}
	if s := st.Signer; s != nil {
		out = append(out,
			kinds.Field{Label: "signer key", Value: s.KeyFP},
			kinds.Field{Label: "key hint", Value: s.KeyHint},
			kinds.Field{Label: "signer", Value: s.Identity},
			kinds.Field{Label: "oidc issuer", Value: s.OIDCIssuer},
			kinds.Field{Label: "build signer", Value: s.BuildSignerURI},
			kinds.Field{Label: "repository", Value: s.SourceRepository},
			kinds.Field{Label: "ref", Value: s.SourceRef},
			kinds.Field{Label: "commit", Value: s.SourceDigest},
			kinds.Field{Label: "run", Value: s.RunInvocationURI},
			kinds.Field{Label: "certificate", Value: s.CertValidity},
		)
	}
	return slices.DeleteFunc(out, func(f kinds.Field) bool { return f.Value == "" })
}

// signerIdentity is what the claims hold of the signer.
type signerIdentity struct {
	KeyFP            string `json:"key_fp,omitempty"`
	KeyHint          string `json:"key_hint,omitempty"`
	Identity         string `json:"identity,omitempty"`
	CertIssuer       string `json:"cert_issuer,omitempty"`
	CertValidity     string `json:"cert_validity,omitempty"`
	OIDCIssuer       string `json:"oidc_issuer,omitempty"`
	BuildSignerURI   string `json:"build_signer_uri,omitempty"`
	SourceRepository string `json:"source_repository,omitempty"`
	SourceRef        string `json:"source_ref,omitempty"`
	SourceDigest     string `json:"source_digest,omitempty"`
	RunInvocationURI string `json:"run_invocation_uri,omitempty"`
	Workflow         string `json:"workflow,omitempty"`
}

// Sigstore's Fulcio certificate extensions (OID 1.3.6.1.4.1.57264.1.*).
// The first ones hold raw strings; from .8 on, DER UTF8Strings.
var fulcioOIDs = map[int]func(*signerIdentity, string){
	1:  func(s *signerIdentity, v string) { s.OIDCIssuer = first(s.OIDCIssuer, v) },
	5:  func(s *signerIdentity, v string) { s.SourceRepository = first(s.SourceRepository, v) }, // GitHub workflow repository (deprecated)
	6:  func(s *signerIdentity, v string) { s.SourceRef = first(s.SourceRef, v) },               // GitHub workflow ref (deprecated)
	3:  func(s *signerIdentity, v string) { s.SourceDigest = first(s.SourceDigest, v) },         // GitHub workflow sha (deprecated)
	2:  func(s *signerIdentity, v string) { s.Workflow = first(s.Workflow, v) },                 // GitHub workflow trigger (deprecated)
	8:  func(s *signerIdentity, v string) { s.OIDCIssuer = v },
	9:  func(s *signerIdentity, v string) { s.BuildSignerURI = v },
	12: func(s *signerIdentity, v string) { s.SourceRepository = v },
	13: func(s *signerIdentity, v string) { s.SourceDigest = v },
	14: func(s *signerIdentity, v string) { s.Workflow = v }, // build trigger
	15: func(s *signerIdentity, v string) { s.SourceRef = v },
	21: func(s *signerIdentity, v string) { s.RunInvocationURI = v },
}

var oidFulcio = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1}

func signerClaims(sg *signer, hint string) *signerIdentity {
	if sg == nil && hint == "" {
		return nil
	}
	s := &signerIdentity{KeyHint: record.Escape(bounded(hint, 256))}
	if sg == nil {
		return s
	}
	s.KeyFP = sg.fp
	if c := sg.cert; c != nil {
		s.Identity = record.Escape(certIdentity(c))
		s.CertIssuer = record.Escape(bounded(c.Issuer.String(), 512))
		s.CertValidity = c.NotBefore.UTC().Format(time.RFC3339) + " to " + c.NotAfter.UTC().Format(time.RFC3339)
		for _, e := range c.Extensions {
			if len(e.Id) != len(oidFulcio)+1 || !e.Id[:len(oidFulcio)].Equal(oidFulcio) {
				continue
			}
			n := e.Id[len(oidFulcio)]
			set, ok := fulcioOIDs[n]
			if !ok {
				continue
			}
			val := string(e.Value)
			if n >= 8 {
				var u string
				if _, err := asn1.UnmarshalWithParams(e.Value, &u, "utf8"); err != nil {
					continue
				}
				val = u
			}
			set(s, record.Escape(bounded(val, 512)))
		}
	}
	return s
}

// certIdentity is a signing certificate's subject alternative name (the
// OIDC identity Fulcio puts there: an email or a workflow URI), else its
// subject.
func certIdentity(c *x509.Certificate) string {
	switch {
	case len(c.EmailAddresses) > 0:
		return bounded(c.EmailAddresses[0], 512)
	case len(c.URIs) > 0:
		return bounded(c.URIs[0].String(), 512)
	case len(c.DNSNames) > 0:
		return bounded(c.DNSNames[0], 512)
	}
	return bounded(c.Subject.String(), 512)
}
