package ciincident

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// Sigstore's Fulcio certificate extensions (OID 1.3.6.1.4.1.57264.1.*,
// fulcio docs/oid-info.md): the V2 ones hold a DER UTF8String, the
// deprecated 1.1 issuer the raw text.
var (
	oidIssuerV1         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidBuildSignerURI   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 9}
	oidSourceRepoURI    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}
	oidSourceRepoDigest = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 13}
	oidSourceRepoRef    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 14}
)

const githubOIDCIssuer = "https://token.actions.githubusercontent.com"

// fulcio is a self-made stand-in for Sigstore's Fulcio CA: it issues
// ten-minute code-signing certificates for GitHub Actions identities.
type fulcio struct {
	key    *ecdsa.PrivateKey
	cert   *x509.Certificate
	der    []byte
	serial uint64
}

func newFulcio(key *ecdsa.PrivateKey, at time.Time) (*fulcio, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"sigstore.dev"}, CommonName: "sigstore-intermediate"},
		NotBefore:             at,
		NotAfter:              at.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key) // nil rand: RFC 6979
	if err != nil {
		return nil, fmt.Errorf("ciincident: fulcio CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &fulcio{key: key, cert: cert, der: der, serial: 0x5157_0000}, nil
}

// issue certifies leaf for the workflow of repo at ref, valid from at
// for ten minutes.
func (f *fulcio) issue(leaf *ecdsa.PrivateKey, repo, workflow, ref, commit string, at time.Time) ([]byte, error) {
	f.serial++
	identity, err := url.Parse(fmt.Sprintf("https://github.com/%s/%s@%s", repo, workflow, ref))
	if err != nil {
		return nil, err
	}
	utf8 := func(s string) []byte {
		b, _ := asn1.MarshalWithParams(s, "utf8")
		return b
	}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetUint64(f.serial<<20 | uint64(at.Unix()&0xfffff)),
		NotBefore:    at,
		NotAfter:     at.Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:         []*url.URL{identity},
		ExtraExtensions: []pkix.Extension{
			{Id: oidIssuerV1, Value: []byte(githubOIDCIssuer)},
			{Id: oidIssuerV2, Value: utf8(githubOIDCIssuer)},
			{Id: oidBuildSignerURI, Value: utf8(identity.String())},
			{Id: oidSourceRepoURI, Value: utf8("https://github.com/" + repo)},
			{Id: oidSourceRepoDigest, Value: utf8(commit)},
			{Id: oidSourceRepoRef, Value: utf8(ref)},
		},
	}
	der, err := x509.CreateCertificate(nil, tmpl, f.cert, leaf.Public(), f.key)
	if err != nil {
		return nil, fmt.Errorf("ciincident: fulcio leaf: %w", err)
	}
	return der, nil
}
