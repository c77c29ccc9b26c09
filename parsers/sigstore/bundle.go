package sigstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	bundlepb "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Bundle reads Sigstore bundles (media types
// application/vnd.dev.sigstore.bundle+json;version=0.1 and 0.2,
// application/vnd.dev.sigstore.bundle.v0.3+json; protojson into
// protobuf-specs' bundle.Bundle, unknown fields ignored) in the forms they
// are published in:
//
//   - standalone (.sigstore.json, .sigstore), one a file or one a line;
//   - npm's attestations API, {"attestations":[{"predicateType","bundle"}]}
//     (npm's publish attestation is signed with the registry's key: a
//     key-signed bundle with a publicKey hint);
//   - GitHub's attestations API, {"attestations":[{"bundle",
//     "repository_id","bundle_url"}]};
//   - cosign's OCI signature manifests (the .sig tag): an image manifest
//     whose application/vnd.dev.cosign.simplesigning.v1+json layers carry
//     the signature in annotations (see ociLayer).
//
// The content is the signature: a messageSignature is a SigMessage over its
// messageDigest, a dsseEnvelope one SigDSSE per signature with the payload.
// Signer material: a publicKey hint (KeyHint; the bundle has no key bytes),
// an x509CertificateChain or (v0.3) a certificate (Certs).
//
// A bundle logged several times (several tlogEntries, in several logs) is
// one sighting per tlog entry and signature: each logging is a sighting,
// with its log, index and integrated time (zero for Rekor v2 entries, which
// have none). A bundle with no tlog entry is one sighting per signature
// without a time. When a tlog entry has its canonicalizedBody, the body's
// signature and digest must be the bundle's: a body that does not decode or
// disagrees is rejected and the bundle's signature still sighted, salvaged.
// A public key in the body's verifier is the signer's key when the bundle
// only has a hint.
//
// Attrs hold bundle_media_type, log_index, log_id (hex), rekor_kind and
// rekor_version (the tlog entry's kindVersion), line, and the wrapper's
// own facts: wrapper ("npm-attestations", "github-attestations",
// "cosign-oci"), predicate_type, repository_id, layer (a manifest layer's
// ordinal) and layer_media_type.
var Bundle record.Format = bundleFormat{}

type bundleFormat struct{}

// Ignore reasons of bundle files.
const (
	IgnoreNotBundle    = "JSON value is not a Sigstore bundle"
	IgnoreAttLayer     = "cosign attestation layer (its signature is in the layer blob)"
	IgnoreBundleLayer  = "Sigstore bundle layer (the bundle is in the layer blob)"
	IgnoreOtherLayer   = "OCI layer of another media type"
	IgnoreNoAttBundle  = "attestation without a bundle"
	bundleMediaPrefix  = "application/vnd.dev.sigstore.bundle"
	simpleSigningType  = "application/vnd.dev.cosign.simplesigning.v1+json"
	dsseLayerType      = "application/vnd.dsse.envelope.v1+json"
	annotSignature     = "dev.cosignproject.cosign/signature"
	annotCertificate   = "dev.sigstore.cosign/certificate"
	annotChain         = "dev.sigstore.cosign/chain"
	annotBundle        = "dev.sigstore.cosign/bundle"
	maxLayers          = 1024
	maxAttestations    = 4096
	wrapperNPM         = "npm-attestations"
	wrapperGitHub      = "github-attestations"
	wrapperCosignOCI   = "cosign-oci"
	ReasonBodyMismatch = "tlog entry body does not match the bundle"
)

func (bundleFormat) Name() string { return "sigstore-bundle" }
func (bundleFormat) Description() string {
	return "Sigstore bundles v0.1-v0.3 (standalone, npm and GitHub attestation API responses), cosign OCI signature manifests, cosign download signature output and legacy cosign blob bundles"
}

// EntryPositions: positions are record ordinals (see the package
// documentation).
func (bundleFormat) EntryPositions() bool { return true }

var (
	bundleMediaRe = regexp.MustCompile(`"mediaType"\s*:\s*"application/vnd\.dev\.sigstore\.bundle`)
	attHeadRe     = regexp.MustCompile(`^\s*\{\s*"attestations"\s*:\s*\[`)
	// cosign's JSON of a signature: download signature, legacy blob bundles
	cosignSigRe = regexp.MustCompile(`^\s*\{\s*"(?i:base64Signature)"\s*:\s*"[A-Za-z0-9+/=]*"\s*,\s*"(?i:payload|cert|chain|bundle|rekorBundle|rfc3161Timestamp)"`)
)

// looksBundle claims the start of a bundle, an attestations response or a
// cosign manifest: never a bare DSSE envelope or in-toto statement, which
// have no bundle media type or cosign layer.
func looksBundle(b []byte) bool {
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if len(b) == 0 || b[0] != '{' && b[0] != '[' {
		return false
	}
	if bundleMediaRe.Match(b) {
		return true
	}
	if cosignSigRe.Match(b) {
		return true
	}
	if attHeadRe.Match(b) {
		return bytes.Contains(b, []byte(`"bundle"`)) || bytes.Contains(b, []byte(`"predicateType"`))
	}
	return bytes.Contains(b, []byte(`"layers"`)) &&
		(bytes.Contains(b, []byte(simpleSigningType)) || bytes.Contains(b, []byte(dsseLayerType)))
}

func (bundleFormat) Sniff(sample [][]byte) bool { return looksBundle(bytes.Join(sample, []byte("\n"))) }

// SniffFile claims a head that looks like a bundle, and a .sigstore.json
// or .sigstore file that starts with JSON.
func (bundleFormat) SniffFile(name string, head []byte) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, ".sigstore.json") || strings.HasSuffix(n, ".sigstore") {
		t := bytes.TrimSpace(head)
		return len(t) > 0 && t[0] == '{'
	}
	return looksBundle(head)
}

func (f bundleFormat) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	data, err := readAll(in)
	if err != nil {
		return err
	}
	p := &bundleParser{reader: reader{in: in, sink: sink, format: f.Name()}}
	if len(data) > MaxFileBytes {
		p.reject(ReasonFileTooLarge, data[:256])
		return nil
	}
	return docs(ctx, in.Name, data, p.doc, func(line int64, err error, excerpt []byte) {
		p.bundles++
		p.reject(fmt.Sprintf("line %d: not JSON: %s", line, errReason(err)), excerpt)
	})
}

type bundleParser struct {
	reader
	bundles int64 // bundles (and manifest layers) met, for reasons
}

// shape is what tells the JSON values of a bundle file apart.
type shape struct {
	MediaType    string            `json:"mediaType"`
	Attestations []json.RawMessage `json:"attestations"`
	Layers       []json.RawMessage `json:"layers"`
	// cosign's own JSON of a signature (see signedPayload)
	Base64Signature *string `json:"base64Signature"`
}

// attestation is an element of the npm or GitHub attestations API.
type attestation struct {
	Bundle        json.RawMessage `json:"bundle"`
	PredicateType string          `json:"predicateType"`
	RepositoryID  *json.Number    `json:"repository_id"`
}

func (p *bundleParser) doc(d doc) {
	var s shape
	if err := json.Unmarshal(d.raw, &s); err != nil {
		p.bundles++
		p.reject(fmt.Sprintf("bundle %d: not a bundle object: %s", p.bundles, errReason(err)), d.raw)
		return
	}
	switch {
	case strings.HasPrefix(s.MediaType, bundleMediaPrefix):
		p.bundle(d.raw, d.line, nil)
	case s.Attestations != nil:
		p.attestations(s.Attestations, d.line)
	case s.Layers != nil:
		p.manifest(s.Layers, d.line)
	case s.Base64Signature != nil:
		p.signedPayload(d.raw, d.line)
	default:
		p.ignore(IgnoreNotBundle)
	}
}

func (p *bundleParser) attestations(list []json.RawMessage, line int64) {
	for i, raw := range list {
		if i == maxAttestations {
			p.reject(fmt.Sprintf("%d attestations past the first %d not read", len(list)-i, maxAttestations), nil)
			return
		}
		var a attestation
		if err := json.Unmarshal(raw, &a); err != nil {
			p.bundles++
			p.reject(fmt.Sprintf("bundle %d: attestation does not decode: %s", p.bundles, errReason(err)), raw)
			continue
		}
		if len(a.Bundle) == 0 || string(a.Bundle) == "null" {
			p.ignore(IgnoreNoAttBundle)
			continue
		}
		extra := map[string]any{"wrapper": wrapperNPM}
		if a.PredicateType != "" {
			extra["predicate_type"] = record.Excerpt(a.PredicateType, 256)
		}
		if a.RepositoryID != nil {
			extra["wrapper"] = wrapperGitHub
			if n, err := a.RepositoryID.Int64(); err == nil {
				extra["repository_id"] = n
			}
		}
		p.bundle(a.Bundle, line, extra)
	}
}

// bundleSigs are the signatures of a bundle's content, with its signer
// material.
func bundleSigs(b *bundlepb.Bundle) ([]*record.SigRaw, int, error) {
	var sigs []*record.SigRaw
	more := 0
	switch {
	case b.GetMessageSignature() != nil:
		ms := b.GetMessageSignature()
		if ms.GetMessageDigest() == nil || len(ms.GetMessageDigest().GetDigest()) == 0 {
			return nil, 0, fmt.Errorf("messageSignature without a messageDigest")
		}
		d, err := record.CanonicalDigest(ms.GetMessageDigest().GetAlgorithm().String(), hexDigest(ms.GetMessageDigest().GetDigest()))
		if err != nil {
			return nil, 0, fmt.Errorf("messageDigest: %s", err)
		}
		sigs = append(sigs, &record.SigRaw{Type: record.SigMessage, Sig: ms.GetSignature(), Digest: d})
	case b.GetDsseEnvelope() != nil:
		env := b.GetDsseEnvelope()
		for i, s := range env.GetSignatures() {
			if i == MaxSignatures {
				more = len(env.GetSignatures()) - i
				break
			}
			sigs = append(sigs, &record.SigRaw{Type: record.SigDSSE, Sig: s.GetSig(), PayloadType: env.GetPayloadType(),
				Payload: nonNil(env.GetPayload()), KeyHint: s.GetKeyid()})
		}
		if len(sigs) == 0 {
			return nil, 0, fmt.Errorf("dsseEnvelope without signatures")
		}
	default:
		return nil, 0, fmt.Errorf("bundle has neither a messageSignature nor a dsseEnvelope")
	}
	vm := b.GetVerificationMaterial()
	var certs [][]byte
	for _, c := range vm.GetX509CertificateChain().GetCertificates() {
		if len(certs) < MaxSignatures && len(c.GetRawBytes()) > 0 {
			certs = append(certs, c.GetRawBytes())
		}
	}
	if c := vm.GetCertificate(); c != nil && len(c.GetRawBytes()) > 0 {
		certs = [][]byte{c.GetRawBytes()}
	}
	hint := vm.GetPublicKey().GetHint()
	for _, r := range sigs {
		r.Certs = certs
		if r.KeyHint == "" {
			r.KeyHint = hint
		}
	}
	return sigs, more, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// bundle reads one bundle, with its wrapper's attrs.
func (p *bundleParser) bundle(raw []byte, line int64, extra map[string]any) {
	p.bundles++
	where := fmt.Sprintf("bundle %d", p.bundles)
	var b bundlepb.Bundle
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &b); err != nil {
		p.reject(where+": does not decode: "+errReason(err), raw)
		return
	}
	if !strings.HasPrefix(b.GetMediaType(), bundleMediaPrefix) {
		p.reject(where+": unknown media type "+quote(b.GetMediaType()), raw)
		return
	}
	sigs, more, err := bundleSigs(&b)
	if err != nil {
		p.reject(where+": "+err.Error(), raw)
		return
	}
	if extra == nil {
		extra = map[string]any{}
	}
	extra["bundle_media_type"] = record.Excerpt(b.GetMediaType(), 128)
	entries := b.GetVerificationMaterial().GetTlogEntries()
	if len(entries) == 0 {
		f := &facts{logIndex: -1, line: line, extra: extra}
		p.emit(where, sigs, f, "")
	}
	for j, te := range entries {
		if j == maxTlogEntries {
			p.reject(fmt.Sprintf("%s: %d tlog entries past the first %d not read", where, len(entries)-j, maxTlogEntries), nil)
			break
		}
		f := tlogFacts(te, line, extra)
		w := fmt.Sprintf("%s (log index %d)", where, te.GetLogIndex())
		if len(entries) > 1 {
			w = fmt.Sprintf("%s tlog entry %d (log index %d)", where, j+1, te.GetLogIndex())
		}
		// each tlog entry checks copies: a body's key fills only its own
		cp := make([]*record.SigRaw, len(sigs))
		for i, r := range sigs {
			c := *r
			cp[i] = &c
		}
		p.emit(w, cp, f, checkBody(te.GetCanonicalizedBody(), cp, f))
	}
	if more > 0 {
		p.reject(fmt.Sprintf("%s: %d %s (%d)", where, more, ReasonTooManySigs, MaxSignatures), nil)
	}
}

// tlogFacts are the facts of one tlog entry.
func tlogFacts(te *rekorpb.TransparencyLogEntry, line int64, extra map[string]any) *facts {
	f := &facts{logIndex: te.GetLogIndex(), logID: hexDigest(te.GetLogId().GetKeyId()), time: unixTime(te.GetIntegratedTime()),
		kind: te.GetKindVersion().GetKind(), version: te.GetKindVersion().GetVersion(), line: line, extra: extra}
	if f.kind == "" {
		f.version = ""
	}
	return f
}

// emit sights sigs with f, or salvages them with mismatch as the reason.
func (p *bundleParser) emit(where string, sigs []*record.SigRaw, f *facts, mismatch string) {
	action := logged(f)
	for i, r := range sigs {
		w := where
		if len(sigs) > 1 {
			w = fmt.Sprintf("%s signature %d", where, i+1)
		}
		if mismatch != "" {
			p.salvage(w+": "+mismatch, r, f, action, nil)
			continue
		}
		p.sight(w, r, f, action)
	}
}

// checkBody checks the bundle's signatures against a tlog entry's
// canonicalized body (none: nothing to check) and returns why they
// disagree, or "". A signature that agrees and has no signer material but
// a hint takes the body's key or certificate.
func checkBody(b []byte, sigs []*record.SigRaw, f *facts) string {
	if len(b) == 0 {
		return ""
	}
	bd, err := decodeBody(b)
	if err != nil {
		return ReasonBodyMismatch + ": " + err.Error()
	}
	if f.kind == "" {
		f.kind, f.version = bd.kind, bd.version
	}
	for i, r := range sigs {
		m := matching(bd, r)
		if m == nil {
			if len(sigs) > 1 {
				return fmt.Sprintf("%s: signature %d is not in it", ReasonBodyMismatch, i+1)
			}
			return ReasonBodyMismatch + ": the signature or what it signs differs"
		}
		if r.PublicKey == nil && r.Certs == nil {
			r.PublicKey, r.Certs = m.PublicKey, m.Certs
		}
	}
	return ""
}

// matching is the body's signature that is r: the same signature bytes
// over the same digest or payload hash.
func matching(bd *body, r *record.SigRaw) *record.SigRaw {
	for _, s := range bd.sigs {
		if s.raw == nil || !bytes.Equal(s.raw.Sig, r.Sig) {
			continue
		}
		if s.raw.Signed() == r.Signed() || r.Type == record.SigDSSE && s.raw.Type == record.SigMessage && s.raw.Digest == record.SHA256Digest(record.DSSEPAE(r.PayloadType, r.Payload)) {
			// (Rekor v2 logs a DSSE signature as a hashedrekord of its PAE)
			return s.raw
		}
	}
	return nil
}

// ociLayer is a layer of an OCI image manifest as cosign writes it for a
// signature (the .sig tag): the layer blob is the simple-signing payload,
// its digest what is signed, the signature and signer in annotations:
// dev.cosignproject.cosign/signature (base64), dev.sigstore.cosign/certificate
// and /chain (PEM), dev.sigstore.cosign/bundle (JSON: {"SignedEntryTimestamp",
// "Payload":{"body","integratedTime","logIndex","logID"}}, the Rekor entry).
type ociLayer struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Annotations map[string]string `json:"annotations"`
}

// cosignBundle is cosign's dev.sigstore.cosign/bundle annotation.
type cosignBundle struct {
	Payload struct {
		Body           any    `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       *int64 `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

func (p *bundleParser) manifest(layers []json.RawMessage, line int64) {
	for i, raw := range layers {
		if i == maxLayers {
			p.reject(fmt.Sprintf("%d layers past the first %d not read", len(layers)-i, maxLayers), nil)
			return
		}
		p.bundles++
		where := fmt.Sprintf("layer %d", i+1)
		var l ociLayer
		if err := json.Unmarshal(raw, &l); err != nil {
			p.reject(where+": does not decode: "+errReason(err), raw)
			continue
		}
		extra := map[string]any{"wrapper": wrapperCosignOCI, "layer": i + 1, "layer_media_type": record.Excerpt(l.MediaType, 128)}
		f := &facts{logIndex: -1, line: line, extra: extra}
		var bd *body
		var bodyErr error
		if s, ok := l.Annotations[annotBundle]; ok {
			bd, bodyErr = p.cosignBundle(s, f)
			if f.logIndex >= 0 {
				where = fmt.Sprintf("layer %d (log index %d)", i+1, f.logIndex)
			}
		}
		switch {
		case l.MediaType == simpleSigningType:
			p.simpleSigning(where, &l, f, bd, bodyErr)
		case l.MediaType == dsseLayerType && bd != nil && bodyErr == nil && len(bd.sigs) > 0:
			p.bodySigs(where, bd, f)
		case l.MediaType == dsseLayerType:
			p.ignore(IgnoreAttLayer)
		case strings.HasPrefix(l.MediaType, bundleMediaPrefix):
			p.ignore(IgnoreBundleLayer)
		default:
			p.ignore(IgnoreOtherLayer)
		}
	}
}

// cosignBundle reads the bundle annotation into f and returns its body.
func (p *bundleParser) cosignBundle(s string, f *facts) (*body, error) {
	var cb cosignBundle
	if err := json.Unmarshal([]byte(s), &cb); err != nil {
		return nil, fmt.Errorf("bundle annotation does not decode: %s", errReason(err))
	}
	f.time, f.logID = unixTime(cb.Payload.IntegratedTime), strings.ToLower(cb.Payload.LogID)
	if cb.Payload.LogIndex != nil {
		f.logIndex = *cb.Payload.LogIndex
	}
	bs, ok := cb.Payload.Body.(string)
	if !ok {
		return nil, fmt.Errorf("bundle annotation has no body")
	}
	b, err := base64.StdEncoding.DecodeString(bs)
	if err != nil {
		return nil, fmt.Errorf("bundle annotation body is not base64: %s", errReason(err))
	}
	bd, err := decodeBody(b)
	if bd != nil {
		f.kind, f.version = bd.kind, bd.version
	}
	return bd, err
}

// simpleSigning reads a cosign signature layer.
func (p *bundleParser) simpleSigning(where string, l *ociLayer, f *facts, bd *body, bodyErr error) {
	action := logged(f)
	d, err := record.CanonicalDigest("", l.Digest)
	if err != nil {
		p.reject(where+": layer digest: "+err.Error(), []byte(l.Digest))
		return
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(l.Annotations[annotSignature]))
	if err != nil || len(sig) == 0 {
		p.reject(where+": no base64 signature annotation", nil)
		return
	}
	r := &record.SigRaw{Type: record.SigMessage, Sig: sig, Digest: d}
	for _, a := range []string{annotCertificate, annotChain} {
		if c, ok := l.Annotations[a]; ok && c != "" {
			v, err := parseVerifier([]byte(c))
			if err != nil || v.certs == nil {
				p.salvage(where+": "+a+" annotation is not a PEM certificate", r, f, action, nil)
				return
			}
			r.Certs = append(r.Certs, v.certs...)
		}
	}
	if bodyErr != nil {
		p.salvage(where+": "+bodyErr.Error(), r, f, action, nil)
		return
	}
	if bd != nil {
		m := matching(bd, r)
		if m == nil {
			p.salvage(where+": "+ReasonBodyMismatch+": the signature or what it signs differs", r, f, action, nil)
			return
		}
		if r.Certs == nil {
			r.PublicKey = m.PublicKey
			r.Certs = m.Certs
		}
	}
	p.sight(where, r, f, action)
}

// bodySigs sights the signatures of a logged body (an attestation layer's
// bundle annotation: the envelope is in the blob, the body has the
// signatures and the payload hash).
func (p *bundleParser) bodySigs(where string, bd *body, f *facts) {
	action := logged(f)
	for i, s := range bd.sigs {
		w := where
		if len(bd.sigs) > 1 {
			w = fmt.Sprintf("%s signature %d", where, i+1)
		}
		switch {
		case s.err != nil && len(s.raw.Sig) > 0:
			p.salvage(w+": "+s.err.Error(), s.raw, f, action, nil)
		case s.err != nil:
			p.reject(w+": "+s.err.Error(), nil)
		default:
			p.sight(w, s.raw, f, action)
		}
	}
	if bd.more > 0 {
		p.reject(fmt.Sprintf("%s: %d %s (%d)", where, bd.more, ReasonTooManySigs, MaxSignatures), nil)
	}
}

// signedPayload is cosign's JSON of one signature, in its two shapes:
//
//   - what `cosign download signature IMAGE` prints, one per line:
//     {"Base64Signature","Payload" (base64 of the simple-signing payload),
//     "Cert" and "Chain" (Go's JSON of x509 certificates: "Raw" is the
//     DER), "Bundle":{"SignedEntryTimestamp","Payload":{"body",
//     "integratedTime","logIndex","logID"}}}; the signature is over the
//     payload, which names the image digest;
//   - the legacy blob bundle `cosign sign-blob --bundle` wrote before the
//     Sigstore bundle (release assets named *.bundle, *.cosign.bundle):
//     {"base64Signature","cert" (base64 of PEM),"rekorBundle":{...}}; the
//     blob's digest is only in the logged body.
//
// JSON keys are matched without regard to case, as cosign reads them.
type signedPayload struct {
	Base64Signature string          `json:"base64Signature"`
	Payload         []byte          `json:"Payload"`
	Cert            json.RawMessage `json:"cert"`
	Chain           json.RawMessage `json:"Chain"`
	Bundle          json.RawMessage `json:"Bundle"`
	RekorBundle     json.RawMessage `json:"rekorBundle"`
}

// goCert is the part of Go's JSON of an x509.Certificate cosign prints.
type goCert struct {
	Raw []byte `json:"Raw"`
}

func (p *bundleParser) signedPayload(raw []byte, line int64) {
	p.bundles++
	where := fmt.Sprintf("signature %d", p.bundles)
	var sp signedPayload
	if err := json.Unmarshal(raw, &sp); err != nil {
		p.reject(where+": does not decode: "+errReason(err), raw)
		return
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sp.Base64Signature))
	if err != nil || len(sig) == 0 {
		p.reject(where+": base64Signature is not base64", raw)
		return
	}
	f := &facts{logIndex: -1, line: line, extra: map[string]any{"wrapper": "cosign-signature"}}
	r := &record.SigRaw{Type: record.SigMessage, Sig: sig}
	if sp.Payload != nil {
		r.Payload, r.Digest = sp.Payload, record.SHA256Digest(sp.Payload)
	}
	sg, err := goSigner(sp.Cert, sp.Chain)
	if err != nil {
		p.reject(where+": "+err.Error(), raw)
		return
	}
	sg.apply(r)
	var bd *body
	if b := firstNonNull(sp.Bundle, sp.RekorBundle); b != nil {
		if bd, err = p.cosignBundle(string(b), f); err != nil {
			if r.Digest != "" {
				p.salvage(where+": "+err.Error(), r, f, logged(f), raw)
			} else {
				p.reject(where+": "+err.Error(), raw)
			}
			return
		}
		if f.logIndex >= 0 {
			where = fmt.Sprintf("signature %d (log index %d)", p.bundles, f.logIndex)
		}
	}
	action := logged(f)
	if bd != nil {
		if r.Digest == "" {
			// a blob bundle: the digest signed is the logged body's
			for _, s := range bd.sigs {
				if s.raw != nil && bytes.Equal(s.raw.Sig, r.Sig) {
					r.Digest = s.raw.Digest
				}
			}
			if r.Digest == "" {
				p.reject(where+": "+ReasonBodyMismatch+": the logged body holds another signature", raw)
				return
			}
		}
		m := matching(bd, r)
		if m == nil {
			p.salvage(where+": "+ReasonBodyMismatch+": the signature or what it signs differs", r, f, action, raw)
			return
		}
		if r.Certs == nil && r.PublicKey == nil {
			r.PublicKey, r.Certs = m.PublicKey, m.Certs
		}
	}
	if r.Digest == "" {
		p.reject(where+": neither the payload nor a logged body says what was signed", raw)
		return
	}
	p.sight(where, r, f, action)
}

// goSigner reads the signer's certificate and chain in the forms cosign
// prints them: Go's JSON of x509 certificates, a PEM string, or the base64
// of a PEM (a legacy bundle signed with a key holds the public key there).
func goSigner(parts ...json.RawMessage) (signer, error) {
	var out signer
	for _, part := range parts {
		part = bytes.TrimSpace(part)
		if len(part) == 0 || string(part) == "null" {
			continue
		}
		switch part[0] {
		case '{', '[':
			var list []goCert
			if part[0] == '{' {
				var one goCert
				if err := json.Unmarshal(part, &one); err != nil {
					return out, errors.New("certificate does not decode: " + errReason(err))
				}
				list = []goCert{one}
			} else if err := json.Unmarshal(part, &list); err != nil {
				return out, errors.New("certificate chain does not decode: " + errReason(err))
			}
			for _, c := range list {
				if len(c.Raw) > 0 && len(out.certs) < MaxSignatures {
					out.certs = append(out.certs, c.Raw)
				}
			}
		case '"':
			var text string
			if err := json.Unmarshal(part, &text); err != nil {
				return out, errors.New("certificate does not decode: " + errReason(err))
			}
			pemText := []byte(text)
			if !bytes.Contains(pemText, []byte("-----BEGIN")) {
				dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
				if err != nil {
					return out, errors.New("certificate is neither PEM nor base64 of PEM")
				}
				pemText = dec
			}
			v, err := parseVerifier(pemText)
			if err != nil {
				return out, errors.New("certificate: " + err.Error())
			}
			if out.key == nil {
				out.key = v.key
			}
			out.certs = append(out.certs, v.certs...)
		default:
			return out, errors.New("certificate is not JSON text or an object")
		}
	}
	if out.certs != nil {
		out.key = nil // the certificate carries the key
	}
	return out, nil
}

func firstNonNull(vs ...json.RawMessage) json.RawMessage {
	for _, v := range vs {
		if t := bytes.TrimSpace(v); len(t) > 0 && string(t) != "null" {
			return t
		}
	}
	return nil
}
