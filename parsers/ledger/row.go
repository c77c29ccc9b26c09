package ledger

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// A field is one of the documented ledger fields.
type field int

const (
	fKind field = iota
	fIssuer
	fArtifactID
	fRawSHA256
	fSubject
	fAudience
	fIssuedAt
	fExpiresAt
	fKeyRef
	fNames
	numFields
)

// name is how a column or key names a field; rank 0 is the canonical name,
// higher ranks are aliases, and the lowest rank in a row wins.
type name struct {
	field field
	rank  int
}

var names = map[string]name{
	"kind":        {fKind, 0},
	"issuer":      {fIssuer, 0},
	"iss":         {fIssuer, 1},
	"artifact_id": {fArtifactID, 0},
	"jti":         {fArtifactID, 1},
	"token_id":    {fArtifactID, 2},
	"raw_sha256":  {fRawSHA256, 0},
	"subject":     {fSubject, 0},
	"sub":         {fSubject, 1},
	"audience":    {fAudience, 0},
	"aud":         {fAudience, 1},
	"issued_at":   {fIssuedAt, 0},
	"iat":         {fIssuedAt, 1},
	"expires_at":  {fExpiresAt, 0},
	"exp":         {fExpiresAt, 1},
	"key_ref":     {fKeyRef, 0},
	"kid":         {fKeyRef, 1},
	// certificates: the names CA exports use
	"serial":             {fArtifactID, 3},
	"serial_number":      {fArtifactID, 4},
	"serialnumber":       {fArtifactID, 5},
	"issuer_dn":          {fIssuer, 2},
	"issuer_name":        {fIssuer, 3},
	"subject_dn":         {fSubject, 2},
	"not_before":         {fIssuedAt, 2},
	"notbefore":          {fIssuedAt, 3},
	"not_after":          {fExpiresAt, 2},
	"notafter":           {fExpiresAt, 3},
	"fingerprint_sha256": {fRawSHA256, 1},
	"sha256_fingerprint": {fRawSHA256, 2},
	"names":              {fNames, 0},
	"sans":               {fNames, 1},
	"san":                {fNames, 2},
	"dns_names":          {fNames, 3},
	// signatures: what build systems call the digest they produced
	"digest":          {fArtifactID, 6},
	"subject_digest":  {fArtifactID, 7},
	"artifact_digest": {fArtifactID, 8},
	"image_digest":    {fArtifactID, 9},
	"finished_at":     {fIssuedAt, 4},
	"built_at":        {fIssuedAt, 5},
}

// lookup returns the field a column or key names, ignoring case.
func lookup(key string) (name, bool) {
	n, ok := names[key]
	if !ok {
		n, ok = names[strings.ToLower(strings.TrimSpace(key))]
	}
	return n, ok
}

// row is one ledger record on its way to an Issuance.
type row struct {
	vals  [numFields]string
	ranks [numFields]int
	keys  [numFields]string // the name each value came under
	attrs map[string]string
}

// set gives field n.field the value found under key. Of several non-empty
// values for one field the best-ranked name wins, the first on a tie; the
// others go to attrs under their own names.
func (r *row) set(key string, n name, value string) {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
	case r.keys[n.field] == "":
		r.vals[n.field], r.ranks[n.field], r.keys[n.field] = value, n.rank, key
	case n.rank < r.ranks[n.field]:
		r.addAttr(r.keys[n.field], r.vals[n.field])
		r.vals[n.field], r.ranks[n.field], r.keys[n.field] = value, n.rank, key
	default:
		r.addAttr(key, value)
	}
}

// addAttr keeps a value of another column or key; the first of a name wins.
func (r *row) addAttr(key, v string) {
	if r.attrs == nil {
		r.attrs = make(map[string]string)
	}
	if _, dup := r.attrs[key]; !dup {
		r.attrs[key] = v
	}
}

var kinds = map[string]string{
	record.KindJWT:       record.KindJWT,
	record.KindSAML:      record.KindSAML,
	record.KindX509:      record.KindX509,
	record.KindSignature: record.KindSignature,
	// what people write for certificates
	"x.509": record.KindX509, "certificate": record.KindX509, "cert": record.KindX509,
	"precertificate": record.KindX509, "precert": record.KindX509, "tls": record.KindX509,
	// and for code signatures
	"cosign": record.KindSignature, "attestation": record.KindSignature, "provenance": record.KindSignature,
	"code-signature": record.KindSignature, "sig": record.KindSignature,
}

// issuance validates r and fills iss (but not its position); the error is
// the reject reason.
func (r *row) issuance(iss *record.Issuance, loc *time.Location) error {
	kind := r.vals[fKind]
	if kind == "" {
		kind = record.KindJWT
	} else if k, ok := kinds[strings.ToLower(kind)]; ok {
		kind = k
	} else {
		return fmt.Errorf("unknown kind %q (want jwt, saml, x509 (certificate) or signature)", truncate(kind, 40))
	}
	sum, err := normalizeSHA256(r.vals[fRawSHA256])
	if err != nil {
		return err
	}
	var issuedAt, expiresAt time.Time
	if v := r.vals[fIssuedAt]; v != "" {
		if issuedAt, err = record.ParseTime(v, loc); err != nil {
			return fmt.Errorf("bad issued_at: %w", err)
		}
	}
	if v := r.vals[fExpiresAt]; v != "" {
		if expiresAt, err = record.ParseTime(v, loc); err != nil {
			return fmt.Errorf("bad expires_at: %w", err)
		}
	}
	if r.vals[fArtifactID] == "" && sum == "" && (r.vals[fSubject] == "" || issuedAt.IsZero()) {
		return fmt.Errorf("row identifies no artifact: no artifact_id, no raw_sha256, and not both subject and issued_at")
	}
	id, issuer, subject := r.vals[fArtifactID], r.vals[fIssuer], r.vals[fSubject]
	var names []string
	if kind == record.KindX509 {
		// a CA's serials and names, in the canonical forms certificates
		// are read in
		if id != "" {
			if id, err = record.CanonicalSerial(id); err != nil {
				return fmt.Errorf("bad serial %q: %v (want hex, colons allowed)", truncate(r.vals[fArtifactID], 40), err)
			}
		}
		issuer = record.CanonicalDN(issuer)
		subject = subjectCN(subject)
		names = splitNames(r.vals[fNames])
	} else if kind == record.KindSignature && id != "" {
		// a build's digest, in the canonical form signatures are read in
		if id, err = signatureDigest(id); err != nil {
			return fmt.Errorf("bad digest %q: %v (want sha256:<hex> or 64 hex digits)", truncate(r.vals[fArtifactID], 40), err)
		}
	} else if r.vals[fNames] != "" {
		r.addAttr(r.keys[fNames], r.vals[fNames])
	}
	*iss = record.Issuance{
		Kind:       kind,
		Issuer:     issuer,
		ArtifactID: id,
		RawSHA256:  sum,
		Subject:    subject,
		Names:      names,
		Audience:   r.vals[fAudience],
		KeyRef:     r.vals[fKeyRef],
		IssuedAt:   issuedAt,
		ExpiresAt:  expiresAt,
		Attrs:      record.AttrsJSON(r.attrs),
	}
	return nil
}

// signatureDigest is a build's digest as record.CanonicalDigest has it; a
// bare 64-digit hex digest is a sha256.
func signatureDigest(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, ":") && len(s) == 64 {
		return record.CanonicalDigest("sha256", s)
	}
	return record.CanonicalDigest("", s)
}

// normalizeSHA256 returns s as 64 lower-case hex digits, without a
// "sha256:" prefix; "" stays "".
func normalizeSHA256(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > 7 && strings.EqualFold(s[:7], "sha256:") {
		s = s[7:]
	}
	if len(s) == 95 && strings.Count(s, ":") == 31 {
		s = strings.ReplaceAll(s, ":", "") // a fingerprint as openssl prints it
	}
	if len(s) != 64 {
		return "", fmt.Errorf("bad raw_sha256: want 64 hex digits, got %d characters", len(s))
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("bad raw_sha256: want 64 hex digits")
	}
	return strings.ToLower(s), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// subjectCN is a certificate subject as artifacts hold it: the common name
// of a distinguished name ("CN=www.example.com,O=Example"), else the text
// as it is.
func subjectCN(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	for _, part := range strings.Split(record.CanonicalDN(s), ",") {
		if v, ok := strings.CutPrefix(part, "cn="); ok && v != "" {
			return v
		}
	}
	return s
}

// splitNames splits a names field (separated by ";", ",", spaces or new
// lines, as exports join SANs; "DNS:" prefixes as openssl prints them are
// dropped) into canonical, sorted, distinct names.
func splitNames(s string) []string {
	var out []string
	for _, n := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r'
	}) {
		for _, p := range []string{"DNS:", "dns:", "IP:", "IP Address:", "email:", "URI:"} {
			n = strings.TrimPrefix(n, p)
		}
		if n = record.CanonicalName(n); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
