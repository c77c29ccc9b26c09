// Package samlkind is the SAML 2.0 assertion kind: a captured SAML
// response or assertion, verified against the given keys (an AD FS
// token-signing certificate) with goxmldsig, and read only from the
// element that was verified.
//
// # What is verified, and what is read
//
// A SAML message may be signed on the Response, on its Assertion, or
// both. The assertion a service provider acts on is the Response's first
// Assertion child (or the document, when it is an assertion). Its claims
// are taken from the copy the signature check returns, never from the
// document as presented: what was not signed is not read. Where the
// assertion an SP would read is not the one a signature covers (signature
// wrapping: a signed assertion moved aside and an unsigned one put in its
// place, or a second assertion injected), the verdict is invalid with the
// flag signature-wrapping, its claims those of the assertion an SP would
// read, and the signed one named in claims.signed_assertion: a wrapping
// attempt is an attack on a service provider's parser, not a forgery with
// the key.
//
// The key decides, never the name: a signature's KeyInfo certificate is
// not trusted and not needed; every given RSA or ECDSA key is tried (the
// one KeyInfo names first). A KeyInfo certificate whose key is none of the
// given keys is flagged, and when its subject copies a given certificate's
// subject, flagged as such.
//
// Documents with a DTD are refused (no entity is ever expanded), as are
// documents nested deeper than MaxDepth or with more than MaxElements
// elements.
package samlkind

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// SAML 2.0 namespaces.
const (
	NSAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	NSProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	// NSAssertion1 is SAML 1.1's, whose assertions WS-Federation carries
	// (AD FS to Microsoft 365 and other WS-Fed relying parties).
	NSAssertion1 = "urn:oasis:names:tc:SAML:1.0:assertion"
	nsDSig       = "http://www.w3.org/2000/09/xmldsig#"
)

// Bounds of a document.
const (
	MaxDepth    = 64
	MaxElements = 10000
)

// Flags of SAML verdicts (artifacts.sig_flags).
const (
	FlagSignatureWrapping = "signature-wrapping" // the assertion an SP reads is not the signed one
	FlagSeveralAssertions = "several-assertions" // a response with more than one assertion
	FlagDuplicateID       = "duplicate-id"       // two elements share an ID
	FlagNameIDComment     = "nameid-comment"     // a comment inside the NameID (read around by some SPs)
	FlagResponseSigned    = "response-signed"
	FlagAssertionSigned   = "assertion-signed"
	FlagUnsigned          = "unsigned" // no signature covers the assertion
	FlagKeyInfoOtherKey   = "keyinfo-other-key"
	// FlagKeyInfoCopiesSubject: the KeyInfo certificate carries a given
	// certificate's subject with another key.
	FlagKeyInfoCopiesSubject = "keyinfo-copies-subject"
	FlagSHA1                 = "sha1"
	FlagEncrypted            = "encrypted-assertion" // an EncryptedAssertion: nothing to read without the SP's key
	FlagInResponseToMismatch = "in-response-to-mismatch"
	FlagUnsolicited          = "unsolicited" // no InResponseTo: IdP-initiated
	FlagMFA                  = "mfa"         // the assertion claims multi-factor authentication
)

// Checks counts the signature checks run by every Verify of this process.
var Checks atomic.Int64

// Kind is the SAML kind. Sightings known only by an id (Entra ID's
// federated sign-ins by their activity id, a service provider's log by the
// assertion id) are artifacts of this kind too, with nothing to verify.
type Kind struct{}

func (Kind) Name() string    { return record.KindSAML }
func (Kind) IDLabel() string { return "assertion id" }

// WeakMatch: an assertion is accounted for through the request it
// answered, never by subject and time alone.
func (Kind) WeakMatch() bool { return false }

// Key is the hash of the message as decoded: the same response met in an
// access log and a HAR is one artifact.
func (Kind) Key(raw string) string { return record.ArtifactKey(raw) }

// header is what the header column holds of a SAML signature.
type header struct {
	SignatureMethod string `json:"signature_method,omitempty"`
	DigestMethod    string `json:"digest_method,omitempty"`
	Signed          string `json:"signed,omitempty"` // "response", "assertion", "response+assertion"
	Reference       string `json:"reference,omitempty"`
	KeyInfoSubject  string `json:"keyinfo_subject,omitempty"`
	KeyInfoSPKI     string `json:"keyinfo_spki_sha256,omitempty"`
}

// claims is what the claims column holds of an assertion.
type claims struct {
	Element      string `json:"element"` // Response or Assertion
	ResponseID   string `json:"response_id,omitempty"`
	InResponseTo string `json:"in_response_to,omitempty"`
	Destination  string `json:"destination,omitempty"`
	Recipient    string `json:"recipient,omitempty"`
	Status       string `json:"status,omitempty"`
	NameIDFormat string `json:"name_id_format,omitempty"`
	// NameIDFirstText is the NameID's text before a comment in it: what a
	// parser that reads only the first text node takes the name to be.
	NameIDFirstText string              `json:"name_id_first_text,omitempty"`
	SessionIndex    string              `json:"session_index,omitempty"`
	AuthnInstant    string              `json:"authn_instant,omitempty"`
	AuthnContext    string              `json:"authn_context,omitempty"`
	AuthnMethods    []string            `json:"authn_methods,omitempty"`
	MFA             bool                `json:"mfa"`
	Attributes      map[string][]string `json:"attributes,omitempty"`
	Assertions      int                 `json:"assertions,omitempty"`
	SignedAssertion *signedRef          `json:"signed_assertion,omitempty"`
}

type signedRef struct {
	ID      string `json:"id"`
	Subject string `json:"subject,omitempty"`
}

// Verify decodes the message without trusting it, finds what its
// signatures cover, and verifies them with the given keys.
func (Kind) Verify(raw string, set []*keys.Key, opts kinds.Options) kinds.Verdict {
	if len(raw) > record.MaxSAMLBytes {
		return malformed(fmt.Sprintf("SAML message of %d bytes is larger than %d", len(raw), record.MaxSAMLBytes))
	}
	if err := preScan([]byte(raw)); err != nil {
		return malformed(err.Error())
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(raw); err != nil {
		return malformed("not XML: " + err.Error())
	}
	root := doc.Root()
	if root == nil {
		return malformed("no root element")
	}
	var resp, consumed *etree.Element
	var wsfed *etree.Element // a WS-Trust RequestSecurityTokenResponse
	switch {
	case is(root, NSProtocol, "Response"):
		resp = root
		consumed = firstChild(root, NSAssertion, "Assertion")
	case isAssertion(root):
		consumed = root
	case isRSTR(root) || isRSTRC(root):
		wsfed = root
		if isRSTRC(root) {
			wsfed = nil
			for _, c := range root.ChildElements() {
				if isRSTR(c) {
					wsfed = c
					break
				}
			}
		}
		if wsfed != nil {
			for _, c := range wsfed.ChildElements() {
				if c.Tag == "RequestedSecurityToken" {
					if cs := c.ChildElements(); len(cs) > 0 && isAssertion(cs[0]) {
						consumed = cs[0]
					}
				}
			}
		}
		if consumed == nil {
			return malformed("the WS-Trust response holds no SAML assertion in a RequestedSecurityToken")
		}
	default:
		return malformed("the root element is " + root.FullTag() + ", not a SAML Response or Assertion or a WS-Trust token response")
	}
	all := append(findAll(root, NSAssertion, "Assertion"), findAll(root, NSAssertion1, "Assertion")...)
	var flags []string
	if resp != nil && consumed == nil {
		if firstChild(resp, NSAssertion, "EncryptedAssertion") != nil {
			v := kinds.Verdict{Status: kinds.StatusUnverifiable, Flags: []string{FlagEncrypted},
				Note: "the assertion is encrypted for the service provider: nothing can be read or verified without its key"}
			v.ID = attr(resp, "ID")
			return v
		}
		if len(all) == 0 {
			return malformed("the response holds no assertion")
		}
		// an assertion only deeper down: an SP that searches for it reads it
		consumed = all[0]
		flags = append(flags, FlagSignatureWrapping)
	}
	if len(all) > 1 {
		flags = append(flags, FlagSeveralAssertions)
	}
	if dupIDs(root) {
		flags = append(flags, FlagDuplicateID)
	}

	// the signatures that could cover the consumed assertion: the
	// Response's own, and the assertion's own
	var hdr header
	tried, deferred := candidates(set, opts)
	var signer *keys.Key
	var verified *etree.Element // the consumed assertion as the signature covers it
	var sigEl *etree.Element
	respSig, asSig := sigChild(resp), sigChild(consumed)
	switch {
	case respSig != nil:
		sigEl = respSig
	case asSig != nil:
		sigEl = asSig
	}
	ki := keyInfoCert(sigEl)
	if ki != nil {
		hdr.KeyInfoSubject = record.Escape(ki.Subject.String())
		hdr.KeyInfoSPKI = keys.SPKIFingerprint(ki.RawSubjectPublicKeyInfo)
		orderByKeyInfo(tried, hdr.KeyInfoSPKI)
	}
	signedBy := ""
	if respSig != nil {
		if k, el := validate(resp, tried); k != nil {
			signer, signedBy = k, "response"
			verified = firstChild(el, NSAssertion, "Assertion")
			if verified == nil || idOf(verified) != idOf(consumed) {
				verified = nil
			}
			flags = append(flags, FlagResponseSigned)
		}
	}
	if asSig != nil {
		if k, el := validate(consumed, tried); k != nil {
			if signer == nil {
				signer, verified = k, el
			}
			signedBy = strings.TrimPrefix(signedBy+"+assertion", "+")
			flags = append(flags, FlagAssertionSigned)
		}
	}
	hdr.Signed = signedBy
	if sigEl != nil {
		hdr.SignatureMethod = algName(sigEl, "SignatureMethod")
		hdr.DigestMethod = algName(sigEl, "DigestMethod")
		if ref := findAll(sigEl, nsDSig, "Reference"); len(ref) > 0 {
			hdr.Reference = record.Escape(attr(ref[0], "URI"))
		}
		if strings.Contains(hdr.SignatureMethod, "sha1") || strings.Contains(hdr.DigestMethod, "sha1") {
			flags = append(flags, FlagSHA1)
		}
	}

	// Which assertion to read: the verified copy; else the consumed one as
	// presented (then nothing of it is vouched for)
	read := verified
	if read == nil {
		read = consumed
	}
	v, c := describe(resp, read)
	if wsfed != nil {
		c.Element = "RequestSecurityTokenResponse"
		for _, e := range findAll(wsfed, "http://www.w3.org/2005/08/addressing", "Address") {
			c.Destination = esc(text(e))
			break
		}
	}
	v.Alg = hdr.SignatureMethod
	if b, err := json.Marshal(hdr); err == nil && sigEl != nil {
		v.Header = string(b)
	}
	c.Assertions = len(all)
	if first, ok := nameIDComment(consumed); ok {
		flags = append(flags, FlagNameIDComment)
		c.NameIDFirstText = esc(first)
	}
	if c.InResponseTo == "" {
		flags = append(flags, FlagUnsolicited)
	}
	if resp != nil && attr(resp, "InResponseTo") != "" && c.InResponseTo != "" && attr(resp, "InResponseTo") != c.InResponseTo {
		flags = append(flags, FlagInResponseToMismatch)
	}
	if c.MFA {
		flags = append(flags, FlagMFA)
	}

	wrapped := slices.Contains(flags, FlagSignatureWrapping)
	var other *signedRef // another assertion of the message that a given key signed
	if signer == nil || verified == nil || wrapped {
		other = wrappedSigned(all, consumed, tried)
	}
	switch {
	case signer != nil && verified != nil && !wrapped:
		v.Status, v.SignerFP = kinds.StatusValid, signer.FP
		v.Note = "signed (" + signedBy + ") by " + signer.Name()
	case signer != nil || other != nil:
		// a given key signed something in the message, but not the
		// assertion a service provider reads
		flags = append(flags, FlagSignatureWrapping)
		c.SignedAssertion = other
		v.Status = kinds.StatusInvalid
		what := "another element"
		if other != nil {
			what = "assertion " + other.ID
			if other.Subject != "" {
				what += " (" + other.Subject + ")"
			}
		}
		if sigEl == nil {
			flags = append(flags, FlagUnsigned)
		}
		v.Note = "the assertion a service provider reads is not the one a given key signed (" + what + "): signature wrapping"
	case sigEl == nil:
		flags = append(flags, FlagUnsigned)
		v.Status = kinds.StatusUnverifiable
		v.Note = "no signature covers the assertion"
	case len(deferred) > 0 && len(tried) == 0:
		v.Status = kinds.StatusNotChecked
	default:
		v.Status, v.Note, flags = judgeUnverified(ki, set, tried, deferred, flags, resp, consumed)
	}
	if b, err := json.Marshal(c); err == nil {
		v.Claims = string(b)
	}
	sort.Strings(flags)
	v.Flags = slices.Compact(flags)
	v.Note = record.Escape(v.Note)
	return v
}

// judgeUnverified is the verdict of a signed message no tried key
// verifies: invalid when its KeyInfo names a given key (tampered), else
// signed by a key that is none of the given ones.
func judgeUnverified(ki *x509.Certificate, set, tried, deferred []*keys.Key, flags []string,
	resp, consumed *etree.Element) (string, string, []string) {
	if len(deferred) > 0 {
		return kinds.StatusNotChecked, "", flags
	}
	if ki == nil {
		if len(tried) == 0 {
			return kinds.StatusUnknownKey, "signed; no RSA or ECDSA key was given to check it", flags
		}
		return kinds.StatusUnknownKey, "signed, without a KeyInfo certificate, by none of the given keys", flags
	}
	fp := keys.SPKIFingerprint(ki.RawSubjectPublicKeyInfo)
	for _, k := range set {
		if k.FP == fp {
			return kinds.StatusInvalid, "its KeyInfo names " + k.Name() + " but the signature does not verify with it: forged or tampered", flags
		}
	}
	flags = append(flags, FlagKeyInfoOtherKey)
	for _, k := range set {
		if k.Cert != nil && len(ki.RawSubject) > 0 && bytes.Equal(k.Cert.RawSubject, ki.RawSubject) {
			flags = append(flags, FlagKeyInfoCopiesSubject)
			break
		}
	}
	own := &keys.Key{Public: ki.PublicKey, FP: fp}
	el := resp
	if sigChild(resp) == nil {
		el = consumed
	}
	if k, _ := validate(el, []*keys.Key{own}); k != nil {
		note := "signed by the certificate it carries (" + ki.Subject.String() + ", key " + fp[:16] + "…), which is none of the given keys"
		if slices.Contains(flags, FlagKeyInfoCopiesSubject) {
			note += ": it copies a given certificate's subject with another key"
		}
		return kinds.StatusUnknownKey, note, flags
	}
	return kinds.StatusUnknownKey, "signed by none of the given keys, and not by the certificate it carries either", flags
}

// wrappedSigned returns the first assertion other than consumed whose own
// signature verifies with a tried key.
func wrappedSigned(all []*etree.Element, consumed *etree.Element, tried []*keys.Key) *signedRef {
	for _, a := range all {
		if a == consumed || sigChild(a) == nil {
			continue
		}
		if k, el := validate(a, tried); k != nil {
			return &signedRef{ID: record.Escape(idOf(el)), Subject: record.Escape(nameID(el))}
		}
	}
	return nil
}

func malformed(note string) kinds.Verdict {
	return kinds.Verdict{Status: kinds.StatusMalformed, Note: record.Escape(note)}
}

// preScan refuses what a parser must never be given: a DTD (entity
// expansion), deep nesting, too many elements; and syntax errors.
func preScan(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	depth, elements := 0, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			if depth != 0 {
				return errors.New("not XML: unexpected end of the document")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("not XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("DTD refused: a SAML message never has a document type declaration (entity expansion)")
		case xml.StartElement:
			depth++
			elements++
			if depth > MaxDepth {
				return fmt.Errorf("nested deeper than %d elements", MaxDepth)
			}
			if elements > MaxElements {
				return fmt.Errorf("more than %d elements", MaxElements)
			}
		case xml.EndElement:
			depth--
			_ = t
		}
	}
}

// candidates are the keys that can check an XML signature, exposed first;
// trusted ones are deferred when asked.
func candidates(set []*keys.Key, opts kinds.Options) (tried, deferred []*keys.Key) {
	var fit []*keys.Key
	for _, k := range set {
		switch k.Public.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			fit = append(fit, k)
		}
	}
	return opts.Split(fit)
}

// orderByKeyInfo moves the key KeyInfo names to the front: usually the
// signer, so one check settles it.
func orderByKeyInfo(ks []*keys.Key, fp string) {
	// (a key set holds each fingerprint once)
	if i := slices.IndexFunc(ks, func(k *keys.Key) bool { return k.FP == fp }); i > 0 {
		k := ks[i]
		copy(ks[1:i+1], ks[:i])
		ks[0] = k
	}
}

// farFuture bounds the validity of the stand-in certificate a key is
// checked with: the signature check must not depend on today's date.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// validate checks el's enveloped signature with each key in turn,
// returning the key that verifies it and the element as the signature
// covers it. The check runs on a fresh parse of el's whole document, so
// that namespaces declared by its ancestors stay in scope, with the
// signature's KeyInfo taken out: the key is given, never taken from the
// message.
func validate(el *etree.Element, ks []*keys.Key) (*keys.Key, *etree.Element) {
	if el == nil || len(ks) == 0 {
		return nil, nil
	}
	path := pathOf(el)
	doc := etree.NewDocument()
	doc.SetRoot(rootOf(el).Copy())
	target := follow(doc.Root(), path)
	if s := sigChild(target); s != nil {
		for _, k := range childrenNS(s, nsDSig, "KeyInfo") {
			s.RemoveChild(k)
		}
	}
	// a round trip through bytes: goxmldsig finds the signature by the
	// positions of tokens, which an edited tree may not keep
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, nil
	}
	fresh := etree.NewDocument()
	if err := fresh.ReadFromBytes(b); err != nil {
		return nil, nil
	}
	target = follow(fresh.Root(), path)
	if target == nil {
		return nil, nil
	}
	for _, k := range ks {
		store := &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{{PublicKey: k.Public, NotAfter: farFuture}}}
		ctx := dsig.NewDefaultValidationContext(store)
		if is(target, NSAssertion1, "Assertion") {
			ctx.IdAttribute = "AssertionID"
		}
		Checks.Add(1)
		out, err := safeValidate(ctx, target)
		if err == nil && out != nil {
			return k, out
		}
	}
	return nil, nil
}

// pathOf is el's position under its root: the index among its parent's
// child elements, at each level.
func pathOf(el *etree.Element) []int {
	var path []int
	for e := el; e.Parent() != nil && e.Parent().Tag != ""; e = e.Parent() {
		p := e.Parent()
		for i, c := range p.ChildElements() {
			if c == e {
				path = append(path, i)
				break
			}
		}
	}
	slices.Reverse(path)
	return path
}

func rootOf(el *etree.Element) *etree.Element {
	for el.Parent() != nil && el.Parent().Tag != "" {
		el = el.Parent()
	}
	return el
}

func follow(root *etree.Element, path []int) *etree.Element {
	e := root
	for _, i := range path {
		cs := e.ChildElements()
		if i >= len(cs) {
			return nil
		}
		e = cs[i]
	}
	return e
}

// safeValidate protects the run from a panic in the XML signature library
// on hostile input.
func safeValidate(ctx *dsig.ValidationContext, el *etree.Element) (out *etree.Element, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("signature check failed: %v", p)
		}
	}()
	return ctx.Validate(el)
}

// describe reads the verdict's columns and the claims of assertion a
// (and of its response, when there is one).
func describe(resp, a *etree.Element) (kinds.Verdict, claims) {
	var v kinds.Verdict
	c := claims{Element: "Assertion"}
	if resp != nil {
		c.Element = "Response"
		c.ResponseID = esc(attr(resp, "ID"))
		c.InResponseTo = esc(attr(resp, "InResponseTo"))
		c.Destination = esc(attr(resp, "Destination"))
		if st := firstChild(resp, NSProtocol, "Status"); st != nil {
			if sc := firstChild(st, NSProtocol, "StatusCode"); sc != nil {
				c.Status = esc(strings.TrimPrefix(attr(sc, "Value"), "urn:oasis:names:tc:SAML:2.0:status:"))
			}
		}
	}
	if a == nil {
		return v, c
	}
	if is(a, NSAssertion1, "Assertion") {
		describe1(a, &v, &c)
		return v, c
	}
	v.ID = esc(attr(a, "ID"))
	v.IssuedAt = samlTime(attr(a, "IssueInstant"))
	if is := firstChild(a, NSAssertion, "Issuer"); is != nil {
		v.Issuer = esc(text(is))
	}
	if subj := firstChild(a, NSAssertion, "Subject"); subj != nil {
		if n := firstChild(subj, NSAssertion, "NameID"); n != nil {
			v.Subject = esc(text(n))
			c.NameIDFormat = esc(attr(n, "Format"))
		}
		for _, sc := range childrenNS(subj, NSAssertion, "SubjectConfirmation") {
			if d := firstChild(sc, NSAssertion, "SubjectConfirmationData"); d != nil {
				if irt := attr(d, "InResponseTo"); irt != "" {
					c.InResponseTo = esc(irt)
				}
				c.Recipient = esc(attr(d, "Recipient"))
				if v.ExpiresAt.IsZero() {
					v.ExpiresAt = samlTime(attr(d, "NotOnOrAfter"))
				}
			}
		}
	}
	if cond := firstChild(a, NSAssertion, "Conditions"); cond != nil {
		v.NotBefore = samlTime(attr(cond, "NotBefore"))
		if t := samlTime(attr(cond, "NotOnOrAfter")); !t.IsZero() {
			v.ExpiresAt = t
		}
		var auds []string
		for _, ar := range childrenNS(cond, NSAssertion, "AudienceRestriction") {
			for _, au := range childrenNS(ar, NSAssertion, "Audience") {
				if t := text(au); t != "" {
					auds = append(auds, esc(t))
				}
			}
		}
		v.Audience = strings.Join(auds, ",")
	}
	if as := firstChild(a, NSAssertion, "AuthnStatement"); as != nil {
		c.AuthnInstant = esc(attr(as, "AuthnInstant"))
		c.SessionIndex = esc(attr(as, "SessionIndex"))
		if ac := firstChild(as, NSAssertion, "AuthnContext"); ac != nil {
			if cr := firstChild(ac, NSAssertion, "AuthnContextClassRef"); cr != nil {
				c.AuthnContext = esc(text(cr))
			}
		}
	}
	for _, st := range childrenNS(a, NSAssertion, "AttributeStatement") {
		for _, at := range childrenNS(st, NSAssertion, "Attribute") {
			c.addAttribute(esc(attr(at, "Name")), childrenNS(at, NSAssertion, "AttributeValue"))
		}
	}
	finishAuthn(&c)
	return v, c
}

// addAttribute keeps the values of the attribute name (SAML 2.0's Name,
// SAML 1.1's namespace and name), bounded: at most 64 attributes of 32
// values of 512 bytes.
func (c *claims) addAttribute(name string, values []*etree.Element) {
	if name == "" || len(c.Attributes) >= 64 {
		return
	}
	if c.Attributes == nil {
		c.Attributes = map[string][]string{}
	}
	for _, av := range values {
		if len(c.Attributes[name]) < 32 {
			c.Attributes[name] = append(c.Attributes[name], esc(record.Excerpt(text(av), 512)))
		}
	}
}

// finishAuthn gathers the authentication methods an assertion names.
func finishAuthn(c *claims) {
	for name, vals := range c.Attributes {
		if strings.HasSuffix(strings.ToLower(name), "/authnmethodsreferences") || strings.EqualFold(name, "amr") {
			c.AuthnMethods = append(c.AuthnMethods, vals...)
		}
	}
	if c.AuthnContext != "" {
		c.AuthnMethods = append(c.AuthnMethods, c.AuthnContext)
	}
	sort.Strings(c.AuthnMethods)
	c.AuthnMethods = slices.Compact(c.AuthnMethods)
	c.MFA = slices.ContainsFunc(c.AuthnMethods, isMFA)
}

// isMFA reports whether an authentication method or context names
// multi-factor authentication (AD FS's multipleauthn, REFEDS MFA, OASIS
// multi-factor contexts, an amr of mfa).
func isMFA(m string) bool {
	m = strings.ToLower(m)
	return strings.Contains(m, "multipleauthn") || strings.Contains(m, "refeds.org/profile/mfa") ||
		strings.Contains(m, "multifactor") || strings.Contains(m, "mobiletwofactor") || m == "mfa"
}

func esc(s string) string { return record.Escape(strings.TrimSpace(s)) }

// samlTime reads an xs:dateTime of SAML (UTC, "Z", optional fraction).
func samlTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

func firstChild(el *etree.Element, ns, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			return c
		}
	}
	return nil
}

func childrenNS(el *etree.Element, ns, tag string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			out = append(out, c)
		}
	}
	return out
}

// findAll returns every element ns:tag under el (el included), in
// document order.
func findAll(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		if is(e, ns, tag) {
			out = append(out, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	if el != nil {
		walk(el)
	}
	return out
}

func sigChild(el *etree.Element) *etree.Element { return firstChild(el, nsDSig, "Signature") }

func attr(el *etree.Element, name string) string {
	if el == nil {
		return ""
	}
	return el.SelectAttrValue(name, "")
}

// text is all of el's character data, comments skipped: what a
// signature over exclusive canonical XML without comments covers.
func text(el *etree.Element) string {
	var b strings.Builder
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

func nameID(a *etree.Element) string {
	if n := nameIDElement(a); n != nil {
		return text(n)
	}
	return ""
}

// nameIDElement is a SAML 2.0 assertion's Subject/NameID, or the first
// NameIdentifier of a SAML 1.1 assertion's statements.
func nameIDElement(a *etree.Element) *etree.Element {
	if subj := firstChild(a, NSAssertion, "Subject"); subj != nil {
		return firstChild(subj, NSAssertion, "NameID")
	}
	for _, st := range a.ChildElements() {
		if st.NamespaceURI() != NSAssertion1 {
			continue
		}
		if subj := firstChild(st, NSAssertion1, "Subject"); subj != nil {
			if n := firstChild(subj, NSAssertion1, "NameIdentifier"); n != nil {
				return n
			}
		}
	}
	return nil
}

func isAssertion(el *etree.Element) bool {
	return is(el, NSAssertion, "Assertion") || is(el, NSAssertion1, "Assertion")
}

// WS-Trust's token responses (February 2005, as WS-Federation passive
// sign-in posts them in wresult, and 1.3).
func isRSTR(el *etree.Element) bool {
	return el != nil && el.Tag == "RequestSecurityTokenResponse" && strings.Contains(el.NamespaceURI(), "trust")
}

func isRSTRC(el *etree.Element) bool {
	return el != nil && el.Tag == "RequestSecurityTokenResponseCollection" && strings.Contains(el.NamespaceURI(), "trust")
}

// idOf is an assertion's or response's id: ID, or SAML 1.1's AssertionID.
func idOf(el *etree.Element) string {
	if id := attr(el, "ID"); id != "" {
		return id
	}
	return attr(el, "AssertionID")
}

// describe1 reads a SAML 1.1 assertion.
func describe1(a *etree.Element, v *kinds.Verdict, c *claims) {
	v.ID = esc(attr(a, "AssertionID"))
	v.Issuer = esc(attr(a, "Issuer"))
	v.IssuedAt = samlTime(attr(a, "IssueInstant"))
	if n := nameIDElement(a); n != nil {
		v.Subject = esc(text(n))
		c.NameIDFormat = esc(attr(n, "Format"))
	}
	if cond := firstChild(a, NSAssertion1, "Conditions"); cond != nil {
		v.NotBefore = samlTime(attr(cond, "NotBefore"))
		v.ExpiresAt = samlTime(attr(cond, "NotOnOrAfter"))
		var auds []string
		for _, ar := range childrenNS(cond, NSAssertion1, "AudienceRestrictionCondition") {
			for _, au := range childrenNS(ar, NSAssertion1, "Audience") {
				if t := text(au); t != "" {
					auds = append(auds, esc(t))
				}
			}
		}
		v.Audience = strings.Join(auds, ",")
	}
	if as := firstChild(a, NSAssertion1, "AuthenticationStatement"); as != nil {
		c.AuthnInstant = esc(attr(as, "AuthenticationInstant"))
		c.AuthnContext = esc(attr(as, "AuthenticationMethod"))
	}
	for _, st := range childrenNS(a, NSAssertion1, "AttributeStatement") {
		for _, at := range childrenNS(st, NSAssertion1, "Attribute") {
			name := attr(at, "AttributeName")
			if ns := attr(at, "AttributeNamespace"); ns != "" {
				name = strings.TrimSuffix(ns, "/") + "/" + name
			}
			c.addAttribute(esc(name), childrenNS(at, NSAssertion1, "AttributeValue"))
		}
	}
	finishAuthn(c)
}

// nameIDComment reports whether the NameID holds a comment, and its text
// before the first one.
func nameIDComment(a *etree.Element) (first string, ok bool) {
	if n := nameIDElement(a); n != nil {
		var b strings.Builder
		for _, t := range n.Child {
			switch t := t.(type) {
			case *etree.Comment:
				return strings.TrimSpace(b.String()), true
			case *etree.CharData:
				b.WriteString(t.Data)
			}
		}
	}
	return "", false
}

// dupIDs reports whether two elements of the document share an ID.
func dupIDs(root *etree.Element) bool {
	seen := map[string]bool{}
	dup := false
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		if id := idOf(e); id != "" {
			if seen[id] {
				dup = true
			}
			seen[id] = true
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	return dup
}

// keyInfoCert is the first X509Certificate of a signature's KeyInfo, or
// nil.
func keyInfoCert(sig *etree.Element) *x509.Certificate {
	for _, ki := range childrenNS(sig, nsDSig, "KeyInfo") {
		for _, xd := range childrenNS(ki, nsDSig, "X509Data") {
			for _, xc := range childrenNS(xd, nsDSig, "X509Certificate") {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text(xc)), ""))
				if err != nil {
					continue
				}
				if c, err := x509.ParseCertificate(der); err == nil {
					return c
				}
			}
		}
	}
	return nil
}

// algName is the short name of the first Algorithm of tag in sig
// ("rsa-sha256", "sha256").
func algName(sig *etree.Element, tag string) string {
	for _, e := range findAll(sig, nsDSig, tag) {
		a := attr(e, "Algorithm")
		if i := strings.LastIndexAny(a, "#"); i >= 0 {
			a = a[i+1:]
		}
		return record.Escape(a)
	}
	return ""
}

// Fields are the assertion's facts for a detail view. A sighting known
// only by id (an Entra sign-in's activity id, an SP log's assertion id)
// has no header: its fields are the platform's.
func (k Kind) Fields(v kinds.Verdict) []kinds.Field {
	if v.Header == "" && v.Alg == "" && !strings.Contains(v.Claims, `"element"`) {
		label := "activity id"
		if strings.Contains(v.Claims, `"in_response_to"`) || strings.Contains(v.Claims, `"assertion_id"`) {
			label = "assertion id"
		}
		out := []kinds.Field{{Label: label, Value: v.ID}, {Label: "issuer", Value: v.Issuer}, {Label: "subject", Value: v.Subject}}
		return append(out, kinds.PlatformFields(v.Claims)...)
	}
	out := []kinds.Field{
		{Label: "assertion id", Value: v.ID},
		{Label: "issuer", Value: v.Issuer},
		{Label: "name id", Value: v.Subject},
		{Label: "audience", Value: v.Audience},
	}
	tf := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	out = append(out, kinds.Field{Label: "issued", Value: tf(v.IssuedAt)},
		kinds.Field{Label: "valid", Value: strings.Trim(tf(v.NotBefore)+" – "+tf(v.ExpiresAt), " –")})
	var c claims
	if json.Unmarshal([]byte(v.Claims), &c) == nil {
		out = append(out, kinds.Field{Label: "in response to", Value: c.InResponseTo},
			kinds.Field{Label: "authn", Value: strings.Join(c.AuthnMethods, ", ")},
			kinds.Field{Label: "session index", Value: c.SessionIndex})
		if c.SignedAssertion != nil {
			out = append(out, kinds.Field{Label: "signed assertion", Value: c.SignedAssertion.ID + " " + c.SignedAssertion.Subject})
		}
	}
	var h header
	if json.Unmarshal([]byte(v.Header), &h) == nil {
		out = append(out, kinds.Field{Label: "signed", Value: strings.TrimSpace(h.Signed + " " + h.SignatureMethod)},
			kinds.Field{Label: "keyinfo", Value: h.KeyInfoSubject})
	}
	kept := out[:0]
	for _, f := range out {
		if f.Value != "" {
			kept = append(kept, f)
		}
	}
	return kept
}
