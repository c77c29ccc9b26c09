package incident

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

type keySet struct {
	exposed, trusted *rsa.PrivateKey
	exposedPKCS8     []byte // PEM, as leaked
	unknown          ed25519.PrivateKey
}

func loadKeys() (*keySet, error) {
	exposed, err := parseRSAKey(exposedKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("incident: exposed key: %w", err)
	}
	trusted, err := parseRSAKey(trustedKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("incident: trusted key: %w", err)
	}
	seed := sha256.Sum256([]byte("forgehunt/incident: the unknown signer"))
	return &keySet{
		exposed:      exposed,
		trusted:      trusted,
		exposedPKCS8: []byte(strings.TrimLeft(exposedKeyPEM, "\n")),
		unknown:      ed25519.NewKeyFromSeed(seed[:]),
	}, nil
}

func parseRSAKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA key: %T", k)
	}
	return rk, nil
}

// writeKeys writes what the analyst gets: the exposed public and (leaked)
// private key, and the trusted key as a JWKS. It returns the relative paths.
func writeKeys(dir string, keys *keySet) ([]string, error) {
	spki, err := x509.MarshalPKIXPublicKey(&keys.exposed.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("incident: exposed public key: %w", err)
	}
	type jwk struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	pub := keys.trusted.PublicKey
	jwks, err := json.MarshalIndent(struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{
		Kty: "RSA", Kid: TrustedKID, Use: "sig", Alg: "RS256",
		N: b64(pub.N.Bytes()),
		E: b64(big.NewInt(int64(pub.E)).Bytes()),
	}}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("incident: trusted jwks: %w", err)
	}
	files := []struct {
		rel  string
		data []byte
	}{
		{"keys/exposed.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})},
		{"keys/exposed-private.pem", keys.exposedPKCS8},
		{"keys/trusted-jwks.json", append(jwks, '\n')},
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	var rels []string
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f.rel)), f.data, 0o644); err != nil {
			return nil, fmt.Errorf("incident: %w", err)
		}
		rels = append(rels, f.rel)
	}
	return rels, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func artifactKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// claims is the access-token payload, in Keycloak's field order.
type claims struct {
	Exp               int64  `json:"exp"`
	Iat               int64  `json:"iat"`
	AuthTime          int64  `json:"auth_time,omitempty"`
	JTI               string `json:"jti"`
	Iss               string `json:"iss"`
	Aud               string `json:"aud"`
	Sub               string `json:"sub"`
	Typ               string `json:"typ"`
	Azp               string `json:"azp"`
	Sid               string `json:"sid,omitempty"`
	Acr               string `json:"acr,omitempty"`
	Scope             string `json:"scope"`
	ClientID          string `json:"client_id,omitempty"`
	PreferredUsername string `json:"preferred_username"`
}

// Signing algorithms a job can use.
const (
	algRS256 = "RS256"
	algEdDSA = "EdDSA"
	algNone  = "none"
)

// signJob is one token to mint. Jobs are signed in parallel; signatures are
// deterministic (PKCS#1 v1.5, Ed25519), so the output does not depend on order.
type signJob struct {
	alg, kid string
	rsaKey   *rsa.PrivateKey
	edKey    ed25519.PrivateKey
	claims   claims
	out      *string
}

func signingInput(alg, kid string, c claims) (string, error) {
	type header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid,omitempty"`
	}
	h, err := json.Marshal(header{alg, "JWT", kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return b64(h) + "." + b64(p), nil
}

func (j *signJob) sign() error {
	in, err := signingInput(j.alg, j.kid, j.claims)
	if err != nil {
		return err
	}
	var sig []byte
	switch j.alg {
	case algRS256:
		sum := sha256.Sum256([]byte(in))
		if sig, err = rsa.SignPKCS1v15(nil, j.rsaKey, crypto.SHA256, sum[:]); err != nil {
			return err
		}
	case algEdDSA:
		sig = ed25519.Sign(j.edKey, []byte(in))
	case algNone:
	default:
		return fmt.Errorf("unsupported alg %q", j.alg)
	}
	*j.out = in + "." + b64(sig)
	return nil
}

// signAll signs the jobs on all cores.
func signAll(jobs []*signJob) error {
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(jobs); i += workers {
				errs[i] = jobs[i].sign()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("incident: sign: %w", err)
	}
	return nil
}

// tamper returns raw with its payload replaced by c and the original
// signature kept, as someone editing a token by hand would.
func tamper(raw string, c claims) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("incident: tamper: not a JWS")
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("incident: tamper: %w", err)
	}
	return parts[0] + "." + b64(p) + "." + parts[2], nil
}
