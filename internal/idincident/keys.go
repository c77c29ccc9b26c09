package idincident

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
)

// Keys are derived from the seed (internal/seeded) and JWTs are signed
// deterministically (RFC 6979), so one Config always gives the same files.

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
