package jwtcheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forgehunt/forgehunt/analyzer/keys"
)

// fixture holds freshly generated signing keys and the key set built from
// their public halves (through keys.Parse, so Encodings are real).
type fixture struct {
	rsa, rsaOther                   *rsa.PrivateKey
	p256, p384, p521                *ecdsa.PrivateKey
	ed                              ed25519.PrivateKey
	hmac                            []byte
	rsaPEM                          []byte // SPKI PEM of rsa, as a JWKS endpoint or file would publish it
	set                             []*keys.Key
	rsaKey, p256Key, edKey, hmacKey *keys.Key
	p384Key, p521Key                *keys.Key
}

var (
	fixOnce sync.Once
	fix     fixture
)

func getFixture(tb testing.TB) *fixture {
	tb.Helper()
	fixOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		fix.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		fix.rsaOther, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		fix.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		fix.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		fix.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		must(err)
		_, fix.ed, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		fix.hmac = []byte("a-test-hmac-secret-of-decent-length")

		load := func(pub crypto.PublicKey, kid string) *keys.Key {
			der, err := x509.MarshalPKIXPublicKey(pub)
			must(err)
			ks, err := keys.Parse(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "test-"+kid, keys.RoleExposed)
			must(err)
			ks[0].KID = kid
			return ks[0]
		}
		der, err := x509.MarshalPKIXPublicKey(&fix.rsa.PublicKey)
		must(err)
		fix.rsaPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		fix.rsaKey = load(&fix.rsa.PublicKey, "rsa-1")
		fix.p256Key = load(&fix.p256.PublicKey, "ec-256")
		fix.p384Key = load(&fix.p384.PublicKey, "ec-384")
		fix.p521Key = load(&fix.p521.PublicKey, "")
		fix.edKey = load(fix.ed.Public(), "ed-1")
		ks, err := keys.Parse([]byte(`{"kty":"oct","kid":"hs-1","k":"`+b64(fix.hmac)+`"}`), "test-hmac", keys.RoleTrusted)
		must(err)
		fix.hmacKey = ks[0]
		fix.set = []*keys.Key{fix.p256Key, fix.p384Key, fix.p521Key, fix.edKey, fix.hmacKey, fix.rsaKey}
	})
	return &fix
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// mint signs header and claims JSON as given (no re-encoding, so tests can
// send duplicates and odd shapes) with the method named alg.
func mint(tb testing.TB, alg, header, claims string, key any) string {
	tb.Helper()
	si := b64([]byte(header)) + "." + b64([]byte(claims))
	m := jwt.GetSigningMethod(alg)
	if m == nil {
		tb.Fatalf("no signing method %s", alg)
	}
	sig, err := m.Sign(si, key)
	if err != nil {
		tb.Fatal(err)
	}
	return si + "." + b64(sig)
}

func hdr(alg, kid string) string {
	if kid == "" {
		return `{"alg":"` + alg + `","typ":"JWT"}`
	}
	return `{"alg":"` + alg + `","kid":"` + kid + `","typ":"JWT"}`
}

const claims = `{"iss":"https://issuer.example","sub":"alice","aud":"api","iat":1700000000,"exp":1700003600,"jti":"j-1"}`

func TestVerify(t *testing.T) {
	f := getFixture(t)
	oldClaims := `{"sub":"bob","iat":946684800,"exp":1000000000}`
	tampered := func(tok string) string {
		parts := strings.Split(tok, ".")
		parts[1] = b64([]byte(`{"sub":"admin"}`))
		return strings.Join(parts, ".")
	}
	viaLibrary, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "lib", "exp": 1}).SignedString(f.rsa)
	if err != nil {
		t.Fatal(err)
	}
	rsaSig := mint(t, "RS256", hdr("RS256", "rsa-1"), claims, f.rsa)
	nonCanonical := rsaSig[:len(rsaSig)-1] + string(rsaSig[len(rsaSig)-1]+1) // 2048-bit sig: the last char carries 4 spare bits
	padded := func() string {
		h := base64.URLEncoding.EncodeToString([]byte(hdr("HS256", "")))
		p := base64.URLEncoding.EncodeToString([]byte(claims))
		sig, _ := jwt.SigningMethodHS256.Sign(h+"."+p, f.hmac)
		return h + "." + p + "." + base64.URLEncoding.EncodeToString(sig)
	}()

	tests := []struct {
		name, token, status string
		signer              *keys.Key
		note                string // substring of the note
	}{
		{"RS256", rsaSig, StatusValid, f.rsaKey, ""},
		{"RS384", mint(t, "RS384", hdr("RS384", ""), claims, f.rsa), StatusValid, f.rsaKey, ""},
		{"RS512", mint(t, "RS512", hdr("RS512", ""), claims, f.rsa), StatusValid, f.rsaKey, ""},
		{"PS256", mint(t, "PS256", hdr("PS256", ""), claims, f.rsa), StatusValid, f.rsaKey, ""},
		{"PS384", mint(t, "PS384", hdr("PS384", ""), claims, f.rsa), StatusValid, f.rsaKey, ""},
		{"PS512", mint(t, "PS512", hdr("PS512", ""), claims, f.rsa), StatusValid, f.rsaKey, ""},
		{"ES256", mint(t, "ES256", hdr("ES256", "ec-256"), claims, f.p256), StatusValid, f.p256Key, ""},
		{"ES384", mint(t, "ES384", hdr("ES384", ""), claims, f.p384), StatusValid, f.p384Key, ""},
		{"ES512", mint(t, "ES512", hdr("ES512", ""), claims, f.p521), StatusValid, f.p521Key, ""},
		{"EdDSA", mint(t, "EdDSA", hdr("EdDSA", "ed-1"), claims, f.ed), StatusValid, f.edKey, ""},
		{"HS256", mint(t, "HS256", hdr("HS256", "hs-1"), claims, f.hmac), StatusValid, f.hmacKey, ""},
		{"HS384", mint(t, "HS384", hdr("HS384", ""), claims, f.hmac), StatusValid, f.hmacKey, ""},
		{"HS512", mint(t, "HS512", hdr("HS512", ""), claims, f.hmac), StatusValid, f.hmacKey, ""},
		{"golang-jwt minted", viaLibrary, StatusValid, f.rsaKey, ""},
		{"expired long ago", mint(t, "RS256", hdr("RS256", ""), oldClaims, f.rsa), StatusValid, f.rsaKey, ""},
		{"kid is a hint: names another key", mint(t, "RS256", hdr("RS256", "ec-256"), claims, f.rsa), StatusValid, f.rsaKey, "verified by a key other than the one kid names"},
		{"kid is a hint: unknown kid", mint(t, "ES256", hdr("ES256", "nope"), claims, f.p256), StatusValid, f.p256Key, ""},

		{"wrong key", mint(t, "RS256", hdr("RS256", ""), claims, f.rsaOther), StatusUnknownKey, nil, "no given key verifies it"},
		{"wrong key, foreign kid", mint(t, "RS256", hdr("RS256", "other"), claims, f.rsaOther), StatusUnknownKey, nil, "no given key verifies it"},
		{"wrong hmac secret", mint(t, "HS256", hdr("HS256", ""), claims, []byte("guess")), StatusUnknownKey, nil, "no given key verifies it"},
		{"tampered, kid names the key", tampered(rsaSig), StatusInvalid, nil, "signature does not verify with the key named by kid"},
		{"re-signed, kid names the key", mint(t, "RS256", hdr("RS256", "rsa-1"), claims, f.rsaOther), StatusInvalid, nil, "key named by kid"},
		{"kid names a key of another type", mint(t, "RS256", hdr("RS256", "ed-1"), claims, f.rsaOther), StatusInvalid, nil, "kid names a ed25519 key but alg is RS256"},
		{"hmac kid, wrong secret", mint(t, "HS256", hdr("HS256", "hs-1"), claims, []byte("guess")), StatusInvalid, nil, "key named by kid"},

		{"alg none", b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(claims)) + ".", StatusInvalid, nil, "alg none (unsigned token)"},
		{"alg NoNe", b64([]byte(`{"alg":"NoNe"}`)) + "." + b64([]byte(claims)) + ".", StatusInvalid, nil, "alg none"},
		{"alg none with a signature", b64([]byte(`{"alg":"none","kid":"rsa-1"}`)) + "." + b64([]byte(claims)) + "." + b64([]byte("sig")), StatusInvalid, nil, "alg none"},
		{"confusion: HS256 keyed with RSA PEM", mint(t, "HS256", hdr("HS256", "rsa-1"), claims, f.rsaPEM), StatusInvalid, nil, "alg-confusion: HS256 keyed with the public key " + f.rsaKey.FP[:12]},
		{"confusion: PEM without newline", mint(t, "HS512", hdr("HS512", ""), claims, []byte(strings.TrimSpace(string(f.rsaPEM)))), StatusInvalid, nil, "alg-confusion: HS512"},
		{"confusion: EC key PEM", mint(t, "HS256", hdr("HS256", ""), claims, f.p256Key.Encodings[0]), StatusInvalid, nil, "alg-confusion: HS256 keyed with the public key " + f.p256Key.FP[:12]},

		{"duplicate alg", mint(t, "RS256", `{"alg":"RS256","alg":"HS256"}`, claims, f.rsa), StatusMalformed, nil, `duplicate header key "alg"`},
		{"duplicate alg, escaped", mint(t, "RS256", `{"alg":"RS256","\u0061lg":"RS256"}`, claims, f.rsa), StatusMalformed, nil, `duplicate header key "alg"`},
		{"duplicate kid", mint(t, "RS256", `{"alg":"RS256","kid":"a","kid":"rsa-1"}`, claims, f.rsa), StatusMalformed, nil, `duplicate header key "kid"`},
		{"duplicate other header key", mint(t, "RS256", `{"alg":"RS256","x":1,"x":2}`, claims, f.rsa), StatusValid, f.rsaKey, `duplicate header key "x"`},
		{"duplicate claim", mint(t, "RS256", hdr("RS256", ""), `{"sub":"alice","sub":"admin"}`, f.rsa), StatusValid, f.rsaKey, `duplicate claim "sub"`},
		{"crit", mint(t, "RS256", `{"alg":"RS256","crit":["exp"],"exp":1}`, claims, f.rsa), StatusValid, f.rsaKey, `crit header not understood: "exp"`},
		{"crit not an array", mint(t, "RS256", `{"alg":"RS256","crit":true}`, claims, f.rsa), StatusValid, f.rsaKey, "crit header not understood: true"},
		{"padded base64url", padded, StatusValid, f.hmacKey, "padded base64url"},

		{"huge header", mint(t, "HS256", `{"alg":"HS256","x":"`+strings.Repeat("a", 9000)+`"}`, claims, f.hmac), StatusMalformed, nil, "header is larger than 8 KiB"},
		{"huge token", mint(t, "HS256", hdr("HS256", ""), `{"x":"`+strings.Repeat("a", 70000)+`"}`, f.hmac), StatusMalformed, nil, "larger than 64 KiB"},
		{"non-canonical base64 is verified as presented", nonCanonical, StatusValid, f.rsaKey, "non-canonical base64url"},
		{"standard base64 alphabet", "eyJ+" + rsaSig[4:], StatusMalformed, nil, `header: character '+'`},
		{"newline inside", rsaSig[:10] + "\n" + rsaSig[10:], StatusMalformed, nil, `character '\n'`},
		{"two segments", "eyJhbGciOiJIUzI1NiJ9.e30", StatusMalformed, nil, "token has 2 segments, want 3"},
		{"JWE", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d", StatusMalformed, nil, "encrypted token (JWE) not supported"},
		{"unknown alg", mint(t, "RS256", `{"alg":"ES256K"}`, claims, f.rsa), StatusMalformed, nil, `unsupported alg "ES256K"`},
		{"alg in another case is verified and flagged", mint(t, "RS256", `{"alg":"rs256"}`, claims, f.rsa), StatusValid, f.rsaKey, `alg "rs256" is not the registered spelling (verified as RS256)`},
		{"alg in another case, wrong key", mint(t, "RS256", `{"alg":"Rs256"}`, claims, f.rsaOther), StatusUnknownKey, nil, `not the registered spelling`},
		{"no alg", mint(t, "RS256", `{"typ":"JWT"}`, claims, f.rsa), StatusMalformed, nil, `header has no "alg"`},
		{"alg not a string", mint(t, "RS256", `{"alg":256}`, claims, f.rsa), StatusMalformed, nil, "alg is not a string"},
		{"payload not JSON is signed content", mint(t, "RS256", hdr("RS256", ""), `hello`, f.rsa), StatusValid, f.rsaKey, "payload is not a JSON object (5 bytes)"},
		{"payload an array", mint(t, "RS256", hdr("RS256", ""), `[1]`, f.rsa), StatusValid, f.rsaKey, "payload is not a JSON object"},
		{"header trailing garbage", mint(t, "RS256", `{"alg":"RS256"}x`, claims, f.rsa), StatusMalformed, nil, "header is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _ := Decode(tt.token)
			r := Verify(tt.token, tok, f.set)
			if r.Status != tt.status || !strings.Contains(r.Note, tt.note) {
				t.Errorf("Verify = %+v, want status %s, note containing %q", r, tt.status, tt.note)
			}
			wantFP := ""
			if tt.signer != nil {
				wantFP = tt.signer.FP
			}
			if r.SignerFP != wantFP {
				t.Errorf("SignerFP = %s, want %s", r.SignerFP, wantFP)
			}
			if tt.note == "" && r.Note != "" {
				t.Errorf("unexpected note %q", r.Note)
			}
			if r.Status == StatusValid && !slices.Contains(r.Flags, FlagPayloadNotJSON) && !slices.Contains(r.Flags, FlagAlgCase) {
				// The same verdict as golang-jwt's own Parse with claims validation off.
				_, err := jwt.Parse(tt.token, func(*jwt.Token) (any, error) {
					if tt.signer.Type == keys.TypeHMAC {
						return tt.signer.Secret, nil
					}
					return tt.signer.Public, nil
				}, jwt.WithoutClaimsValidation(), jwt.WithValidMethods([]string{tok.Alg}), jwt.WithPaddingAllowed())
				if err != nil {
					t.Errorf("jwt.Parse disagrees: %v", err)
				}
			}
			if r2 := Verify(tt.token, nil, f.set); !reflect.DeepEqual(r2, r) {
				t.Errorf("Verify without a decoded token = %+v, want %+v", r2, r)
			}
		})
	}
}

func TestVerifyKeySets(t *testing.T) {
	f := getFixture(t)
	es512 := mint(t, "ES512", hdr("ES512", ""), claims, f.p521)
	if r := Verify(es512, nil, []*keys.Key{f.rsaKey, nil}); r.Status != StatusUnknownKey || r.Note != "no given ec-p521 key to verify ES512" {
		t.Errorf("no fitting key: %+v", r)
	}
	if r := Verify(es512, nil, nil); r.Status != StatusUnknownKey {
		t.Errorf("empty set: %+v", r)
	}
	weak, err := keys.LoadFile("../keys/testdata/rsa512_spki.pem", keys.RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	rs := mint(t, "RS256", hdr("RS256", ""), claims, f.rsaOther)
	if r := Verify(rs, nil, weak); r.Status != StatusUnknownKey || !strings.Contains(r.Note, "under 1024 bits") {
		t.Errorf("weak key: %+v", r)
	}
	// A PEM loaded by mistake as an HMAC secret must not make confusion tokens valid.
	pemSecret := *f.hmacKey
	pemSecret.Secret, pemSecret.KID = f.rsaPEM, ""
	hs := mint(t, "HS256", hdr("HS256", ""), claims, f.rsaPEM)
	if r := Verify(hs, nil, []*keys.Key{&pemSecret, f.rsaKey}); r.Status != StatusInvalid || !strings.Contains(r.Note, "alg-confusion") {
		t.Errorf("PEM as secret: %+v", r)
	}
	// A token decoded from another string is decoded again.
	other, _ := Decode(mint(t, "HS256", hdr("HS256", ""), claims, []byte("x")))
	if r := Verify(rs, other, []*keys.Key{f.rsaKey}); r.Status != StatusUnknownKey {
		t.Errorf("mismatched token: %+v", r)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	f := getFixture(t)
	tokens := []string{
		mint(t, "ES256", hdr("ES256", "ec-256"), claims, f.p256),
		mint(t, "HS256", `{"alg":"HS256","x":1,"x":2}`, `{"sub":"a","sub":"b"}`, f.hmac),
		mint(t, "EdDSA", hdr("EdDSA", ""), claims, f.ed),
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			raw := tokens[i%len(tokens)]
			tok, err := Decode(raw)
			if err != nil {
				t.Error(err)
				return
			}
			for range 20 {
				if r := Verify(raw, tok, f.set); r.Status != StatusValid {
					t.Errorf("%+v", r)
				}
			}
		})
	}
	wg.Wait()
}

func TestDecode(t *testing.T) {
	f := getFixture(t)
	tests := []struct {
		name, header, claims string
		want                 Token
	}{
		{
			name:   "registered claims",
			header: "{ \"alg\": \"RS256\",\n \"kid\": \"k1\", \"typ\": \"JWT\" }",
			claims: `{"iss":"https://issuer.example","sub":"alice","aud":["api","web",3],"azp":"cli","jti":"j-1","iat":1700000000.5,"nbf":1700000000,"exp":1700003600}`,
			want: Token{
				Alg: "RS256", Kid: "k1", Typ: "JWT",
				HeaderJSON: `{"alg":"RS256","kid":"k1","typ":"JWT"}`,
				ClaimsJSON: `{"iss":"https://issuer.example","sub":"alice","aud":["api","web",3],"azp":"cli","jti":"j-1","iat":1700000000.5,"nbf":1700000000,"exp":1700003600}`,
				Issuer:     "https://issuer.example", Subject: "alice", Audience: []string{"api", "web"}, AZP: "cli", JTI: "j-1",
				IssuedAt:  time.Unix(1700000000, 500000000).UTC(),
				NotBefore: time.Unix(1700000000, 0).UTC(),
				ExpiresAt: time.Unix(1700003600, 0).UTC(),
			},
		},
		{
			name:   "odd claim types",
			header: `{"alg":"HS256","kid":7,"crit":["b64"],"b64":false}`,
			claims: `{"sub":{"id":1},"aud":"one","exp":"1700003600","iat":1e300,"nbf":-1}`,
			want: Token{
				Alg: "HS256", Crit: []string{"b64"},
				HeaderJSON: `{"alg":"HS256","kid":7,"crit":["b64"],"b64":false}`,
				ClaimsJSON: `{"sub":{"id":1},"aud":"one","exp":"1700003600","iat":1e300,"nbf":-1}`,
				Audience:   []string{"one"},
				NotBefore:  time.Unix(-1, 0).UTC(),
			},
		},
		{
			name:   "escapes and invalid UTF-8",
			header: `{"alg":"HS256"}`,
			claims: "{\"sub\":\"\\u001b[31mred\",\"iss\":\"a\xffb\"}",
			want: Token{
				Alg:        "HS256",
				HeaderJSON: `{"alg":"HS256"}`,
				ClaimsJSON: "{\"sub\":\"\\u001b[31mred\",\"iss\":\"a\uFFFDb\"}",
				Subject:    "\x1b[31mred", Issuer: "a\uFFFDb",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := mint(t, "HS256", tt.header, tt.claims, f.hmac)
			tok, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			got := *tok
			got.raw, got.signingInput, got.sig, got.problem, got.notes = "", "", nil, "", nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := Decode("a.b.c.d.e"); !errors.Is(err, ErrJWE) {
		t.Errorf("JWE: %v", err)
	}
	for _, raw := range []string{"", ".", "..", "a.b.c", "e30.e30.=", "e30.e30.AAA==", "e30.e30.A"} {
		if tok, err := Decode(raw); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", raw, tok)
		}
	}
	if _, err := Decode("e30.e30."); err != nil {
		t.Errorf("empty objects, no signature: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	fx := getFixture(f)
	seeds := []string{
		mint(f, "RS256", hdr("RS256", "rsa-1"), claims, fx.rsa),
		mint(f, "ES256", hdr("ES256", "ec-256"), claims, fx.p256),
		mint(f, "EdDSA", hdr("EdDSA", ""), claims, fx.ed),
		mint(f, "HS256", hdr("HS256", "hs-1"), claims, fx.hmac),
		mint(f, "HS256", `{"alg":"HS256","alg":"none","crit":["x"]}`, `{"aud":["a"],"sub":"s","sub":1}`, fx.hmac),
		b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(claims)) + ".",
		"eyJhbGciOiJIUzI1NiJ9.e30=.AA==",
		"a.b.c.d.e",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	small := []*keys.Key{fx.p256Key, fx.edKey, fx.hmacKey}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Decode(raw)
		if err != nil {
			if tok != nil {
				t.Fatalf("error %v with a token", err)
			}
		} else {
			objects := []string{tok.HeaderJSON}
			switch {
			case tok.ClaimsJSON != "":
				objects = append(objects, tok.ClaimsJSON)
			case !slices.Contains(tok.Flags, FlagPayloadNotJSON) && !slices.Contains(tok.Flags, FlagDetached):
				t.Fatalf("no claims, yet the payload is not flagged: %q", tok.Flags)
			}
			for _, s := range objects {
				if !json.Valid([]byte(s)) || !utf8.ValidString(s) || s[0] != '{' {
					t.Fatalf("decoded JSON %q is not a valid UTF-8 object", s)
				}
			}
		}
		r := Verify(raw, tok, small)
		switch r.Status {
		case StatusValid:
			if r.SignerFP == "" {
				t.Fatalf("valid without signer: %+v", r)
			}
		case StatusInvalid, StatusUnknownKey, StatusMalformed:
			if r.SignerFP != "" || r.Note == "" {
				t.Fatalf("%+v", r)
			}
		default:
			t.Fatalf("status %q", r.Status)
		}
		if err != nil && r.Status != StatusMalformed {
			t.Fatalf("decode error %v but status %s", err, r.Status)
		}
	})
}

func BenchmarkVerifyRS256(b *testing.B) {
	f := getFixture(b)
	raw := mint(b, "RS256", hdr("RS256", "rsa-1"), claims, f.rsa)
	tok, err := Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := Verify(raw, tok, f.set); r.Status != StatusValid {
			b.Fatal(r)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	f := getFixture(b)
	raw := mint(b, "RS256", hdr("RS256", "rsa-1"), claims, f.rsa)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// What the key signed is evidence whatever it says: JWS whose payload is not
// JSON (RFC 7520's own examples sign a line of prose; webhooks sign raw
// bodies) and tokens in the lenient encodings some verifiers accept are
// verified over the bytes as presented and flagged, never discarded.
func TestVerifyFlaggedButVerified(t *testing.T) {
	f := getFixture(t)
	prose := "It\u2019s a dangerous business, Frodo, going out your door." // RFC 7520, section 4
	padSeg := func(b []byte) string { return base64.URLEncoding.EncodeToString(b) }
	// AWS ALB's x-amzn-oidc-data: every segment padded, ES256.
	albHeader, albClaims := padSeg([]byte(hdr("ES256", "ec-256"))), padSeg([]byte(claims))
	albSig, err := jwt.SigningMethodES256.Sign(albHeader+"."+albClaims, f.p256)
	if err != nil {
		t.Fatal(err)
	}
	alb := albHeader + "." + albClaims + "." + padSeg(albSig)
	tests := []struct {
		name, token string
		signer      *keys.Key
		flags       []string
	}{
		{"RS256 prose", mint(t, "RS256", hdr("RS256", ""), prose, f.rsa), f.rsaKey, []string{FlagPayloadNotJSON}},
		{"PS384 binary", mint(t, "PS384", hdr("PS384", ""), "\x00\x01\xfe\xff", f.rsa), f.rsaKey, []string{FlagPayloadNotJSON}},
		{"ES512 webhook body", mint(t, "ES512", hdr("ES512", ""), "event=push&ref=main", f.p521), f.p521Key, []string{FlagPayloadNotJSON}},
		{"EdDSA JSON string", mint(t, "EdDSA", hdr("EdDSA", ""), `"just a string"`, f.ed), f.edKey, []string{FlagPayloadNotJSON}},
		{"HS256 number", mint(t, "HS256", hdr("HS256", ""), "42", f.hmac), f.hmacKey, []string{FlagPayloadNotJSON}},
		{"ALB padded ES256", alb, f.p256Key, []string{FlagPadded}},
		{"alg case", mint(t, "ES256", `{"alg":"es256"}`, claims, f.p256), f.p256Key, []string{FlagAlgCase}},
		{"alg case and prose", mint(t, "EdDSA", `{"alg":"EDDSA"}`, prose, f.ed), f.edKey, []string{FlagPayloadNotJSON, FlagAlgCase}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Decode(tt.token)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			r := Verify(tt.token, tok, f.set)
			if r.Status != StatusValid || r.SignerFP != tt.signer.FP {
				t.Fatalf("Verify = %+v, want valid by %s", r, tt.signer.FP[:12])
			}
			if !reflect.DeepEqual(r.Flags, tt.flags) {
				t.Errorf("flags = %q, want %q", r.Flags, tt.flags)
			}
			if slices.Contains(tt.flags, FlagPayloadNotJSON) && (tok.ClaimsJSON != "" || len(tok.Payload) == 0) {
				t.Errorf("claims %q, payload %q: a non-JSON payload is kept as payload, not claims", tok.ClaimsJSON, tok.Payload)
			}
		})
	}
	// The same content under a key nobody gave is unknown-key, still flagged.
	other := mint(t, "RS256", hdr("RS256", ""), prose, f.rsaOther)
	if r := Verify(other, nil, f.set); r.Status != StatusUnknownKey || !slices.Contains(r.Flags, FlagPayloadNotJSON) {
		t.Errorf("foreign key: %+v", r)
	}
	// Unsigned and confused tokens carry their flag for rules.
	none := b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(claims)) + "."
	if r := Verify(none, nil, f.set); !slices.Contains(r.Flags, FlagAlgNone) {
		t.Errorf("alg none flags %q", r.Flags)
	}
	confused := mint(t, "HS256", hdr("HS256", ""), claims, f.rsaPEM)
	if r := Verify(confused, nil, f.set); !slices.Contains(r.Flags, FlagAlgConfusion) {
		t.Errorf("confusion flags %q", r.Flags)
	}
}
