package keys

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

const supportedPEM = "PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE, PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY"

// parsePEM loads every PEM block of data. Private keys are reduced to their
// public half and their decoded DER is wiped; private reports whether any
// block held private material.
func parsePEM(data []byte, source string) (ks []*Key, private bool, err error) {
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		entry := fmt.Sprintf("block %d (%s)", n, block.Type)
		k, isPrivate, err := pemKey(block)
		private = private || isPrivate
		if isPrivate {
			clear(block.Bytes)
		}
		if err != nil {
			return nil, private, &Error{Source: source, Entry: entry, Err: err}
		}
		if k != nil {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return nil, private, &Error{Source: source, Err: fmt.Errorf("no usable PEM block (supported: %s)", supportedPEM)}
	}
	return ks, private, nil
}

// pemKey loads one block; a nil Key with a nil error means the block carries
// no key and is skipped (EC PARAMETERS next to an EC PRIVATE KEY).
func pemKey(block *pem.Block) (k *Key, private bool, err error) {
	if strings.Contains(block.Type, "PRIVATE KEY") {
		private = true
		if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, true, errors.New("encrypted private key; give the public key instead (openssl pkey -pubout)")
		}
	}
	var pub crypto.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, false, err
		}
		k, err := certKey(cert)
		return k, false, err
	case "PRIVATE KEY":
		var priv any
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		if err == nil {
			pub, err = publicHalf(priv)
		}
	case "RSA PRIVATE KEY":
		priv, perr := x509.ParsePKCS1PrivateKey(block.Bytes)
		if perr != nil {
			return nil, true, perr
		}
		pub, err = publicHalf(priv)
	case "EC PRIVATE KEY":
		priv, perr := x509.ParseECPrivateKey(block.Bytes)
		if perr != nil {
			return nil, true, perr
		}
		pub, err = publicHalf(priv)
	case "EC PARAMETERS":
		return nil, false, nil
	case "OPENSSH PRIVATE KEY":
		return nil, true, errors.New("OpenSSH key format is not supported; convert it (ssh-keygen -e -m PKCS8 -f KEY)")
	default:
		return nil, private, fmt.Errorf("unsupported PEM block type %q (supported: %s)", block.Type, supportedPEM)
	}
	if err != nil {
		return nil, private, err
	}
	k, err = newPublicKey(pub)
	return k, private, err
}

// publicHalf returns a private key's public key as a fresh value: Public
// of an RSA or ECDSA key points into the private key, which would keep the
// private material reachable for as long as the Key lives.
func publicHalf(priv any) (crypto.PublicKey, error) {
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T (supported: RSA, EC P-256/P-384/P-521, Ed25519)", priv)
	}
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("public half: %w", err)
	}
	return x509.ParsePKIXPublicKey(der)
}
