// Package certinfo reads the facts of an X.509 certificate in the forms
// forgehunt compares certificates in (canonical serial, issuer and subject
// names, SANs), with certificate-transparency-go, which keeps going over
// the malformations real certificates hold. The x509 kind and the CA
// formats (step-ca, Vault PKI) share it, so that an artifact and the CA's
// record of the same certificate compare equal.
package certinfo

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

// Parse parses der, keeping what it reads despite non-fatal errors (then
// returned as warning), and never panics.
func Parse(der []byte) (c *ctx509.Certificate, warning string, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, warning, err = nil, "", fmt.Errorf("certificate parser failed: %v", p)
		}
	}()
	c, err = ctx509.ParseCertificate(der)
	var nf ctx509.NonFatalErrors
	if err != nil && errors.As(err, &nf) && c != nil {
		return c, nf.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	return c, "", nil
}

// CanonicalName is record.CanonicalDNAttrs of a parsed name.
func CanonicalName(n pkix.Name) string {
	var attrs []record.DNAttr
	for _, rdn := range n.ToRDNSequence() {
		for _, a := range rdn {
			attrs = append(attrs, record.DNAttr{Type: a.Type.String(), Value: fmt.Sprint(a.Value)})
		}
	}
	return record.CanonicalDNAttrs(attrs)
}

// Names are the certificate's SANs (DNS names, addresses, e-mail
// addresses, URIs), canonical, sorted, without repeats; not escaped.
func Names(c *ctx509.Certificate) []string {
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

// Facts are what a CA's record of a certificate takes from it.
type Facts struct {
	Serial    string // canonical hex
	Issuer    string // CanonicalName of the issuer
	Subject   string // the common name, else the canonical subject name
	SubjectDN string // CanonicalName of the subject
	Names     []string
	NotBefore time.Time
	NotAfter  time.Time
	SHA256    string // hex sha256 of the DER
}

// Read parses der into its Facts.
func Read(der []byte) (Facts, error) {
	cert, _, err := Parse(der)
	if err != nil {
		return Facts{}, err
	}
	if cert.SerialNumber == nil {
		return Facts{}, errors.New("certificate has no serial")
	}
	sum := sha256.Sum256(der)
	f := Facts{
		Serial: record.SerialFromInt(cert.SerialNumber), Issuer: CanonicalName(cert.Issuer),
		Subject: cert.Subject.CommonName, SubjectDN: CanonicalName(cert.Subject), Names: Names(cert),
		NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC(), SHA256: hex.EncodeToString(sum[:]),
	}
	if f.Subject == "" {
		f.Subject = f.SubjectDN
	}
	return f, nil
}
