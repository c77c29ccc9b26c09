package analyzer

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Policy is what rules need to know about an estate. Every field is optional;
// the zero Policy gives the defaults.
//
// The file form (YAML):
//
//	match_tolerance: 2s       # weak match / expiry consistency
//	id_time_tolerance: 60s    # issue-time consistency of an id match
//	ledger_gap: 30m           # shortest ledger silence that may be a gap
//	gap_expected: 20          # issuances expected in a silence to call it a gap
//	max_token_lifetime: 1h    # longest lifetime the issuer is allowed to issue
//	replay_window: 10m        # replay: one token from many networks within this
//	replay_networks: 3        # ... from at least this many networks
//	max_cert_validity: 9552h  # longest certificate validity a CA may issue (398 days)
//	id_lifetime: 1h           # how long before its first use a credential known only
//	                          # by id (a platform log's) may have been issued
//	saml_token_lifetime: 1h   # longest lifetime the IdP gives a SAML token (AD FS: 60 min)
//	keys:                     # what each key legitimately signs for
//	  - kid: acme-2025        # or fp: <sha256 hex of the SPKI>
//	    issuers: [https://idp.acme.example/realms/acme]
//	    audiences: [account, billing-api]
//	  - fp: 3b1f...           # a CA key: the names it may issue certificates for
//	    names: [example.com, example.net] # each name and its subdomains
//	federation_servers:       # every server of the AD FS farm, so that a server
//	  - adfs01.corp.example   # whose log was not given lowers Golden SAML findings
//	  - adfs02.corp.example
//	principals:               # networks normal for a principal ("*": everyone)
//	  - principal: alice
//	    networks: [10.0.0.0/8, 2001:db8::/32]
type Policy struct {
	MatchTolerance   Duration        `yaml:"match_tolerance"`
	IDTimeTolerance  Duration        `yaml:"id_time_tolerance"`
	LedgerGap        Duration        `yaml:"ledger_gap"`
	GapExpected      float64         `yaml:"gap_expected"`
	MaxTokenLifetime Duration        `yaml:"max_token_lifetime"`
	ReplayWindow     Duration        `yaml:"replay_window"`
	ReplayNetworks   int             `yaml:"replay_networks"`
	MaxCertValidity  Duration        `yaml:"max_cert_validity"`
	IDLifetime       Duration        `yaml:"id_lifetime"`
	SAMLLifetime     Duration        `yaml:"saml_token_lifetime"`
	Keys             []KeyScope      `yaml:"keys"`
	Principals       []PrincipalNets `yaml:"principals"`
	// FederationServers are the AD FS farm's servers (their computer
	// names, as their audit events give them).
	FederationServers []string `yaml:"federation_servers"`
}

// KeyScope lists the issuers and audiences a key legitimately signs for.
type KeyScope struct {
	KID       string   `yaml:"kid"`
	FP        string   `yaml:"fp"`
	Issuers   []string `yaml:"issuers"`
	Audiences []string `yaml:"audiences"`
	// Names are the DNS names a CA key may issue certificates for: each
	// name and every name under it ("example.com" permits
	// www.example.com and *.example.com).
	Names []string `yaml:"names"`
}

// PrincipalNets lists the networks normal for a principal.
type PrincipalNets struct {
	Principal string   `yaml:"principal"`
	Networks  []string `yaml:"networks"`
}

// Duration reads "90s", "30m", "1h30m" in YAML.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 90s, 30m or 1h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// LoadPolicy reads a policy file; unknown keys are errors (a typo must not
// silently leave a default in force).
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return ParsePolicy(data, path)
}

// ParsePolicy reads a policy in its YAML form from data; path names it in
// errors.
func ParsePolicy(data []byte, path string) (*Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	for i, k := range p.Keys {
		if k.KID == "" && k.FP == "" {
			return nil, fmt.Errorf("policy %s: keys entry %d needs kid or fp", path, i+1)
		}
	}
	for i, pr := range p.Principals {
		if pr.Principal == "" {
			return nil, fmt.Errorf("policy %s: principals entry %d needs a principal (or \"*\")", path, i+1)
		}
		for _, n := range pr.Networks {
			if _, err := netip.ParsePrefix(n); err != nil {
				return nil, fmt.Errorf("policy %s: principal %s: %q is not a network such as 10.0.0.0/8: %v", path, pr.Principal, n, err)
			}
		}
	}
	return &p, nil
}

// Settings returns the policy's tunables over base (flags win when set).
func (p *Policy) Settings(base Settings) Settings {
	if p == nil {
		return base
	}
	set := func(dst *time.Duration, v Duration) {
		if *dst == 0 && v > 0 {
			*dst = time.Duration(v)
		}
	}
	set(&base.MatchTolerance, p.MatchTolerance)
	set(&base.IDTimeTolerance, p.IDTimeTolerance)
	set(&base.LedgerGap, p.LedgerGap)
	set(&base.MaxTokenLifetime, p.MaxTokenLifetime)
	set(&base.ReplayWindow, p.ReplayWindow)
	set(&base.MaxCertValidity, p.MaxCertValidity)
	set(&base.IDLifetime, p.IDLifetime)
	set(&base.SAMLLifetime, p.SAMLLifetime)
	if base.GapExpected == 0 {
		base.GapExpected = p.GapExpected
	}
	if base.ReplayNetworks == 0 {
		base.ReplayNetworks = p.ReplayNetworks
	}
	return base
}

// writePolicyTables fills policy_key_scope and policy_networks. Network
// bounds are hex like sightings.client_ip_hex, so that a rule tests
// "s.client_ip_hex BETWEEN n.lo_hex AND n.hi_hex".
func writePolicyTables(ctx context.Context, conn *sql.Conn, p *Policy) error {
	stmts := []string{
		`CREATE OR REPLACE TABLE policy_key_scope (kid VARCHAR, key_fp VARCHAR, issuer VARCHAR, audience VARCHAR)`,
		`CREATE OR REPLACE TABLE policy_networks (principal VARCHAR, network VARCHAR, lo_hex VARCHAR, hi_hex VARCHAR)`,
		`CREATE OR REPLACE TABLE policy_cert_names (kid VARCHAR, key_fp VARCHAR, name VARCHAR)`,
		`CREATE OR REPLACE TABLE policy_federation_servers (server VARCHAR)`,
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	if p == nil {
		return nil
	}
	for _, k := range p.Keys {
		if len(k.Issuers) == 0 && len(k.Audiences) == 0 && len(k.Names) > 0 {
			continue // a CA key's entry: its names only
		}
		issuers := orNil(k.Issuers)
		audiences := orNil(k.Audiences)
		for _, iss := range issuers {
			for _, aud := range audiences {
				if _, err := conn.ExecContext(ctx, `INSERT INTO policy_key_scope VALUES (?, ?, ?, ?)`,
					nullStr(k.KID), nullStr(k.FP), iss, aud); err != nil {
					return err
				}
			}
		}
	}
	for _, k := range p.Keys {
		for _, n := range k.Names {
			n = strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), "."), "*.")
			if _, err := conn.ExecContext(ctx, `INSERT INTO policy_cert_names VALUES (?, ?, ?)`,
				nullStr(k.KID), nullStr(k.FP), n); err != nil {
				return err
			}
		}
	}
	for _, srv := range p.FederationServers {
		if srv = strings.TrimSpace(srv); srv != "" {
			if _, err := conn.ExecContext(ctx, `INSERT INTO policy_federation_servers VALUES (?)`, srv); err != nil {
				return err
			}
		}
	}
	for _, pr := range p.Principals {
		for _, n := range pr.Networks {
			pfx, err := netip.ParsePrefix(n)
			if err != nil {
				return err
			}
			lo, hi := prefixBounds(pfx.Masked())
			if _, err := conn.ExecContext(ctx, `INSERT INTO policy_networks VALUES (?, ?, ?, ?)`,
				pr.Principal, n, lo, hi); err != nil {
				return err
			}
		}
	}
	return nil
}

func orNil(s []string) []any {
	if len(s) == 0 {
		return []any{nil}
	}
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// prefixBounds returns the first and last address of pfx as 32 hex digits
// of their 128-bit (IPv4-mapped) value, the form of sightings.client_ip_hex.
func prefixBounds(pfx netip.Prefix) (string, string) {
	addr := pfx.Addr()
	bits := pfx.Bits()
	if addr.Is4() {
		bits += 96
	}
	lo := addr.As16()
	hi := lo
	for i := bits; i < 128; i++ {
		hi[i/8] |= 1 << (7 - uint(i%8))
	}
	return hex.EncodeToString(lo[:]), hex.EncodeToString(hi[:])
}
