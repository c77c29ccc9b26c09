package ciincident

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

// Since Go 1.26 ecdsa.GenerateKey ignores the reader it is given, so keys
// are built from a seeded stream by hand (a private scalar), and signing
// passes a nil reader: RFC 6979 deterministic ECDSA.

// keyStream is the byte stream of one key or key family, apart from the
// scenario's own random stream so that adding a key changes nothing else.
func keyStream(seed int64, label string) *rand.ChaCha8 {
	return rand.NewChaCha8(sha256.Sum256(fmt.Appendf(nil, "forgehunt ciincident %d %s", seed, label)))
}

// deriveECDSA reads P-256 private scalars from r until one is valid.
func deriveECDSA(r io.Reader) (*ecdsa.PrivateKey, error) {
	scalar := make([]byte, 32)
	for range 64 {
		if _, err := io.ReadFull(r, scalar); err != nil {
			return nil, err
		}
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("ciincident: no valid ECDSA scalar in the stream")
}

// signDigest signs a SHA-256 digest deterministically (RFC 6979).
func signDigest(k *ecdsa.PrivateKey, digest []byte) ([]byte, error) {
	return k.Sign(nil, digest, crypto.SHA256)
}

// signMessage signs sha256(msg) deterministically.
func signMessage(k *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return signDigest(k, h[:])
}

func spki(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return der
}

func publicPEM(k *ecdsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki(k)})
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
