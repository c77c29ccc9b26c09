package vaultpki

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509/pkix"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// certificate is what an issuance takes from a certificate the CA logged,
// in the forms the x509 kind gives the same certificate, so that both
// sides compare equal.
type certificate struct {
	serial    string // canonical hex
	issuer    string // record.CanonicalDNAttrs of the issuer name
	subject   string // the common name, else the canonical subject name
	subjectDN string // record.CanonicalDNAttrs of the subject name
	names     []string
	notBefore time.Time
	notAfter  time.Time
	sha256    string // hex sha256 of the DER
}

// certificateDER is the DER of the certificate in a Vault PKI response
// value: the first CERTIFICATE block of PEM ("pem", and "pem_bundle",
// which may put the private key first), or base64 DER ("der").
func certificateDER(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "-----BEGIN") {
		der, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(der) == 0 {
			return nil, errors.New("certificate is neither PEM nor base64 DER")
		}
		return der, nil
	}
	rest := []byte(v)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return nil, errors.New("no CERTIFICATE block in the PEM")
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes, nil
		}
	}
}

// parseCertificate reads a DER certificate with certificate-transparency-go
// (as the x509 kind does), keeping what it reads despite non-fatal errors.
func parseCertificate(der []byte) (c certificate, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = certificate{}, fmt.Errorf("certificate parser failed: %v", p)
		}
	}()
	cert, err := ctx509.ParseCertificate(der)
	var nf ctx509.NonFatalErrors
	if err != nil && !(errors.As(err, &nf) && cert != nil) {
		return c, err
	}
	if cert.SerialNumber == nil {
		return c, errors.New("certificate has no serial")
	}
	sum := sha256.Sum256(der)
	c = certificate{
		serial:    record.SerialFromInt(cert.SerialNumber),
		issuer:    canonicalName(cert.Issuer),
		subject:   cert.Subject.CommonName,
		names:     certNames(cert),
		notBefore: cert.NotBefore.UTC(),
		notAfter:  cert.NotAfter.UTC(),
		sha256:    hex.EncodeToString(sum[:]),
	}
	c.subjectDN = canonicalName(cert.Subject)
	if c.subject == "" {
		c.subject = c.subjectDN
	}
	return c, nil
}

// canonicalName is record.CanonicalDNAttrs of a parsed name, as the x509
// kind computes it.
func canonicalName(n pkix.Name) string {
	var attrs []record.DNAttr
	for _, rdn := range n.ToRDNSequence() {
		for _, a := range rdn {
			attrs = append(attrs, record.DNAttr{Type: a.Type.String(), Value: fmt.Sprint(a.Value)})
		}
	}
	return record.CanonicalDNAttrs(attrs)
}

// certNames are the certificate's SANs, canonical, sorted, without repeats.
func certNames(c *ctx509.Certificate) []string {
	var out []string
	for _, n := range c.DNSNames {
		out = append(out, record.CanonicalName(n))
	}
	for _, ip := range c.IPAddresses {
		out = append(out, net.IP(ip).String())
	}
	for _, e := range c.EmailAddresses {
		out = append(out, record.CanonicalName(e))
	}
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}
