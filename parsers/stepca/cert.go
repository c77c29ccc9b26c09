package stepca

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
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
	names     []string
	notBefore time.Time
	notAfter  time.Time
	sha256    string // hex sha256 of the DER
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
	if c.subject == "" {
		c.subject = canonicalName(cert.Subject)
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
