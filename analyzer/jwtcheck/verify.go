package jwtcheck

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/forgehunt/forgehunt/analyzer/keys"
	"github.com/forgehunt/forgehunt/analyzer/kinds"
)

// Verification statuses: the artifact kinds' own (package kinds), as
// stored in the artifacts table's sig_status.
const (
	StatusValid      = kinds.StatusValid      // a given key verifies it; SignerFP says which
	StatusInvalid    = kinds.StatusInvalid    // forged or tampered: alg none, algorithm confusion, or the key named by kid does not verify it
	StatusUnknownKey = kinds.StatusUnknownKey // well formed, no given key verifies it
	StatusMalformed  = kinds.StatusMalformed  // cannot be verified as sent
	// StatusNotChecked: no exposed key verifies it and the trusted keys
	// that could were not tried (VerifyExposed); Verify settles it.
	StatusNotChecked = kinds.StatusNotChecked
)

// Result is the verdict on one token.
type Result struct {
	Status   string
	SignerFP string   // FP of the verifying key; set only when Status is StatusValid
	Note     string   // why, for people; "; "-separated when several things are worth saying
	Flags    []string // Flag* facts for rules: the token's own and the verdict's
}

// method is a signing algorithm and the key type that can verify it.
type method struct {
	jwt     jwt.SigningMethod
	keyType string
}

var methods = map[string]method{
	"RS256": {jwt.SigningMethodRS256, keys.TypeRSA},
	"RS384": {jwt.SigningMethodRS384, keys.TypeRSA},
	"RS512": {jwt.SigningMethodRS512, keys.TypeRSA},
	"PS256": {jwt.SigningMethodPS256, keys.TypeRSA},
	"PS384": {jwt.SigningMethodPS384, keys.TypeRSA},
	"PS512": {jwt.SigningMethodPS512, keys.TypeRSA},
	"ES256": {jwt.SigningMethodES256, keys.TypeP256},
	"ES384": {jwt.SigningMethodES384, keys.TypeP384},
	"ES512": {jwt.SigningMethodES512, keys.TypeP521},
	"EdDSA": {jwt.SigningMethodEdDSA, keys.TypeEd25519},
	"HS256": {jwt.SigningMethodHS256, keys.TypeHMAC},
	"HS384": {jwt.SigningMethodHS384, keys.TypeHMAC},
	"HS512": {jwt.SigningMethodHS512, keys.TypeHMAC},
}

// Verify checks the signature of raw against set and says why.
//
// tok should be Decode(raw); if it is nil or was decoded from another string,
// raw is decoded again (a decode error is StatusMalformed with the error as
// note). Claims (exp, nbf, iat) are never checked: an archived token is
// judged by its signature.
//
// Every key whose type fits the alg is tried, the one whose KID equals the
// token's kid first: kid is chosen by whoever made the token, so it is a
// hint, never a filter. An HS* token is never valid if some public key's
// Encodings, used as the HMAC secret, verify it (algorithm confusion); alg
// "none" in any case is invalid. A signature no fitting key verifies is
// invalid when some key is named by the token's kid, else unknown-key.
// Verify is safe for concurrent use.
func Verify(raw string, tok *Token, set []*keys.Key) Result {
	return verifyRaw(raw, tok, set, false)
}

// VerifyExposed is Verify with the signature checks of trusted public keys
// deferred: a token an exposed key verifies, and one no key of set could
// verify, get Verify's result; a token only a trusted key might verify is
// StatusNotChecked, which Verify with the same set settles. What is
// deferred is what only tells a legitimately signed token from one signed
// by an unknown key (for a token the issuer's ledger accounts for, nothing
// depends on it), and it is most of the cost of a hunt's verification.
// HMAC secrets and the algorithm-confusion check are always tried: they
// cost a hash.
func VerifyExposed(raw string, tok *Token, set []*keys.Key) Result {
	return verifyRaw(raw, tok, set, true)
}

func verifyRaw(raw string, tok *Token, set []*keys.Key, deferTrusted bool) Result {
	if tok == nil || tok.raw != raw || tok.signingInput == "" {
		var err error
		if tok, err = Decode(raw); err != nil {
			return Result{Status: StatusMalformed, Note: err.Error()}
		}
	}
	r := verify(tok, set, deferTrusted)
	if len(tok.Flags) > 0 {
		r.Flags = append(append([]string{}, tok.Flags...), r.Flags...)
	}
	if len(tok.notes) > 0 {
		notes := append([]string{}, tok.notes...)
		if r.Note != "" {
			notes = append([]string{r.Note}, notes...)
		}
		r.Note = strings.Join(notes, "; ")
	}
	return r
}

func verify(tok *Token, set []*keys.Key, deferTrusted bool) Result {
	if tok.problem != "" {
		return Result{Status: StatusMalformed, Note: tok.problem}
	}
	if strings.EqualFold(tok.Alg, "none") {
		return Result{Status: StatusInvalid, Note: "alg none (unsigned token)", Flags: []string{FlagAlgNone}}
	}
	m, ok := methods[tok.Alg]
	var flags []string
	if !ok {
		// Some verifiers look algorithms up in any case: verify as they
		// would, and flag it.
		for name, cand := range methods {
			if strings.EqualFold(name, tok.Alg) {
				m, ok = cand, true
				flags = append(flags, FlagAlgCase)
				break
			}
		}
	}
	if !ok {
		if tok.Alg == "" {
			return Result{Status: StatusMalformed, Note: `header has no "alg"`}
		}
		return Result{Status: StatusMalformed, Note: "unsupported alg " + quote(tok.Alg)}
	}

	var weak []string // RSA keys too small for Go to verify with
	deferred := false // a trusted key that fits was not tried
	try := func(k *keys.Key) bool {
		if k == nil || k.Type != m.keyType {
			return false
		}
		if deferTrusted && k.Role != keys.RoleExposed && k.Type != keys.TypeHMAC {
			deferred = true
			return false
		}
		var key any = k.Public
		if m.keyType == keys.TypeHMAC {
			key = k.Secret
		}
		if m.jwt.Verify(tok.signingInput, tok.sig, key) == nil {
			return true
		}
		if k.Type == keys.TypeRSA && k.Bits < 1024 {
			weak = append(weak, shortFP(k.FP))
		}
		return false
	}
	var signer *keys.Key
	if tok.Kid != "" {
		for _, k := range set {
			if k != nil && k.KID == tok.Kid && try(k) {
				signer = k
				break
			}
		}
	}
	if signer == nil {
		for _, k := range set {
			if k != nil && (tok.Kid == "" || k.KID != tok.Kid) && try(k) {
				signer = k
				break
			}
		}
	}
	if m.keyType == keys.TypeHMAC && (signer == nil || isPublicEncoding(signer.Secret, set)) {
		if k := confusionKey(tok, m, set); k != nil {
			return Result{Status: StatusInvalid, Note: fmt.Sprintf("alg-confusion: %s keyed with the public key %s", tok.Alg, shortFP(k.FP)),
				Flags: append(flags, FlagAlgConfusion)}
		}
	}
	if flags != nil {
		tok.note(fmt.Sprintf("alg %s is not the registered spelling (verified as %s)", quote(tok.Alg), m.jwt.Alg()))
	}
	if signer == nil && deferred {
		return Result{Status: StatusNotChecked, Flags: flags,
			Note: "no exposed key verifies it; the trusted keys that could were not tried (nothing needed them)"}
	}
	if signer != nil {
		r := Result{Status: StatusValid, SignerFP: signer.FP, Flags: flags}
		if named, _ := namedKey(tok, m, set); named != nil && named != signer {
			r.Note = "verified by a key other than the one kid names"
		}
		return r
	}

	var r Result
	named, fits := namedKey(tok, m, set)
	switch {
	case named != nil && named.Type != m.keyType:
		r = Result{Status: StatusInvalid, Note: fmt.Sprintf("kid names a %s key but alg is %s", named.Type, tok.Alg)}
	case named != nil:
		r = Result{Status: StatusInvalid, Note: "signature does not verify with the key named by kid"}
	case !fits:
		r = Result{Status: StatusUnknownKey, Note: fmt.Sprintf("no given %s key to verify %s", m.keyType, tok.Alg)}
	default:
		r = Result{Status: StatusUnknownKey, Note: "no given key verifies it"}
	}
	r.Flags = flags
	if len(weak) > 0 {
		r.Note += fmt.Sprintf("; RSA key %s is under 1024 bits and Go refuses to verify with it (GODEBUG=rsa1024min=0 allows it)", strings.Join(weak, ", "))
	}
	return r
}

// namedKey returns the key the token's kid names (one of the alg's type
// first) and whether any key fits the alg.
func namedKey(tok *Token, m method, set []*keys.Key) (named *keys.Key, fits bool) {
	for _, k := range set {
		if k == nil {
			continue
		}
		fits = fits || k.Type == m.keyType
		if tok.Kid != "" && k.KID == tok.Kid && (named == nil || k.Type == m.keyType) {
			named = k
		}
	}
	return named, fits
}

// confusionKey returns the public key whose encoding, used as an HMAC
// secret, verifies tok.
func confusionKey(tok *Token, m method, set []*keys.Key) *keys.Key {
	for _, k := range set {
		if k == nil || k.Type == keys.TypeHMAC {
			continue
		}
		for _, enc := range k.Encodings {
			if m.jwt.Verify(tok.signingInput, tok.sig, enc) == nil {
				return k
			}
		}
	}
	return nil
}

// isPublicEncoding reports whether an HMAC secret is in fact a public key's
// encoding: an analyst who loads a PEM as a secret must not make confusion
// tokens valid.
func isPublicEncoding(secret []byte, set []*keys.Key) bool {
	for _, k := range set {
		if k == nil || k.Type == keys.TypeHMAC {
			continue
		}
		for _, enc := range k.Encodings {
			if bytes.Equal(enc, secret) {
				return true
			}
		}
	}
	return false
}

func shortFP(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}
