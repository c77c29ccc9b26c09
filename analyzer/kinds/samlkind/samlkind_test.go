package samlkind

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/analyzer/kinds/kindtest"
	"github.com/forgehunt/forgehunt/internal/samlgen"
	"github.com/forgehunt/forgehunt/internal/seeded"
)

var t0 = time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)

type fixture struct {
	idp, rogue samlgen.Signer
	set        []*keys.Key
}

var fx *fixture

func setup(t testing.TB) *fixture {
	t.Helper()
	if fx != nil {
		return fx
	}
	idp, pemIdP, err := samlgen.NewSigner(seeded.Stream("samlkind-test", 1, "idp"), "ADFS Signing - sts.contoso.com", t0.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	// a self-made key whose certificate copies the IdP's subject
	rogue, _, err := samlgen.NewSigner(seeded.Stream("samlkind-test", 1, "rogue"), "ADFS Signing - sts.contoso.com", t0.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.Parse(pemIdP, "adfs-signing.pem", keys.RoleExposed)
	if err != nil {
		t.Fatal(err)
	}
	fx = &fixture{idp: idp, rogue: rogue, set: set}
	return fx
}

func assertion(id, nameID string) samlgen.Assertion {
	return samlgen.Assertion{
		ID: id, Issuer: "http://sts.contoso.com/adfs/services/trust", NameID: nameID,
		Audience: "https://app.contoso.com/saml", Recipient: "https://app.contoso.com/saml/acs",
		InResponseTo: "_req1", IssueInstant: t0, NotBefore: t0.Add(-5 * time.Minute), NotOnOrAfter: t0.Add(time.Hour),
		AuthnInstant: t0, SessionIndex: id, AuthnContext: samlgen.ContextPassword,
		Attributes: [][2]string{{samlgen.UPNClaim, nameID}, {samlgen.AuthnMethodsClaim, samlgen.ContextPassword}},
	}
}

func response(id string) samlgen.Response {
	return samlgen.Response{ID: id, Destination: "https://app.contoso.com/saml/acs", InResponseTo: "_req1",
		Issuer: "http://sts.contoso.com/adfs/services/trust", IssueInstant: t0}
}

func signed(t testing.TB, s samlgen.Signer, a samlgen.Assertion) string {
	t.Helper()
	b, err := samlgen.SignedResponse(response("_resp-"+a.ID), a, s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func claimsOf(t *testing.T, v kinds.Verdict) claims {
	t.Helper()
	var c claims
	if err := json.Unmarshal([]byte(v.Claims), &c); err != nil {
		t.Fatalf("claims %q: %v", v.Claims, err)
	}
	return c
}

func TestValid(t *testing.T) {
	f := setup(t)
	v := Kind{}.Verify(signed(t, f.idp, assertion("_a1", "alice@contoso.com")), f.set, kinds.Options{})
	if v.Status != kinds.StatusValid || v.SignerFP != f.set[0].FP {
		t.Fatalf("status %s signer %q note %q", v.Status, v.SignerFP, v.Note)
	}
	if v.ID != "_a1" || v.Subject != "alice@contoso.com" || v.Audience != "https://app.contoso.com/saml" ||
		v.Issuer != "http://sts.contoso.com/adfs/services/trust" || !v.ExpiresAt.Equal(t0.Add(time.Hour)) ||
		!v.IssuedAt.Equal(t0) || v.Alg != "rsa-sha256" {
		t.Errorf("verdict %+v", v)
	}
	c := claimsOf(t, v)
	if c.InResponseTo != "_req1" || c.Element != "Response" || c.MFA || c.Attributes[samlgen.UPNClaim][0] != "alice@contoso.com" {
		t.Errorf("claims %+v", c)
	}
	if !slices.Contains(v.Flags, FlagAssertionSigned) || slices.Contains(v.Flags, FlagSignatureWrapping) {
		t.Errorf("flags %v", v.Flags)
	}
	if none := (Kind{}).Verify(signed(t, f.idp, assertion("_a1", "alice@contoso.com")), nil, kinds.Options{}); none.Status != kinds.StatusUnknownKey {
		t.Errorf("without keys: %s", none.Status)
	}
}

// A bare assertion, signed with RSA-SHA1 and claiming MFA, verifies.
func TestBareAssertionSHA1MFA(t *testing.T) {
	f := setup(t)
	s := f.idp
	s.SHA1 = true
	a := assertion("_a2", "bob@contoso.com")
	a.Attributes = append(a.Attributes, [2]string{samlgen.AuthnMethodsClaim, samlgen.MultipleAuthn})
	el, err := s.Sign(a.Element())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := samlgen.Bytes(el)
	v := Kind{}.Verify(string(b), f.set, kinds.Options{})
	if v.Status != kinds.StatusValid || !slices.Contains(v.Flags, FlagSHA1) || !slices.Contains(v.Flags, FlagMFA) {
		t.Fatalf("status %s flags %v note %q", v.Status, v.Flags, v.Note)
	}
	if c := claimsOf(t, v); c.Element != "Assertion" || !c.MFA {
		t.Errorf("claims %+v", c)
	}
}

// Changing a signed assertion breaks it; the KeyInfo names the given key,
// so it is a forgery or tampering, not another signer.
func TestTampered(t *testing.T) {
	f := setup(t)
	raw := strings.Replace(signed(t, f.idp, assertion("_a3", "alice@contoso.com")), ">alice@contoso.com<", ">admin@contoso.com<", 1)
	v := Kind{}.Verify(raw, f.set, kinds.Options{})
	if v.Status != kinds.StatusInvalid {
		t.Fatalf("status %s note %q", v.Status, v.Note)
	}
}

// The key decides, never the name: an assertion signed by a self-made key
// whose certificate copies the IdP's subject is another signer.
func TestRogueKeyCopiesSubject(t *testing.T) {
	f := setup(t)
	v := Kind{}.Verify(signed(t, f.rogue, assertion("_a4", "admin@contoso.com")), f.set, kinds.Options{})
	if v.Status != kinds.StatusUnknownKey || !slices.Contains(v.Flags, FlagKeyInfoOtherKey) || !slices.Contains(v.Flags, FlagKeyInfoCopiesSubject) {
		t.Fatalf("status %s flags %v note %q", v.Status, v.Flags, v.Note)
	}
	if !strings.Contains(v.Note, "signed by the certificate it carries") {
		t.Errorf("note %q", v.Note)
	}
}

// Signature wrapping: an unsigned assertion put where an SP reads, the
// signed one moved beside it, is reported as wrapping, with the claims an
// SP would act on and the signed assertion named.
func TestSignatureWrapping(t *testing.T) {
	f := setup(t)
	orig := signed(t, f.idp, assertion("_a5", "alice@contoso.com"))
	evil := assertion("_evil", "admin@contoso.com")
	b, err := samlgen.WrappedResponse([]byte(orig), evil)
	if err != nil {
		t.Fatal(err)
	}
	v := Kind{}.Verify(string(b), f.set, kinds.Options{})
	if v.Status != kinds.StatusInvalid || !slices.Contains(v.Flags, FlagSignatureWrapping) || !slices.Contains(v.Flags, FlagSeveralAssertions) {
		t.Fatalf("status %s flags %v note %q", v.Status, v.Flags, v.Note)
	}
	c := claimsOf(t, v)
	if v.Subject != "admin@contoso.com" || c.SignedAssertion == nil || c.SignedAssertion.ID != "_a5" || c.SignedAssertion.Subject != "alice@contoso.com" {
		t.Errorf("subject %q signed %+v", v.Subject, c.SignedAssertion)
	}
	// the same with the evil assertion carrying the same ID as the signed one
	evil.ID = "_a5"
	b, _ = samlgen.WrappedResponse([]byte(orig), evil)
	v = Kind{}.Verify(string(b), f.set, kinds.Options{})
	if v.Status == kinds.StatusValid || !slices.Contains(v.Flags, FlagDuplicateID) || !slices.Contains(v.Flags, FlagSignatureWrapping) {
		t.Fatalf("same id: status %s flags %v", v.Status, v.Flags)
	}
}

// A comment in the NameID is flagged; the name read is all its text, as
// the signature covers it.
func TestNameIDComment(t *testing.T) {
	f := setup(t)
	a := assertion("_a6", "admin@contoso.com.evil.example")
	raw := samlgen.CommentInNameID([]byte(signed(t, f.idp, a)), a.NameID, len("admin@contoso.com"))
	v := Kind{}.Verify(string(raw), f.set, kinds.Options{})
	if v.Status != kinds.StatusValid || !slices.Contains(v.Flags, FlagNameIDComment) || v.Subject != "admin@contoso.com.evil.example" {
		t.Fatalf("status %s flags %v subject %q", v.Status, v.Flags, v.Subject)
	}
	if c := claimsOf(t, v); c.NameIDFirstText != "admin@contoso.com" {
		t.Errorf("first text %q", c.NameIDFirstText)
	}
}

func TestHostileDocuments(t *testing.T) {
	f := setup(t)
	for name, raw := range map[string]string{
		"dtd":       `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&b;</samlp:Response>`,
		"deep":      strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1),
		"truncated": `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x"><saml:Assertion`,
		"other":     `<html><body/></html>`,
		"empty":     `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x"/>`,
	} {
		v := kindtest.CheckVerdict(t, Kind{}, raw, f.set)
		if v.Status != kinds.StatusMalformed {
			t.Errorf("%s: status %s note %q", name, v.Status, v.Note)
		}
	}
	unsigned := `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_u" IssueInstant="2026-03-04T09:00:00Z"><saml:Issuer>x</saml:Issuer></saml:Assertion>`
	if v := (Kind{}).Verify(unsigned, f.set, kinds.Options{}); v.Status != kinds.StatusUnverifiable || !slices.Contains(v.Flags, FlagUnsigned) {
		t.Errorf("unsigned: %s %v", v.Status, v.Flags)
	}
}

func TestContract(t *testing.T) {
	f := setup(t)
	wrapped, _ := samlgen.WrappedResponse([]byte(signed(t, f.idp, assertion("_a7", "alice@contoso.com"))), assertion("_e", "admin@contoso.com"))
	kindtest.Check(t, Kind{}, []string{
		signed(t, f.idp, assertion("_a8", "alice@contoso.com")),
		signed(t, f.rogue, assertion("_a9", "alice@contoso.com")),
		string(wrapped),
	}, f.set)
	for _, fl := range (Kind{}).Fields(Kind{}.Verify(signed(t, f.idp, assertion("_a8", "alice@contoso.com")), f.set, kinds.Options{})) {
		if fl.Value == "" {
			t.Errorf("empty field %s", fl.Label)
		}
	}
}

func FuzzVerify(f *testing.F) {
	fx := setup(f)
	f.Add(signed(f, fx.idp, assertion("_f1", "alice@contoso.com")))
	w, _ := samlgen.WrappedResponse([]byte(signed(f, fx.idp, assertion("_f2", "alice@contoso.com"))), assertion("_e", "x"))
	f.Add(string(w))
	f.Add(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_u"/>`)
	f.Fuzz(func(t *testing.T, raw string) {
		kindtest.CheckVerdict(t, Kind{}, raw, fx.set)
	})
}

// A WS-Federation token response (as AD FS posts it to Microsoft 365 in
// wresult) carries a SAML 1.1 assertion, verified and read like a 2.0 one.
func TestWSFedSAML11(t *testing.T) {
	f := setup(t)
	a := assertion("_w1", "Zm9vYmFyaW1tdXRhYmxlaWQ=")
	a.Audience = "urn:federation:MicrosoftOnline"
	a.Attributes = append(a.Attributes, [2]string{samlgen.AuthnMethodsClaim, samlgen.MultipleAuthn})
	raw, err := samlgen.WSFedResponse(a, f.idp)
	if err != nil {
		t.Fatal(err)
	}
	v := Kind{}.Verify(string(raw), f.set, kinds.Options{})
	if v.Status != kinds.StatusValid || v.ID != "_w1" || v.Subject != "Zm9vYmFyaW1tdXRhYmxlaWQ=" || v.Audience != "urn:federation:MicrosoftOnline" ||
		v.Issuer != "http://sts.contoso.com/adfs/services/trust" || !v.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("verdict %+v", v)
	}
	c := claimsOf(t, v)
	if c.Element != "RequestSecurityTokenResponse" || !c.MFA || c.Destination != "urn:federation:MicrosoftOnline" ||
		c.Attributes[samlgen.UPNClaim][0] != "Zm9vYmFyaW1tdXRhYmxlaWQ=" {
		t.Errorf("claims %+v", c)
	}
	tampered := strings.Replace(string(raw), "urn:federation:MicrosoftOnline</saml:Audience>", "urn:other</saml:Audience>", 1)
	if v := (Kind{}).Verify(tampered, f.set, kinds.Options{}); v.Status != kinds.StatusInvalid {
		t.Errorf("tampered: %s %s", v.Status, v.Note)
	}
}
