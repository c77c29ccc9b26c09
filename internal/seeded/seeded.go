// Package seeded derives the generators' keys from a seed. Since Go 1.26
// ecdsa.GenerateKey ignores the reader it is given, so a key is built from
// a seeded stream by hand (a private scalar), and signing passes a nil
// reader (RFC 6979 deterministic ECDSA): one seed always gives the same
// files.
package seeded

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
)

// Stream is the byte stream of one key or key family of a generator, apart
// from the scenario's own random stream so that adding a key changes
// nothing else.
func Stream(generator string, seed int64, label string) *rand.ChaCha8 {
	return rand.NewChaCha8(Seed(generator, seed, label))
}

// Seed is the ChaCha8 seed of one of a generator's streams.
func Seed(generator string, seed int64, label string) [32]byte {
	return sha256.Sum256(fmt.Appendf(nil, "forgehunt %s %d %s", generator, seed, label))
}

// ECDSA reads private scalars from r until one is valid for curve.
func ECDSA(curve elliptic.Curve, r io.Reader) (*ecdsa.PrivateKey, error) {
	scalar := make([]byte, (curve.Params().BitSize+7)/8)
	for range 64 {
		if _, err := io.ReadFull(r, scalar); err != nil {
			return nil, err
		}
		if k, err := ecdsa.ParseRawPrivateKey(curve, scalar); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("seeded: no valid ECDSA scalar in the stream")
}

// PublicPEM is k's public key as a PKIX PEM block.
func PublicPEM(k *ecdsa.PrivateKey) []byte { return PublicKeyPEM(k.Public()) }

// PublicKeyPEM is pub (an ECDSA key of a standard curve, an RSA key) as a
// PKIX PEM block.
func PublicKeyPEM(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // the generators' keys always marshal
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Hex is n lower-case hex digits drawn from r.
func Hex(r *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.IntN(16)]
	}
	return string(b)
}

// GUID is a version 4 UUID of hex digits drawn from r.
func GUID(r *rand.Rand) string {
	h := Hex(r, 32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}
