package sigstore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	bundlepb "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	commonpb "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

var genTestdata = flag.Bool("gen-testdata", false, "rewrite the golden inputs in testdata/ (then run with -update)")

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const testLogID = "8d7e5a4b3c2d1e0f00112233445566778899aabbccddeeff0011223344556677"

// fixed keys: goldens stay stable when the inputs are regenerated
// (ECDSA signatures are randomized, so the inputs change; their goldens
// follow with -update).
func ecKey(t testing.TB, seed byte) *ecdsa.PrivateKey {
	d := make([]byte, 32)
	for i := range d {
		d[i] = seed + byte(i)
	}
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rsaKey is the RSA key in testdata/keys (made by -gen-testdata when
// missing; a test key, signing nothing real).
func rsaKey(t testing.TB) *rsa.PrivateKey {
	p := filepath.Join("testdata", "keys", "rsa.pem")
	if b, err := os.ReadFile(p); err == nil {
		blk, _ := pem.Decode(b)
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return k.(*rsa.PrivateKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if *genTestdata { // kept for the next generation
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o644)
	}
	return k
}

func pubPEM(t testing.TB, k crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// fulcioCert is a self-made Fulcio-like signing certificate for key: a
// short-lived leaf with an OIDC identity URI and Fulcio's extensions.
func fulcioCert(t testing.TB, key *ecdsa.PrivateKey) []byte {
	ca := ecKey(t, 90)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sigstore-intermediate", Organization: []string{"sigstore.dev"}},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, ca.Public(), ca)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	u, _ := url.Parse("https://github.com/example/app/.github/workflows/release.yml@refs/heads/main")
	utf8 := func(s string) []byte { b, _ := asn1.MarshalWithParams(s, "utf8"); return b }
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), NotBefore: t0, NotAfter: t0.Add(10 * time.Minute), URIs: []*url.URL{u},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte("https://token.actions.githubusercontent.com")},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: utf8("https://token.actions.githubusercontent.com")},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}, Value: utf8("https://github.com/example/app")},
		}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), ca)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func signDigest(t testing.TB, k crypto.Signer, digest []byte) []byte {
	var opts crypto.SignerOpts = crypto.SHA256
	sig, err := k.Sign(rand.Reader, digest, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// ---- Rekor bodies and entries, with rekor's own models ----

func ptr[T any](v T) *T { return &v }

func hashedRekordBody(t testing.TB, sig, digest, verifier []byte) []byte {
	spec := &models.HashedrekordV001Schema{
		Data:      &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{Algorithm: ptr("sha256"), Value: ptr(hex.EncodeToString(digest))}},
		Signature: &models.HashedrekordV001SchemaSignature{Content: sig, PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: verifier}},
	}
	b, err := json.Marshal(models.Hashedrekord{APIVersion: ptr("0.0.1"), Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type dsseSig struct {
	sig      []byte
	verifier []byte // PEM
}

func dsseBody(t testing.TB, payload []byte, sigs []dsseSig) []byte {
	spec := &models.DSSEV001Schema{
		PayloadHash:  &models.DSSEV001SchemaPayloadHash{Algorithm: ptr("sha256"), Value: ptr(hex.EncodeToString(sha(payload)))},
		EnvelopeHash: &models.DSSEV001SchemaEnvelopeHash{Algorithm: ptr("sha256"), Value: ptr(hex.EncodeToString(sha([]byte("envelope"))))},
	}
	for _, s := range sigs {
		v := strfmt.Base64(s.verifier)
		spec.Signatures = append(spec.Signatures, &models.DSSEV001SchemaSignaturesItems0{Signature: ptr(base64.StdEncoding.EncodeToString(s.sig)), Verifier: &v})
	}
	b, err := json.Marshal(models.DSSE{APIVersion: ptr("0.0.1"), Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// intotoBody is an intoto 0.0.2 body as rekor's V002Entry writes it: sig
// is the envelope's base64 text, stored as bytes (so base64 twice).
func intotoBody(t testing.TB, payloadType string, payload []byte, sigs []dsseSig) []byte {
	content := &models.IntotoV002SchemaContent{
		Envelope:    &models.IntotoV002SchemaContentEnvelope{PayloadType: ptr(payloadType)},
		Hash:        &models.IntotoV002SchemaContentHash{Algorithm: ptr("sha256"), Value: ptr(hex.EncodeToString(sha([]byte("envelope"))))},
		PayloadHash: &models.IntotoV002SchemaContentPayloadHash{Algorithm: ptr("sha256"), Value: ptr(hex.EncodeToString(sha(payload)))},
	}
	for _, s := range sigs {
		sig := strfmt.Base64(base64.StdEncoding.EncodeToString(s.sig))
		key := strfmt.Base64(s.verifier)
		content.Envelope.Signatures = append(content.Envelope.Signatures, &models.IntotoV002SchemaContentEnvelopeSignaturesItems0{Sig: &sig, PublicKey: &key})
	}
	b, err := json.Marshal(models.Intoto{APIVersion: ptr("0.0.2"), Spec: &models.IntotoV002Schema{Content: content}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func leafUUID(body []byte) string { return hex.EncodeToString(sha(append([]byte{0}, body...))) }

// logEntry is a LogEntry response for body (uuid "" means the right one).
func logEntry(t testing.TB, uuid string, body []byte, index int64, att []byte) map[string]models.LogEntryAnon {
	if uuid == "" {
		uuid = leafUUID(body)
	}
	e := models.LogEntryAnon{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: ptr(t0.Unix() + index), LogID: ptr(PublicRekorLogID), LogIndex: ptr(index),
		Verification: &models.LogEntryAnonVerification{SignedEntryTimestamp: []byte("set")}}
	if att != nil {
		e.Attestation = &models.LogEntryAnonAttestation{Data: att}
	}
	return map[string]models.LogEntryAnon{uuid: e}
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var statement = []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`)

// ---- bundles, with protobuf-specs' types ----

func tlogEntry(body []byte, index int64, integrated int64) *rekorpb.TransparencyLogEntry {
	kind := struct{ Kind, APIVersion string }{}
	json.Unmarshal(body, &kind)
	logID, _ := hex.DecodeString(PublicRekorLogID)
	return &rekorpb.TransparencyLogEntry{LogIndex: index, LogId: &commonpb.LogId{KeyId: logID}, IntegratedTime: integrated,
		KindVersion:       &rekorpb.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		InclusionPromise:  &rekorpb.InclusionPromise{SignedEntryTimestamp: []byte("set")},
		CanonicalizedBody: body}
}

func messageBundle(t testing.TB, sig, digest []byte, cert []byte, hint string, entries ...*rekorpb.TransparencyLogEntry) []byte {
	vm := &bundlepb.VerificationMaterial{TlogEntries: entries}
	if cert != nil {
		vm.Content = &bundlepb.VerificationMaterial_Certificate{Certificate: &commonpb.X509Certificate{RawBytes: cert}}
	} else {
		vm.Content = &bundlepb.VerificationMaterial_PublicKey{PublicKey: &commonpb.PublicKeyIdentifier{Hint: hint}}
	}
	b := &bundlepb.Bundle{MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", VerificationMaterial: vm,
		Content: &bundlepb.Bundle_MessageSignature{MessageSignature: &commonpb.MessageSignature{
			MessageDigest: &commonpb.HashOutput{Algorithm: commonpb.HashAlgorithm_SHA2_256, Digest: digest}, Signature: sig}}}
	out, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func dsseBundle(t testing.TB, mediaType string, payloadType string, payload []byte, sigs [][]byte, chain [][]byte, entries ...*rekorpb.TransparencyLogEntry) []byte {
	env := &dssepb.Envelope{Payload: payload, PayloadType: payloadType}
	for _, s := range sigs {
		env.Signatures = append(env.Signatures, &dssepb.Signature{Sig: s})
	}
	var certs []*commonpb.X509Certificate
	for _, c := range chain {
		certs = append(certs, &commonpb.X509Certificate{RawBytes: c})
	}
	b := &bundlepb.Bundle{MediaType: mediaType, Content: &bundlepb.Bundle_DsseEnvelope{DsseEnvelope: env},
		VerificationMaterial: &bundlepb.VerificationMaterial{TlogEntries: entries,
			Content: &bundlepb.VerificationMaterial_X509CertificateChain{X509CertificateChain: &commonpb.X509CertificateChain{Certificates: certs}}}}
	out, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ---- checks ----

// verify checks that r carries what verifies its signature.
func verify(t *testing.T, r *record.SigRaw) {
	t.Helper()
	var pub crypto.PublicKey
	switch {
	case r.PublicKey != nil:
		k, err := x509.ParsePKIXPublicKey(r.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		pub = k
	case len(r.Certs) > 0:
		c, err := x509.ParseCertificate(r.Certs[0])
		if err != nil {
			t.Fatal(err)
		}
		pub = c.PublicKey
	default:
		t.Fatalf("no signer material: %+v", r)
	}
	var digest []byte
	switch r.Type {
	case record.SigMessage:
		d, _ := hex.DecodeString(strings.TrimPrefix(r.Digest, "sha256:"))
		digest = d
	case record.SigDSSE:
		if r.Payload == nil {
			t.Fatalf("DSSE without payload: %+v", r)
		}
		digest = sha(record.DSSEPAE(r.PayloadType, r.Payload))
	}
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, digest, r.Sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, r.Sig) == nil
	}
	if !ok {
		t.Errorf("signature does not verify: %+v", r)
	}
}

func raw(t *testing.T, s record.Sighting) *record.SigRaw {
	t.Helper()
	r, err := record.DecodeSigRaw(s.Raw)
	if err != nil {
		t.Fatalf("%s: %v", s.Pos, err)
	}
	if record.RawArtifactKey(s.Kind, s.Raw) != r.Key() || s.Kind != record.KindSignature || s.Source != record.SourceCI {
		t.Fatalf("%s: bad sighting %+v", s.Pos, s)
	}
	return r
}

func parse(t *testing.T, f record.Format, name string, data []byte) *recordtest.Collector {
	t.Helper()
	c, err := recordtest.Parse(f, name, data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Accounted() != c.Stats.Records {
		t.Fatalf("accounting: %d records, %d accounted", c.Stats.Records, c.Accounted())
	}
	recordtest.CheckInvariants(t, f, data)
	return c
}

// ---- tests ----

func TestRekorHashedRekord(t *testing.T) {
	ec, rk := ecKey(t, 1), rsaKey(t)
	blob := []byte("release-1.0.tar.gz")
	d := sha(blob)
	ecSig, rsaSig := signDigest(t, ec, d), signDigest(t, rk, d)
	cert := fulcioCert(t, ec)
	b1 := hashedRekordBody(t, ecSig, d, pubPEM(t, ec.Public()))
	b2 := hashedRekordBody(t, rsaSig, d, pubPEM(t, rk.Public()))
	b3 := hashedRekordBody(t, ecSig, d, certPEM(cert))
	// one object holding two entries, then one holding the third
	two := map[string]models.LogEntryAnon{}
	for k, v := range logEntry(t, "", b1, 100, nil) {
		two[k] = v
	}
	data := append(mustJSON(t, logEntry(t, "", b2, 101, nil)), '\n')
	data = append(data, mustJSON(t, logEntry(t, "", b3, 102, nil))...)
	c := parse(t, RekorEntries, "entries.json", append(mustJSON(t, two), data...))
	if len(c.Sightings) != 3 || len(c.Rejects) != 0 {
		t.Fatalf("%+v", c)
	}
	for i, s := range c.Sightings {
		r := raw(t, s)
		verify(t, r)
		if s.Observer != "rekor.sigstore.dev" || !s.ObservedAt.Equal(t0.Add(time.Duration(100+i)*time.Second)) || r.Digest != record.SHA256Digest(blob) ||
			!strings.Contains(s.Attrs, `"rekor_kind":"hashedrekord"`) || !strings.Contains(s.Attrs, `"entry_uuid"`) || s.Pos.Line != int64(i+1) {
			t.Errorf("%d: %+v", i, s)
		}
	}
	if r := raw(t, c.Sightings[2]); len(r.Certs) != 1 || r.PublicKey != nil {
		t.Errorf("certificate signer: %+v", r)
	}
	// the same signature with a key or a certificate is one artifact
	if raw(t, c.Sightings[0]).Key() != raw(t, c.Sightings[2]).Key() {
		t.Error("same signature, two keys")
	}
	if c.Sightings[0].Action != "logged hashedrekord 0.0.1 at index 100" {
		t.Errorf("action %q", c.Sightings[0].Action)
	}
}

func TestRekorDSSEAndIntoto(t *testing.T) {
	ec := ecKey(t, 2)
	pae := record.DSSEPAE(inTotoPayloadType, statement)
	sig := signDigest(t, ec, sha(pae))
	ds := dsseBody(t, statement, []dsseSig{{sig, pubPEM(t, ec.Public())}, {sig[:10], pubPEM(t, ec.Public())}})
	it := intotoBody(t, inTotoPayloadType, statement, []dsseSig{{sig, pubPEM(t, ec.Public())}})
	arr := []any{logEntry(t, "", ds, 7, statement), logEntry(t, "", it, 8, nil), logEntry(t, "", it, 9, []byte("other payload"))}
	c := parse(t, RekorEntries, "retrieve.json", mustJSON(t, arr))
	if len(c.Sightings) != 4 || len(c.Rejects) != 1 {
		t.Fatalf("%+v", c)
	}
	r := raw(t, c.Sightings[0])
	verify(t, r)
	if r.Type != record.SigDSSE || r.PayloadType != inTotoPayloadType || r.PayloadHash != "" {
		t.Errorf("dsse with attestation: %+v", r)
	}
	ri := raw(t, c.Sightings[2])
	if ri.PayloadHash != record.SHA256Digest(statement) || ri.Payload != nil || ri.PayloadType != inTotoPayloadType || string(ri.Sig) != string(sig) {
		t.Errorf("intoto 0.0.2: %+v", ri)
	}
	if ri.Key() != r.Key() {
		t.Error("one DSSE signature in dsse and intoto entries is two artifacts")
	}
	if c.Sightings[3].Salvaged == "" || !strings.Contains(c.Rejects[0].Reason, ReasonAttestation) || !strings.Contains(c.Rejects[0].Reason, "log index 9") {
		t.Errorf("attestation mismatch: %+v %+v", c.Sightings[3], c.Rejects)
	}
}

func TestRekorRejects(t *testing.T) {
	ec := ecKey(t, 3)
	d := sha([]byte("x"))
	good := hashedRekordBody(t, signDigest(t, ec, d), d, pubPEM(t, ec.Public()))
	badSig := dsseBody(t, statement, []dsseSig{{[]byte("s"), pubPEM(t, ec.Public())}})
	badSig = []byte(strings.Replace(string(badSig), `"signature":"cw=="`, `"signature":"!!!"`, 1))
	unknown := []byte(`{"apiVersion":"9.9.9","kind":"hashedrekord","spec":{}}`)
	notPEM := hashedRekordBody(t, []byte("sig"), d, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	e := func(v any) string { return string(mustJSON(t, v)) }
	badB64 := strings.Replace(e(logEntry(t, "", good, 2, nil)), `"body":"`, `"body":"%%%`, 1)
	lines := []string{
		e(logEntry(t, "", good, 1, nil)),
		badB64,
		e(logEntry(t, strings.Repeat("0", 64), good, 3, nil)),
		e(logEntry(t, "", badSig, 4, nil)),
		e(logEntry(t, "", unknown, 5, nil)),
		e(logEntry(t, "", notPEM, 6, nil)),
		e(logEntry(t, "", []byte(`{"apiVersion":"0.0.1","kind":"rpm","spec":{}}`), 7, nil)),
		e(logEntry(t, "", good, 8, nil))[:40],
		e(logEntry(t, "", good, 9, nil)),
	}
	data := []byte(strings.Join(lines, "\n"))
	c := parse(t, RekorEntries, "entries.jsonl", data)
	if len(c.Rejects) != 6 || len(c.Ignores) != 1 || c.Stats.Records != 9 {
		t.Fatalf("%d rejects %d ignores %d records: %+v", len(c.Rejects), len(c.Ignores), c.Stats.Records, c.Rejects)
	}
	want := map[int64]string{2: "body is not base64", 3: ReasonUUIDMismatch, 4: "signature 1 is not base64", 5: "unknown kind", 6: "neither a public key nor a certificate", 8: "not JSON"}
	for _, r := range c.Rejects {
		if w, ok := want[r.Pos.Line]; !ok || !strings.Contains(r.Reason, w) {
			t.Errorf("line %d: %q, want %q", r.Pos.Line, r.Reason, w)
		}
	}
	var salvaged int
	for _, s := range c.Sightings {
		if s.Salvaged != "" {
			salvaged++
			if s.Pos.Line != 3 && s.Pos.Line != 6 {
				t.Errorf("salvaged at %d", s.Pos.Line)
			}
		}
	}
	if salvaged != 2 || len(c.Sightings) != 4 {
		t.Errorf("%d sightings, %d salvaged", len(c.Sightings), salvaged)
	}
	// a truncated document: rejected, the entries before it stand
	pretty, _ := json.MarshalIndent(logEntry(t, "", good, 1, nil), "", "  ")
	doc := string(pretty) + "\n" + "{\n" + e(logEntry(t, "", good, 2, nil))[1:60]
	if c := parse(t, RekorEntries, "dump.json", []byte(doc)); len(c.Sightings) != 1 || len(c.Rejects) != 1 || c.Rejects[0].Pos.Line != 2 ||
		!strings.Contains(c.Rejects[0].Reason, fmt.Sprintf("line %d: not JSON", strings.Count(string(pretty), "\n")+2)) {
		t.Fatalf("truncated: %+v", c)
	}
}

func TestBundles(t *testing.T) {
	ec := ecKey(t, 4)
	blob := []byte("app-linux-amd64")
	d := sha(blob)
	sig := signDigest(t, ec, d)
	cert := fulcioCert(t, ec)
	body := hashedRekordBody(t, sig, d, certPEM(cert))
	b := messageBundle(t, sig, d, cert, "", tlogEntry(body, 500, t0.Unix()))
	c := parse(t, Bundle, "app.sigstore.json", b)
	if len(c.Sightings) != 1 || len(c.Rejects) != 0 {
		t.Fatalf("%+v", c)
	}
	r := raw(t, c.Sightings[0])
	verify(t, r)
	s := c.Sightings[0]
	if s.Observer != "rekor.sigstore.dev" || !s.ObservedAt.Equal(t0) || !strings.Contains(s.Attrs, `"log_index":500`) ||
		!strings.Contains(s.Attrs, `"bundle_media_type":"application/vnd.dev.sigstore.bundle.v0.3+json"`) {
		t.Errorf("%+v", s)
	}
	// the same signature as a Rekor entry: one artifact
	ce := parse(t, RekorEntries, "e.json", mustJSON(t, logEntry(t, "", body, 500, nil)))
	if raw(t, ce.Sightings[0]).Key() != r.Key() {
		t.Error("bundle and Rekor entry disagree")
	}

	// key-signed, hint only: the key comes from the body
	kb := hashedRekordBody(t, sig, d, pubPEM(t, ec.Public()))
	c = parse(t, Bundle, "k.sigstore.json", messageBundle(t, sig, d, nil, "release-key", tlogEntry(kb, 1, 0)))
	if r := raw(t, c.Sightings[0]); r.KeyHint != "release-key" || r.PublicKey == nil || !c.Sightings[0].ObservedAt.IsZero() {
		t.Errorf("hint: %+v", r)
	} else {
		verify(t, r)
	}

	// a body that disagrees: reject and salvaged sighting
	other := hashedRekordBody(t, sig, sha([]byte("other")), certPEM(cert))
	c = parse(t, Bundle, "m.sigstore.json", messageBundle(t, sig, d, cert, "", tlogEntry(other, 2, 1)))
	if len(c.Rejects) != 1 || len(c.Sightings) != 1 || c.Sightings[0].Salvaged == "" || !strings.Contains(c.Rejects[0].Reason, ReasonBodyMismatch) {
		t.Fatalf("mismatch: %+v", c)
	}

	// DSSE, logged twice (Rekor v1 and a v2 hashedrekord of the PAE): two sightings
	pae := record.DSSEPAE(inTotoPayloadType, statement)
	dsig := signDigest(t, ec, sha(pae))
	v2 := mustJSON(t, map[string]any{"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": map[string]any{"hashedRekordV002": map[string]any{
		"data":      map[string]any{"algorithm": "SHA2_256", "digest": sha(pae)},
		"signature": map[string]any{"content": dsig, "verifier": map[string]any{"x509Certificate": map[string]any{"rawBytes": cert}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}})
	db := dsseBundle(t, "application/vnd.dev.sigstore.bundle+json;version=0.2", inTotoPayloadType, statement, [][]byte{dsig}, [][]byte{cert},
		tlogEntry(dsseBody(t, statement, []dsseSig{{dsig, certPEM(cert)}}), 10, t0.Unix()), tlogEntry(v2, 11, 0))
	c = parse(t, Bundle, "att.sigstore.json", db)
	if len(c.Sightings) != 2 || len(c.Rejects) != 0 {
		t.Fatalf("dsse: %+v", c)
	}
	for _, s := range c.Sightings {
		verify(t, raw(t, s))
	}
	if !c.Sightings[1].ObservedAt.IsZero() || !strings.Contains(c.Sightings[1].Attrs, `"rekor_version":"0.0.2"`) {
		t.Errorf("v2 entry: %+v", c.Sightings[1])
	}

	// GitHub and npm wrappers
	gh := mustJSON(t, map[string]any{"attestations": []any{map[string]any{"bundle": json.RawMessage(db), "repository_id": 123, "bundle_url": "https://example/x"}}})
	c = parse(t, Bundle, "gh.json", gh)
	if len(c.Sightings) != 2 || !strings.Contains(c.Sightings[0].Attrs, `"repository_id":123`) || !strings.Contains(c.Sightings[0].Attrs, wrapperGitHub) {
		t.Errorf("github: %+v", c.Sightings)
	}
	npm := mustJSON(t, map[string]any{"attestations": []any{map[string]any{"predicateType": "https://github.com/npm/attestation/tree/main/specs/publish/v0.1", "bundle": json.RawMessage(b)}}})
	c = parse(t, Bundle, "npm.json", npm)
	if len(c.Sightings) != 1 || !strings.Contains(c.Sightings[0].Attrs, `"predicate_type":"https://github.com/npm/attestation`) {
		t.Errorf("npm: %+v", c.Sightings)
	}
}

func TestCosignManifest(t *testing.T) {
	ec := ecKey(t, 5)
	payload := []byte(`{"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("cd", 32) + `"},"type":"cosign container image signature"},"optional":null}`)
	d := sha(payload)
	sig := signDigest(t, ec, d)
	body := hashedRekordBody(t, sig, d, pubPEM(t, ec.Public()))
	cb := mustJSON(t, map[string]any{"SignedEntryTimestamp": "c2V0", "Payload": map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": t0.Unix(), "logIndex": 77, "logID": PublicRekorLogID}})
	m := manifest(t, []map[string]any{
		{"mediaType": simpleSigningType, "size": len(payload), "digest": "sha256:" + hex.EncodeToString(d),
			"annotations": map[string]string{annotSignature: base64.StdEncoding.EncodeToString(sig), annotBundle: string(cb)}},
		{"mediaType": dsseLayerType, "size": 10, "digest": "sha256:" + strings.Repeat("ef", 32), "annotations": map[string]string{annotSignature: "", "predicateType": "https://slsa.dev/provenance/v1"}},
	})
	if !Bundle.Sniff([][]byte{m}) || RekorEntries.Sniff([][]byte{m}) {
		t.Fatal("sniff")
	}
	c := parse(t, Bundle, "sha256-abc.sig", m)
	if len(c.Sightings) != 1 || len(c.Ignores) != 1 || c.Ignores[0].Reason != IgnoreAttLayer {
		t.Fatalf("%+v", c)
	}
	r := raw(t, c.Sightings[0])
	verify(t, r)
	if r.Digest != record.SHA256Digest(payload) || !c.Sightings[0].ObservedAt.Equal(t0) || !strings.Contains(c.Sightings[0].Attrs, `"log_index":77`) {
		t.Errorf("%+v", c.Sightings[0])
	}
	ce := parse(t, RekorEntries, "e.json", mustJSON(t, logEntry(t, "", body, 77, nil)))
	if raw(t, ce.Sightings[0]).Key() != r.Key() {
		t.Error("OCI layer and Rekor entry: two artifacts")
	}
}

func manifest(t testing.TB, layers []map[string]any) []byte {
	return mustJSON(t, map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "size": 233, "digest": "sha256:" + strings.Repeat("01", 32)}, "layers": layers})
}

func TestSniff(t *testing.T) {
	ec := ecKey(t, 6)
	d := sha([]byte("a"))
	body := hashedRekordBody(t, signDigest(t, ec, d), d, pubPEM(t, ec.Public()))
	entry := mustJSON(t, logEntry(t, "", body, 1, nil))
	var pretty = func(b []byte) []byte {
		var v any
		json.Unmarshal(b, &v)
		out, _ := json.MarshalIndent(v, "", "  ")
		return out
	}
	lines := func(b []byte) [][]byte {
		l := strings.Split(string(b), "\n")
		if len(l) > record.SniffLines {
			l = l[:record.SniffLines]
		}
		var out [][]byte
		for _, s := range l {
			out = append(out, []byte(s))
		}
		return out
	}
	bundle := messageBundle(t, []byte("s"), d, nil, "h")
	env := []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"c2ln"}]}`)
	cases := []struct {
		data          []byte
		rekor, bundle bool
	}{
		{entry, true, false},
		{pretty(entry), true, false},
		{[]byte("[" + string(entry) + "]"), true, false},
		{bundle, false, true},
		{pretty(bundle), false, true},
		{[]byte(`{"attestations":[{"bundle":{"mediaType":"x"}}]}`), false, true},
		{env, false, false},
		{statement, false, false},
		{[]byte(`{"entries":[{"leaf_input":"AAA","extra_data":"AAA"}]}`), false, false},
		{[]byte(`{"time":"2026-03-01T00:00:00Z","method":"GET","path":"/","authorization":"Bearer x"}`), false, false},
		{[]byte(`127.0.0.1 - - [01/Mar/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1`), false, false},
	}
	for i, c := range cases {
		if got := RekorEntries.Sniff(lines(c.data)); got != c.rekor {
			t.Errorf("%d: rekor sniff %v", i, got)
		}
		if got := RekorEntries.(record.FileSniffer).SniffFile("x.json", c.data); got != c.rekor {
			t.Errorf("%d: rekor sniff file %v", i, got)
		}
		if got := Bundle.Sniff(lines(c.data)); got != c.bundle {
			t.Errorf("%d: bundle sniff %v", i, got)
		}
		if got := Bundle.(record.FileSniffer).SniffFile("x.json", c.data); got != c.bundle {
			t.Errorf("%d: bundle sniff file %v", i, got)
		}
	}
}

func TestReasonsEscaped(t *testing.T) {
	body := []byte(`{"apiVersion":"0.0.1","kind":"\u001b[31mevil` + strings.Repeat("x", 300) + `","spec":{}}`)
	c := parse(t, RekorEntries, "e.json", mustJSON(t, logEntry(t, "", body, 1, nil)))
	if len(c.Rejects) != 1 || strings.ContainsRune(c.Rejects[0].Reason, 0x1b) || len(c.Rejects[0].Reason) > 300 {
		t.Errorf("%q", c.Rejects)
	}
}

func TestTooManySignatures(t *testing.T) {
	ec := ecKey(t, 7)
	var sigs []dsseSig
	for range MaxSignatures + 3 {
		sigs = append(sigs, dsseSig{[]byte("sig"), pubPEM(t, ec.Public())})
	}
	c := parse(t, RekorEntries, "e.json", mustJSON(t, logEntry(t, "", dsseBody(t, statement, sigs), 1, nil)))
	if len(c.Sightings) != MaxSignatures || len(c.Rejects) != 1 || !strings.Contains(c.Rejects[0].Reason, ReasonTooManySigs) {
		t.Errorf("%d sightings %+v", len(c.Sightings), c.Rejects)
	}
}

// ---- goldens ----

func TestGolden(t *testing.T) {
	if *genTestdata {
		generate(t)
	}
	recordtest.Golden(t, RekorEntries, filepath.Join("testdata", "rekor"), record.Options{})
	recordtest.Golden(t, Bundle, filepath.Join("testdata", "bundle"), record.Options{})
}

// generate writes the golden inputs (run with -gen-testdata, then -update).
func generate(t *testing.T) {
	ec, rk := ecKey(t, 11), rsaKey(t)
	cert := fulcioCert(t, ec)
	blob := []byte("forgehunt-golden-artifact")
	d := sha(blob)
	sig, rsig := signDigest(t, ec, d), signDigest(t, rk, d)
	hr := hashedRekordBody(t, sig, d, pubPEM(t, ec.Public()))
	hrRSA := hashedRekordBody(t, rsig, d, pubPEM(t, rk.Public()))
	hrCert := hashedRekordBody(t, sig, d, certPEM(cert))
	dsig := signDigest(t, ec, sha(record.DSSEPAE(inTotoPayloadType, statement)))
	ds := dsseBody(t, statement, []dsseSig{{dsig, certPEM(cert)}})
	it := intotoBody(t, inTotoPayloadType, statement, []dsseSig{{dsig, pubPEM(t, ec.Public())}})
	e := func(v any) string { return string(mustJSON(t, v)) }
	pretty := func(v any) []byte { b, _ := json.MarshalIndent(v, "", "  "); return b }
	rekor := map[string][]byte{
		"one-entry.json":      pretty(logEntry(t, "", hr, 1001, nil)),
		"concatenated.json":   []byte(string(pretty(logEntry(t, "", hrRSA, 1002, nil))) + "\n" + string(pretty(logEntry(t, "", hrCert, 1003, nil))) + "\n"),
		"retrieve-array.json": pretty([]any{logEntry(t, "", ds, 1004, statement), logEntry(t, "", it, 1005, nil)}),
		"entries.jsonl": []byte(strings.Join([]string{
			e(logEntry(t, "", hr, 2001, nil)),
			strings.Replace(e(logEntry(t, "", hr, 2002, nil)), `"body":"`, `"body":"*`, 1),
			e(logEntry(t, strings.Repeat("ab", 32), hr, 2003, nil)),
			e(logEntry(t, "", []byte(strings.Replace(string(ds), `"signature":"`, `"signature":"!`, 1)), 2004, nil)),
			e(logEntry(t, "", []byte(`{"apiVersion":"0.0.1","kind":"notakind","spec":{}}`), 2005, nil)),
			e(logEntry(t, "", []byte(`{"apiVersion":"0.0.1","kind":"intoto","spec":{"content":{}}}`), 2006, nil)),
			e(logEntry(t, "", hr, 2007, nil))[:50],
			e(logEntry(t, "0123456789abcdef"+leafUUID(hrRSA), hrRSA, 2008, nil)),
		}, "\n") + "\n"),
	}
	v2 := mustJSON(t, map[string]any{"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": map[string]any{"hashedRekordV002": map[string]any{
		"data":      map[string]any{"algorithm": "SHA2_256", "digest": d},
		"signature": map[string]any{"content": sig, "verifier": map[string]any{"publicKey": map[string]any{"rawBytes": mustDER(t, ec.Public())}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}}})
	msg := messageBundle(t, sig, d, cert, "", tlogEntry(hrCert, 1003, t0.Unix()))
	hinted := messageBundle(t, sig, d, nil, "forgehunt-release-key", tlogEntry(hr, 1001, t0.Unix()), tlogEntry(v2, 9, 0))
	att := dsseBundle(t, "application/vnd.dev.sigstore.bundle+json;version=0.1", inTotoPayloadType, statement, [][]byte{dsig}, [][]byte{cert}, tlogEntry(ds, 1004, t0.Unix()))
	bad := messageBundle(t, sig, d, cert, "", tlogEntry(hrRSA, 1002, t0.Unix()))
	payload := []byte(`{"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("cd", 32) + `"},"type":"cosign container image signature"},"optional":null}`)
	pd := sha(payload)
	psig := signDigest(t, ec, pd)
	pbody := hashedRekordBody(t, psig, pd, certPEM(cert))
	cb := e(map[string]any{"SignedEntryTimestamp": "c2V0", "Payload": map[string]any{"body": base64.StdEncoding.EncodeToString(pbody), "integratedTime": t0.Unix() + 60, "logIndex": 3001, "logID": PublicRekorLogID}})
	bundles := map[string][]byte{
		"message.sigstore.json":    msg,
		"hinted.sigstore.json":     pretty(json.RawMessage(hinted)),
		"dsse-v01.sigstore.json":   att,
		"lines.sigstore.jsonl":     []byte(string(msg) + "\n" + string(bad) + "\n" + `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"` + "\n" + `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{}}` + "\n"),
		"github-attestations.json": pretty(map[string]any{"attestations": []any{map[string]any{"bundle": json.RawMessage(att), "repository_id": 4242, "bundle_url": "https://example.invalid/b"}}}),
		"npm-attestations.json": pretty(map[string]any{"attestations": []any{
			map[string]any{"predicateType": "https://slsa.dev/provenance/v1", "bundle": json.RawMessage(att)},
			map[string]any{"predicateType": "https://github.com/npm/attestation/tree/main/specs/publish/v0.1", "bundle": json.RawMessage(hinted)}}}),
		"cosign-sig-manifest.json": pretty(json.RawMessage(manifest(t, []map[string]any{
			{"mediaType": simpleSigningType, "size": len(payload), "digest": "sha256:" + hex.EncodeToString(pd),
				"annotations": map[string]string{annotSignature: base64.StdEncoding.EncodeToString(psig), annotCertificate: string(certPEM(cert)), annotChain: string(certPEM(cert)), annotBundle: cb}},
			{"mediaType": simpleSigningType, "size": len(payload), "digest": "sha256:" + hex.EncodeToString(pd),
				"annotations": map[string]string{annotSignature: "not base64!"}},
			{"mediaType": dsseLayerType, "size": 100, "digest": "sha256:" + strings.Repeat("ef", 32), "annotations": map[string]string{annotSignature: ""}},
		}))),
	}
	write := func(dir string, files map[string][]byte) {
		os.MkdirAll(dir, 0o755)
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(filepath.Join("testdata", "rekor"), rekor)
	write(filepath.Join("testdata", "bundle"), bundles)
}

func mustDER(t testing.TB, k crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestGoldenSignaturesVerify checks that every sighting of the golden
// inputs that has its signer and payload verifies.
func TestGoldenSignaturesVerify(t *testing.T) {
	for _, c := range []struct {
		f   record.Format
		dir string
	}{{RekorEntries, "rekor"}, {Bundle, "bundle"}} {
		files, _ := filepath.Glob(filepath.Join("testdata", c.dir, "*"))
		for _, p := range files {
			if strings.HasSuffix(p, ".golden") {
				continue
			}
			data, _ := os.ReadFile(p)
			col := parse(t, c.f, filepath.Base(p), data)
			for _, s := range col.Sightings {
				r := raw(t, s)
				if s.Salvaged != "" || r.Type == record.SigDSSE && r.Payload == nil || r.PublicKey == nil && r.Certs == nil {
					continue
				}
				verify(t, r)
			}
		}
	}
}

func FuzzParseRekor(f *testing.F) {
	recordtest.Seeds(f, filepath.Join("testdata", "rekor"))
	f.Fuzz(func(t *testing.T, data []byte) { recordtest.CheckInvariants(t, RekorEntries, data) })
}

func FuzzParseBundle(f *testing.F) {
	recordtest.Seeds(f, filepath.Join("testdata", "bundle"))
	// cosign's own JSON of a signature, small
	f.Add([]byte(`{"Base64Signature":"MEUCIQ==","Payload":"e30=","Cert":null,"Chain":null,"Bundle":{"SignedEntryTimestamp":"","Payload":{"body":"e30=","integratedTime":1,"logIndex":2,"logID":"ab"}}}` + "\n"))
	f.Add([]byte(`{"base64Signature":"MEUCIQ==","cert":"LS0tLS1CRUdJTg==","rekorBundle":null}`))
	f.Fuzz(func(t *testing.T, data []byte) { recordtest.CheckInvariants(t, Bundle, data) })
}

// cosign's own JSON of a signature: `cosign download signature` lines (the
// simple-signing payload, Go's JSON of the certificate) and the legacy
// blob bundle of `cosign sign-blob --bundle` (base64 of a PEM certificate,
// the digest only in the logged body). Each is the same artifact as its
// Rekor entry.
func TestCosignSignedPayloads(t *testing.T) {
	ec := ecKey(t, 7)
	payload := []byte(`{"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("ab", 32) + `"},"type":"cosign container image signature"},"optional":null}`)
	d := sha(payload)
	sig := signDigest(t, ec, d)
	body := hashedRekordBody(t, sig, d, pubPEM(t, ec.Public()))
	rb := map[string]any{"SignedEntryTimestamp": "c2V0", "Payload": map[string]any{"body": base64.StdEncoding.EncodeToString(body), "integratedTime": t0.Unix(), "logIndex": 91, "logID": PublicRekorLogID}}
	line := mustJSON(t, map[string]any{"Base64Signature": base64.StdEncoding.EncodeToString(sig), "Payload": payload, "Cert": nil, "Chain": nil, "Bundle": rb, "RFC3161Timestamp": nil})
	// a second line: the same image signed in CI with a certificate, no log entry
	ciKey := ecKey(t, 8)
	leaf := fulcioCert(t, ciKey)
	sig2 := signDigest(t, ciKey, d)
	line2 := mustJSON(t, map[string]any{"Base64Signature": base64.StdEncoding.EncodeToString(sig2), "Payload": payload,
		"Cert": map[string]any{"Raw": leaf, "Version": 3}, "Chain": []map[string]any{{"Raw": leaf}}, "Bundle": nil})
	data := append(append(append(line, '\n'), line2...), '\n')
	if !Bundle.Sniff([][]byte{line}) || RekorEntries.Sniff([][]byte{line}) {
		t.Fatal("sniff")
	}
	c := parse(t, Bundle, "signatures.json", data)
	if len(c.Sightings) != 2 || len(c.Rejects) != 0 {
		t.Fatalf("%+v", c)
	}
	r := raw(t, c.Sightings[0])
	verify(t, r)
	if !bytes.Equal(r.Payload, payload) || r.Digest != record.SHA256Digest(payload) || !c.Sightings[0].ObservedAt.Equal(t0) {
		t.Errorf("download signature: %+v", r)
	}
	ce := parse(t, RekorEntries, "e.json", mustJSON(t, logEntry(t, "", body, 91, nil)))
	if raw(t, ce.Sightings[0]).Key() != r.Key() {
		t.Error("download signature and Rekor entry: two artifacts")
	}
	if r2 := raw(t, c.Sightings[1]); len(r2.Certs) != 2 || !bytes.Equal(r2.Certs[0], leaf) {
		t.Errorf("certificate from Go's JSON: %d certs", len(r2.Certs))
	}

	// the legacy blob bundle
	blob := []byte("release-1.2.3.tar.gz contents")
	bd := sha(blob)
	bsig := signDigest(t, ec, bd)
	bbody := hashedRekordBody(t, bsig, bd, pubPEM(t, ec.Public()))
	legacy := mustJSON(t, map[string]any{"base64Signature": base64.StdEncoding.EncodeToString(bsig),
		"cert":        base64.StdEncoding.EncodeToString(pubPEM(t, ec.Public())),
		"rekorBundle": map[string]any{"SignedEntryTimestamp": "c2V0", "Payload": map[string]any{"body": base64.StdEncoding.EncodeToString(bbody), "integratedTime": t0.Unix(), "logIndex": 92, "logID": PublicRekorLogID}}})
	if !Bundle.(record.FileSniffer).SniffFile("release.tar.gz.bundle", legacy) {
		t.Fatal("legacy bundle not sniffed")
	}
	cl := parse(t, Bundle, "release.tar.gz.bundle", legacy)
	if len(cl.Sightings) != 1 {
		t.Fatalf("legacy bundle: %+v", cl)
	}
	lr := raw(t, cl.Sightings[0])
	if lr.Digest != record.SHA256Digest(blob) {
		t.Errorf("legacy bundle digest %s", lr.Digest)
	}
	// a bundle whose logged body is another signature's is rejected
	bad := bytes.Replace(legacy, []byte(base64.StdEncoding.EncodeToString(bsig)), []byte(base64.StdEncoding.EncodeToString(sig)), 1)
	if cb := parse(t, Bundle, "bad.bundle", bad); len(cb.Rejects) != 1 || len(cb.Sightings) != 0 {
		t.Errorf("mismatched legacy bundle: %+v", cb)
	}
}
