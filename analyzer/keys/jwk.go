package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// jwk holds the members of a JSON Web Key (RFC 7517, 7518, 8037) that
// loading uses. Private members are only detected, never kept.
type jwk struct {
	Kty string   `json:"kty"`
	Kid string   `json:"kid"`
	Crv string   `json:"crv"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X   string   `json:"x"`
	Y   string   `json:"y"`
	K   string   `json:"k"`
	X5c []string `json:"x5c"`
	D   string   `json:"d"`
	P   string   `json:"p"`
	Q   string   `json:"q"`
}

func (j *jwk) hasPrivate() bool { return j.D != "" || j.P != "" || j.Q != "" }

// parseJSON loads a JWK or a JWKS ({"keys": [...]}).
func parseJSON(data []byte, source string) (ks []*Key, private bool, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, false, &Error{Source: source, Err: fmt.Errorf("JSON key file: %w", err)}
	}
	if raw, ok := top["keys"]; ok {
		var entries []json.RawMessage
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, false, &Error{Source: source, Err: fmt.Errorf("JWKS \"keys\" is not an array: %w", err)}
		}
		if len(entries) == 0 {
			return nil, false, &Error{Source: source, Err: errors.New("JWKS has no keys")}
		}
		for i, e := range entries {
			k, isPrivate, entry, err := parseJWK(e, fmt.Sprintf("key %d", i+1))
			private = private || isPrivate
			if err != nil {
				return nil, private, &Error{Source: source, Entry: entry, Err: err}
			}
			ks = append(ks, k)
		}
		return ks, private, nil
	}
	if _, ok := top["kty"]; !ok {
		return nil, false, &Error{Source: source, Err: errors.New(`JSON is neither a JWK (no "kty") nor a JWKS (no "keys")`)}
	}
	k, private, entry, err := parseJWK(data, "jwk")
	if err != nil {
		return nil, private, &Error{Source: source, Entry: entry, Err: err}
	}
	return []*Key{k}, private, nil
}

// parseJWK loads one JWK; entry names it for errors, with its kid when known.
func parseJWK(raw []byte, entry string) (k *Key, private bool, _ string, err error) {
	var j jwk
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, false, entry, fmt.Errorf("bad JWK: %w", err)
	}
	if j.Kid != "" {
		entry = fmt.Sprintf("%s (kid %q)", entry, j.Kid)
	}
	private = j.hasPrivate()
	if j.Kty == "oct" {
		secret, err := b64url(j.K)
		if err != nil {
			return nil, false, entry, fmt.Errorf("oct key \"k\": %w", err)
		}
		if len(secret) == 0 {
			return nil, false, entry, errors.New("oct key has an empty \"k\"")
		}
		k = newHMACKey(secret)
		k.KID = j.Kid
		return k, false, entry, nil
	}
	pub, err := jwkPublic(&j)
	if err != nil {
		return nil, private, entry, err
	}
	if pub == nil {
		if len(j.X5c) == 0 {
			return nil, private, entry, fmt.Errorf("%s key has neither its public members nor x5c", j.Kty)
		}
	}
	if len(j.X5c) > 0 {
		certPub, err := x5cPublic(j.X5c[0])
		if err != nil {
			return nil, private, entry, err
		}
		if pub == nil {
			pub = certPub
		} else if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(certPub) {
			return nil, private, entry, errors.New("x5c certificate holds another key than the JWK members")
		}
	}
	if !keyMatchesKty(pub, j.Kty) {
		return nil, private, entry, fmt.Errorf("kty %q but the key is %T", j.Kty, pub)
	}
	k, err = newPublicKey(pub)
	if err != nil {
		return nil, private, entry, err
	}
	k.KID = j.Kid
	if private {
		k.Encodings = appendUnique(k.Encodings, publicJWK(&j))
	} else {
		k.Encodings = appendUnique(k.Encodings, bytes.Clone(bytes.TrimSpace(raw)))
		if c := compactJSON(raw); c != nil {
			k.Encodings = appendUnique(k.Encodings, c)
		}
	}
	return k, private, entry, nil
}

// jwkPublic returns the public key the JWK's own members describe, or nil
// when they are absent (the key is then in x5c).
func jwkPublic(j *jwk) (crypto.PublicKey, error) {
	switch j.Kty {
	case "RSA":
		if j.N == "" && j.E == "" {
			return nil, nil
		}
		n, err := b64url(j.N)
		if err != nil {
			return nil, fmt.Errorf("RSA \"n\": %w", err)
		}
		e, err := b64url(j.E)
		if err != nil {
			return nil, fmt.Errorf("RSA \"e\": %w", err)
		}
		e = bytes.TrimLeft(e, "\x00")
		if len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("RSA exponent of %d bytes is out of range", len(e))
		}
		exp := 0
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		if exp < 3 || exp&1 == 0 || exp > 1<<31-1 {
			return nil, fmt.Errorf("RSA exponent %d is invalid", exp)
		}
		modulus := new(big.Int).SetBytes(n)
		if modulus.BitLen() > maxRSABits {
			return nil, fmt.Errorf("RSA modulus of %d bits is larger than %d", modulus.BitLen(), maxRSABits)
		}
		if modulus.BitLen() < 256 || modulus.Bit(0) == 0 {
			return nil, errors.New("RSA modulus is invalid")
		}
		return &rsa.PublicKey{N: modulus, E: exp}, nil
	case "EC":
		if j.X == "" && j.Y == "" {
			return nil, nil
		}
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported EC curve %q (supported: P-256, P-384, P-521)", j.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err := coordinate(j.X, size)
		if err != nil {
			return nil, fmt.Errorf("EC \"x\": %w", err)
		}
		y, err := coordinate(j.Y, size)
		if err != nil {
			return nil, fmt.Errorf("EC \"y\": %w", err)
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("EC point is not on %s: %w", j.Crv, err)
		}
		return pub, nil
	case "OKP":
		if j.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q (supported: Ed25519)", j.Crv)
		}
		if j.X == "" {
			return nil, nil
		}
		x, err := b64url(j.X)
		if err != nil {
			return nil, fmt.Errorf("OKP \"x\": %w", err)
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 key of %d bytes, want %d", len(x), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(x), nil
	case "":
		return nil, errors.New(`JWK has no "kty"`)
	default:
		return nil, fmt.Errorf("unsupported kty %q (supported: RSA, EC, OKP, oct)", j.Kty)
	}
}

// coordinate decodes an EC coordinate of size bytes; RFC 7518 wants the full
// size, but producers that drop leading zeros exist, so shorter is padded.
func coordinate(s string, size int) ([]byte, error) {
	b, err := b64url(s)
	if err != nil {
		return nil, err
	}
	if len(b) > size || len(b) == 0 {
		return nil, fmt.Errorf("%d bytes, want %d", len(b), size)
	}
	return append(make([]byte, size-len(b), size), b...), nil
}

func x5cPublic(s string) (crypto.PublicKey, error) {
	der, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("x5c: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("x5c: %w", err)
	}
	if cert.PublicKey == nil {
		return nil, fmt.Errorf("x5c: unsupported certificate key algorithm %s", cert.PublicKeyAlgorithm)
	}
	return cert.PublicKey, nil
}

func keyMatchesKty(pub crypto.PublicKey, kty string) bool {
	switch pub.(type) {
	case *rsa.PublicKey:
		return kty == "RSA"
	case *ecdsa.PublicKey:
		return kty == "EC"
	case ed25519.PublicKey:
		return kty == "OKP"
	}
	return false
}

// publicJWK re-encodes the public members of a JWK that came with private
// ones, in RFC 7638 member order: the form a JWKS would publish. The
// members were base64url-checked, so %q quotes them as JSON would.
func publicJWK(j *jwk) []byte {
	var b strings.Builder
	switch j.Kty {
	case "RSA":
		fmt.Fprintf(&b, `{"e":%q,"kty":"RSA","n":%q`, j.E, j.N)
	case "EC":
		fmt.Fprintf(&b, `{"crv":%q,"kty":"EC","x":%q,"y":%q`, j.Crv, j.X, j.Y)
	case "OKP":
		fmt.Fprintf(&b, `{"crv":%q,"kty":"OKP","x":%q`, j.Crv, j.X)
	default:
		return nil
	}
	if j.Kid != "" {
		kid, _ := json.Marshal(j.Kid)
		fmt.Fprintf(&b, `,"kid":%s`, kid)
	}
	b.WriteString("}")
	return []byte(b.String())
}

func compactJSON(raw []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil
	}
	return buf.Bytes()
}

// b64url decodes base64url with or without padding; other alphabets and
// embedded newlines are refused.
func b64url(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("base64url value contains a newline")
	}
	if strings.HasSuffix(s, "=") {
		return base64.URLEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}
