// Package sigstore reads the Sigstore transparency log and the bundles
// signers publish as sightings of code signatures (record.KindSignature):
// every signature a Rekor entry, a Sigstore bundle or a cosign OCI
// signature manifest carries, with what it signs and the signer's material
// as the input gives it (record.SigRaw), so that the analyzer can tell a
// signature made with an exposed key that no build produced. Two formats:
//
//   - rekor-entries: Rekor v1 API LogEntry responses, see rekor.go.
//   - sigstore-bundle: Sigstore bundles v0.1 to v0.3, standalone or in the
//     npm and GitHub attestation API responses, and cosign's OCI signature
//     manifests; see bundle.go.
//
// A sighting's Raw is the SigRaw's Encode() and its RawKey the SigRaw's
// Key() (the signature with the digest it signs), so that one signature met
// in a Rekor entry, a bundle and an OCI manifest is one artifact. Source is
// "ci", Outcome unknown (being logged is not being accepted by a
// verifier), ObservedAt the log's integrated time: the earliest proof that
// the signature existed, zero when the input has none.
//
// Observer is Options.Observer, else "rekor.sigstore.dev" for the public
// Rekor instance's log ID, else "rekor:" and the log ID's first 16 hex
// digits, else the file's name.
//
// # Records and positions
//
// A record is one signature (its sighting, or its reject when it does not
// decode), or an entry that yields none (rejected, or ignored with a
// stable reason when it is well formed but carries no signature to hunt).
// Position.Line is the record's ordinal in the file (record.EntryPositions),
// so that the signatures of one entry have positions of their own; for a
// file of single-signature entries, one a line, it is the line number. The
// line the entry starts on is in the sighting's attrs ("line").
//
// A file whose name ends in .jsonl, or whose first non-blank line is a JSON
// value of its own, is read line by line: a line that is not JSON is
// rejected and reading goes on. Any other file is read as a sequence of
// JSON documents; one that is not JSON is rejected and, since the rest
// cannot be resynchronised, reading stops there. A top-level JSON array is
// read as its elements.
//
// Decoding uses Sigstore's published types: rekor's generated models for
// Rekor v1 entry bodies, protobuf-specs' bundle for bundles (protojson).
// Rekor v2 entry bodies (hashedrekord and dsse 0.0.2, met in bundles),
// whose Go types live in rekor-tiles, are read with small local structs
// that follow its protos.
package sigstore

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// MaxFileBytes bounds a file read whole (an entries dump, a bundle file, a
// manifest). A larger file is rejected.
const MaxFileBytes = 1 << 30

// MaxSignatures bounds the signatures read from one entry or bundle: an
// attacker can fill a DSSE envelope with signatures.
const MaxSignatures = 16

// maxTlogEntries bounds the transparency log entries of one bundle read.
const maxTlogEntries = 16

// PublicRekorLogID is the log ID (hex sha256 of the log's public key) of
// the public Rekor instance, rekor.sigstore.dev.
const PublicRekorLogID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"

// The DSSE payload type of in-toto statements.
const inTotoPayloadType = "application/vnd.in-toto+json"

// Reject reasons shared by the formats.
const (
	ReasonFileTooLarge = "file too large"
	ReasonTooManySigs  = "more signatures than are read"
)

// observer names the log of an entry: the option, else the public
// instance's name, else the log ID's start, else the file's name.
func observer(o record.Options, logID, file string) string {
	switch {
	case o.Observer != "":
		return o.Observer
	case strings.EqualFold(logID, PublicRekorLogID):
		return "rekor.sigstore.dev"
	case len(logID) >= 16 && isHex(logID[:16]):
		return "rekor:" + strings.ToLower(logID[:16])
	}
	return filepath.Base(file)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// quote is untrusted text as it may appear in a reason: quoted, escaped
// and bounded.
func quote(s string) string {
	if len(s) > 64 {
		return strconv.QuoteToASCII(s[:64]) + "…"
	}
	return strconv.QuoteToASCII(s)
}

// errReason is an error's text bounded for a reason; the errors it gets
// (encoding/json's, protojson's, base64's) name offsets and types, and any
// input they quote is escaped here.
func errReason(err error) string { return record.Excerpt(err.Error(), 160) }

// unixTime is a log's integrated time (seconds), zero when unset.
func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// signer is a signature's signer material: a DER SPKI or a DER chain.
type signer struct {
	key   []byte
	certs [][]byte
}

// parseVerifier reads a signer's PEM as Rekor v1 bodies carry it: a public
// key (PKIX, or PKCS#1 RSA, which is re-encoded as PKIX) or one or more
// certificates, leaf first. Certificates are not parsed here: the analyzer's
// signature kind reads them.
func parseVerifier(b []byte) (signer, error) {
	var s signer
	rest := bytes.TrimSpace(b)
	for len(rest) > 0 {
		block, after := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = bytes.TrimSpace(after)
		switch block.Type {
		case "PUBLIC KEY":
			if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
				return s, errors.New("public key does not parse: " + errReason(err))
			}
			if s.key == nil {
				s.key = block.Bytes
			}
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return s, errors.New("RSA public key does not parse: " + errReason(err))
			}
			der, err := x509.MarshalPKIXPublicKey(k)
			if err != nil {
				return s, errors.New("RSA public key does not encode: " + errReason(err))
			}
			if s.key == nil {
				s.key = der
			}
		case "CERTIFICATE":
			if len(block.Bytes) == 0 {
				return s, errors.New("empty certificate")
			}
			if len(s.certs) < MaxSignatures {
				s.certs = append(s.certs, block.Bytes)
			}
		default:
			return s, errors.New("PEM block " + quote(block.Type) + " is neither a public key nor a certificate")
		}
	}
	if s.key == nil && s.certs == nil {
		return s, errors.New("verifier is not a PEM public key or certificate")
	}
	if s.key != nil && s.certs != nil {
		s.key = nil // the certificate carries the key
	}
	return s, nil
}

// apply sets r's signer material.
func (s signer) apply(r *record.SigRaw) {
	r.PublicKey, r.Certs = s.key, s.certs
}

// checkRaw reports whether r is a raw signature artifact the analyzer can
// read (the contract of record.DecodeSigRaw): only those are sighted.
func checkRaw(r *record.SigRaw) error {
	_, err := record.DecodeSigRaw(r.Encode())
	return err
}

// facts are what a sighting says about where its signature was logged.
type facts struct {
	time     time.Time
	logIndex int64 // -1: unknown
	logID    string
	uuid     string
	kind     string // Rekor kind and api version, "" when not logged
	version  string
	line     int64 // the line the entry or bundle starts on
	extra    map[string]any
}

// sighting is the sighting of r with f, at pos.
func sighting(o record.Options, file string, r *record.SigRaw, f *facts, action string, pos record.Position) *record.Sighting {
	return &record.Sighting{
		Kind: record.KindSignature, Raw: r.Encode(), RawKey: r.Key(),
		Source: record.SourceCI, Observer: observer(o, f.logID, file), ObservedAt: f.time,
		Outcome: record.OutcomeUnknown, Action: action, Attrs: f.attrs(), Pos: pos,
	}
}

// attrs is f as the sighting's JSON attrs (keys sorted).
func (f *facts) attrs() string {
	m := map[string]any{}
	for k, v := range f.extra {
		m[k] = v
	}
	if f.logIndex >= 0 {
		m["log_index"] = f.logIndex
	}
	if f.logID != "" {
		m["log_id"] = f.logID
	}
	if f.uuid != "" {
		m["entry_uuid"] = f.uuid
	}
	if f.kind != "" {
		m["rekor_kind"] = f.kind
		m["rekor_version"] = f.version
	}
	if f.line > 0 {
		m["line"] = f.line
	}
	b, err := json.Marshal(m)
	if err != nil || len(m) == 0 {
		return ""
	}
	return string(b)
}

// logged is the action of a signature logged as kind at index.
func logged(f *facts) string {
	switch {
	case f.kind == "":
		return "signed"
	case f.logIndex >= 0:
		return fmt.Sprintf("logged %s %s at index %d", f.kind, f.version, f.logIndex)
	}
	return fmt.Sprintf("logged %s %s", f.kind, f.version)
}

// doc is one JSON value of a file, with the line it starts on.
type doc struct {
	raw  json.RawMessage
	line int64
}

// docs reads the JSON values of data (see the package documentation) and
// calls fn for each, in order; a value that is not JSON is passed to bad
// with its line and the error. Top-level arrays are read as their elements.
func docs(ctx context.Context, name string, data []byte, fn func(doc), bad func(line int64, err error, excerpt []byte)) error {
	if lineMode(name, data) {
		line := int64(0)
		for len(data) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			line++
			l := data
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				l, data = data[:i], data[i+1:]
			} else {
				data = nil
			}
			if t := bytes.TrimSpace(l); len(t) > 0 {
				if err := values(ctx, t, line, true, fn); err != nil {
					if ctx.Err() != nil {
						return err
					}
					bad(line, err, t)
				}
			}
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := dec.InputOffset()
		off += int64(len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n")))
		line := 1 + int64(bytes.Count(data[:off], []byte("\n")))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == nil {
			_ = values(ctx, raw, line, false, fn) // raw is valid JSON
			continue
		}
		if err == io.EOF {
			return nil
		}
		bad(line, err, data[off:])
		return nil
	}
}

// values calls fn for v, or for each element of v when it is an array.
func values(ctx context.Context, v []byte, line int64, check bool, fn func(doc)) error {
	v = bytes.TrimSpace(v)
	if check && !json.Valid(v) {
		var x any
		err := json.Unmarshal(v, &x)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return err
	}
	if len(v) == 0 || v[0] != '[' {
		fn(doc{raw: v, line: line})
		return nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		return err
	}
	for _, e := range elems {
		if err := ctx.Err(); err != nil {
			return err
		}
		fn(doc{raw: e, line: line})
	}
	return nil
}

// lineMode reports whether data is JSON Lines: by name, or because its
// first non-blank line is a JSON value of its own.
func lineMode(name string, data []byte) bool {
	if strings.HasSuffix(strings.ToLower(name), ".jsonl") {
		return true
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return (t[0] == '{' || t[0] == '[') && json.Valid(t)
		}
	}
	return false
}

// reader numbers the records of one input.
type reader struct {
	in      *record.Input
	sink    record.Sink
	format  string
	ordinal int64
}

// next counts one record and returns its position.
func (p *reader) next() record.Position {
	p.ordinal++
	p.in.CountRecord()
	return record.Position{File: p.in.Name, Line: p.ordinal, Format: p.format}
}

func (p *reader) reject(reason string, excerpt []byte) record.Position {
	pos := p.next()
	p.sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: excerptOf(excerpt)})
	return pos
}

func (p *reader) ignore(reason string) { p.sink.Ignore(p.next(), reason) }

// sight emits r's sighting as a record of its own, or rejects it when r
// is not a readable raw signature.
func (p *reader) sight(where string, r *record.SigRaw, f *facts, action string) {
	if err := checkRaw(r); err != nil {
		p.reject(where+": "+errReason(err), nil)
		return
	}
	p.sink.Sighting(sighting(p.in.Options, p.in.Name, r, f, action, p.next()))
}

// salvage rejects a record with reason and still sights r (the signature
// is evidence whatever else is wrong), marked salvaged, at the reject's
// position.
func (p *reader) salvage(reason string, r *record.SigRaw, f *facts, action string, excerpt []byte) {
	pos := p.reject(reason, excerpt)
	if r == nil || checkRaw(r) != nil {
		return
	}
	s := sighting(p.in.Options, p.in.Name, r, f, action, pos)
	s.Salvaged = reason
	p.sink.Sighting(s)
}

func excerptOf(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// hexDigest is b as lower-case hex.
func hexDigest(b []byte) string { return hex.EncodeToString(b) }
