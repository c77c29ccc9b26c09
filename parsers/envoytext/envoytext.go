// Package envoytext reads Envoy's and Istio's plain-text access logs and
// emits one JWT sighting per line that carries a bearer token.
//
// Without a format string, each line is read with the first of these
// layouts that it matches (one it matches with no separator inside a value
// before any other): Istio's default TEXT format (IstioDefault; Istio 1.3
// to 1.8's older default too) and Envoy's default format (EnvoyDefault),
// each followed by any number of quoted fields, the first of which that holds
// a bearer JWT (or is a bare JWT) being the credential. The common
// customisation, Envoy's default with "%REQ(AUTHORIZATION)%" appended, is
// one of them; the defaults as they come log no credential, so their lines
// are ignored ("no bearer token").
//
// With record.Options.EnvoyFormat (--envoy-format), lines are read with that
// format string instead. It must log a credential: %REQ(AUTHORIZATION)%, in
// any case and with or without a :N limit, or another X- request header
// that holds a bare JWT (%REQ(X-JWT-ASSERTION)%, %REQ(X-AMZN-OIDC-DATA)%).
// A credential as long as its :N limit may have been cut, and a cut JWT
// would look forged: such a line is rejected. START_TIME may carry its own
// format (%START_TIME(%s.%3f)%), read as Envoy renders it, in UTC
// (START_TIME_LOCAL in record.Options.Location). The operators that fill a sighting are read by name
// (method, path, protocol, status, response flags and details, forwarded-for,
// user agent, request id, authority, upstream host and cluster, downstream
// addresses, peer URI SAN and subject, SNI, route); attrs use parsers/envoy's
// names. Other operators are kept in attrs under a lower-cased name
// (%REQ(X-TENANT)% as "x_tenant", %DYNAMIC_METADATA(a:b)% as
// "dynamic_metadata_a:b"), except headers that may hold a secret.
//
// Envoy writes values as they are: a quote, or the text that separates two
// fields, may occur inside a header value, and a line can then be split in
// more than one way. Each value ends where the literal text after its
// operator follows, and values are told apart by their class: Envoy's own
// fields (status, flags, cluster) hold no space or quote, addresses also
// have a ":", "/" or "@" (so a bare JWT is never taken for one), numbers
// are digits. Of the splits left, the reader keeps the one whose values
// hold the fewest separators (Envoy wrote every field; a separator inside a
// value is the exception, and the fields that trail a default layout are
// optional), and among those the one in which the user agent, the path and
// other headers are longest and X-Forwarded-For and the credential
// shortest, so that the fields after a user agent full of quotes are read
// from the right. A line with a separator inside a value, or with several
// trailing fields, is split twice more, taking the longest and then the
// shortest value everywhere first; if a split reads another credential, or
// another value of a field the client does not write (the time, status,
// response flags and details, upstream cluster, downstream address), the
// line is rejected as ambiguous, for salvage to hunt its tokens.
//
// Lines with raw control characters (Envoy escapes none: they are the
// client's bytes) or invalid UTF-8 are rejected. Parser implements
// record.Salvager: for a rejected line it reports the fields it can still
// locate, with the same splitting as Parse, up to the field where a line
// stops matching.
package envoytext

import (
	"bytes"
	"context"
	"fmt"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format is the envoy-text format.
var Format = Parser{}

// Parser reads Envoy / Istio text access logs. The zero value is ready to use
// and safe for concurrent Parse calls.
type Parser struct{}

// Name returns "envoy-text".
func (Parser) Name() string { return "envoy-text" }

// Description says what the format reads.
func (Parser) Description() string {
	return "Envoy / Istio text access log (default formats, or --envoy-format) with the Authorization header (bearer JWTs)"
}

// Reject reasons that tests and users may match on.
const (
	// ReasonControl: Envoy escapes nothing, so control bytes are the client's.
	ReasonControl = "control character in line"
	// ReasonAmbiguous: the ways to split the line read it differently.
	ReasonAmbiguous = "ambiguous line: a value holds the text between two fields"
	// ReasonTooAmbiguous: a line with too many ways to split it to search.
	ReasonTooAmbiguous = "ambiguous line: too many ways to split it"
	// ReasonCut: the credential is as long as its :N limit, so Envoy may have
	// cut it; a cut JWT would look forged.
	ReasonCut = "credential may be cut by the format's length limit"
)

// Sniff reports whether most sample lines start as the default formats do:
// "[", a readable START_TIME, `] "` and a method (or "-", in TCP lines).
// Sniff sees no options, so a custom format is detected only if it keeps
// that start.
func (Parser) Sniff(sample [][]byte) bool {
	hits, lines := 0, 0
	for _, line := range sample {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		if sniffLine(line) {
			hits++
		}
	}
	return hits > 0 && 2*hits >= lines
}

func sniffLine(line []byte) bool {
	if len(line) < 2 || line[0] != '[' {
		return false
	}
	end := bytes.Index(line, []byte(`] "`))
	if end < 2 || end > 64 {
		return false
	}
	if _, err := record.ParseTime(string(line[1:end]), nil); err != nil {
		return false
	}
	rest := line[end+3:]
	k := 0
	for k < len(rest) && k < 32 && (rest[k] >= 'A' && rest[k] <= 'Z' || rest[k] == '-' || rest[k] == '_') {
		k++
	}
	return k > 0 && k < len(rest) && rest[k] == ' '
}

// Parse streams one sighting per line whose credential is a bearer JWT (or
// a bare JWT). Lines without one ("-", another scheme, no credential field)
// are ignored ("no bearer token"). Lines that match no layout, are
// ambiguous, carry control characters or invalid UTF-8, hold a bearer value
// that is not JWT-shaped or may have been cut by a :N limit, or have an
// unreadable START_TIME are rejected. Each line ends in exactly one
// sighting, reject or ignore.
//
// Options: EnvoyFormat replaces the default layouts (a format string that
// does not compile, or logs no credential, is an error before any line is
// read); Observer overrides the observer of every sighting; Location is the
// zone of START_TIME_LOCAL without an offset.
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	layouts, err := layoutsFor(in.Options.EnvoyFormat)
	if err != nil {
		return err
	}
	name := p.Name()
	r := &reader{layouts: layouts}
	var s record.Sighting
	bearers := in.BearerCache()
	return record.EachLine(ctx, in, name, sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: name}
		reject := func(reason string) {
			sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
		}
		if !record.ValidUTF8(line, pos, sink) {
			return
		}
		if hasControl(line) {
			reject(ReasonControl)
			return
		}
		sp, why := r.split(line)
		if why == "" && r.ambiguous(sp) {
			why = ReasonAmbiguous
		}
		if why != "" {
			reject(why)
			return
		}
		raw, rawKey, seen, why := sp.credentialCached(bearers)
		if why != "" {
			reject(why)
			return
		}
		if raw == "" {
			sink.Ignore(pos, record.IgnoreNoToken)
			return
		}
		s = record.Sighting{Kind: record.KindJWT, Raw: raw, RawKey: rawKey, RawKeySeen: seen, Source: record.SourceAuth, Pos: pos}
		if _, err := sp.fill(&in.Options, &s, &r.attrs); err != nil {
			reject(err.Error())
			return
		}
		sink.Sighting(&s)
	})
}

// SalvageFields fills what it can find of s in a line Parse rejected (see
// record.Salvager), splitting it as Parse does; a line that matches no
// layout gives the fields before the one where it stopped matching. The
// outcome is set only when the status is readable.
func (Parser) SalvageFields(line []byte, o *record.Options, s *record.Sighting) {
	var opts record.Options
	if o != nil {
		opts = *o
	}
	layouts, err := layoutsFor(opts.EnvoyFormat)
	if err != nil {
		return
	}
	r := &reader{layouts: layouts}
	sp, why := r.split(line)
	if why != "" {
		if sp = r.partial(); sp == nil {
			return
		}
	}
	outcome := s.Outcome
	var attrs record.Attrs
	if statusOK, _ := sp.fill(&opts, s, &attrs); !statusOK {
		s.Outcome = outcome
	}
}

// LineIndependent reports that lines carry no state from one to the next,
// so a large input may be read in parts in parallel.
func (Parser) LineIndependent() bool { return true }

// layoutsFor returns the layouts lines are read with: the compiled format
// string, or the defaults when it is "".
func layoutsFor(format string) ([]*layout, error) {
	if format == "" {
		return defaultLayouts, nil
	}
	l, err := compile(format, "--envoy-format", true)
	if err != nil {
		return nil, fmt.Errorf("bad --envoy-format string: %w", err)
	}
	return []*layout{l}, nil
}

// reader splits the lines of one input; its buffers are reused from line to
// line.
type reader struct {
	layouts []*layout
	m       matcher
	sp, alt split
	// The split of the layout a failed line went furthest in, for salvage.
	best      split
	bestDepth int
	attrs     record.Attrs
}

// split splits line along the first layout it matches with no value
// holding a separator, else along the first it matches at all. Otherwise it
// returns why the line matches none: what failed in the layout it went
// furthest in.
func (r *reader) split(line []byte) (*split, string) {
	r.m.setLine(line)
	for _, l := range r.layouts {
		r.sp.reset(l, line)
		if r.m.runDirect(l, r.sp.spans) {
			r.sp.tail = r.m.tail
			return &r.sp, ""
		}
	}
	r.bestDepth = -2
	why, exhausted := "", false
	for _, l := range r.layouts {
		r.sp.reset(l, line)
		if r.m.run(l, fewestSwallowed, r.sp.spans) {
			r.sp.tail = r.m.tail
			return &r.sp, ""
		}
		exhausted = exhausted || r.m.exhausted
		if r.m.deepest > r.bestDepth {
			r.bestDepth = r.m.deepest
			why = fmt.Sprintf("does not match %s: %s", l.name, r.m.why())
			r.best.reset(l, line)
			copy(r.best.spans, r.m.best)
		}
	}
	if exhausted {
		return nil, ReasonTooAmbiguous
	}
	return nil, why
}

// partial is the split of the layout the last failed line went furthest in,
// or nil.
func (r *reader) partial() *split {
	if r.bestDepth < 0 {
		return nil
	}
	return &r.best
}

// ambiguous reports whether sp, a split of the current line, has a value
// that holds the literal after it, and the splits that prefer the longest
// and the shortest value at every operator do not both read the line as sp
// does (see sameReading).
func (r *reader) ambiguous(sp *split) bool {
	if !suspicious(sp) {
		return false
	}
	for _, mode := range []preference{allLongest, allShortest} {
		r.alt.reset(sp.l, sp.line)
		if !r.m.run(sp.l, mode, r.alt.spans) {
			return true // the same search in another order fails only out of budget
		}
		r.alt.tail = r.m.tail
		if !sameReading(sp, &r.alt) {
			return true
		}
	}
	return false
}

// hasControl reports whether line has a C0 control character or DEL.
func hasControl(line []byte) bool {
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
