package x509kind

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/analyzer/kinds/kindtest"
	"github.com/forgehunt/forgehunt/parsers/record"
)

var (
	oidPoison = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}
	oidSCT    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	t0        = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t testing.TB, cn string, parent *ca) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{"Example Corp"}, Country: []string{"US"}},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	signer, parentCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{cert: c, key: key}
}

// issue signs a leaf for names with issuer; extra extensions make it a
// precertificate or give it an SCT list.
func issue(t testing.TB, issuer *ca, serial int64, extra []pkix.Extension, names ...string) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: t0, NotAfter: t0.AddDate(0, 0, 90), ExtraExtensions: extra,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.cert, key.Public(), issuer.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func poison() []pkix.Extension {
	return []pkix.Extension{{Id: oidPoison, Critical: true, Value: asn1.NullRawValue.FullBytes}}
}

func sctList() []pkix.Extension {
	v, _ := asn1.Marshal([]byte{0, 4, 0, 2, 0xaa, 0xbb})
	return []pkix.Extension{{Id: oidSCT, Value: v}}
}

// psc is a Precertificate Signing Certificate of issuer.
func psc(t testing.TB, issuer *ca) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(99), Subject: pkix.Name{CommonName: "Example Issuing CA 1 Precertificate Signing"},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer.cert, key.Public(), issuer.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{cert: c, key: key}
}

func keyOf(t testing.TB, c *ca, role string) *keys.Key {
	t.Helper()
	ks, err := keys.Parse(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}), "ca.pem", role)
	if err != nil {
		t.Fatal(err)
	}
	return ks[0]
}

func TestVerify(t *testing.T) {
	root := newCA(t, "Example Root CA", nil)
	inter := newCA(t, "Example Issuing CA 1", root)
	other := newCA(t, "Other Public CA R3", nil)
	exposed := keyOf(t, inter, keys.RoleExposed)
	set := []*keys.Key{exposed}

	final := issue(t, inter, 0x0abc, sctList(), "www.example.com", "WWW.Example.com.", "api.example.com")
	pre := issue(t, inter, 0x0abd, poison(), "pay.example.com")
	p := psc(t, inter)
	viaPSC := issue(t, p, 0x0abe, poison(), "login.example.com")
	foreign := issue(t, other, 0x77, nil, "www.example.com")

	var k Kind
	v := k.Verify(record.CertRaw(final), set, kinds.Options{})
	if v.Status != kinds.StatusValid || v.SignerFP != exposed.FP || v.ID != "abc" {
		t.Fatalf("final certificate: %+v", v)
	}
	if got := strings.Join(v.Names, " "); got != "api.example.com www.example.com" {
		t.Errorf("names = %q", got)
	}
	if v.Issuer != "c=us,cn=example issuing ca 1,o=example corp" || v.Issuer != record.CanonicalDN("/C=US/O=Example Corp/CN=Example Issuing CA 1") {
		t.Errorf("issuer = %q", v.Issuer)
	}
	if v.RawSHA256 == "" || !v.ExpiresAt.Equal(t0.AddDate(0, 0, 90)) || !v.NotBefore.Equal(t0) {
		t.Errorf("digest or validity: %+v", v)
	}

	pv := k.Verify(record.CertRaw(pre), set, kinds.Options{})
	if pv.Status != kinds.StatusValid || !slices.Contains(pv.Flags, FlagPrecert) {
		t.Errorf("precertificate: %+v", pv)
	}
	sv := k.Verify(record.CertRaw(viaPSC, p.cert.Raw), set, kinds.Options{})
	if sv.Status != kinds.StatusValid || sv.SignerFP != exposed.FP || !slices.Contains(sv.Flags, FlagPSC) {
		t.Errorf("precertificate via a PSC: %+v", sv)
	}
	if nv := k.Verify(record.CertRaw(viaPSC), set, kinds.Options{}); nv.Status == kinds.StatusValid {
		t.Errorf("a PSC-signed precertificate is valid without its PSC: %+v", nv)
	}

	before := Checks.Load()
	fv := k.Verify(record.CertRaw(foreign), set, kinds.Options{})
	if fv.Status != kinds.StatusUnknownKey || !slices.Contains(fv.Flags, FlagPrecheckSkip) || Checks.Load() != before {
		t.Errorf("a foreign CA's certificate cost a signature check or is not unknown-key: %+v", fv)
	}

	// the same certificate as PEM and as a log carries it is one artifact
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: final}))
	if k.Key(pemText) != k.Key(record.CertRaw(final)) || k.Key(pemText) != record.CertKey(final) {
		t.Error("PEM and DER of one certificate have different keys")
	}

	// a tampered certificate that names the exposed key is invalid
	bad := slices.Clone(final)
	bad[len(bad)-3] ^= 0xff
	if tv := k.Verify(record.CertRaw(bad), set, kinds.Options{}); tv.Status != kinds.StatusInvalid && tv.Status != kinds.StatusMalformed {
		t.Errorf("tampered certificate: %+v", tv)
	}
	if mv := k.Verify("not base64!", set, kinds.Options{}); mv.Status != kinds.StatusMalformed || mv.Note == "" {
		t.Errorf("bad base64: %+v", mv)
	}

	// trusted keys wait when deferred
	trusted := keyOf(t, other, keys.RoleTrusted)
	if dv := k.Verify(record.CertRaw(foreign), []*keys.Key{exposed, trusted}, kinds.Options{DeferTrusted: true}); dv.Status != kinds.StatusNotChecked {
		t.Errorf("deferred trusted check: %+v", dv)
	}
	if dv := k.Verify(record.CertRaw(foreign), []*keys.Key{exposed, trusted}, kinds.Options{}); dv.Status != kinds.StatusValid || dv.SignerFP != trusted.FP {
		t.Errorf("trusted check: %+v", dv)
	}

	kindtest.Check(t, k, []string{record.CertRaw(final), record.CertRaw(pre), record.CertRaw(viaPSC, p.cert.Raw), record.CertRaw(foreign), pemText}, set)
}

func TestLinkKeyJoinsPrecertAndFinal(t *testing.T) {
	root := newCA(t, "Example Root CA", nil)
	inter := newCA(t, "Example Issuing CA 1", root)
	// one issuance: a precertificate and its final certificate differ in
	// the poison and the SCT list only (same subject key: same template)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mk := func(extra []pkix.Extension) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "www.example.com"},
			DNSNames: []string{"www.example.com"}, NotBefore: t0, NotAfter: t0.AddDate(0, 0, 90), ExtraExtensions: extra}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, inter.cert, key.Public(), inter.key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	var k Kind
	set := []*keys.Key{keyOf(t, inter, keys.RoleExposed)}
	pre := k.Verify(record.CertRaw(mk(poison())), set, kinds.Options{})
	fin := k.Verify(record.CertRaw(mk(sctList())), set, kinds.Options{})
	other := k.Verify(record.CertRaw(mk(nil)), set, kinds.Options{})
	if pre.LinkKey == "" || pre.LinkKey != fin.LinkKey || fin.LinkKey != other.LinkKey {
		t.Errorf("link keys differ: pre %q final %q plain %q", pre.LinkKey, fin.LinkKey, other.LinkKey)
	}
	if pre.ID != fin.ID {
		t.Errorf("serials differ")
	}
	if mk2 := k.Verify(record.CertRaw(issue(t, inter, 43, nil, "www.example.com")), set, kinds.Options{}); mk2.LinkKey == fin.LinkKey {
		t.Error("another certificate shares the link key")
	}
}

func FuzzVerify(f *testing.F) {
	root := newCA(f, "Example Root CA", nil)
	inter := newCA(f, "Example Issuing CA 1", root)
	f.Add(record.CertRaw(issue(f, inter, 1, nil, "a.example.com")))
	f.Add(record.CertRaw(issue(f, inter, 2, poison(), "b.example.com"), root.cert.Raw))
	f.Add("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	f.Add("AAAA.BBBB")
	set := []*keys.Key{keyOf(f, inter, keys.RoleExposed)}
	f.Fuzz(func(t *testing.T, raw string) {
		kindtest.CheckVerdict(t, Kind{}, raw, set)
		_ = Kind{}.Key(raw)
	})
}
