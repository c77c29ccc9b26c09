// Package jwtcheck decodes JWTs without trusting them and verifies their
// signatures against the analyst's key set.
//
// Decoding never trusts the token: it is bounded, strict about base64url and
// JSON, and flags ambiguities (duplicate header keys, padding) that different
// verifiers would resolve differently. Verification checks the signature
// only; times are judged later against the logs' own timestamps, never
// against the current clock.
package jwtcheck

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Size bounds: a token or header beyond them is refused before decoding.
const (
	MaxTokenSize  = 64 << 10
	MaxHeaderSize = 8 << 10
)

// ErrJWE is returned by Decode for a five-segment (encrypted) token.
var ErrJWE = errors.New("encrypted token (JWE) not supported")

// Flags are facts about a token that rules test (artifacts.sig_flags),
// never prose. A flagged token is still verified over the bytes as
// presented: what the key signed is evidence whatever its encoding says.
const (
	FlagPadded         = "padded-base64"        // a segment ends in "=" padding (AWS ALB's x-amzn-oidc-data does)
	FlagNonCanonical   = "non-canonical-base64" // a segment's unused trailing bits are not zero
	FlagPayloadNotJSON = "payload-not-json"     // the payload is not a JSON object (JOSE examples, webhooks, detached content)
	FlagDetached       = "detached-payload"     // empty payload: the signature covers content not in the token
	FlagAlgCase        = "alg-case"             // alg spelled in another case than registered ("rs256")
	FlagAlgNone        = "alg-none"             // unsecured token
	FlagAlgConfusion   = "hmac-with-public-key" // HMAC keyed with a given public key
	FlagDuplicateKey   = "duplicate-key"        // a header or claim key given twice
)

// Token is a decoded, unverified JWT (JWS compact serialization).
type Token struct {
	Alg, Kid, Typ string
	HeaderJSON    string // compact JSON of the decoded header
	ClaimsJSON    string // compact JSON of the decoded payload
	Issuer        string
	Subject       string
	JTI           string
	// UTI is Entra's token identifier claim (the uniqueTokenIdentifier of
	// its sign-in logs); Entra access tokens carry it instead of a jti.
	UTI string
	AZP string
	// CID is the client id claim of Okta's access tokens, which carry no
	// azp.
	CID       string
	Audience  []string  // "aud" given as a string or an array of strings
	IssuedAt  time.Time // zero when absent or not a number
	NotBefore time.Time
	ExpiresAt time.Time
	Crit      []string // the "crit" header's strings; see Verify
	// Payload is the decoded payload when it is not a JSON object (then
	// ClaimsJSON is "" and Flags has FlagPayloadNotJSON); nil otherwise.
	Payload []byte
	Flags   []string // Flag* facts, in the order found, each once

	raw          string
	signingInput string   // header "." payload, as sent
	sig          []byte   // decoded signature
	problem      string   // why the token is malformed though decodable
	notes        []string // ambiguities worth reporting whatever the verdict
}

var parsers fastjson.ParserPool

// Decode decodes a compact JWS without verifying it. It returns an error
// (and no Token) when nothing trustworthy can be decoded: more than
// MaxTokenSize bytes, a header over MaxHeaderSize, not three segments (ErrJWE
// for five), a segment that is not base64url at all, a header that is not a
// JSON object. A payload that is not a JSON object is kept (Payload,
// FlagPayloadNotJSON) and the token verified like any other: the JOSE
// specifications' own examples, webhook and detached signatures sign other
// content. Lenient encodings some verifiers accept (padding, non-canonical
// trailing bits) decode with a flag. A token that decodes but is ambiguous
// (a duplicated alg, kid, typ or crit header) is returned without error;
// Verify then reports it malformed. Decode never panics.
func Decode(raw string) (*Token, error) {
	if len(raw) > MaxTokenSize {
		return nil, fmt.Errorf("token of %d bytes is larger than %d KiB", len(raw), MaxTokenSize>>10)
	}
	switch n := strings.Count(raw, "."); n {
	case 2:
	case 4:
		return nil, ErrJWE
	default:
		return nil, fmt.Errorf("token has %d segments, want 3", n+1)
	}
	h, rest, _ := strings.Cut(raw, ".")
	p, s, _ := strings.Cut(rest, ".")
	if len(h) > base64.URLEncoding.EncodedLen(MaxHeaderSize) {
		return nil, fmt.Errorf("header is larger than %d KiB", MaxHeaderSize>>10)
	}
	tok := &Token{raw: raw, signingInput: raw[:len(h)+1+len(p)]}
	var (
		header, payload []byte
		lenient         segmentFlags
		err             error
	)
	header, err = decodeSegment(h, &lenient)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if len(header) > MaxHeaderSize {
		return nil, fmt.Errorf("header is larger than %d KiB", MaxHeaderSize>>10)
	}
	payload, err = decodeSegment(p, &lenient)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	tok.sig, err = decodeSegment(s, &lenient)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if lenient.padded {
		tok.flag(FlagPadded)
		tok.note("padded base64url (not the canonical JWT encoding)")
	}
	if lenient.nonCanonical {
		tok.flag(FlagNonCanonical)
		tok.note("non-canonical base64url (trailing bits set)")
	}
	if tok.HeaderJSON, err = tok.compact("header", header); err != nil {
		return nil, err
	}
	var claimsErr error
	switch {
	case len(payload) == 0:
		tok.flag(FlagDetached)
		tok.note("empty payload (detached content: the signature covers content not in the token)")
	default:
		if tok.ClaimsJSON, claimsErr = tok.compact("payload", payload); claimsErr == nil && !isObject(tok.ClaimsJSON) {
			claimsErr = errors.New("payload: not a JSON object")
		}
		if claimsErr != nil {
			tok.ClaimsJSON = ""
			tok.Payload = payload
			tok.flag(FlagPayloadNotJSON)
			tok.note(fmt.Sprintf("payload is not a JSON object (%d bytes): verified as signed content, no claims", len(payload)))
		}
	}

	jp := parsers.Get()
	defer parsers.Put(jp)
	obj, err := parseObject(jp, tok.HeaderJSON)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	tok.readHeader(obj)
	if tok.ClaimsJSON != "" {
		if obj, err = parseObject(jp, tok.ClaimsJSON); err != nil {
			// Valid JSON fastjson will not read (nested too deep): signed
			// content all the same.
			tok.Payload, tok.ClaimsJSON = payload, ""
			tok.flag(FlagPayloadNotJSON)
			tok.note("payload could not be read as claims: " + truncate(err.Error()))
		} else {
			tok.readClaims(obj)
		}
	}
	return tok, nil
}

// isObject reports whether compact JSON text is an object.
func isObject(s string) bool { return len(s) > 0 && s[0] == '{' }

func (t *Token) flag(f string) {
	for _, have := range t.Flags {
		if have == f {
			return
		}
	}
	t.Flags = append(t.Flags, f)
}

// segmentFlags collects the lenient encodings met while decoding segments.
type segmentFlags struct{ padded, nonCanonical bool }

// maxNotes bounds the notes of one token (a payload can repeat a key
// thousands of times).
const maxNotes = 8

func (t *Token) note(s string) {
	switch {
	case len(t.notes) < maxNotes:
		t.notes = append(t.notes, s)
	case len(t.notes) == maxNotes:
		t.notes = append(t.notes, "more notes left out")
	}
}

// decodeSegment decodes base64url: unpadded and canonical, or (flagged in
// f) padded or with non-zero trailing bits, as lenient verifiers accept.
// Go's decoder skips CR and LF; a token must not contain them, nor the
// standard alphabet's + and /.
func decodeSegment(s string, f *segmentFlags) ([]byte, error) {
	body := strings.TrimRight(s, "=")
	if pad := len(s) - len(body); pad > 0 {
		if pad > 2 || len(s)%4 != 0 {
			return nil, errors.New("bad base64url padding")
		}
		f.padded = true
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("character %q at offset %d is not base64url", c, i)
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err == nil {
		return b, nil
	}
	if b, lerr := base64.RawURLEncoding.DecodeString(body); lerr == nil {
		f.nonCanonical = true
		return b, nil
	}
	return nil, fmt.Errorf("bad base64url: %w", err)
}

// compact validates data as JSON and returns it compacted; invalid UTF-8 is
// replaced (and noted) so the text can be stored and shown.
func (t *Token) compact(what string, data []byte) (string, error) {
	var buf bytes.Buffer
	buf.Grow(len(data))
	if err := json.Compact(&buf, data); err != nil {
		return "", fmt.Errorf("%s is not JSON: %w", what, err)
	}
	out := buf.Bytes()
	if !utf8.Valid(out) {
		t.note(what + " has invalid UTF-8 (replaced)")
		out = bytes.ToValidUTF8(out, []byte("\uFFFD"))
	}
	return string(out), nil
}

func parseObject(p *fastjson.Parser, s string) (*fastjson.Object, error) {
	v, err := p.Parse(s)
	if err != nil {
		return nil, err
	}
	obj, err := v.Object()
	if err != nil {
		return nil, errors.New("not a JSON object")
	}
	return obj, nil
}

// seenKeys detects duplicated object keys; JSON parsers disagree on which
// duplicate wins, so a duplicate is a way to show a verifier and an auditor
// different tokens.
type seenKeys map[string]struct{}

func (s seenKeys) dup(k []byte) bool {
	if _, ok := s[string(k)]; ok {
		return true
	}
	s[string(k)] = struct{}{}
	return false
}

var seenPool = sync.Pool{New: func() any { return make(seenKeys, 16) }}

// readHeader fills the header fields; for duplicates the last value wins,
// as with encoding/json.
func (t *Token) readHeader(obj *fastjson.Object) {
	seen := seenPool.Get().(seenKeys)
	defer func() { clear(seen); seenPool.Put(seen) }()
	obj.Visit(func(k []byte, v *fastjson.Value) {
		key := string(k)
		if seen.dup(k) {
			switch key {
			case "alg", "kid", "typ", "crit":
				if t.problem == "" {
					t.problem = "duplicate header key " + quote(key)
				}
			default:
				t.note("duplicate header key " + quote(key))
			}
			t.flag(FlagDuplicateKey)
		}
		switch key {
		case "alg":
			t.Alg = str(v)
			if v.Type() != fastjson.TypeString {
				t.problem = "alg is not a string"
			}
		case "kid":
			t.Kid = str(v)
		case "typ":
			t.Typ = str(v)
		case "crit":
			t.Crit = strs(v)
		}
	})
	if obj.Get("crit") != nil {
		if len(t.Crit) > 0 {
			t.note("crit header not understood: " + quote(strings.Join(t.Crit, ", ")))
		} else {
			t.note("crit header not understood: " + truncate(obj.Get("crit").String()))
		}
	}
}

func (t *Token) readClaims(obj *fastjson.Object) {
	seen := seenPool.Get().(seenKeys)
	defer func() { clear(seen); seenPool.Put(seen) }()
	obj.Visit(func(k []byte, v *fastjson.Value) {
		key := string(k)
		if seen.dup(k) {
			t.note("duplicate claim " + quote(key))
			t.flag(FlagDuplicateKey)
		}
		switch key {
		case "iss":
			t.Issuer = str(v)
		case "sub":
			t.Subject = str(v)
		case "jti":
			t.JTI = str(v)
		case "uti":
			t.UTI = str(v)
		case "cid":
			t.CID = str(v)
		case "azp":
			t.AZP = str(v)
		case "aud":
			if v.Type() == fastjson.TypeString {
				t.Audience = []string{str(v)}
			} else {
				t.Audience = strs(v)
			}
		case "iat":
			t.IssuedAt = numericDate(v)
		case "nbf":
			t.NotBefore = numericDate(v)
		case "exp":
			t.ExpiresAt = numericDate(v)
		}
	})
}

// str returns a JSON string's value as valid UTF-8, "" for other types.
func str(v *fastjson.Value) string {
	b, err := v.StringBytes()
	if err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
	}
	return string(b)
}

// strs returns the strings of a JSON array, skipping other elements.
func strs(v *fastjson.Value) []string {
	arr, err := v.Array()
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range arr {
		if e.Type() == fastjson.TypeString {
			out = append(out, str(e))
		}
	}
	return out
}

// Bounds of a NumericDate we turn into a time: years 1 to 9999.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

func numericDate(v *fastjson.Value) time.Time {
	if v.Type() != fastjson.TypeNumber {
		return time.Time{}
	}
	f, err := v.Float64()
	if err != nil || math.IsNaN(f) || f < minUnix || f > maxUnix {
		return time.Time{}
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC()
}

// quote quotes attacker-made text for a note: escaped and bounded.
func quote(s string) string { return truncate(fmt.Sprintf("%q", s)) }

func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
