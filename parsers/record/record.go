// Package record holds the normalized records that every log format produces,
// the Format interface that a format implements, and the helpers formats share
// (bounded line reading, time parsing, escaping of untrusted text).
//
// Format packages import record; the parsers package imports the formats and
// keeps the ordered registry, so there is no import cycle.
package record

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Artifact kinds.
const (
	KindJWT       = "jwt"
	KindSAML      = "saml"
	KindX509      = "x509"
	KindSignature = "signature"
)

// Sighting sources.
const (
	SourceAuth = "auth"
	SourceCT   = "ct"
	SourceCI   = "ci"
	// SourceFile: an artifact found in a file of artifacts (a certificate
	// bundle), not in a log of its use.
	SourceFile = "file"
)

// Verifier outcomes.
const (
	OutcomeAccepted = "accepted"
	OutcomeRejected = "rejected"
	OutcomeUnknown  = "unknown"
)

// Position says where a record came from. Line is 1-based; for formats without
// lines it is the entry index or byte offset the format documents.
type Position struct {
	File   string
	Line   int64
	Format string
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Sighting is one presentation of an artifact to a downstream verifier, or one
// logging of it (a CT entry, a CI signing event).
type Sighting struct {
	Kind string // KindJWT, ...
	// Raw is the artifact itself when the log holds it (a bearer token). It is
	// hashed and verified by the analyzer and never stored in the sightings table.
	Raw string
	// RawKey is RawArtifactKey(Kind, Raw) when the format has it at hand (a
	// BearerCache computes it once per distinct token), else "" and the
	// sink computes it. RawKeySeen, when set, is the cache's flag for the
	// token: a sink that registers new artifacts sets it when it registers
	// this one, and need not look at sightings that find it set (the flag
	// is set only for a sighting a sink received, never for a line that
	// was rejected after its token was read).
	RawKey     string       `json:"-"`
	RawKeySeen *atomic.Bool `json:"-"`
	// ArtifactID identifies the artifact when the log holds only an id (jti, uti,
	// serial); with Issuer it forms the artifact key. Ignored when Raw is set.
	ArtifactID string
	Issuer     string

	ObservedAt time.Time // zero when the log has no time
	Source     string    // SourceAuth, SourceCT, SourceCI
	Observer   string    // service, cluster or log that saw it
	Principal  string    // who the verifier took the caller to be, when logged
	ClientIP   string
	UserAgent  string
	Action     string // e.g. "GET /api/payments"
	Outcome    string // OutcomeAccepted, OutcomeRejected, OutcomeUnknown
	Attrs      string // JSON object of format-specific fields, or ""
	Pos        Position

	// Salvaged is the reject reason of the line this sighting was salvaged
	// from (see SalvageSink); "" for a sighting of a parsed line. A salvaged
	// sighting is not a record of its own: its line is accounted for by its
	// Reject, and sinks count salvaged sightings apart.
	Salvaged string `json:",omitempty"`
	// Ambiguous is set on salvaged sightings of a line that carried several
	// distinct tokens or a duplicated key: which one the verifier checked
	// cannot be told.
	Ambiguous bool `json:",omitempty"`
}

// Issuance is one legitimate issuance recorded by the issuer itself.
type Issuance struct {
	Kind       string
	Issuer     string
	ArtifactID string // jti, token_id, serial, digest
	RawSHA256  string // hex sha256 of the raw artifact, when the issuer logs it
	Subject    string
	Audience   string
	// AudienceIsClient says that Audience is the client the artifact was
	// issued to (Keycloak logs the client, a token's azp, which the token
	// may carry among other audiences), not the artifact's whole audience
	// set (a ledger's): a fact the format states, so that matching never
	// tests format names.
	AudienceIsClient bool   `json:",omitempty"`
	KeyRef           string // key id or fingerprint the issuer says it used, when logged
	// Names are the DNS names, addresses and URIs a certificate was issued
	// for (its SANs, canonical: CanonicalName), for kinds that have them.
	Names     []string  `json:",omitempty"`
	IssuedAt  time.Time // for a certificate, its not_before
	ExpiresAt time.Time // zero when not logged; for a certificate, its not_after
	Attrs     string    // JSON object, or ""
	Pos       Position
}

// Link relations.
const (
	// LinkSAMLRequest: a service provider sent an AuthnRequest (FromID, kind
	// KindSAMLRequest) and passed the IdP the request id ToID (kind
	// KindSAML: what AD FS adopts as the activity id it logs its issuance
	// under).
	LinkSAMLRequest = "saml-authn-request"
)

// KindSAMLRequest is the kind of a SAML AuthnRequest's id in links: a
// request is not an artifact, only a step of the join from an assertion to
// its issuance.
const KindSAMLRequest = "saml-request"

// Link is a relation a log states between two ids: a service provider's
// AuthnRequest and the request id it passed to the IdP, an assertion and
// the request it answered. Matching and rules follow links; they are never
// artifacts themselves.
type Link struct {
	Relation         string // Link* constants
	FromKind, FromID string
	ToKind, ToID     string
	At               time.Time // zero when not logged
	Observer         string    // the service that logged it
	Principal        string
	Attrs            string // JSON object, or ""
	Pos              Position
}

// LinkSink is implemented by sinks that keep links (the analyzer's); a
// format emits links through EmitLink.
type LinkSink interface {
	Link(*Link)
}

// IgnoreLinkNotKept is the ignore reason of a link given to a sink that
// keeps none.
const IgnoreLinkNotKept = "link (not kept by this sink)"

// EmitLink gives l to sink: as a row when the sink keeps links, else as an
// ignored record, so that the record still ends in exactly one Sink call.
func EmitLink(sink Sink, l *Link) {
	if ls, ok := sink.(LinkSink); ok {
		ls.Link(l)
		return
	}
	sink.Ignore(l.Pos, IgnoreLinkNotKept)
}

// Reject is an input record that could not be parsed.
type Reject struct {
	Pos     Position
	Reason  string
	Excerpt string // raw text; the sink truncates and escapes it
}

// Sink receives the records of one input. A sink must copy what it keeps: the
// caller may reuse the record after the call returns.
//
// Every record a format reads ends in exactly one call: a row (Sighting or
// Issuance), a Reject, or an Ignore. That is what lets the caller prove that
// nothing read was lost (see Stats).
type Sink interface {
	Sighting(*Sighting)
	Issuance(*Issuance)
	Reject(*Reject)
	// Ignore is a record read that yields no row and is not malformed: an
	// access-log line without a bearer token, a Keycloak event that issues
	// nothing, a line of another logger, a CSV header. reason is a short
	// stable phrase (one of the Ignore* constants or a format's own), never
	// text taken from the input.
	Ignore(pos Position, reason string)
}

// Ignore reasons shared by formats.
const (
	IgnoreNoToken  = "no bearer token"
	IgnoreNotEvent = "not an event line"
	IgnoreHeader   = "header"
)

// Options tune a format for one run. The zero value is the default.
type Options struct {
	// Observer names the service whose log this is, overriding what the format
	// derives (for nginx, the file name).
	Observer string
	// FieldMap maps a logical field (token, time, client_ip, user_agent, observer,
	// principal, status, method, path) to the key a JSON format should read.
	FieldMap map[string]string
	// Location is the time zone for timestamps that carry none (Keycloak). Nil
	// means UTC.
	Location *time.Location
	// MaxLineBytes bounds one record; longer lines are rejected. Zero means
	// DefaultMaxLineBytes.
	MaxLineBytes int
	// Envelope, if set, is unwrapped from every line before the format reads
	// it (journald, syslog, CRI, Docker json-file, kubectl --timestamps).
	Envelope *Envelope
	// NginxFormat is an nginx log_format string (the quoted parts joined,
	// as nginx joins them) that the nginx format compiles and reads lines
	// with, instead of detecting the layout; "" detects it.
	NginxFormat string
	// EnvoyFormat is an Envoy text access-log format string (command
	// operators such as %START_TIME% and %REQ(AUTHORIZATION)%) that the
	// envoy-text format compiles and reads lines with; "" means Envoy's
	// default format (and Istio's, which extends it).
	EnvoyFormat string
}

// Loc returns the configured location or UTC.
func (o Options) Loc() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// Input is one decompressed input stream.
type Input struct {
	Name    string // the path shown in positions
	R       io.Reader
	Options Options
	// Stats, if set, counts the records read, independently of what the
	// format makes of them. Nil counts nothing.
	Stats *Stats

	// FirstLine is the number of the first line of R, when R is a part of
	// a larger input read in parallel; 0 means 1.
	FirstLine int64
	// Data, if set, is all of R's content, in memory (a part of a larger
	// input): EachLine then reads its lines in place instead of copying
	// them. Formats that read R themselves may ignore it.
	Data []byte

	// Bearers, if set, is the BearerCache formats use, kept by the caller
	// across the parts of an input read in parallel (a token met in one
	// part is known in the others); nil: see BearerCache.
	Bearers *BearerCache

	lineTime time.Time // the current line's envelope time
}

// LineIndependent is implemented by formats whose lines can be read in any
// order and by several readers at once (no state carried from one line to
// the next: no header, no numbering, no multi-line records); the analyzer
// then splits large inputs at line boundaries and parses the parts in
// parallel.
type LineIndependent interface {
	LineIndependent() bool
}

// BearerCache returns in.Bearers, making one for this input if unset.
func (in *Input) BearerCache() *BearerCache {
	if in.Bearers == nil {
		in.Bearers = &BearerCache{}
	}
	return in.Bearers
}

// LineTime is the timestamp of the current line's envelope (the journald,
// syslog or container runtime time), zero when there is none; formats whose
// lines carry no date (an old WildFly Keycloak log) may use it.
func (in *Input) LineTime() time.Time { return in.lineTime }

// Stats counts what a reader read from one input. It is filled by the
// reading helpers (EachLine) and by formats that read records otherwise (the
// ledger's CSV reader), one goroutine per input; formats whose log numbers
// its records (Keycloak's JSON logging) add the holes in that numbering.
type Stats struct {
	// Records is the number of records read: every non-empty line (over-long
	// ones included) for line formats, every CSV record (header included)
	// for CSV. Each of them ends in exactly one Sink call.
	Records int64
	// SeqGaps are the holes found in the log's own record numbering (see
	// SeqTracker), at most MaxSeqGaps; SeqGapsDropped counts the rest.
	SeqGaps        []SeqGap
	SeqGapsDropped int64
	// SeqRuns has one entry per numbering process of the input.
	SeqRuns []SeqRun
}

// CountRecord counts one record read into in.Stats, if set.
func (in *Input) CountRecord() {
	if in.Stats != nil {
		in.Stats.Records++
	}
}

// Format reads one log format.
//
// Sniff gets up to the first SniffLines non-empty lines of a file (already
// decompressed) and reports whether they look like this format; it must not
// panic on any input.
//
// Parse streams every record of in into sink. A record that cannot be parsed
// goes to sink.Reject with its position and the run goes on; a record that
// carries nothing to hunt goes to sink.Ignore; every record read is counted in
// in.Stats and ends in exactly one Sink call. Parse returns an
// error only when reading fails (for example a truncated gzip stream), ctx is
// done, or in.Options cannot be used (a --nginx-format string that does not
// compile: then before any record is read); records delivered before the
// error stand.
type Format interface {
	Name() string
	Description() string
	Sniff(sample [][]byte) bool
	Parse(ctx context.Context, in *Input, sink Sink) error
}

// IssuerLog is implemented by formats that read an issuer's own records
// (issuances: a Keycloak event log, a ledger) rather than what verifiers
// saw: a file of theirs without a token is normal, not a sign that the
// token is logged under a key the format does not read.
type IssuerLog interface {
	IssuerLog() bool
}

// FileSniffer is implemented by formats recognised by the file's name and
// raw head rather than by lines (binary formats: CT tiles, DER
// certificates). Detection tries them before line sniffing. SniffFile gets
// the file's path and up to 256 KiB of its decompressed start; it must not
// panic on any input.
type FileSniffer interface {
	SniffFile(name string, head []byte) bool
}

// EntryPositions is implemented by formats whose records are not lines (a
// JSON array of log entries, a binary CT tile, the blocks of a PEM file):
// their Position.Line is the record's ordinal in the file (1-based), or
// the line it starts on, as the format documents; several may share a
// physical line.
type EntryPositions interface {
	EntryPositions() bool
}

// SniffLines is how many non-empty lines detection looks at.
const SniffLines = 8
