// Package jwtkind is the JWT artifact kind: compact JWS (and JWE, kept
// unverifiable) tokens, verified with jwtcheck.
package jwtkind

import (
	"encoding/json"
	"strings"

	"github.com/forgehunt/forgehunt/analyzer/jwtcheck"
	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Kind is the JWT kind.
type Kind struct{}

func (Kind) Name() string    { return record.KindJWT }
func (Kind) IDLabel() string { return "jti" }

// Key is the sha256 of the token as presented: a token has one
// serialization, and its bytes are what a verifier checked.
func (Kind) Key(raw string) string { return record.ArtifactKey(raw) }

// Verify decodes the token without trusting it and checks its signature
// (jwtcheck.Verify, or VerifyExposed when trusted keys are deferred). The
// columns people see are escaped (terminal escapes, bidi overrides), as the
// parsers escape the issuances they are matched with; the header and claims
// JSON keep the token's own text.
func (Kind) Verify(raw string, set []*keys.Key, opts kinds.Options) kinds.Verdict {
	tok, err := jwtcheck.Decode(raw)
	if err != nil {
		return kinds.Verdict{Status: kinds.StatusMalformed, Note: record.Escape(err.Error())}
	}
	v := kinds.Verdict{
		ID: record.Escape(tokenID(tok)), Issuer: record.Escape(tok.Issuer), Subject: record.Escape(tok.Subject),
		Audience: record.Escape(strings.Join(tok.Audience, ",")), AZP: record.Escape(clientID(tok)),
		KID: record.Escape(tok.Kid), Alg: record.Escape(tok.Alg),
		IssuedAt: tok.IssuedAt, NotBefore: tok.NotBefore, ExpiresAt: tok.ExpiresAt,
		Header: tok.HeaderJSON, Claims: tok.ClaimsJSON,
	}
	var res jwtcheck.Result
	if opts.DeferTrusted {
		res = jwtcheck.VerifyExposed(raw, tok, set)
	} else {
		res = jwtcheck.Verify(raw, tok, set)
	}
	v.Status, v.SignerFP, v.Note, v.Flags = res.Status, res.SignerFP, record.Escape(res.Note), res.Flags
	return v
}

// tokenID is the token's id: its jti, else Entra's uti (the id Entra's
// sign-in logs record the tokens it issued by).
func tokenID(tok *jwtcheck.Token) string {
	if tok.JTI != "" {
		return tok.JTI
	}
	return tok.UTI
}

// clientID is the client the token was issued to: its azp, else Okta's
// cid.
func clientID(tok *jwtcheck.Token) string {
	if tok.AZP != "" {
		return tok.AZP
	}
	return tok.CID
}

// WeakMatch: Keycloak does not log every token's id (a token granted
// without token_id), so subject, audience and times may account for one.
func (Kind) WeakMatch() bool { return true }

// Fields are the token's own terms.
func (Kind) Fields(v kinds.Verdict) []kinds.Field {
	out := []kinds.Field{
		{Label: "jti", Value: v.ID}, {Label: "iss", Value: v.Issuer}, {Label: "sub", Value: v.Subject},
		{Label: "aud", Value: v.Audience}, {Label: "azp", Value: v.AZP}, {Label: "kid", Value: v.KID},
		{Label: "alg", Value: v.Alg},
	}
	if v.Status == kinds.StatusUnverifiable {
		// an id-only token: its claims are what the platform logged of it
		out = append(out, kinds.PlatformFields(v.Claims)...)
	}
	return append(out, ciFields(v.Claims)...)
}

// ciClaims are the claims a CI system's OIDC token carries about the run
// it was issued to (GitHub Actions; GitLab CI's id_tokens use
// project_path, ref, pipeline_id and sha): what an analyst needs to tell
// which workflow a stolen or forged CI token claims to be.
var ciClaims = []struct{ claim, label string }{
	{"repository", "repository"}, {"project_path", "repository"},
	{"workflow_ref", "workflow"}, {"job_workflow_ref", "job workflow"},
	{"ref", "ref"}, {"sha", "commit"}, {"run_id", "run"}, {"pipeline_id", "pipeline"},
	{"event_name", "event"}, {"actor", "actor"}, {"environment", "environment"},
	{"runner_environment", "runner"},
}

// ciFields are the CI claims of a token's claims JSON, in ciClaims order.
func ciFields(claims string) []kinds.Field {
	if !strings.Contains(claims, `"repository"`) && !strings.Contains(claims, `"project_path"`) {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(claims), &m) != nil {
		return nil
	}
	var out []kinds.Field
	seen := map[string]bool{}
	for _, c := range ciClaims {
		s, ok := m[c.claim].(string)
		if !ok || s == "" || seen[c.label] {
			continue
		}
		seen[c.label] = true
		if len(s) > 512 {
			s = s[:512] + "…"
		}
		out = append(out, kinds.Field{Label: c.label, Value: record.Escape(s)})
	}
	return out
}
