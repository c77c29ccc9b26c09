package ctincident

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/rand/v2"
	"time"

	ctx509 "github.com/google/certificate-transparency-go/x509"
	"golang.org/x/mod/sumdb/note"
)

// Extensions and policies the certificates carry.
var (
	oidCTPoison  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3} // RFC 6962 §3.1, critical, NULL
	oidCTSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2} // RFC 6962 §3.3
	oidCTEKU     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4} // Precertificate Signing Certificate
	// oidStepProvisioner is the extension in which step-ca names the
	// provisioner that authorized a certificate.
	oidStepProvisioner = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1}
	oidDVPolicy        = mustOID(2, 23, 140, 1, 2, 1)
)

// stepProvisioner is the value of oidStepProvisioner.
type stepProvisioner struct {
	Type         int
	Name         []byte
	CredentialID []byte
}

// stepJWKProvisioner is step-ca's provisioner type number for JWK.
const stepJWKProvisioner = 1

// Roles in ChainCert.Role.
const (
	roleRoot         = "root"
	roleIntermediate = "intermediate"
	rolePSC          = "psc"
	roleForeignRoot  = "foreign-root"
	roleForeignCA    = "foreign-intermediate"
	roleLookalikeCA  = "lookalike-intermediate"
)

// The step-ca provisioner that authorized the CA's certificates, and the
// audience of its tokens.
const (
	provisionerName = "ops@example.com"
	stepCAAudience  = "https://ca.example.com:9000/1.0/sign"
)

// authority is a CA certificate and its key.
type authority struct {
	cert   *x509.Certificate
	der    []byte
	key    crypto.Signer
	role   string
	ca     string
	forged bool
	// chain is the certificate chain a leaf it signs is logged with: this
	// certificate and the ones above it, root last.
	chain [][]byte
}

// pkiSet is every key of the scenario.
type pkiSet struct {
	root, exposed, psc         *authority
	foreignRoot, foreign, look *authority
	// pscCT is the PSC as certificate-transparency-go parses it, for
	// BuildPrecertTBS.
	pscCT *ctx509.Certificate

	logKey             *ecdsa.PrivateKey
	logID              [32]byte
	witnessKey         ed25519.PrivateKey
	witnessVerifierKey string

	provisionerKey *ecdsa.PrivateKey
	provisionerKID string // RFC 7638 thumbprint, as step-ca names JWK provisioners

	leafKeys  *rand.ChaCha8 // the subject keys of leaf certificates
	caSerials *rand.ChaCha8
}

func newPKI(seed int64) (*pkiSet, error) {
	p := &pkiSet{
		leafKeys:  keyStream(seed, "leaf keys"),
		caSerials: keyStream(seed, "ca serials"),
	}
	ec := func(curve elliptic.Curve, label string) (*ecdsa.PrivateKey, error) {
		return deriveECDSA(curve, keyStream(seed, label))
	}
	rootKey, err := ec(elliptic.P384(), "root")
	if err != nil {
		return nil, err
	}
	exposedKey, err := ec(elliptic.P256(), "exposed")
	if err != nil {
		return nil, err
	}
	pscKey, err := ec(elliptic.P256(), "psc")
	if err != nil {
		return nil, err
	}
	foreignRootKey, err := ec(elliptic.P384(), "foreign root")
	if err != nil {
		return nil, err
	}
	foreignKey, err := deriveRSA(keyStream(seed, "foreign ca"), 2048)
	if err != nil {
		return nil, err
	}
	lookKey, err := ec(elliptic.P256(), "lookalike")
	if err != nil {
		return nil, err
	}
	if p.logKey, err = ec(elliptic.P256(), "log"); err != nil {
		return nil, err
	}
	if p.provisionerKey, err = ec(elliptic.P256(), "provisioner"); err != nil {
		return nil, err
	}
	if p.witnessKey, err = deriveEd25519(keyStream(seed, "witness")); err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(p.logKey.Public())
	if err != nil {
		return nil, fmt.Errorf("ctincident: %w", err)
	}
	p.logID = sha256.Sum256(spki)
	if p.witnessVerifierKey, err = note.NewEd25519VerifierKey(LogOrigin, p.witnessKey.Public().(ed25519.PublicKey)); err != nil {
		return nil, fmt.Errorf("ctincident: %w", err)
	}
	p.provisionerKID = jwkThumbprint(&p.provisionerKey.PublicKey)

	example := func(cn string) pkix.Name {
		return pkix.Name{Country: []string{"US"}, Organization: []string{"Example Corp"}, CommonName: cn}
	}
	other := func(cn string) pkix.Name {
		return pkix.Name{Country: []string{"US"}, Organization: []string{"Other Public Trust"}, CommonName: cn}
	}
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	steps := []struct {
		out      **authority
		subject  pkix.Name
		key      crypto.Signer
		parent   **authority // nil: self-signed
		from, to time.Time
		role, ca string
	}{
		{&p.root, example("Example Root CA"), rootKey, nil, day(2024, 1, 1), day(2044, 1, 1), roleRoot, CAExposed},
		{&p.exposed, example("Example Issuing CA 1"), exposedKey, &p.root, day(2025, 1, 1), day(2030, 1, 1), roleIntermediate, CAExposed},
		{&p.psc, example("Example Issuing CA 1 Precertificate Signing"), pscKey, &p.exposed, utc(exposedFrom + 26*3600*1000), utc(exposedFrom).AddDate(1, 0, 0), rolePSC, CAExposed},
		{&p.foreignRoot, other("Other Public Root X1"), foreignRootKey, nil, day(2020, 6, 1), day(2040, 6, 1), roleForeignRoot, CAForeign},
		{&p.foreign, other("Other Public CA R3"), foreignKey, &p.foreignRoot, day(2025, 3, 1), day(2028, 3, 1), roleForeignCA, CAForeign},
		// Same subject as the exposed CA, another key: only a signature
		// check tells its certificates apart.
		{&p.look, example("Example Issuing CA 1"), lookKey, &p.foreignRoot, day(2025, 9, 1), day(2027, 9, 1), roleLookalikeCA, CAForeign},
	}
	for _, s := range steps {
		tmpl := &x509.Certificate{
			SerialNumber:          p.serial(p.caSerials),
			Subject:               s.subject,
			NotBefore:             s.from,
			NotAfter:              s.to,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		if s.role == rolePSC {
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
			tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{oidCTEKU}
		}
		a := &authority{key: s.key, role: s.role, ca: s.ca, forged: s.role == rolePSC}
		parentCert, parentKey := tmpl, s.key
		if s.parent != nil {
			parentCert, parentKey = (*s.parent).cert, (*s.parent).key
		}
		// A nil rand: ECDSA signs by RFC 6979, so the bytes are reproducible.
		a.der, err = x509.CreateCertificate(nil, tmpl, parentCert, s.key.Public(), parentKey)
		if err != nil {
			return nil, fmt.Errorf("ctincident: %s certificate: %w", s.role, err)
		}
		if a.cert, err = x509.ParseCertificate(a.der); err != nil {
			return nil, fmt.Errorf("ctincident: %s certificate: %w", s.role, err)
		}
		a.chain = [][]byte{a.der}
		if s.parent != nil {
			a.chain = append(a.chain, (*s.parent).chain...)
		}
		*s.out = a
	}
	if p.pscCT, err = ctx509.ParseCertificate(p.psc.der); ctx509.IsFatal(err) {
		return nil, fmt.Errorf("ctincident: psc: %w", err)
	}
	return p, nil
}

// serial returns a random positive 16-byte serial (its top bit clear, so
// that DER needs no padding byte; leading zero bytes happen).
func (p *pkiSet) serial(r *rand.ChaCha8) *big.Int {
	var b [16]byte
	for {
		binary.BigEndian.PutUint64(b[:8], r.Uint64())
		binary.BigEndian.PutUint64(b[8:], r.Uint64())
		b[0] &= 0x7f
		if s := new(big.Int).SetBytes(b[:]); s.Sign() > 0 {
			return s
		}
	}
}

func (p *pkiSet) leafKey() (*ecdsa.PrivateKey, error) {
	return deriveECDSA(elliptic.P256(), p.leafKeys)
}

func (p *pkiSet) logPublicKey() string {
	spki, _ := x509.MarshalPKIXPublicKey(p.logKey.Public())
	return base64.StdEncoding.EncodeToString(spki)
}

// provisionerExtension names the JWK provisioner as step-ca does.
func (p *pkiSet) provisionerExtension() (pkix.Extension, error) {
	v, err := asn1.Marshal(stepProvisioner{Type: stepJWKProvisioner, Name: []byte(provisionerName), CredentialID: []byte(p.provisionerKID)})
	return pkix.Extension{Id: oidStepProvisioner, Value: v}, err
}

// jwkThumbprint is the RFC 7638 thumbprint of a P-256 key.
func jwkThumbprint(k *ecdsa.PublicKey) string {
	point, _ := k.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	h := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + b64(point[1:33]) + `","y":"` + b64(point[33:]) + `"}`))
	return b64(h[:])
}

// subjectKeyID is a leaf's key identifier: truncated SHA-256 of its key.
func subjectKeyID(k *ecdsa.PublicKey) []byte {
	point, _ := k.Bytes()
	h := sha256.Sum256(point)
	return h[:20]
}

// oneLine formats a name as OpenSSL's one-line form: /C=US/O=.../CN=...
func oneLine(n pkix.Name) string {
	var s string
	for _, c := range n.Country {
		s += "/C=" + c
	}
	for _, o := range n.Organization {
		s += "/O=" + o
	}
	if n.CommonName != "" {
		s += "/CN=" + n.CommonName
	}
	return s
}

func mustOID(ns ...uint64) x509.OID {
	oid, err := x509.OIDFromInts(ns)
	if err != nil {
		panic(err)
	}
	return oid
}
