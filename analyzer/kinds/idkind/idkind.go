// Package idkind holds the kinds of credentials that platforms log only by
// their id: an Okta session, an AWS STS session's access key id, a SAML
// assertion that Entra logs by its sign-in's correlation id (until SAML
// assertions themselves are read). Nothing of such a credential can be
// verified: its artifact is the id with its issuer, every verdict is
// unverifiable, and the platform's acceptance is the evidence.
package idkind

import (
	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Kind names of id-only credentials.
const (
	OktaSession = "okta-session"
	AWSSession  = "aws-session"
)

// Kind is one id-only kind.
type Kind struct {
	name, idLabel  string
	otherPrincipal bool
}

// New is the id-only kind name whose ids people call idLabel; the
// principal its platforms log with a use is the subject it was issued to.
func New(name, idLabel string) Kind { return Kind{name: name, idLabel: idLabel} }

// NewSession is an id-only kind whose use names another principal than
// its issuance's subject (an AWS session's use names the assumed role, its
// issuance the web identity token's subject).
func NewSession(name, idLabel string) Kind {
	return Kind{name: name, idLabel: idLabel, otherPrincipal: true}
}

// PrincipalIsSubject: see kinds.PrincipalSubject.
func (k Kind) PrincipalIsSubject() bool { return !k.otherPrincipal }

func (k Kind) Name() string    { return k.name }
func (k Kind) IDLabel() string { return k.idLabel }

// Key is the key of a raw artifact of the kind. An id-only kind has no raw
// form, so a raw value is keyed by its hash like any other bytes.
func (Kind) Key(raw string) string { return record.ArtifactKey(raw) }

// Verify: there is nothing to verify.
func (Kind) Verify(string, []*keys.Key, kinds.Options) kinds.Verdict {
	return kinds.Verdict{Status: kinds.StatusUnverifiable, Note: "an id-only credential has no signature to check"}
}

// WeakMatch: a platform's id is the credential's identity.
func (Kind) WeakMatch() bool { return false }

// Fields are the id, the issuer and subject, and what the logs said of the
// credential in the platform's own terms.
func (k Kind) Fields(v kinds.Verdict) []kinds.Field {
	out := []kinds.Field{{Label: k.idLabel, Value: v.ID}, {Label: "issuer", Value: v.Issuer}, {Label: "subject", Value: v.Subject}}
	return append(out, kinds.PlatformFields(v.Claims)...)
}
