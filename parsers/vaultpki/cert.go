package vaultpki

import (
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
)

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
