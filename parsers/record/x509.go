package record

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"sort"
	"strings"
)

// Certificates are known to their CA by serial and issuer, and CA logs write
// both in many forms: serials in decimal (step-ca), colon-separated hex
// (Vault, OpenSSL), plain hex (EJBCA, ADCS); issuer names in RFC 4514 order
// ("CN=Issuing CA,O=Example,C=US"), in OpenSSL's one-line order
// ("/C=US/O=Example/CN=Issuing CA") or with other spacing and case. The
// canonical forms below are what artifacts and issuances store, so that the
// same certificate compares equal whatever form each side used.

// CanonicalSerial is a hex serial ("0x" prefix, colons, spaces and dashes
// allowed) in lower case without leading zeros; a negative serial keeps its
// "-". It is an error for anything but hex digits to remain.
func CanonicalSerial(s string) (string, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			b.WriteByte(c)
		case c >= 'A' && c <= 'F':
			b.WriteByte(c + 'a' - 'A')
		case c == ':' || c == ' ' || c == '-':
		default:
			return "", errors.New("serial is not hexadecimal")
		}
	}
	out := strings.TrimLeft(b.String(), "0")
	if b.Len() == 0 {
		return "", errors.New("empty serial")
	}
	if out == "" {
		return "0", nil
	}
	if neg {
		out = "-" + out
	}
	return out, nil
}

// SerialFromDecimal is the canonical serial of a decimal one (step-ca logs
// serials in decimal).
func SerialFromDecimal(s string) (string, error) {
	n, ok := new(big.Int).SetString(strings.TrimSpace(s), 10)
	if !ok {
		return "", errors.New("serial is not a decimal number")
	}
	return SerialFromInt(n), nil
}

// SerialFromInt is the canonical serial of n.
func SerialFromInt(n *big.Int) string {
	if n == nil {
		return ""
	}
	return n.Text(16)
}

// dnTypes maps the attribute type names and OIDs people and tools write to
// one short name.
var dnTypes = map[string]string{
	"cn": "cn", "commonname": "cn", "2.5.4.3": "cn",
	"c": "c", "countryname": "c", "2.5.4.6": "c",
	"o": "o", "organizationname": "o", "2.5.4.10": "o",
	"ou": "ou", "organizationalunitname": "ou", "2.5.4.11": "ou",
	"l": "l", "localityname": "l", "2.5.4.7": "l",
	"st": "st", "s": "st", "stateorprovincename": "st", "2.5.4.8": "st",
	"street": "street", "streetaddress": "street", "2.5.4.9": "street",
	"serialnumber": "serialnumber", "2.5.4.5": "serialnumber",
	"postalcode": "postalcode", "2.5.4.17": "postalcode",
	"dc": "dc", "domaincomponent": "dc", "0.9.2342.19200300.100.1.25": "dc",
	"uid": "uid", "userid": "uid", "0.9.2342.19200300.100.1.1": "uid",
	"e": "emailaddress", "email": "emailaddress", "emailaddress": "emailaddress", "1.2.840.113549.1.9.1": "emailaddress",
	"title": "title", "2.5.4.12": "title",
	"organizationidentifier": "organizationidentifier", "2.5.4.97": "organizationidentifier",
}

// DNAttr is one attribute of a distinguished name: its type as a name or a
// dotted OID, and its value.
type DNAttr struct{ Type, Value string }

// CanonicalDNAttrs is the canonical form of a name's attributes: each type
// mapped to one short name (or its OID), each value with its spaces
// collapsed and in lower case (X.520 names compare ignoring case), the
// attributes sorted and joined as "type=value" with ",". Sorting makes the
// RFC 4514 order and OpenSSL's reverse one-line order the same name.
func CanonicalDNAttrs(attrs []DNAttr) string {
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		t := strings.ToLower(strings.TrimSpace(a.Type))
		if short, ok := dnTypes[t]; ok {
			t = short
		}
		v := strings.ToLower(strings.Join(strings.Fields(a.Value), " "))
		if t == "" && v == "" {
			continue
		}
		parts = append(parts, t+"="+strings.NewReplacer(`\`, `\\`, ",", `\,`).Replace(v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// CanonicalDN parses a distinguished name written as RFC 4514
// ("CN=Issuing CA,O=Example\, Inc.,C=US", also with "; " or "+"), as
// OpenSSL's one-line form ("/C=US/O=Example/CN=Issuing CA") or as Windows
// writes it ("CN=Issuing CA, O=Example, C=US"; quoted values allowed), and
// returns CanonicalDNAttrs of it. Text that is not a name ("Example CA")
// comes back in the canonical form of its own words, so that it still
// compares with itself.
func CanonicalDN(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var seps string
	if strings.HasPrefix(s, "/") && strings.Contains(s, "=") {
		s, seps = s[1:], "/"
	} else {
		seps = ",;+"
	}
	var attrs []DNAttr
	for _, part := range splitDN(s, seps) {
		t, v, ok := strings.Cut(part, "=")
		if !ok {
			return strings.ToLower(strings.Join(strings.Fields(s), " "))
		}
		attrs = append(attrs, DNAttr{Type: t, Value: unescapeDNValue(strings.TrimSpace(v))})
	}
	return CanonicalDNAttrs(attrs)
}

// splitDN splits s at any byte of seps that is not escaped with a
// backslash or inside double quotes.
func splitDN(s, seps string) []string {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == '"':
			quoted = !quoted
			cur.WriteByte(c)
		case !quoted && strings.IndexByte(seps, c) >= 0:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String())
}

// unescapeDNValue removes RFC 4514 escapes (\, \+ \\ and \XX hex) and
// surrounding double quotes.
func unescapeDNValue(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 >= len(v) {
			b.WriteByte(v[i])
			continue
		}
		if i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]) {
			b.WriteByte(unhex(v[i+1])<<4 | unhex(v[i+2]))
			i += 2
			continue
		}
		b.WriteByte(v[i+1])
		i++
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// CanonicalName is a DNS name or e-mail address as certificates compare
// them: lower case, without a trailing dot.
func CanonicalName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// CertRaw is the raw text of a certificate artifact: the standard base64 of
// its DER, then, for each certificate needed to verify it that the log
// carried (a Precertificate Signing Certificate), "." and its base64. The
// artifact tables hold text, so DER is never stored as it is.
func CertRaw(der []byte, issuers ...[]byte) string {
	var b strings.Builder
	b.WriteString(base64.StdEncoding.EncodeToString(der))
	for _, is := range issuers {
		b.WriteByte('.')
		b.WriteString(base64.StdEncoding.EncodeToString(is))
	}
	return b.String()
}

// CertKey is the artifact key of a certificate: "sha256:" and the hex
// sha256 of its DER, whatever encoding (PEM, DER, a log entry) it was met
// in.
func CertKey(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RawArtifactKey is the artifact key of a raw artifact of kind: for a
// certificate CertKey of its DER (the first part of CertRaw, or the first
// PEM certificate), for a signature SigRaw.Key, for every other kind ArtifactKey of the raw text. The
// analyzer's kinds key raw artifacts with it; a raw certificate that holds
// no DER is keyed by its text.
func RawArtifactKey(kind, raw string) string {
	if kind == KindSignature {
		if r, err := DecodeSigRaw(raw); err == nil {
			return r.Key()
		}
		return ArtifactKey(raw)
	}
	if kind != KindX509 {
		return ArtifactKey(raw)
	}
	if der := firstCertDER(raw); der != nil {
		return CertKey(der)
	}
	return ArtifactKey(raw)
}

// firstCertDER is the DER of the first certificate of a raw certificate
// artifact, or nil.
func firstCertDER(raw string) []byte {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(raw, "-----BEGIN") {
		rest := []byte(raw)
		for {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				return nil
			}
			if b.Type == "CERTIFICATE" || b.Type == "X509 CERTIFICATE" || b.Type == "TRUSTED CERTIFICATE" {
				return b.Bytes
			}
		}
	}
	first := raw
	if i := strings.IndexAny(first, ".~"); i >= 0 {
		first = first[:i]
	}
	der, err := base64.StdEncoding.DecodeString(first)
	if err != nil || len(der) == 0 {
		return nil
	}
	return der
}
