package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func td(name string) string { return filepath.Join("testdata", name) }

func TestLoadFile(t *testing.T) {
	type want struct {
		typ, kid, label, source string
		bits                    int
	}
	tests := []struct {
		file string
		want []want
	}{
		{"rsa_spki.pem", []want{{typ: TypeRSA, bits: 2048, source: td("rsa_spki.pem")}}},
		{"rsa_pkcs1_public.pem", []want{{typ: TypeRSA, bits: 2048}}},
		{"rsa_spki.der", []want{{typ: TypeRSA, bits: 2048}}},
		{"rsa_pkcs1_private.pem", []want{{typ: TypeRSA, bits: 2048}}},
		{"rsa_pkcs8_private.pem", []want{{typ: TypeRSA, bits: 2048}}},
		{"rsa512_spki.pem", []want{{typ: TypeRSA, bits: 512}}},
		{"ed25519_pkcs8_private.pem", []want{{typ: TypeEd25519, bits: 256}}},
		{"ec_p256_private.pem", []want{{typ: TypeP256, bits: 256}}},
		{"ec_p384_spki.pem", []want{{typ: TypeP384, bits: 384}}},
		{"cert_p384.pem", []want{{typ: TypeP384, bits: 384, label: "forgehunt test issuer"}}},
		{"multi.pem", []want{
			{typ: TypeP384, bits: 384, label: "forgehunt test issuer", source: td("multi.pem") + "#1"},
			{typ: TypeEd25519, bits: 256, source: td("multi.pem") + "#2"},
		}},
		{"jwk_rsa.json", []want{{typ: TypeRSA, bits: 2048, kid: "rsa-1"}}},
		{"jwk_ec_private.json", []want{{typ: TypeP256, bits: 256, kid: "ec-priv"}}},
		{"jwks.json", []want{
			{typ: TypeP256, bits: 256, kid: "ec-256", source: td("jwks.json") + "#1"},
			{typ: TypeP521, bits: 521, kid: "ec-521"},
			{typ: TypeEd25519, bits: 256, kid: "ed-1"},
			{typ: TypeHMAC, bits: 8 * len("jwks-shared-secret"), kid: "hmac-1"},
			{typ: TypeRSA, bits: 2048, kid: "x5c-only", source: td("jwks.json") + "#5"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ks, err := LoadFile(td(tt.file), RoleExposed)
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) != len(tt.want) {
				t.Fatalf("got %d keys, want %d: %v", len(ks), len(tt.want), ks)
			}
			for i, w := range tt.want {
				k := ks[i]
				checkKey(t, k)
				if k.Type != w.typ || k.Bits != w.bits || k.KID != w.kid || k.Label != w.label || k.Role != RoleExposed {
					t.Errorf("key %d = %v, want %+v", i+1, k, w)
				}
				if w.source != "" && k.Source != w.source {
					t.Errorf("key %d source %q, want %q", i+1, k.Source, w.source)
				}
			}
		})
	}
}

// checkKey asserts the invariants of any loaded key.
func checkKey(t *testing.T, k *Key) {
	t.Helper()
	if b, err := hex.DecodeString(k.FP); err != nil || len(b) != 32 {
		t.Errorf("%v: FP %q is not a hex sha256", k, k.FP)
	}
	switch p := k.Public.(type) {
	case *rsa.PublicKey:
		if k.Type != TypeRSA {
			t.Errorf("%v: public %T", k, p)
		}
	case *ecdsa.PublicKey:
		if !strings.HasPrefix(k.Type, "ec-") {
			t.Errorf("%v: public %T", k, p)
		}
	case ed25519.PublicKey:
		if k.Type != TypeEd25519 {
			t.Errorf("%v: public %T", k, p)
		}
	case nil:
		if k.Type != TypeHMAC || len(k.Secret) == 0 {
			t.Errorf("%v: no public key and no secret", k)
		}
	default:
		t.Errorf("%v: public key of type %T", k, p)
	}
	if k.Type != TypeHMAC && (k.Secret != nil || len(k.Encodings) == 0) {
		t.Errorf("%v: public key with a secret or without encodings", k)
	}
	for _, e := range k.Encodings {
		if bytes.Contains(e, []byte("PRIVATE KEY")) {
			t.Errorf("%v: an encoding holds private material: %.80q", k, e)
		}
	}
}

func TestSameKeySameFP(t *testing.T) {
	groups := [][]string{
		{"rsa_spki.pem", "rsa_pkcs1_public.pem", "rsa_spki.der", "rsa_pkcs1_private.pem", "jwk_rsa.json"},
		{"ec_p256_private.pem", "jwks.json#1", "jwk_ec_private.json"},
		{"ed25519_pkcs8_private.pem", "multi.pem#2", "jwks.json#3"},
		{"cert_p384.pem", "ec_p384_spki.pem", "multi.pem#1"},
		{"rsa_pkcs8_private.pem", "jwks.json#5"},
	}
	for _, g := range groups {
		var fp string
		for _, name := range g {
			file, idx := name, 0
			if i := strings.IndexByte(name, '#'); i >= 0 {
				file = name[:i]
				fmt.Sscan(name[i+1:], &idx)
				idx--
			}
			ks, err := LoadFile(td(file), RoleTrusted)
			if err != nil {
				t.Fatal(err)
			}
			if fp == "" {
				fp = ks[idx].FP
			} else if ks[idx].FP != fp {
				t.Errorf("%s: FP %s, want %s (same key as %s)", name, ks[idx].FP, fp, g[0])
			}
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings of the error
	}{
		{"bad_jwks_unsupported.json", []string{"bad_jwks_unsupported.json: key 2 (kid \"abc\"): ", `unsupported OKP curve "X25519"`, "supported: Ed25519"}},
		{"bad_jwk_offcurve.json", []string{"bad_jwk_offcurve.json: jwk (kid \"off\"): ", "not on P-256"}},
		{"bad_ec_p224.pem", []string{"block 1 (PUBLIC KEY)", "P-224", "supported: P-256, P-384, P-521"}},
		{"bad_encrypted.pem", []string{"block 1 (ENCRYPTED PRIVATE KEY)", "encrypted private key"}},
		{"bad_unknown_block.pem", []string{`unsupported PEM block type "DH PARAMETERS"`, "supported: PUBLIC KEY"}},
		{"hmac_secret.txt", []string{"hmac_secret.txt: not a PEM, DER, JWK or JWKS key file"}},
		{"missing.pem", []string{"missing.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ks, err := LoadFile(td(tt.file), RoleExposed)
			if err == nil {
				t.Fatalf("no error, keys %v", ks)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"empty", "  \n", "empty key file"},
		{"bad role", "{}", "unknown role"},
		{"json neither", `{"a":1}`, "neither a JWK"},
		{"jwks not array", `{"keys":{}}`, "not an array"},
		{"jwks empty", `{"keys":[]}`, "JWKS has no keys"},
		{"kty unknown", `{"keys":[{"kty":"foo","kid":"k"}]}`, `key 1 (kid "k"): unsupported kty "foo" (supported: RSA, EC, OKP, oct)`},
		{"no kty", `{"keys":[{"n":"AQAB"}]}`, `no "kty"`},
		{"ec curve", `{"kty":"EC","crv":"P-192","x":"AA","y":"AA"}`, `unsupported EC curve "P-192"`},
		{"ec long coord", `{"kty":"EC","crv":"P-256","x":"` + strings.Repeat("A", 48) + `","y":"AA"}`, "36 bytes, want 32"},
		{"rsa even exp", `{"kty":"RSA","n":"` + strings.Repeat("_", 344) + `","e":"Ag"}`, "exponent 2 is invalid"},
		{"rsa tiny", `{"kty":"RSA","n":"AQ","e":"AQAB"}`, "modulus is invalid"},
		{"rsa bad b64", `{"kty":"RSA","n":"a+b/","e":"AQAB"}`, `RSA "n"`},
		{"no members", `{"kty":"RSA"}`, "neither its public members nor x5c"},
		{"oct empty", `{"kty":"oct","k":""}`, `empty "k"`},
		{"ed len", `{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`, "3 bytes, want 32"},
		{"pem garbage", "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n", "no usable PEM block"},
		{"pem bad der", "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n", "block 1 (PUBLIC KEY)"},
		{"openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "ssh-keygen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role := RoleExposed
			if tt.name == "bad role" {
				role = "leaked"
			}
			ks, err := Parse([]byte(tt.data), "in", role)
			if err == nil {
				t.Fatalf("no error, keys %v", ks)
			}
			if !strings.HasPrefix(err.Error(), "in: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q and %q", err, "in: ", tt.want)
			}
			var ke *Error
			if !errors.As(err, &ke) || ke.Source != "in" {
				t.Errorf("error %v is not a *keys.Error for source in", err)
			}
		})
	}
}

// TestNoPrivateMaterial checks the Key type cannot hold a private key and that
// loaded keys from private-key files keep only the public half.
func TestNoPrivateMaterial(t *testing.T) {
	typ := reflect.TypeOf(Key{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		if strings.Contains(strings.ToLower(f.Name), "priv") || strings.Contains(f.Type.String(), "Private") {
			t.Errorf("Key has private field %s %s", f.Name, f.Type)
		}
	}
	for _, file := range []string{"rsa_pkcs1_private.pem", "rsa_pkcs8_private.pem", "ec_p256_private.pem", "ed25519_pkcs8_private.pem", "jwk_ec_private.json"} {
		ks, err := LoadFile(td(file), RoleExposed)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(td(file))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			checkKey(t, k)
			if _, ok := k.Public.(crypto.Signer); ok {
				t.Errorf("%s: Public is a private key (%T)", file, k.Public)
			}
			for _, e := range k.Encodings {
				if bytes.Contains(e, []byte(`"d"`)) {
					t.Errorf("%s: an encoding holds the JWK's private member: %s", file, e)
				}
				if bytes.Equal(e, data) || bytes.Equal(e, bytes.TrimSpace(data)) {
					t.Errorf("%s: the private key file is kept as an encoding", file)
				}
			}
		}
	}
}

func TestEncodings(t *testing.T) {
	ks, err := LoadFile(td("rsa_spki.pem"), RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	pemFile, _ := os.ReadFile(td("rsa_spki.pem"))
	pkcs1, _ := os.ReadFile(td("rsa_pkcs1_public.pem"))
	der, _ := os.ReadFile(td("rsa_spki.der"))
	for name, want := range map[string][]byte{
		"pem":             pemFile,
		"pem no newline":  bytes.TrimSuffix(pemFile, []byte("\n")),
		"pkcs1 pem":       pkcs1,
		"pkcs1 pem no nl": bytes.TrimSuffix(pkcs1, []byte("\n")),
		"spki der":        der,
	} {
		if !hasEncoding(ks[0], want) {
			t.Errorf("encodings lack the %s", name)
		}
	}
	ks, err = LoadFile(td("jwk_rsa.json"), RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	jwkFile, _ := os.ReadFile(td("jwk_rsa.json"))
	if !hasEncoding(ks[0], jwkFile) || !hasEncoding(ks[0], compactJSON(jwkFile)) || !hasEncoding(ks[0], pemFile) {
		t.Errorf("JWK key encodings lack the file, its compact form or the SPKI PEM")
	}
}

func hasEncoding(k *Key, want []byte) bool {
	for _, e := range k.Encodings {
		if bytes.Equal(e, want) {
			return true
		}
	}
	return false
}

func TestLoadHMACSecret(t *testing.T) {
	k, err := LoadHMACSecret(td("hmac_secret.txt"), RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	if string(k.Secret) != "s3cret-value" || k.Type != TypeHMAC || k.Bits != 96 || k.Public != nil || k.Source != td("hmac_secret.txt") {
		t.Errorf("got %v secret %q", k, k.Secret)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(format, k); strings.Contains(s, "s3cret") {
			t.Errorf("%s prints the secret: %s", format, s)
		}
	}
	if _, err := LoadHMACSecret(td("hmac_empty.txt"), RoleExposed); err == nil || !strings.Contains(err.Error(), "empty HMAC secret") {
		t.Errorf("empty secret: err %v", err)
	}
	if _, err := LoadHMACSecret(td("hmac_secret.txt"), "bogus"); err == nil {
		t.Errorf("bad role accepted")
	}
}

func TestDedupe(t *testing.T) {
	a, err := LoadFile(td("rsa_spki.pem"), RoleTrusted)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadFile(td("jwk_rsa.json"), RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(td("ec_p384_spki.pem"), RoleTrusted)
	if err != nil {
		t.Fatal(err)
	}
	got := Dedupe([]*Key{a[0], c[0], b[0], nil})
	if len(got) != 2 || got[0] != a[0] || got[1] != c[0] {
		t.Fatalf("Dedupe = %v", got)
	}
	if got[0].KID != "rsa-1" || got[0].Role != RoleExposed || got[0].Source != td("rsa_spki.pem") {
		t.Errorf("merged key = %v", got[0])
	}
	jwkFile, _ := os.ReadFile(td("jwk_rsa.json"))
	if !hasEncoding(got[0], jwkFile) {
		t.Errorf("merged key lacks the JWK encoding")
	}
}

func TestString(t *testing.T) {
	ks, err := LoadFile(td("jwks.json"), RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`ec-p256 256-bit %s kid="ec-256" from %q (exposed)`, ks[0].FP[:12], td("jwks.json")+"#1")
	if got := ks[0].String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if s := fmt.Sprint(ks[3]); strings.Contains(s, "jwks-shared-secret") {
		t.Errorf("HMAC key prints its secret: %s", s)
	}
}

func FuzzParseKeys(f *testing.F) {
	files, err := filepath.Glob(td("*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := Parse(data, "fuzz", RoleTrusted)
		if err != nil {
			if ks != nil || !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error %q with keys %v", err, ks)
			}
			return
		}
		if len(ks) == 0 {
			t.Fatal("no keys and no error")
		}
		for _, k := range ks {
			checkKey(t, k)
		}
	})
}
