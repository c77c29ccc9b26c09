// Package ct reads Certificate Transparency logs and certificate files as
// sightings of x509 artifacts: every certificate and precertificate a log
// holds, with the log, the entry's index and the log's timestamp (the
// earliest proof that the certificate existed, whatever its not_before
// claims). Four formats:
//
//   - ct-get-entries: RFC 6962 get-entries responses
//     ({"entries":[{"leaf_input","extra_data"}]}), see getentries.go.
//   - ct-tile: static-ct-api data tiles (Sunlight and other tiled logs),
//     full and partial, with the log's issuer/ directory; see tile.go.
//   - crtsh-json: crt.sh's JSON search results (ids only); see crtsh.go.
//   - x509-bundle: PEM certificate bundles and DER certificate files; see
//     bundle.go.
//
// A sighting's Raw is record.CertRaw of the certificate (for a
// precertificate, the pre_certificate as submitted, followed by the chain
// certificate that issued it, which may be a Precertificate Signing
// Certificate) and its RawKey record.CertKey of the DER, so that one
// certificate met in several logs or files is one artifact. Decoding uses
// certificate-transparency-go (leaves, chains) and filippo.io/sunlight
// (tiles): no hand-written TLS or ASN.1 parsing.
//
// Observer is the log: Options.Observer, else the name the input gives
// (the wrapper's "log", a tile log's checkpoint origin), else the file's
// directory or name. Outcome is unknown: being logged is not being
// accepted by a verifier. Attrs hold log_index, entry_type and, for
// precertificates, issuer_key_hash (the hex sha256 of the CA key's SPKI the
// log recorded).
package ct

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Reasons entries are ignored for.
const (
	IgnoreRepeated = "entry repeated in a wider tile"
	IgnoreNoCert   = "entry carries no certificate"
)

// MaxFileBytes bounds a file read whole (a get-entries response, a tile, a
// bundle).
const MaxFileBytes = 1 << 30

// entry is one log entry on its way to a sighting.
type entry struct {
	index     int64 // the log's index; -1 when unknown
	timestamp uint64
	precert   bool
	cert      []byte   // the certificate, or the pre_certificate
	issuers   [][]byte // the chain certificate that issued cert, when known
	ikh       []byte   // a precert entry's issuer_key_hash
}

// sighting is the sighting of e in log at pos.
func sighting(e *entry, log string, pos record.Position) *record.Sighting {
	s := &record.Sighting{
		Kind: record.KindX509, Raw: certRaw(e), RawKey: record.CertKey(e.cert),
		Source: record.SourceCT, Observer: log, Outcome: record.OutcomeUnknown, Pos: pos,
	}
	if e.timestamp > 0 {
		s.ObservedAt = time.UnixMilli(int64(e.timestamp)).UTC()
	}
	typ := "x509_entry"
	if e.precert {
		typ = "precert_entry"
	}
	s.Action = "logged " + typ
	var b strings.Builder
	b.WriteString(`{"entry_type":"` + typ + `"`)
	if e.index >= 0 {
		b.WriteString(`,"log_index":` + strconv.FormatInt(e.index, 10))
		s.Action += " " + strconv.FormatInt(e.index, 10)
	}
	if len(e.ikh) > 0 {
		b.WriteString(`,"issuer_key_hash":"` + hex.EncodeToString(e.ikh) + `"`)
	}
	b.WriteString("}")
	s.Attrs = b.String()
	return s
}

// certRaw is the raw artifact of e: the certificate, its issuing chain
// certificate for a precertificate, and the issuer key hash the log
// recorded (record.CertRaw, with "~" and the hex hash last).
func certRaw(e *entry) string {
	raw := record.CertRaw(e.cert, e.issuers...)
	if len(e.ikh) > 0 {
		raw += "~" + hex.EncodeToString(e.ikh)
	}
	return raw
}

// logName is the observer for a file at name: the option, else given
// (from the file), else the file's directory.
func logName(o record.Options, given, name string) string {
	switch {
	case o.Observer != "":
		return o.Observer
	case given != "":
		return given
	}
	dir := filepath.Base(filepath.Dir(name))
	if dir == "." || dir == "/" || dir == "" {
		return filepath.Base(name)
	}
	return dir
}

// where names an entry in reasons: its log index when known, else its
// place in the file.
func where(e *entry, ordinal int64) string {
	if e != nil && e.index >= 0 {
		return fmt.Sprintf("entry %d (log index %d)", ordinal, e.index)
	}
	return fmt.Sprintf("entry %d", ordinal)
}

// EntryPositions: every CT format numbers entries, not lines (a bundle's
// blocks are at the line of their BEGIN, which is a line).
func (getEntries) EntryPositions() bool { return true }
func (tile) EntryPositions() bool       { return true }
func (crtsh) EntryPositions() bool      { return true }
