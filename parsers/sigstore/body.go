package sigstore

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sigstore/rekor/pkg/generated/models"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// A Rekor entry's body is its canonicalized entry JSON, {"apiVersion",
// "kind", "spec"}, which the log hashes into its tree: the same body is
// served by the v1 API (base64 in a LogEntry) and kept in bundles
// (canonicalizedBody). The kinds that carry signatures are read:
//
//   - hashedrekord 0.0.1: spec.signature.content (base64 of the signature),
//     spec.signature.publicKey.content (base64 of a PEM public key or
//     certificate), spec.data.hash {algorithm, value (hex)}.
//   - dsse 0.0.1: spec.signatures[{signature (the envelope's base64 sig
//     text), verifier (base64 of PEM)}], spec.payloadHash; the payload and
//     its type are not in the body.
//   - intoto 0.0.2: spec.content.envelope {payloadType,
//     signatures[{keyid, sig, publicKey}]}, spec.content.payloadHash; sig is
//     base64 of the envelope's base64 sig text (rekor's V002Entry stores the
//     sig text as bytes) and publicKey base64 of PEM. A single encoding of
//     either, as some clients write it, is read too.
//   - Rekor v2 (rekor-tiles) hashedrekord 0.0.2 and dsse 0.0.2: protojson of
//     Entry {kind, apiVersion, spec {hashedRekordV002 {data {algorithm,
//     digest}, signature {content, verifier}} | dsseV002 {payloadHash,
//     signatures[{content, verifier}]}}}, verifier {publicKey {rawBytes} |
//     x509Certificate {rawBytes}, keyDetails}, bytes in base64.
//
// intoto 0.0.1 bodies hold no signature (errNoSignature); other kinds and
// versions are unknown to this reader (errUnknownKind).

var (
	errNoSignature = errors.New("entry kind carries no signature")
	errUnknownKind = errors.New("unknown kind")
)

// rekorKinds are Rekor v1's other entry kinds: well formed, but nothing
// this reader hunts (an rpm, a jar, a timestamp, ...).
var rekorKinds = map[string]bool{"rekord": true, "alpine": true, "cose": true, "helm": true, "jar": true, "rfc3161": true, "rpm": true, "tuf": true}

// body is what a Rekor entry body says about its signatures.
type body struct {
	kind, version string
	sigs          []bodySig
	more          int // signatures past MaxSignatures, not read
}

// bodySig is one signature of a body, or why it cannot be read.
type bodySig struct {
	raw *record.SigRaw
	err error
}

type bodyHeader struct {
	Kind       string          `json:"kind"`
	APIVersion string          `json:"apiVersion"`
	Spec       json.RawMessage `json:"spec"`
}

// decodeBody reads a canonicalized entry body. The error is about the whole
// body; a signature that does not decode is in its bodySig. An error
// wrapping errUnknownKind or errNoSignature still returns the body's kind
// and version.
func decodeBody(b []byte) (*body, error) {
	var h bodyHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, errors.New("body is not a JSON entry: " + errReason(err))
	}
	bd := &body{kind: h.Kind, version: h.APIVersion}
	if len(h.Spec) == 0 || bytes.Equal(h.Spec, []byte("null")) {
		if h.Kind == "" {
			return nil, errors.New("body has no kind")
		}
		return bd, errors.New("body has no spec")
	}
	var err error
	switch h.Kind + " " + h.APIVersion {
	case "hashedrekord 0.0.1":
		err = bd.hashedRekordV001(h.Spec)
	case "dsse 0.0.1":
		err = bd.dsseV001(h.Spec)
	case "intoto 0.0.2":
		err = bd.intotoV002(h.Spec)
	case "intoto 0.0.1":
		return bd, fmt.Errorf("intoto 0.0.1: %w", errNoSignature)
	case "hashedrekord 0.0.2", "dsse 0.0.2":
		err = bd.v2(b)
	default:
		if rekorKinds[h.Kind] {
			return bd, fmt.Errorf("%s: %w", quote(h.Kind), errNoSignature)
		}
		return bd, fmt.Errorf("%w %s version %s", errUnknownKind, quote(h.Kind), quote(h.APIVersion))
	}
	return bd, err
}

// add appends one signature, counting those past the bound.
func (bd *body) add(r *record.SigRaw, err error) {
	if len(bd.sigs) >= MaxSignatures {
		bd.more++
		return
	}
	bd.sigs = append(bd.sigs, bodySig{raw: r, err: err})
}

func (bd *body) hashedRekordV001(spec json.RawMessage) error {
	var s models.HashedrekordV001Schema
	if err := json.Unmarshal(spec, &s); err != nil {
		return errors.New("hashedrekord spec does not decode: " + errReason(err))
	}
	if s.Data == nil || s.Data.Hash == nil || s.Data.Hash.Algorithm == nil || s.Data.Hash.Value == nil {
		return errors.New("hashedrekord without data.hash")
	}
	digest, err := record.CanonicalDigest(*s.Data.Hash.Algorithm, *s.Data.Hash.Value)
	if err != nil {
		return errors.New("hashedrekord data.hash: " + err.Error())
	}
	if s.Signature == nil || len(s.Signature.Content) == 0 {
		return errors.New("hashedrekord without signature.content")
	}
	r := &record.SigRaw{Type: record.SigMessage, Sig: s.Signature.Content, Digest: digest}
	if s.Signature.PublicKey == nil || len(s.Signature.PublicKey.Content) == 0 {
		bd.add(r, errors.New("signature without publicKey"))
		return nil
	}
	v, err := parseVerifier(s.Signature.PublicKey.Content)
	if err == nil {
		v.apply(r)
	}
	bd.add(r, err)
	return nil
}

// payloadHash is a DSSE payload hash {algorithm, value} as canonical
// digest.
func payloadHash(alg, value *string) (string, error) {
	if alg == nil || value == nil {
		return "", errors.New("no payloadHash")
	}
	d, err := record.CanonicalDigest(*alg, *value)
	if err != nil {
		return "", errors.New("payloadHash: " + err.Error())
	}
	return d, nil
}

func (bd *body) dsseV001(spec json.RawMessage) error {
	var s models.DSSEV001Schema
	if err := json.Unmarshal(spec, &s); err != nil {
		return errors.New("dsse spec does not decode: " + errReason(err))
	}
	var alg, val *string
	if s.PayloadHash != nil {
		alg, val = s.PayloadHash.Algorithm, s.PayloadHash.Value
	}
	ph, err := payloadHash(alg, val)
	if err != nil {
		return errors.New("dsse: " + err.Error())
	}
	if len(s.Signatures) == 0 {
		return errors.New("dsse without signatures")
	}
	for i, sig := range s.Signatures {
		r := &record.SigRaw{Type: record.SigDSSE, PayloadHash: ph}
		if sig == nil || sig.Signature == nil {
			bd.add(r, fmt.Errorf("signature %d is missing", i+1))
			continue
		}
		if r.Sig, err = decodeSig(*sig.Signature); err != nil {
			bd.add(r, fmt.Errorf("signature %d is not base64: %s", i+1, errReason(err)))
			continue
		}
		if sig.Verifier == nil {
			bd.add(r, fmt.Errorf("signature %d has no verifier", i+1))
			continue
		}
		v, err := parseVerifier(*sig.Verifier)
		if err == nil {
			v.apply(r)
		} else {
			err = fmt.Errorf("signature %d verifier: %w", i+1, err)
		}
		bd.add(r, err)
	}
	return nil
}

func (bd *body) intotoV002(spec json.RawMessage) error {
	var s models.IntotoV002Schema
	if err := json.Unmarshal(spec, &s); err != nil {
		return errors.New("intoto spec does not decode: " + errReason(err))
	}
	if s.Content == nil || s.Content.Envelope == nil {
		return errors.New("intoto without content.envelope")
	}
	var alg, val *string
	if s.Content.PayloadHash != nil {
		alg, val = s.Content.PayloadHash.Algorithm, s.Content.PayloadHash.Value
	}
	ph, err := payloadHash(alg, val)
	if err != nil {
		return errors.New("intoto: " + err.Error())
	}
	env := s.Content.Envelope
	pt := ""
	if env.PayloadType != nil {
		pt = *env.PayloadType
	}
	if len(env.Signatures) == 0 {
		return errors.New("intoto without signatures")
	}
	for i, sig := range env.Signatures {
		r := &record.SigRaw{Type: record.SigDSSE, PayloadType: pt, PayloadHash: ph}
		if sig == nil || sig.Sig == nil || len(*sig.Sig) == 0 {
			bd.add(r, fmt.Errorf("signature %d is missing", i+1))
			continue
		}
		r.Sig, r.KeyHint = unwrapBase64(*sig.Sig), sig.Keyid
		if sig.PublicKey == nil {
			bd.add(r, fmt.Errorf("signature %d has no publicKey", i+1))
			continue
		}
		key := *sig.PublicKey
		if !bytes.Contains(key, []byte("-----BEGIN")) {
			key = unwrapBase64(key)
		}
		v, err := parseVerifier(key)
		if err == nil {
			v.apply(r)
		} else {
			err = fmt.Errorf("signature %d publicKey: %w", i+1, err)
		}
		bd.add(r, err)
	}
	return nil
}

// decodeSig decodes a DSSE signature's text: standard base64, or URL-safe
// (the DSSE spec allows both).
func decodeSig(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		return b, nil
	}
	if b2, err2 := base64.URLEncoding.DecodeString(s); err2 == nil {
		return b2, nil
	}
	if b2, err2 := base64.RawURLEncoding.DecodeString(s); err2 == nil {
		return b2, nil
	}
	return nil, err
}

// unwrapBase64 decodes b once more when it is itself base64 text (the
// envelope's sig text stored as bytes), else returns it as it is.
func unwrapBase64(b []byte) []byte {
	for _, c := range b {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return b
		}
	}
	if d, err := decodeSig(string(b)); err == nil && len(d) > 0 {
		return d
	}
	return b
}

// Rekor v2 entry bodies (rekor-tiles' Entry, protojson).
type v2Entry struct {
	Spec struct {
		HashedRekordV002 *struct {
			Data      *v2Hash `json:"data"`
			Signature *v2Sig  `json:"signature"`
		} `json:"hashedRekordV002"`
		DsseV002 *struct {
			PayloadHash *v2Hash  `json:"payloadHash"`
			Signatures  []*v2Sig `json:"signatures"`
		} `json:"dsseV002"`
	} `json:"spec"`
}

type v2Hash struct {
	Algorithm string `json:"algorithm"`
	Digest    []byte `json:"digest"`
}

type v2Sig struct {
	Content  []byte `json:"content"`
	Verifier *struct {
		PublicKey *struct {
			RawBytes []byte `json:"rawBytes"`
		} `json:"publicKey"`
		X509Certificate *struct {
			RawBytes []byte `json:"rawBytes"`
		} `json:"x509Certificate"`
		KeyDetails string `json:"keyDetails"`
	} `json:"verifier"`
}

func (h *v2Hash) canonical() (string, error) {
	if h == nil || len(h.Digest) == 0 {
		return "", errors.New("no digest")
	}
	return record.CanonicalDigest(h.Algorithm, hexDigest(h.Digest))
}

// signer is the verifier of s.
func (s *v2Sig) signer() (signer, error) {
	switch {
	case s.Verifier == nil:
		return signer{}, errors.New("no verifier")
	case s.Verifier.X509Certificate != nil && len(s.Verifier.X509Certificate.RawBytes) > 0:
		return signer{certs: [][]byte{s.Verifier.X509Certificate.RawBytes}}, nil
	case s.Verifier.PublicKey != nil && len(s.Verifier.PublicKey.RawBytes) > 0:
		if _, err := x509.ParsePKIXPublicKey(s.Verifier.PublicKey.RawBytes); err != nil {
			return signer{}, errors.New("public key does not parse: " + errReason(err))
		}
		return signer{key: s.Verifier.PublicKey.RawBytes}, nil
	}
	return signer{}, errors.New("verifier has neither a public key nor a certificate")
}

func (bd *body) v2(b []byte) error {
	var e v2Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return errors.New("spec does not decode: " + errReason(err))
	}
	if hr := e.Spec.HashedRekordV002; bd.kind == "hashedrekord" && hr != nil {
		d, err := hr.Data.canonical()
		if err != nil {
			return errors.New("hashedrekord data: " + err.Error())
		}
		if hr.Signature == nil || len(hr.Signature.Content) == 0 {
			return errors.New("hashedrekord without signature.content")
		}
		r := &record.SigRaw{Type: record.SigMessage, Sig: hr.Signature.Content, Digest: d}
		v, err := hr.Signature.signer()
		v.apply(r)
		bd.add(r, err)
		return nil
	}
	if ds := e.Spec.DsseV002; bd.kind == "dsse" && ds != nil {
		ph, err := ds.PayloadHash.canonical()
		if err != nil {
			return errors.New("dsse payloadHash: " + err.Error())
		}
		if len(ds.Signatures) == 0 {
			return errors.New("dsse without signatures")
		}
		for i, s := range ds.Signatures {
			r := &record.SigRaw{Type: record.SigDSSE, PayloadHash: ph}
			if s == nil || len(s.Content) == 0 {
				bd.add(r, fmt.Errorf("signature %d is missing", i+1))
				continue
			}
			r.Sig = s.Content
			v, err := s.signer()
			v.apply(r)
			if err != nil {
				err = fmt.Errorf("signature %d: %w", i+1, err)
			}
			bd.add(r, err)
		}
		return nil
	}
	return errors.New("spec does not match its kind")
}
