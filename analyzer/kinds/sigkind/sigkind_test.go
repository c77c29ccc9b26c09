package sigkind

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/analyzer/kinds/kindtest"
	"github.com/forgehunt/forgehunt/parsers/record"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func spki(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func keyOf(t testing.TB, pub crypto.PublicKey, role string) *keys.Key {
	t.Helper()
	ks, err := keys.Parse(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki(t, pub)}), "key.pem", role)
	if err != nil {
		t.Fatal(err)
	}
	return ks[0]
}

func certKeyOf(t testing.TB, c *x509.Certificate, role string) *keys.Key {
	t.Helper()
	ks, err := keys.Parse(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), "ca.pem", role)
	if err != nil {
		t.Fatal(err)
	}
	return ks[0]
}

func digestOf(b []byte) (string, []byte) {
	sum := sha256.Sum256(b)
	return record.SHA256Digest(b), sum[:]
}

// messageSig is a hashedrekord-style signature by priv over blob's digest.
func messageSig(t testing.TB, priv crypto.Signer, blob []byte) *record.SigRaw {
	t.Helper()
	d, sum := digestOf(blob)
	sig, err := priv.Sign(rand.Reader, sum, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &record.SigRaw{Type: record.SigMessage, Sig: sig, Digest: d, PublicKey: spki(t, priv.Public())}
}

func provStatement(subjectDigest, builder string) []byte {
	h := strings.TrimPrefix(subjectDigest, "sha256:")
	return []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app.tar.gz","digest":{"sha256":"` + h + `"}}],` +
		`"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1"},` +
		`"runDetails":{"builder":{"id":"` + builder + `"},"metadata":{"invocationId":"https://github.com/acme/app/actions/runs/1/attempts/1"}}}}`)
}

func dsseSig(t testing.TB, priv crypto.Signer, payload []byte) *record.SigRaw {
	t.Helper()
	pt := "application/vnd.in-toto+json"
	pae := record.DSSEPAE(pt, payload)
	var sig []byte
	var err error
	if _, ok := priv.(ed25519.PrivateKey); ok {
		sig, err = priv.Sign(rand.Reader, pae, crypto.Hash(0))
	} else {
		sum := sha256.Sum256(pae)
		sig, err = priv.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &record.SigRaw{Type: record.SigDSSE, Sig: sig, PayloadType: pt, Payload: payload, PublicKey: spki(t, priv.Public())}
}

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t testing.TB, cn string) *ca {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{"sigstore.dev"}},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{c, key}
}

func utf8Ext(t testing.TB, n int, v string) pkix.Extension {
	b, err := asn1.MarshalWithParams(v, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n}, Value: b}
}

// fulcioLeaf is a short-lived code-signing certificate for a GitHub
// Actions workflow, as Fulcio issues them, and its key.
func fulcioLeaf(t testing.TB, issuer *ca) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	u, _ := url.Parse("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.0")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), NotBefore: t0, NotAfter: t0.Add(10 * time.Minute), URIs: []*url.URL{u},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte("https://token.actions.githubusercontent.com")},
			utf8Ext(t, 8, "https://token.actions.githubusercontent.com"),
			utf8Ext(t, 12, "https://github.com/acme/app"),
			utf8Ext(t, 13, "0123456789abcdef0123456789abcdef01234567"),
			utf8Ext(t, 15, "refs/tags/v1.2.0"),
			utf8Ext(t, 21, "https://github.com/acme/app/actions/runs/42/attempts/1"),
		}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.cert, key.Public(), issuer.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func TestVerify(t *testing.T) {
	exposedPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaPriv, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	exposed := keyOf(t, exposedPriv.Public(), keys.RoleExposed)
	set := []*keys.Key{exposed, keyOf(t, rsaPriv.Public(), keys.RoleExposed), keyOf(t, edPriv.Public(), keys.RoleTrusted)}

	built := messageSig(t, exposedPriv, []byte("release 1.2.0"))
	check := func(name string, r *record.SigRaw, opts kinds.Options, status string, flags ...string) kinds.Verdict {
		t.Helper()
		before := Checks.Load()
		v := Kind{}.Verify(r.Encode(), set, opts)
		if v.Status != status {
			t.Errorf("%s: status %s (%s), want %s", name, v.Status, v.Note, status)
		}
		for _, f := range flags {
			if !slices.Contains(v.Flags, f) {
				t.Errorf("%s: flags %v lack %s", name, v.Flags, f)
			}
		}
		if status == kinds.StatusUnknownKey && slices.Contains(flags, FlagSignerMismatch) && Checks.Load() != before {
			t.Errorf("%s: a signer that is no given key cost a signature check", name)
		}
		return v
	}

	v := check("message by the exposed key", built, kinds.Options{}, kinds.StatusValid)
	if v.SignerFP != exposed.FP || v.ID != built.Digest || !slices.Equal(v.Names, nil) && !slices.Equal(v.Names, []string{built.Digest}) {
		t.Errorf("verdict %+v", v)
	}
	check("message by another key", messageSig(t, otherPriv, []byte("x")), kinds.Options{}, kinds.StatusUnknownKey, FlagSignerMismatch)

	tampered := *built
	tampered.Digest = record.SHA256Digest([]byte("release 1.2.1"))
	check("the exposed key's signature over another digest", &tampered, kinds.Options{}, kinds.StatusInvalid)

	check("RSA", messageSig(t, rsaPriv, []byte("rsa blob")), kinds.Options{}, kinds.StatusValid)

	hinted := messageSig(t, exposedPriv, []byte("hinted"))
	hinted.PublicKey, hinted.KeyHint = nil, "cosign-key-1"
	check("a bundle with a key hint only is tried against the keys", hinted, kinds.Options{}, kinds.StatusValid, FlagNoSigner)

	d, _ := digestOf([]byte("app.tar.gz"))
	att := dsseSig(t, exposedPriv, provStatement(d, "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"))
	v = check("an attestation by the exposed key", att, kinds.Options{}, kinds.StatusValid, FlagDSSE, FlagInToto)
	if v.ID != d || !slices.Equal(v.Names, []string{d}) {
		t.Errorf("attestation id %s names %v, want its subject %s", v.ID, v.Names, d)
	}
	var st statement
	if err := json.Unmarshal([]byte(v.Claims), &st); err != nil || st.PredicateType != "https://slsa.dev/provenance/v1" ||
		!strings.Contains(st.BuilderID, "release.yml") || st.InvocationID == "" {
		t.Errorf("claims %s", v.Claims)
	}

	hashOnly := *att
	hashOnly.PayloadHash, hashOnly.Payload = record.SHA256Digest(att.Payload), nil
	check("a Rekor dsse entry without its payload", &hashOnly, kinds.Options{}, kinds.StatusUnverifiable, FlagPayloadAbsent, FlagClaimedSigner+exposed.FP)
	if (Kind{}).Key(hashOnly.Encode()) != (Kind{}).Key(att.Encode()) {
		t.Error("the same attestation with and without its payload are two artifacts")
	}

	check("Ed25519 DSSE by a trusted key", dsseSig(t, edPriv, provStatement(d, "b")), kinds.Options{}, kinds.StatusValid)
	check("deferred trusted key", dsseSig(t, edPriv, provStatement(d, "b")), kinds.Options{DeferTrusted: true}, kinds.StatusNotChecked)

	simple := []byte(`{"critical":{"identity":{"docker-reference":"ghcr.io/acme/app"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("ab", 32) + `"},"type":"cosign container image signature"},"optional":null}`)
	img := messageSig(t, exposedPriv, simple)
	img.Payload = simple
	v = check("a cosign image signature with its payload", img, kinds.Options{}, kinds.StatusValid, FlagSimpleSigning)
	if v.ID != "sha256:"+strings.Repeat("ab", 32) {
		t.Errorf("image signature id %s", v.ID)
	}

	// A certificate issued by an exposed CA key: the CA verifies the
	// certificate, the certificate the signature.
	fulcio := newCA(t, "sigstore-intermediate")
	leaf, leafKey := fulcioLeaf(t, fulcio)
	caKey := certKeyOf(t, fulcio.cert, keys.RoleExposed)
	byCert := messageSig(t, leafKey, []byte("signed in CI"))
	byCert.PublicKey, byCert.Certs = nil, [][]byte{leaf.Raw}
	v = Kind{}.Verify(byCert.Encode(), []*keys.Key{caKey}, kinds.Options{})
	if v.Status != kinds.StatusValid || v.SignerFP != caKey.FP || !slices.Contains(v.Flags, FlagViaCA) || !slices.Contains(v.Flags, FlagCertificate) {
		t.Errorf("certificate signer: %+v", v)
	}
	if !strings.Contains(v.Subject, "release.yml@refs/tags/v1.2.0") {
		t.Errorf("signer identity %q", v.Subject)
	}
	fields := map[string]string{}
	for _, f := range (Kind{}).Fields(v) {
		fields[f.Label] = f.Value
	}
	if fields["repository"] != "https://github.com/acme/app" || fields["oidc issuer"] != "https://token.actions.githubusercontent.com" ||
		fields["ref"] != "refs/tags/v1.2.0" || !strings.Contains(fields["run"], "/runs/42/") || fields["digest"] == "" {
		t.Errorf("fields %v", fields)
	}
	// The same certificate against the leaked key of someone else: no check.
	if v := (Kind{}).Verify(byCert.Encode(), []*keys.Key{exposed}, kinds.Options{}); v.Status != kinds.StatusUnknownKey || !slices.Contains(v.Flags, FlagSignerMismatch) {
		t.Errorf("foreign certificate: %+v", v)
	}

	kindtest.Check(t, Kind{}, []string{built.Encode(), att.Encode(), hashOnly.Encode(), img.Encode()}, set)
}

func FuzzVerify(f *testing.F) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Add(messageSig(f, priv, []byte("a")).Encode())
	f.Add(dsseSig(f, priv, provStatement(record.SHA256Digest([]byte("b")), "x")).Encode())
	f.Add(`{"t":"message","sig":"AQ==","digest":"sha256:zz"}`)
	f.Add(`{"t":"dsse","sig":"AQ==","payload":"e30=","certs":["AAAA"]}`)
	set := []*keys.Key{keyOf(f, priv.Public(), keys.RoleExposed)}
	f.Fuzz(func(t *testing.T, raw string) {
		kindtest.CheckVerdict(t, Kind{}, raw, set)
		_ = Kind{}.Key(raw)
	})
}
