package idincident

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
)

// Keys are derived from the seed (ecdsa.GenerateKey ignores its reader
// since Go 1.26) and JWTs are signed deterministically (RFC 6979), so one
// Config always gives the same files.

func keyStream(seed int64, label string) *rand.ChaCha8 {
	return rand.NewChaCha8(sha256.Sum256(fmt.Appendf(nil, "forgehunt idincident %d %s", seed, label)))
}

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
	return nil, errors.New("idincident: no valid ECDSA scalar in the stream")
}

func publicPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// signES256 returns the compact JWS of claims, signed with k.
func signES256(k *ecdsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	hdr, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(hdr) + "." + b64(body)
	digest := sha256.Sum256([]byte(input))
	der, err := k.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return "", err
	}
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return "", err
	}
	raw := make([]byte, 64)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return input + "." + b64(raw), nil
}

// seedBytes is the ChaCha8 seed of one of the scenario's streams.
func seedBytes(seed int64, label string) [32]byte {
	return sha256.Sum256(fmt.Appendf(nil, "forgehunt idincident %d %s", seed, label))
}

// artifactKey is forgehunt's key of a raw artifact.
func artifactKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}
