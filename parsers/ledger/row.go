package ledger

import (
	"encoding/hex"
	"fmt"
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
		return fmt.Errorf("unknown kind %q (want jwt, saml, x509 or signature)", truncate(kind, 40))
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
	*iss = record.Issuance{
		Kind:       kind,
		Issuer:     r.vals[fIssuer],
		ArtifactID: r.vals[fArtifactID],
		RawSHA256:  sum,
		Subject:    r.vals[fSubject],
		Audience:   r.vals[fAudience],
		KeyRef:     r.vals[fKeyRef],
		IssuedAt:   issuedAt,
		ExpiresAt:  expiresAt,
		Attrs:      record.AttrsJSON(r.attrs),
	}
	return nil
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
