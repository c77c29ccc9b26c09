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

// Token is a decoded, unverified JWT (JWS compact serialization).
type Token struct {
	Alg, Kid, Typ string
	HeaderJSON    string // compact JSON of the decoded header
	ClaimsJSON    string // compact JSON of the decoded payload
	Issuer        string
	Subject       string
	JTI           string
	AZP           string
	Audience      []string  // "aud" given as a string or an array of strings
	IssuedAt      time.Time // zero when absent or not a number
	NotBefore     time.Time
	ExpiresAt     time.Time
	Crit          []string // the "crit" header's strings; see Verify

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
// for five), bad base64url, a header or payload that is not a JSON object.
// A token that decodes but is ambiguous (a duplicated alg, kid, typ or crit
// header) is returned without error; Verify then reports it malformed.
// Decode never panics.
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
		padded          [3]bool
		err             error
	)
	header, padded[0], err = decodeSegment(h)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if len(header) > MaxHeaderSize {
		return nil, fmt.Errorf("header is larger than %d KiB", MaxHeaderSize>>10)
	}
	payload, padded[1], err = decodeSegment(p)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	tok.sig, padded[2], err = decodeSegment(s)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if padded[0] || padded[1] || padded[2] {
		tok.note("padded base64url (not the canonical JWT encoding)")
	}
	if tok.HeaderJSON, err = tok.compact("header", header); err != nil {
		return nil, err
	}
	if tok.ClaimsJSON, err = tok.compact("payload", payload); err != nil {
		return nil, err
	}

	jp := parsers.Get()
	defer parsers.Put(jp)
	obj, err := parseObject(jp, tok.HeaderJSON)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	tok.readHeader(obj)
	obj, err = parseObject(jp, tok.ClaimsJSON)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	tok.readClaims(obj)
	return tok, nil
}

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

// decodeSegment decodes strict base64url, unpadded or (reported) padded.
// Go's decoder skips CR and LF; a token must not contain them, nor the
// standard alphabet's + and /.
func decodeSegment(s string) (b []byte, padded bool, err error) {
	body := strings.TrimRight(s, "=")
	if pad := len(s) - len(body); pad > 0 {
		if pad > 2 || len(s)%4 != 0 {
			return nil, false, errors.New("bad base64url padding")
		}
		padded = true
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, false, fmt.Errorf("character %q at offset %d is not base64url", c, i)
		}
	}
	enc := base64.RawURLEncoding.Strict()
	if padded {
		enc = base64.URLEncoding.Strict()
	}
	b, err = enc.DecodeString(s)
	if err != nil {
		return nil, false, fmt.Errorf("bad base64url: %w", err)
	}
	return b, padded, nil
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
		}
		switch key {
		case "iss":
			t.Issuer = str(v)
		case "sub":
			t.Subject = str(v)
		case "jti":
			t.JTI = str(v)
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
