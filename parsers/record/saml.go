package record

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// MaxSAMLBytes bounds one decoded SAML message: a response with its
// assertion, signature and certificate is a few KiB; an IdP that adds many
// attributes a few tens.
const MaxSAMLBytes = 1 << 20

// SAML bindings a message was captured in.
const (
	BindingPOST     = "post"     // HTTP-POST: base64 of the XML, in a form field
	BindingRedirect = "redirect" // HTTP-Redirect: base64 of the raw DEFLATE of the XML, in the query
)

// SAMLParams are the form and query parameters that carry a SAML message
// (SAML 2.0 bindings, section 3.4 and 3.5: a response, or a request), and
// WS-Federation's wresult (the passive requestor profile posts the token
// response, with its SAML assertion, as URL-encoded XML).
var SAMLParams = []string{"SAMLResponse", "wresult", "SAMLRequest"}

// BindingWSFed: a WS-Federation wresult, XML as it is.
const BindingWSFed = "wsfed"

// IgnoreSAMLRequest is the ignore reason of a record that carries a SAML
// AuthnRequest (a service provider sending its user to the IdP): no
// assertion to hunt.
const IgnoreSAMLRequest = "SAML request (no assertion)"

// DecodeSAMLMessage decodes the value of a SAMLResponse parameter, as
// found in a form body or a query string, into the message's XML. The
// value may also be a WS-Federation wresult (XML, URL-encoded or not). The
// value may still be URL-encoded (a HAR's postData.params, a logged
// request body); base64 may be standard or URL-safe, padded or not, and
// wrapped. The HTTP-Redirect binding deflates the XML before base64:
// the XML is inflated when the decoded bytes do not start as XML (a
// response sent by POST is never deflated). Bounded by MaxSAMLBytes.
func DecodeSAMLMessage(value string) (xml []byte, binding string, err error) {
	v := strings.TrimSpace(value)
	if v == "" || v == "-" {
		return nil, "", errors.New("empty SAML message")
	}
	if len(v) > MaxSAMLBytes*2 {
		return nil, "", fmt.Errorf("SAML message of %d bytes is larger than %d", len(v), MaxSAMLBytes*2)
	}
	if strings.Contains(v, "%") {
		// a value left URL-encoded (base64's "+", "/" and "=" as %2B, %2F,
		// %3D); a "+" in it is a space, never base64's own
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
	}
	if looksXML([]byte(v)) {
		// a wresult: the XML itself
		if len(v) > MaxSAMLBytes {
			return nil, "", fmt.Errorf("SAML message of %d bytes is larger than %d", len(v), MaxSAMLBytes)
		}
		return []byte(v), BindingWSFed, nil
	}
	raw, err := decodeB64Loose(v)
	if err != nil {
		return nil, "", fmt.Errorf("SAML message is not base64: %v", err)
	}
	if looksXML(raw) {
		if len(raw) > MaxSAMLBytes {
			return nil, "", fmt.Errorf("SAML message of %d bytes is larger than %d", len(raw), MaxSAMLBytes)
		}
		return raw, BindingPOST, nil
	}
	fr := flate.NewReader(bytes.NewReader(raw))
	defer fr.Close()
	out, err := io.ReadAll(io.LimitReader(fr, MaxSAMLBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("SAML message is neither XML nor DEFLATE: %v", err)
	}
	if len(out) > MaxSAMLBytes {
		return nil, "", fmt.Errorf("inflated SAML message is larger than %d bytes", MaxSAMLBytes)
	}
	if !looksXML(out) {
		return nil, "", errors.New("decoded SAML message is not XML")
	}
	return out, BindingRedirect, nil
}

// decodeB64Loose decodes standard or URL-safe base64, padded or not.
// Line breaks (wrapping) are dropped; spaces without line breaks are a
// "+" that a form decoder turned into a space, and are restored.
func decodeB64Loose(v string) ([]byte, error) {
	if strings.ContainsAny(v, "\r\n\t") {
		v = strings.Join(strings.Fields(v), "")
	} else if strings.Contains(v, " ") {
		v = strings.ReplaceAll(v, " ", "+")
	}
	v = strings.TrimRight(v, "=")
	if strings.ContainsAny(v, "-_") {
		return base64.RawURLEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// looksXML reports whether b starts, after a byte order mark and white
// space, with "<".
func looksXML(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// SAMLParam returns the first SAML message parameter of a query string or
// an application/x-www-form-urlencoded body, still encoded (see
// DecodeSAMLMessage), with its name; ok is false when there is none. It
// splits on "&" itself rather than url.ParseQuery, which rejects a whole
// body for one bad escape.
func SAMLParam(form string) (name, value string, ok bool) {
	for _, p := range SAMLParams {
		if v, found := FormValue(form, p); found {
			return p, v, true
		}
	}
	return "", "", false
}

// FormValue returns the raw (still URL-encoded) value of key in a query
// string or form body.
func FormValue(form, key string) (string, bool) {
	for form != "" {
		var part string
		part, form, _ = strings.Cut(form, "&")
		k, v, _ := strings.Cut(part, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}
