package ct

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// GetEntries reads RFC 6962 get-entries responses (section 4.6) as a log
// serves them, and as people save them:
//
//	{"entries":[{"leaf_input":"<base64 MerkleTreeLeaf>","extra_data":"<base64>"}, ...]}
//
// pretty-printed or not, several responses one after the other in a file,
// or one entry object per line. The log index of the first entry comes from
// a wrapper's "start" (a number), or from the file name as fetching tools
// write it, "<anything>-<start>-<end>.json" (the request's start and end,
// e.g. argon2026h1-4096-5119.json, compressed or not); without either the
// index is unknown and entries are numbered in the file only. The log's
// name comes from a wrapper's "log" or "log_url", else the file name's
// prefix before -<start>-<end> (unless it is a generic "get-entries" or
// "entries"), else its directory.
//
// leaf_input is a MerkleTreeLeaf (x509_entry or precert_entry), extra_data
// the entry's chain (X509ChainEntry's certificate_chain; PrecertChainEntry's
// pre_certificate and precertificate_chain), decoded with
// certificate-transparency-go. An entry that does not decode is rejected
// with its position and log index and the rest of the file is read; an
// x509 entry whose leaf decodes but whose extra_data does not still yields
// its certificate, salvaged. Each entry is a record at Line = its place in
// the file (1-based).
var GetEntries record.Format = getEntries{}

type getEntries struct{}

func (getEntries) Name() string { return "ct-get-entries" }
func (getEntries) Description() string {
	return `RFC 6962 get-entries responses {"entries":[{"leaf_input","extra_data"}]} (start index from "<log>-<start>-<end>.json")`
}

// Sniff claims JSON whose first object has entries or leaf_input keys of a
// get-entries response.
func (getEntries) Sniff(sample [][]byte) bool {
	joined := bytes.Join(sample, []byte("\n"))
	t := bytes.TrimSpace(joined)
	return len(t) > 0 && t[0] == '{' && bytes.Contains(joined, []byte(`"leaf_input"`))
}

var rangeName = regexp.MustCompile(`^(.*?)[-_]?(\d+)-(\d+)\.json(?:\.gz|\.zst|\.gzip)?$`)

// fromName is the start index and log name a file name gives.
func fromName(name string) (start int64, log string, ok bool) {
	m := rangeName.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return 0, "", false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return 0, "", false
	}
	switch log = m[1]; log {
	case "get-entries", "get_entries", "entries", "ct", "":
		log = ""
	}
	return n, log, true
}

type leafJSON struct {
	LeafInput *string `json:"leaf_input"`
	ExtraData *string `json:"extra_data"`
	Index     *int64  `json:"index"`
}

func (getEntries) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	data, err := io.ReadAll(io.LimitReader(in.R, MaxFileBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	if len(data) > MaxFileBytes {
		return fmt.Errorf("%s: larger than %d bytes", in.Name, MaxFileBytes)
	}
	start, nameLog, haveStart := fromName(in.Name)
	p := &entriesParser{in: in, sink: sink, data: data}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	next := int64(-1)
	if haveStart {
		next = start
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var top map[string]json.RawMessage
		off := dec.InputOffset()
		if err := dec.Decode(&top); err == io.EOF {
			return nil
		} else if err != nil {
			p.ordinal++
			in.CountRecord()
			sink.Reject(&record.Reject{Pos: p.pos(off), Reason: "not a get-entries JSON object: " + err.Error(), Excerpt: excerpt(data[off:])})
			return nil // JSON cannot be resynchronised reliably
		}
		log := nameLog
		if v, ok := top["log"]; ok {
			_ = json.Unmarshal(v, &log)
		} else if v, ok := top["log_url"]; ok {
			_ = json.Unmarshal(v, &log)
		}
		if v, ok := top["start"]; ok {
			var n int64
			if json.Unmarshal(v, &n) == nil && n >= 0 {
				next = n
			}
		}
		log = logName(in.Options, log, in.Name)
		entries, isResponse := top["entries"]
		if !isResponse {
			// one entry object per line
			p.ordinal++
			in.CountRecord()
			var l leafJSON
			raw, _ := json.Marshal(top)
			if err := json.Unmarshal(raw, &l); err != nil || l.LeafInput == nil {
				sink.Reject(&record.Reject{Pos: p.pos(off), Reason: "object is neither a get-entries response nor an entry", Excerpt: excerpt(raw)})
				continue
			}
			idx := next
			if l.Index != nil {
				idx = *l.Index
			}
			p.entry(l, idx, log, off)
			if next >= 0 {
				next = idx + 1
			}
			continue
		}
		next = p.response(entries, next, log, off)
	}
}

type entriesParser struct {
	in      *record.Input
	sink    record.Sink
	data    []byte
	ordinal int64
}

func (p *entriesParser) pos(off int64) record.Position {
	return record.Position{File: p.in.Name, Line: p.ordinal, Format: GetEntries.Name()}
}

// response reads the entries array of one response; it returns the index
// after its last entry (-1: unknown).
func (p *entriesParser) response(arr json.RawMessage, next int64, log string, off int64) int64 {
	dec := json.NewDecoder(bytes.NewReader(arr))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		p.ordinal++
		p.in.CountRecord()
		p.sink.Reject(&record.Reject{Pos: p.pos(off), Reason: "entries is not an array", Excerpt: excerpt(arr)})
		return next
	}
	for dec.More() {
		p.ordinal++
		p.in.CountRecord()
		var l leafJSON
		elemOff := dec.InputOffset()
		if err := dec.Decode(&l); err != nil {
			var typeErr *json.UnmarshalTypeError
			if !errors.As(err, &typeErr) {
				// not JSON: the array cannot be resynchronised reliably
				p.sink.Reject(&record.Reject{Pos: p.pos(off), Reason: fmt.Sprintf("entry %d: %v (the rest of the response cannot be read)", p.ordinal, err), Excerpt: excerpt(arr[elemOff:])})
				return -1
			}
			p.sink.Reject(&record.Reject{Pos: p.pos(off), Reason: fmt.Sprintf("entry %d: %v", p.ordinal, err), Excerpt: excerpt(arr[elemOff:])})
		} else {
			p.entry(l, next, log, off)
		}
		if next >= 0 {
			next++
		}
	}
	return next
}

// entry decodes one leaf and extra_data and emits its sighting or reject.
func (p *entriesParser) entry(l leafJSON, index int64, log string, off int64) {
	pos := p.pos(off)
	e := &entry{index: index}
	reject := func(reason string) {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: where(e, p.ordinal) + ": " + reason, Excerpt: leafExcerpt(l)})
	}
	if l.LeafInput == nil {
		reject("no leaf_input")
		return
	}
	leaf, err := base64.StdEncoding.DecodeString(*l.LeafInput)
	if err != nil {
		reject("leaf_input is not base64: " + err.Error())
		return
	}
	var extra []byte
	if l.ExtraData != nil {
		if extra, err = base64.StdEncoding.DecodeString(*l.ExtraData); err != nil {
			p.salvage(leaf, e, pos, "extra_data is not base64: "+err.Error(), l, log)
			return
		}
	}
	raw, err := rawEntry(index, leaf, extra)
	if err != nil {
		p.salvage(leaf, e, pos, err.Error(), l, log)
		return
	}
	if err := fillEntry(e, raw); err != nil {
		reject(err.Error())
		return
	}
	p.sink.Sighting(sighting(e, log, pos))
}

// rawEntry decodes a leaf with certificate-transparency-go, never
// panicking.
func rawEntry(index int64, leaf, extra []byte) (raw *ct.RawLogEntry, err error) {
	defer func() {
		if r := recover(); r != nil {
			raw, err = nil, fmt.Errorf("entry does not decode: %v", r)
		}
	}()
	return ct.RawLogEntryFromLeaf(max(index, 0), &ct.LeafEntry{LeafInput: leaf, ExtraData: extra})
}

// fillEntry takes the certificate, chain and times of raw into e.
func fillEntry(e *entry, raw *ct.RawLogEntry) error {
	te := raw.Leaf.TimestampedEntry
	if te == nil {
		return errors.New("leaf has no timestamped entry")
	}
	e.timestamp = te.Timestamp
	e.cert = raw.Cert.Data
	switch te.EntryType {
	case ct.X509LogEntryType:
	case ct.PrecertLogEntryType:
		e.precert = true
		if te.PrecertEntry != nil {
			e.ikh = append([]byte(nil), te.PrecertEntry.IssuerKeyHash[:]...)
		}
		if len(raw.Chain) > 0 {
			e.issuers = [][]byte{raw.Chain[0].Data}
		}
	default:
		return fmt.Errorf("unknown entry type %d", te.EntryType)
	}
	if len(e.cert) == 0 {
		return errors.New("entry carries no certificate")
	}
	return nil
}

// salvage rejects an entry whose chain does not decode and, when its leaf
// is an x509 entry (which holds the whole certificate), still hunts that
// certificate.
func (p *entriesParser) salvage(leaf []byte, e *entry, pos record.Position, reason string, l leafJSON, log string) {
	reason = where(e, p.ordinal) + ": " + reason
	p.sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: leafExcerpt(l)})
	var mtl ct.MerkleTreeLeaf
	if rest, err := tls.Unmarshal(leaf, &mtl); err != nil || len(rest) > 0 || mtl.TimestampedEntry == nil ||
		mtl.TimestampedEntry.EntryType != ct.X509LogEntryType || mtl.TimestampedEntry.X509Entry == nil {
		return
	}
	e.timestamp = mtl.TimestampedEntry.Timestamp
	e.cert = mtl.TimestampedEntry.X509Entry.Data
	if len(e.cert) == 0 {
		return
	}
	s := sighting(e, log, pos)
	s.Salvaged = reason
	p.sink.Sighting(s)
}

func leafExcerpt(l leafJSON) string {
	if l.LeafInput == nil {
		return ""
	}
	return excerpt([]byte(*l.LeafInput))
}

func excerpt(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
