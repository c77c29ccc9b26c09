package jwtkind

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/analyzer/kinds/kindtest"
)

var (
	fixtureOnce sync.Once
	samples     []string
	keySet      []*keys.Key
)

// fixture signs tokens with an exposed RSA key and a trusted EC key, and
// makes ones no key verifies.
func fixture(tb testing.TB) ([]string, []*keys.Key) {
	fixtureOnce.Do(func() {
		rk, _ := rsa.GenerateKey(rand.Reader, 2048)
		ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		for _, k := range []struct {
			pub  any
			role string
		}{{&rk.PublicKey, keys.RoleExposed}, {&ek.PublicKey, keys.RoleTrusted}} {
			der, _ := x509.MarshalPKIXPublicKey(k.pub)
			ks, err := keys.Parse(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "test", k.role)
			if err != nil {
				panic(err)
			}
			keySet = append(keySet, ks...)
		}
		claims := jwt.MapClaims{"iss": "https://idp.example", "sub": "alice", "jti": "j1", "aud": []string{"a", "b"}, "iat": 1772618400}
		sign := func(m jwt.SigningMethod, key any) string {
			s, err := jwt.NewWithClaims(m, claims).SignedString(key)
			if err != nil {
				panic(err)
			}
			return s
		}
		samples = []string{sign(jwt.SigningMethodRS256, rk), sign(jwt.SigningMethodES256, ek), sign(jwt.SigningMethodRS256, other),
			sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"}
	})
	return samples, keySet
}

func TestConformance(t *testing.T) {
	s, set := fixture(t)
	kindtest.Check(t, Kind{}, s, set)
}

// The kind says what jwtcheck says, in the artifact's own terms.
func TestVerify(t *testing.T) {
	s, set := fixture(t)
	want := []string{kinds.StatusValid, kinds.StatusValid, kinds.StatusUnknownKey, kinds.StatusInvalid, kinds.StatusUnknownKey}
	for i, raw := range s {
		v := Kind{}.Verify(raw, set, kinds.Options{})
		if v.Status != want[i] {
			t.Errorf("sample %d: %s (%s), want %s", i, v.Status, v.Note, want[i])
		}
	}
	v := Kind{}.Verify(s[0], set, kinds.Options{})
	if v.ID != "j1" || v.Subject != "alice" || v.Audience != "a,b" || v.Alg != "RS256" || v.IssuedAt.Unix() != 1772618400 {
		t.Errorf("claims not read: %+v", v)
	}
	if d := (Kind{}).Verify(s[1], set, kinds.Options{DeferTrusted: true}); d.Status != kinds.StatusNotChecked {
		t.Errorf("a trusted-key token with trusted keys deferred: %s", d.Status)
	}
}

func FuzzVerify(f *testing.F) {
	s, set := fixture(f)
	for _, raw := range s {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		kindtest.CheckVerdict(t, Kind{}, raw, set)
	})
}

// A GitHub Actions OIDC token shows the run it claims to be in its fields.
func TestFieldsCIClaims(t *testing.T) {
	v := kinds.Verdict{ID: "j1", Claims: `{"repository":"acme/app","workflow_ref":"acme/app/.github/workflows/release.yml@refs/tags/v1","ref":"refs/tags/v1","sha":"0123abc","run_id":"42","actor":"\u001b[31mmallory"}`}
	got := map[string]string{}
	for _, f := range (Kind{}).Fields(v) {
		got[f.Label] = f.Value
	}
	if got["repository"] != "acme/app" || got["workflow"] != "acme/app/.github/workflows/release.yml@refs/tags/v1" || got["run"] != "42" || got["commit"] != "0123abc" {
		t.Errorf("fields %v", got)
	}
	if strings.Contains(got["actor"], "\x1b") {
		t.Errorf("escape sequence passed through: %q", got["actor"])
	}
	if fs := (Kind{}).Fields(kinds.Verdict{Claims: `{"sub":"alice"}`}); len(fs) != 7 {
		t.Errorf("a token without CI claims has %d fields", len(fs))
	}
}

// An Entra access token has no jti: its uti is the id Entra's sign-in logs
// record it by, so the kind takes it as the token's id.
func TestUTIIsTheIDWithoutJTI(t *testing.T) {
	_, set := fixture(t)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": "https://sts.windows.net/t/", "uti": "AbC-dEf_123"}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	if v := (Kind{}).Verify(tok, set, kinds.Options{}); v.ID != "AbC-dEf_123" {
		t.Errorf("id = %q, want the uti", v.ID)
	}
}

// An id-only token (a Kubernetes audit log's JTI) is shown in the terms the
// platform logged of it.
func TestIDOnlyFieldsInPlatformTerms(t *testing.T) {
	v := kinds.Verdict{ID: "7c1e", Subject: "system:serviceaccount:ci:runner", Status: kinds.StatusUnverifiable,
		Claims: `{"authentication.kubernetes.io/pod-name":"runner-5f7","authentication.kubernetes.io/node-name":"node-3\u001b[2J"}`}
	got := map[string]string{}
	for _, f := range (Kind{}).Fields(v) {
		got[f.Label] = f.Value
	}
	if got["pod"] != "runner-5f7" || got["node"] != `node-3\x1b[2J` || got["jti"] != "7c1e" {
		t.Errorf("fields = %v", got)
	}
}
