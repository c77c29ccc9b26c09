package ct

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// CrtSh reads crt.sh's JSON search results (https://crt.sh/?q=...&output=json):
// an array of objects with issuer_ca_id, issuer_name, common_name,
// name_value (the names, one per line), id (crt.sh's certificate id),
// entry_timestamp (when crt.sh first saw it in a log, UTC without a zone),
// not_before, not_after and serial_number (hex). crt.sh holds no
// certificate bytes in this form, so each element is an id-only sighting:
// artifact_id = the canonical serial, issuer = the canonical issuer name,
// observed at entry_timestamp, observer "crt.sh"; the names, validity and
// crt.sh id go to Attrs. One certificate is listed by crt.sh once per
// precertificate and final certificate; both are the same serial of the
// same issuer, one artifact. Each element is a record at Line = its place
// in the array; an element without a serial is rejected.
var CrtSh record.Format = crtsh{}

type crtsh struct{}

func (crtsh) Name() string { return "crtsh-json" }
func (crtsh) Description() string {
	return "crt.sh JSON search results (output=json; ids only: serial, issuer name, names, crt.sh id)"
}

func (crtsh) Sniff(sample [][]byte) bool {
	joined := bytes.Join(sample, []byte("\n"))
	t := bytes.TrimSpace(joined)
	return len(t) > 0 && t[0] == '[' && bytes.Contains(joined, []byte(`"issuer_ca_id"`)) &&
		(bytes.Contains(joined, []byte(`"serial_number"`)) || bytes.Contains(joined, []byte(`"name_value"`)))
}

type crtshRow struct {
	IssuerCAID     json.Number `json:"issuer_ca_id"`
	IssuerName     string      `json:"issuer_name"`
	CommonName     string      `json:"common_name"`
	NameValue      string      `json:"name_value"`
	ID             json.Number `json:"id"`
	EntryTimestamp string      `json:"entry_timestamp"`
	NotBefore      string      `json:"not_before"`
	NotAfter       string      `json:"not_after"`
	SerialNumber   string      `json:"serial_number"`
}

func (crtsh) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	dec := json.NewDecoder(io.LimitReader(in.R, MaxFileBytes))
	dec.UseNumber()
	var ordinal int64
	for {
		t, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil || t != json.Delim('[') {
			ordinal++
			in.CountRecord()
			sink.Reject(&record.Reject{Pos: record.Position{File: in.Name, Line: ordinal, Format: CrtSh.Name()}, Reason: "not a crt.sh JSON array"})
			return nil
		}
		for dec.More() {
			if err := ctx.Err(); err != nil {
				return err
			}
			ordinal++
			in.CountRecord()
			pos := record.Position{File: in.Name, Line: ordinal, Format: CrtSh.Name()}
			var row crtshRow
			if err := dec.Decode(&row); err != nil {
				// a JSON array cannot be resynchronised reliably: the
				// file stops here
				sink.Reject(&record.Reject{Pos: pos, Reason: fmt.Sprintf("element %d: %v (the rest of the file cannot be read)", ordinal, err)})
				return nil
			}
			s, reason := row.sighting(in.Options, pos)
			if s == nil {
				raw, _ := json.Marshal(row)
				sink.Reject(&record.Reject{Pos: pos, Reason: fmt.Sprintf("element %d: %s", ordinal, reason), Excerpt: string(raw)})
				continue
			}
			sink.Sighting(s)
		}
		if _, err := dec.Token(); err != nil {
			return nil
		}
	}
}

func (r *crtshRow) sighting(o record.Options, pos record.Position) (*record.Sighting, string) {
	serial, err := record.CanonicalSerial(r.SerialNumber)
	if err != nil {
		return nil, "serial_number: " + err.Error()
	}
	s := &record.Sighting{
		Kind: record.KindX509, ArtifactID: serial, Issuer: record.CanonicalDN(r.IssuerName),
		Source: record.SourceCT, Observer: "crt.sh", Outcome: record.OutcomeUnknown, Pos: pos,
		Action: "listed by crt.sh",
	}
	if o.Observer != "" {
		s.Observer = o.Observer
	}
	if r.EntryTimestamp != "" {
		if t, err := record.ParseTime(r.EntryTimestamp, time.UTC); err == nil {
			s.ObservedAt = t
		} else {
			return nil, "entry_timestamp: " + err.Error()
		}
	}
	var names []string
	for _, n := range strings.Split(r.NameValue, "\n") {
		if n = record.CanonicalName(n); n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	attrs := map[string]any{"crtsh_id": r.ID, "issuer_ca_id": r.IssuerCAID, "common_name": r.CommonName,
		"names": names, "not_before": r.NotBefore, "not_after": r.NotAfter, "issuer_name": r.IssuerName}
	b, _ := json.Marshal(attrs)
	s.Attrs = string(b)
	return s, ""
}
