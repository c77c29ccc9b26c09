package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var gen = flag.Bool("gen", false, "regenerate the key files in testdata/ (new random keys)")

// TestGenerateTestdata writes the key files the other tests load. It runs only
// with -gen; the files are committed so tests are deterministic.
func TestGenerateTestdata(t *testing.T) {
	if !*gen {
		t.Skip("run with -gen to regenerate testdata")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, data []byte) {
		t.Helper()
		must(os.WriteFile(filepath.Join("testdata", name), data, 0o644))
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	spki := func(pub crypto.PublicKey) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		must(err)
		return der
	}
	b64 := base64.RawURLEncoding.EncodeToString
	must(os.MkdirAll("testdata", 0o755))

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	write("rsa_spki.pem", pemOf("PUBLIC KEY", spki(&rsaKey.PublicKey)))
	write("rsa_pkcs1_public.pem", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)))
	write("rsa_spki.der", spki(&rsaKey.PublicKey))
	write("rsa_pkcs1_private.pem", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)))
	rsaJWK := map[string]any{"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
		"n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())}
	writeJSON(t, "jwk_rsa.json", rsaJWK)

	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	p8, err := x509.MarshalPKCS8PrivateKey(edPriv)
	must(err)
	write("ed25519_pkcs8_private.pem", pemOf("PRIVATE KEY", p8))

	rsa2, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	p8, err = x509.MarshalPKCS8PrivateKey(rsa2)
	must(err)
	write("rsa_pkcs8_private.pem", pemOf("PRIVATE KEY", p8))

	ec256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	sec1, err := x509.MarshalECPrivateKey(ec256)
	must(err)
	params := []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07} // OID prime256v1
	write("ec_p256_private.pem", append(pemOf("EC PARAMETERS", params), pemOf("EC PRIVATE KEY", sec1)...))

	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	write("ec_p384_spki.pem", pemOf("PUBLIC KEY", spki(&ec384.PublicKey)))

	ec224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	must(err)
	write("bad_ec_p224.pem", pemOf("PUBLIC KEY", spki(&ec224.PublicKey)))

	// A self-signed certificate, and a two-block file: certificate + public key.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: "forgehunt test issuer"},
		NotBefore:    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec384.PublicKey, ec384)
	must(err)
	write("cert_p384.pem", pemOf("CERTIFICATE", certDER))
	write("multi.pem", append(pemOf("CERTIFICATE", certDER), pemOf("PUBLIC KEY", spki(edPub))...))

	ec521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	coord := func(k *ecdsa.PublicKey) (string, string) {
		point, err := k.Bytes()
		must(err)
		n := (len(point) - 1) / 2
		return b64(point[1 : 1+n]), b64(point[1+n:])
	}
	x256, y256 := coord(&ec256.PublicKey)
	x521, y521 := coord(&ec521.PublicKey)
	rsaCertTmpl := *tmpl
	rsaCertTmpl.Subject.CommonName = "forgehunt x5c"
	rsaCert, err := x509.CreateCertificate(rand.Reader, &rsaCertTmpl, &rsaCertTmpl, &rsa2.PublicKey, rsa2)
	must(err)
	writeJSON(t, "jwks.json", map[string]any{"keys": []any{
		map[string]any{"kty": "EC", "kid": "ec-256", "crv": "P-256", "x": x256, "y": y256},
		map[string]any{"kty": "EC", "kid": "ec-521", "crv": "P-521", "x": x521, "y": y521},
		map[string]any{"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": b64(edPub)},
		map[string]any{"kty": "oct", "kid": "hmac-1", "k": b64([]byte("jwks-shared-secret"))},
		map[string]any{"kty": "RSA", "kid": "x5c-only", "x5c": []string{base64.StdEncoding.EncodeToString(rsaCert)}},
	}})
	ecPrivJWK := map[string]any{"kty": "EC", "kid": "ec-priv", "crv": "P-256", "x": x256, "y": y256,
		"d": b64(ec256.D.Bytes())}
	writeJSON(t, "jwk_ec_private.json", ecPrivJWK)
	writeJSON(t, "bad_jwks_unsupported.json", map[string]any{"keys": []any{
		rsaJWK,
		map[string]any{"kty": "OKP", "kid": "abc", "crv": "X25519", "x": b64(make([]byte, 32))},
	}})
	// y of the P-256 key, x with its last byte flipped: not on the curve.
	xb, _ := base64.RawURLEncoding.DecodeString(x256)
	xb[len(xb)-1] ^= 1
	writeJSON(t, "bad_jwk_offcurve.json", map[string]any{"kty": "EC", "kid": "off", "crv": "P-256", "x": b64(xb), "y": y256})

	// A 512-bit RSA public key: Go refuses to generate one, so build it.
	p, err := rand.Prime(rand.Reader, 256)
	must(err)
	q, err := rand.Prime(rand.Reader, 256)
	must(err)
	write("rsa512_spki.pem", pemOf("PUBLIC KEY", spki(&rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537})))

	write("bad_encrypted.pem", pemOf("ENCRYPTED PRIVATE KEY", []byte("not really encrypted")))
	write("bad_unknown_block.pem", pemOf("DH PARAMETERS", []byte{0x30, 0x00}))
	write("hmac_secret.txt", []byte("s3cret-value\n"))
	write("hmac_empty.txt", []byte("\n"))
}

func writeJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name), append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
