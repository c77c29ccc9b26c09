package sigstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/sigstore/rekor/pkg/generated/models"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// RekorEntries reads Rekor v1 API LogEntry responses, as
// GET /api/v1/log/entries/{uuid} and GET /api/v1/log/entries?logIndex=
// return them:
//
//	{"<entry uuid>": {"body": "<base64 canonicalized entry>", "integratedTime": 1700000000,
//	  "logID": "<hex>", "logIndex": 123, "verification": {...}, "attestation": {"data": "<base64>"}}}
//
// one object (which may hold several entries) or several, pretty-printed,
// concatenated or one a line, or a JSON array of them (what POST
// /api/v1/log/entries/retrieve returns). Decoding uses rekor's generated
// models (LogEntryAnon, and the kinds' schemas for the body; see body.go).
//
// Each signature of a hashedrekord 0.0.1, dsse 0.0.1 or intoto 0.0.2 body
// is a sighting (SigMessage for hashedrekord, SigDSSE for the others),
// observed at the entry's integratedTime. A DSSE signature's Payload is the
// API's attestation.data when its sha256 is the body's payloadHash (else
// only PayloadHash is known); for dsse 0.0.1 bodies, which do not name the
// payload type, PayloadType is the in-toto type when that payload is an
// in-toto statement. Attrs hold log_index, log_id, entry_uuid, rekor_kind,
// rekor_version and line; nothing is read from a signer's certificate here
// (the analyzer's signature kind reads it).
//
// The entry UUID is the RFC 6962 leaf hash of the body, hex
// sha256(0x00 || body), optionally after a 16-hex-digit tree ID; an entry
// whose key is not that hash is rejected ("body hash does not match entry
// uuid") and its signatures are still sighted, salvaged: whatever the file
// claims about the log, the signature is evidence. Likewise for
// attestation data that does not hash to the payloadHash, and for a
// signature whose verifier does not decode. Entries that are well formed
// but carry no signature to hunt (intoto 0.0.1, rekord, rpm, ...) are
// ignored (IgnoreNoSignature); a body that is not base64, not JSON, of an
// unknown kind or version, or that lacks a required field is rejected.
var RekorEntries record.Format = rekorEntries{}

type rekorEntries struct{}

// IgnoreNoSignature is the reason a Rekor entry of a kind that carries no
// signature (intoto 0.0.1, rekord, rpm, ...) is ignored.
const IgnoreNoSignature = "Rekor entry kind carries no signature"

// Reject reasons of Rekor entries.
const (
	ReasonUUIDMismatch = "body hash does not match entry uuid"
	ReasonBadUUID      = "entry uuid is not 64 or 80 hex digits"
	ReasonAttestation  = "attestation data does not match the body's payloadHash"
)

func (rekorEntries) Name() string { return "rekor-entries" }
func (rekorEntries) Description() string {
	return `Rekor v1 API log entries {"<uuid>":{"body","integratedTime","logID","logIndex"}} (objects, JSONL or arrays)`
}

// EntryPositions: positions are record ordinals (see the package
// documentation).
func (rekorEntries) EntryPositions() bool { return true }

// rekorHead matches the start of a LogEntry response: an object (or an
// array of them) whose first key is an entry UUID mapping to an object.
var rekorHead = regexp.MustCompile(`^\s*(?:\[\s*)?\{\s*"(?:[0-9a-fA-F]{16})?[0-9a-fA-F]{64}"\s*:\s*\{`)

func looksRekor(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	return rekorHead.Match(b) && bytes.Contains(b, []byte(`"body"`))
}

func (rekorEntries) Sniff(sample [][]byte) bool { return looksRekor(bytes.Join(sample, []byte("\n"))) }

// SniffFile claims a file whose head is a LogEntry response (a
// pretty-printed entry's body may start past the sniffed lines).
func (rekorEntries) SniffFile(name string, head []byte) bool { return looksRekor(head) }

func (f rekorEntries) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	data, err := readAll(in)
	if err != nil {
		return err
	}
	p := &rekorParser{reader: reader{in: in, sink: sink, format: f.Name()}}
	if len(data) > MaxFileBytes {
		p.reject(ReasonFileTooLarge, data[:256])
		return nil
	}
	return docs(ctx, in.Name, data, p.doc, func(line int64, err error, excerpt []byte) {
		p.entries++
		p.reject(fmt.Sprintf("line %d: not JSON: %s", line, errReason(err)), excerpt)
	})
}

// readAll reads in whole, up to one byte past the bound.
func readAll(in *record.Input) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(in.R, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Name, err)
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		data = append([]byte("   "), data[3:]...) // keep offsets and lines
	}
	return data, nil
}

type rekorParser struct {
	reader
	entries int64 // entries met, for reasons
}

// doc reads one LogEntry object: each of its keys is an entry, in order.
func (p *rekorParser) doc(d doc) {
	dec := json.NewDecoder(bytes.NewReader(d.raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		p.entries++
		p.reject(fmt.Sprintf("entry %d: not a LogEntry object", p.entries), d.raw)
		return
	}
	if !dec.More() {
		p.entries++
		p.reject(fmt.Sprintf("entry %d: empty LogEntry object", p.entries), d.raw)
		return
	}
	for dec.More() {
		t, err := dec.Token()
		key, _ := t.(string)
		var v json.RawMessage
		if err == nil {
			err = dec.Decode(&v)
		}
		if err != nil { // d.raw is valid JSON: cannot happen
			p.entries++
			p.reject(fmt.Sprintf("entry %d: %s", p.entries, errReason(err)), nil)
			return
		}
		p.entry(key, v, d.line)
	}
}

// entry reads one LogEntryAnon under key.
func (p *rekorParser) entry(key string, raw json.RawMessage, line int64) {
	p.entries++
	where := fmt.Sprintf("entry %d", p.entries)
	var e models.LogEntryAnon
	if err := json.Unmarshal(raw, &e); err != nil {
		p.reject(where+": does not decode as a LogEntry: "+errReason(err), raw)
		return
	}
	f := &facts{logIndex: -1, uuid: strings.ToLower(key), line: line}
	if e.LogIndex != nil {
		f.logIndex = *e.LogIndex
		where = fmt.Sprintf("entry %d (log index %d)", p.entries, f.logIndex)
	}
	if e.LogID != nil {
		f.logID = strings.ToLower(*e.LogID)
	}
	if e.IntegratedTime != nil {
		f.time = unixTime(*e.IntegratedTime)
	}
	s, ok := e.Body.(string)
	if !ok {
		p.reject(where+": no body string", raw)
		return
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		p.reject(where+": body is not base64: "+errReason(err), []byte(s))
		return
	}
	bd, err := decodeBody(b)
	if bd != nil {
		f.kind, f.version = bd.kind, bd.version
	}
	switch {
	case err == nil:
	case isNoSignature(err):
		p.ignore(IgnoreNoSignature)
		return
	default:
		p.reject(where+": "+err.Error(), []byte(key))
		return
	}
	var att []byte
	if e.Attestation != nil {
		att = e.Attestation.Data
	}
	p.signatures(where, bd, f, checkUUID(key, b), att)
}

func isNoSignature(err error) bool { return errors.Is(err, errNoSignature) }

// signatures emits the signatures of one entry's body: salvaged when
// uuidErr (the key is not the body's leaf hash) or the attestation data
// does not match.
func (p *rekorParser) signatures(where string, bd *body, f *facts, uuidErr string, att []byte) {
	action := logged(f)
	for i, s := range bd.sigs {
		w := where
		if len(bd.sigs) > 1 {
			w = fmt.Sprintf("%s signature %d", where, i+1)
		}
		reason := uuidErr
		if att != nil && s.raw.Type == record.SigDSSE {
			if record.SHA256Digest(att) == s.raw.PayloadHash {
				s.raw.Payload, s.raw.PayloadHash = att, ""
				if s.raw.PayloadType == "" && isStatement(att) {
					s.raw.PayloadType = inTotoPayloadType
				}
			} else if reason == "" {
				reason = ReasonAttestation
			}
		}
		switch {
		case s.err != nil && len(s.raw.Sig) > 0:
			p.salvage(w+": "+s.err.Error(), s.raw, f, action, nil)
		case s.err != nil:
			p.reject(w+": "+s.err.Error(), nil)
		case reason != "":
			p.salvage(w+": "+reason, s.raw, f, action, []byte(f.uuid))
		default:
			p.sight(w, s.raw, f, action)
		}
	}
	if bd.more > 0 {
		p.reject(fmt.Sprintf("%s: %d %s (%d)", where, bd.more, ReasonTooManySigs, MaxSignatures), nil)
	}
}

// checkUUID is why key is not body's entry UUID, or "".
func checkUUID(key string, body []byte) string {
	if (len(key) != 64 && len(key) != 80) || !isHex(key) {
		return ReasonBadUUID
	}
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(body)
	if !strings.EqualFold(key[len(key)-64:], hex.EncodeToString(h.Sum(nil))) {
		return ReasonUUIDMismatch
	}
	return ""
}

// isStatement reports whether b is an in-toto statement (its _type).
func isStatement(b []byte) bool {
	var s struct {
		Type string `json:"_type"`
	}
	return json.Unmarshal(b, &s) == nil && strings.HasPrefix(s.Type, "https://in-toto.io/Statement/")
}
