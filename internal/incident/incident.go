// Package incident generates a deterministic key-exposure incident: an issuer
// (Keycloak) whose signing key leaked, the logs of the services that accepted
// its tokens, forged tokens hidden among legitimate ones, look-alike noise, and
// the ground truth. It feeds `forgehunt demo`, end-to-end tests and benchmarks.
//
// The logs are written in the real vendor formats (Keycloak event log in both
// the quoted and the older unquoted style, Istio/Envoy JSON access log, nginx
// with $http_authorization, a generic JSON audit log), rotated, compressed
// and wrapped as real deployments leave them: the current Keycloak log as
// journalctl prints it (Keycloak under systemd), the Istio gateway's as the
// kubelet writes it (CRI log format, as under /var/log/pods).
package incident

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Scenario constants: the issuer, its realm and the two signing keys' ids.
const (
	Issuer     = "https://idp.acme.example/realms/acme"
	Realm      = "acme"
	ExposedKID = "acme-2025" // the leaked key; the issuer used it until rotation
	TrustedKID = "acme-2026" // the key the issuer rotated to
)

// Token categories in Truth.
const (
	CategoryLegit                 = "legit"                   // issued, and the issuer's log says so
	CategoryLegitGap              = "legit-gap"               // issued while the issuer's log was down
	CategoryForged                = "forged"                  // signed with the exposed key, never issued
	CategoryForgedReusedJTI       = "forged-reused-jti"       // forged, reusing a real token's jti with another sub
	CategoryForgedAfterRevocation = "forged-after-revocation" // forged, issued after the key was revoked
	CategoryUnknownKey            = "unknown-key"             // signed by a key nobody gave forgehunt (EdDSA)
	CategoryTampered              = "tampered"                // a real token with a modified payload
	CategoryAlgNone               = "alg-none"                // unsigned, alg "none"
)

// Signers in Token.SignedBy.
const (
	SignedByExposed = "exposed"
	SignedByTrusted = "trusted"
	SignedByUnknown = "unknown"
	SignedByNone    = "none" // alg none, or a signature that no key made over this content
)

// Config sizes the incident. Zero numeric fields take their defaults, so a
// zero Config is valid; Forged cannot be set to zero.
type Config struct {
	Seed        int64 // default 1
	LegitTokens int   // legitimately issued access tokens; default 1000
	Requests    int   // access-log lines in total across services; default 12000
	Forged      int   // forged tokens signed with the exposed key; default 12
	Compress    bool  // write rotated .gz and the audit log as .zst (plain files otherwise)
}

// DefaultConfig is the configuration of `forgehunt demo`.
func DefaultConfig() Config {
	return Config{Seed: 1, LegitTokens: 1000, Requests: 12000, Forged: 12, Compress: true}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.LegitTokens <= 0 {
		c.LegitTokens = d.LegitTokens
	}
	if c.Requests <= 0 {
		c.Requests = d.Requests
	}
	if c.Forged <= 0 {
		c.Forged = d.Forged
	}
	return c
}

// Window is a half-open time interval [From, To).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Token is one distinct bearer JWT presented to the services.
type Token struct {
	// ArtifactKey is "sha256:" and the hex SHA-256 of the raw token string.
	ArtifactKey   string    `json:"artifact_key"`
	Category      string    `json:"category"`
	JTI           string    `json:"jti"`
	Sub           string    `json:"sub"`
	Username      string    `json:"preferred_username"`
	KID           string    `json:"kid"` // the header's kid, whoever signed
	SignedBy      string    `json:"signed_by"`
	IssuedAt      time.Time `json:"issued_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	Presentations int       `json:"presentations"` // access-log lines carrying it
}

// Truth is what really happened; Generate writes it to DIR/truth.json.
type Truth struct {
	Issuer      string    `json:"issuer"`
	ExposedKID  string    `json:"exposed_kid"`
	TrustedKID  string    `json:"trusted_kid"`
	ExposedFrom time.Time `json:"exposed_from"`
	RevokedAt   time.Time `json:"revoked_at"`
	RotatedAt   time.Time `json:"rotated_at"`
	// Gap is when the issuer's log wrote nothing; tokens issued then are legit-gap.
	Gap    Window  `json:"gap"`
	Tokens []Token `json:"tokens"`
	// NotJWTBearers counts the distinct bearer values that are not JWTs.
	NotJWTBearers int `json:"not_jwt_bearers"`
	// Requests counts access-log lines, health checks included.
	Requests int `json:"requests"`
	// Files are the log files, relative to DIR with forward slashes, in the
	// order written; KeyFiles the key material for the analyst.
	Files    []string `json:"files"`
	KeyFiles []string `json:"key_files"`
}

// IsForged reports whether category is one of the forged categories.
func IsForged(category string) bool {
	switch category {
	case CategoryForged, CategoryForgedReusedJTI, CategoryForgedAfterRevocation:
		return true
	}
	return false
}

// Forged returns the artifact keys of all forged tokens, in truth order.
func (t *Truth) Forged() []string {
	var keys []string
	for _, tok := range t.Tokens {
		if IsForged(tok.Category) {
			keys = append(keys, tok.ArtifactKey)
		}
	}
	return keys
}

// ByCategory returns the artifact keys of the tokens in category, in truth order.
func (t *Truth) ByCategory(category string) []string {
	var keys []string
	for _, tok := range t.Tokens {
		if tok.Category == category {
			keys = append(keys, tok.ArtifactKey)
		}
	}
	return keys
}

// The scenario's week and its milestones, in Unix milliseconds (UTC).
var (
	weekStart   = ms(2026, 3, 1, 0)
	weekEnd     = ms(2026, 3, 8, 0)
	gapFrom     = ms(2026, 3, 2, 6)
	gapTo       = ms(2026, 3, 2, 9)
	exposedFrom = ms(2026, 3, 3, 0)
	rotatedAt   = ms(2026, 3, 5, 0)
	revokedAt   = ms(2026, 3, 6, 12)
	// Keycloak was upgraded (quoted event style) when its log rotated.
	keycloakSplit = ms(2026, 3, 4, 0)
	nginxSplit    = ms(2026, 3, 5, 0)
)

func ms(y int, m time.Month, d, h int) int64 {
	return time.Date(y, m, d, h, 0, 0, 0, time.UTC).UnixMilli()
}

func utc(msec int64) time.Time { return time.UnixMilli(msec).UTC() }

// Generate writes the incident into dir (created if needed; existing files of
// the same names are overwritten) and returns its truth, also written to
// dir/truth.json. The same Config always gives byte-identical files.
func Generate(dir string, cfg Config) (*Truth, error) {
	cfg = cfg.withDefaults()
	keys, err := loadKeys()
	if err != nil {
		return nil, err
	}
	sc, err := buildScenario(cfg, keys)
	if err != nil {
		return nil, err
	}
	truth := &Truth{
		Issuer:      Issuer,
		ExposedKID:  ExposedKID,
		TrustedKID:  TrustedKID,
		ExposedFrom: utc(exposedFrom),
		RevokedAt:   utc(revokedAt),
		RotatedAt:   utc(rotatedAt),
		Gap:         Window{From: utc(gapFrom), To: utc(gapTo)},
		Requests:    len(sc.events),
	}
	if truth.KeyFiles, err = writeKeys(dir, keys); err != nil {
		return nil, err
	}
	if truth.Files, err = writeLogs(dir, sc, cfg.Compress); err != nil {
		return nil, err
	}
	for _, b := range sc.bearers {
		if b.category == "" {
			truth.NotJWTBearers++
			continue
		}
		truth.Tokens = append(truth.Tokens, Token{
			ArtifactKey:   artifactKey(b.raw),
			Category:      b.category,
			JTI:           b.jti,
			Sub:           b.sub,
			Username:      b.username,
			KID:           b.kid,
			SignedBy:      b.signedBy,
			IssuedAt:      utc(b.iat * 1000),
			ExpiresAt:     utc(b.exp * 1000),
			Presentations: b.presentations,
		})
	}
	data, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("incident: encode truth: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "truth.json"), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	return truth, nil
}

// ReadTruth reads a truth.json written by Generate.
func ReadTruth(path string) (*Truth, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("incident: read %s: %w", path, err)
	}
	return &t, nil
}

// Categories lists every token category, legit first.
func Categories() []string {
	return slices.Clone([]string{
		CategoryLegit, CategoryLegitGap,
		CategoryForged, CategoryForgedReusedJTI, CategoryForgedAfterRevocation,
		CategoryUnknownKey, CategoryTampered, CategoryAlgNone,
	})
}
