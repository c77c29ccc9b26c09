package ciincident

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math/rand/v2"

	"github.com/forgehunt/forgehunt/internal/seeded"
)

// Since Go 1.26 ecdsa.GenerateKey ignores the reader it is given, so keys
// are built from a seeded stream by hand (a private scalar), and signing
// passes a nil reader: RFC 6979 deterministic ECDSA.

// keyStream is the byte stream of one key or key family (seeded.Stream).
func keyStream(seed int64, label string) *rand.ChaCha8 {
	return seeded.Stream("ciincident", seed, label)
}

// deriveECDSA reads a P-256 key from r.
func deriveECDSA(r io.Reader) (*ecdsa.PrivateKey, error) { return seeded.ECDSA(elliptic.P256(), r) }

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

func publicPEM(k *ecdsa.PrivateKey) []byte { return seeded.PublicPEM(k) }

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
