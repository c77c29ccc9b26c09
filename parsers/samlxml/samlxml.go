// Package samlxml reads files of captured SAML 2.0 messages: XML
// responses or assertions as IdPs, service providers and debugging tools
// dump them (one a file, or several one after the other, each perhaps with
// its own XML declaration, pretty-printed or on one line, or inside a
// wrapper such as a SOAP envelope), and text files of base64 SAMLResponse
// values one a line (as analysts cut them out of logs; "SAMLResponse="
// prefixed and URL-encoded, or DEFLATEd as the HTTP-Redirect binding sends
// them).
//
// A record is one SAML 2.0 Response or Assertion, or SAML 1.1 Assertion
// (as a WS-Federation token response carries it), at the top of the file or
// under a wrapper that is not SAML (a SOAP envelope, a WS-Trust response), at the line it starts on; its Raw is
// its bytes exactly as in the file (the signature covers them), with the
// namespace declarations of its ancestors that it uses copied onto its
// start tag when it is nested (Attrs ns_inherited). Other top-level
// elements are ignored. Source is "file", outcome unknown, no time: a
// message's own IssueInstant is the attacker's to write.
//
// DTDs are refused (a document with a DOCTYPE or entity declaration is
// rejected and never expanded), as are documents larger than
// record.MaxSAMLBytes, nested deeper than MaxDepth or with more than
// MaxElements elements. A malformed document is rejected at its start,
// and reading resumes at the next XML declaration or SAML start tag.
package samlxml

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format is the saml-xml format.
var Format = Parser{}

// Parser reads files of SAML messages. The zero value is ready.
type Parser struct{}

func (Parser) Name() string { return "saml-xml" }
func (Parser) Description() string {
	return "captured SAML 2.0 responses and assertions: XML documents, or base64 SAMLResponse values one a line"
}

// Bounds.
const (
	MaxDepth     = 64
	MaxElements  = 10000
	MaxFileBytes = 64 << 20
)

// Namespaces.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	// SAML 1.1's, whose assertions WS-Federation carries
	nsAssertion1 = "urn:oasis:names:tc:SAML:1.0:assertion"
)

func namesSAML(b []byte) bool {
	return bytes.Contains(b, []byte(nsProtocol)) || bytes.Contains(b, []byte(nsAssertion)) || bytes.Contains(b, []byte(nsAssertion1))
}

// Reasons.
const (
	IgnoreNotSAML = "not a SAML message"
	ReasonDTD     = "DTD refused: a SAML message never has a document type declaration (entity expansion)"
)

// EntryPositions: several documents may start on one line.
func (Parser) EntryPositions() bool { return true }

// Sniff claims XML that names a SAML 2.0 namespace, or lines of base64
// SAML messages.
func (Parser) Sniff(sample [][]byte) bool {
	if len(sample) == 0 {
		return false
	}
	first := bytes.TrimSpace(bytes.TrimPrefix(sample[0], []byte("\xef\xbb\xbf")))
	if len(first) > 0 && first[0] == '<' {
		return namesSAML(bytes.Join(sample, []byte("\n")))
	}
	for _, l := range sample {
		xmlb, _, err := record.DecodeSAMLMessage(lineValue(string(l)))
		if err != nil || !namesSAML(xmlb) {
			return false
		}
	}
	return true
}

// SniffFile claims .xml and .saml files whose head is SAML XML.
func (p Parser) SniffFile(name string, head []byte) bool {
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".xml" && ext != ".saml" {
		return false
	}
	h := bytes.TrimSpace(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")))
	return len(h) > 0 && h[0] == '<' && namesSAML(h)
}

// lineValue is a line's SAML value, without a SAMLResponse= prefix.
func lineValue(l string) string {
	l = strings.TrimSpace(l)
	if _, v, ok := record.SAMLParam(l); ok {
		return v
	}
	return l
}

// Parse implements record.Format.
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	data, err := io.ReadAll(io.LimitReader(in.R, MaxFileBytes+1))
	if err != nil {
		return err
	}
	if len(data) > MaxFileBytes {
		return fmt.Errorf("file larger than %d bytes", MaxFileBytes)
	}
	observer := in.Options.Observer
	if observer == "" {
		observer = filepath.Base(in.Name)
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) > 0 && trimmed[0] != '<' {
		in.R = bytes.NewReader(data)
		return p.parseLines(ctx, in, observer, sink)
	}
	r := &reader{in: in, data: data, sink: sink, observer: observer, name: p.Name()}
	return r.run(ctx)
}

func (p Parser) parseLines(ctx context.Context, in *record.Input, observer string, sink record.Sink) error {
	return record.EachLine(ctx, in, p.Name(), sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: p.Name()}
		xmlb, binding, err := record.DecodeSAMLMessage(lineValue(string(line)))
		if err != nil {
			sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: record.Excerpt(string(line), 64)})
			return
		}
		sink.Sighting(&record.Sighting{Kind: record.KindSAML, Raw: string(xmlb), Source: record.SourceFile, Observer: observer,
			Outcome: record.OutcomeUnknown, Attrs: record.AttrsJSON(map[string]string{"captured": "file", "binding": binding}), Pos: pos})
	})
}

// reader walks the documents of one XML file.
type reader struct {
	in       *record.Input
	data     []byte
	sink     record.Sink
	observer string
	name     string
	nl       []int // offsets of newlines
	lastLine int64
}

func (r *reader) line(off int64) int64 {
	if r.nl == nil {
		for i, b := range r.data {
			if b == '\n' {
				r.nl = append(r.nl, i)
			}
		}
		r.nl = append(r.nl, len(r.data)+1)
	}
	l := int64(sort.SearchInts(r.nl, int(off))) + 1
	if l <= r.lastLine {
		l = r.lastLine + 1
	}
	r.lastLine = l
	return l
}

func (r *reader) pos(off int64) record.Position {
	return record.Position{File: r.in.Name, Line: r.line(off), Format: r.name}
}

// run reads the file document by document (a document ends where its
// root element ends).
func (r *reader) run(ctx context.Context) error {
	off := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rest := bytes.TrimLeft(r.data[off:], " \t\r\n\xef\xbb\xbf")
		if len(rest) == 0 {
			return nil
		}
		off = len(r.data) - len(rest)
		n := r.document(off)
		if n <= 0 {
			return nil
		}
		off += n
	}
}

// frame is an open element with the namespaces it declares.
type frame struct {
	name  xml.Name
	start int64
	decls map[string]string // prefix ("" default) -> namespace
	saml  bool              // a Response or Assertion being read as a record
}

// document reads one document starting at off and returns how many bytes
// it took (0 at the end of the data).
func (r *reader) document(off int) int {
	d := xml.NewDecoder(bytes.NewReader(r.data[off:]))
	d.Strict = true
	var stack []frame
	elements := 0
	docStart := int64(off)
	emitted := false
	// a bad document is rejected at its start, and reading resumes after
	// the point where it went wrong
	bad := func(reason string) int {
		r.in.CountRecord()
		r.sink.Reject(&record.Reject{Pos: r.pos(docStart), Reason: reason, Excerpt: record.Excerpt(string(r.data[off:min(off+128, len(r.data))]), 128)})
		return r.resync(off, off+int(d.InputOffset()))
	}
	for {
		before := int64(off) + d.InputOffset()
		tok, err := d.RawToken()
		if err == io.EOF {
			if len(stack) > 0 {
				return bad("not XML: the document is cut off")
			}
			return len(r.data) - off
		}
		if err != nil {
			return bad("not XML: " + record.Escape(err.Error()))
		}
		switch t := tok.(type) {
		case xml.Directive:
			// the document the DTD belongs to is skipped whole: to the
			// next XML declaration
			r.in.CountRecord()
			r.sink.Reject(&record.Reject{Pos: r.pos(docStart), Reason: ReasonDTD, Excerpt: record.Excerpt(string(r.data[off:min(off+128, len(r.data))]), 128)})
			if i := bytes.Index(r.data[off+int(d.InputOffset()):], []byte("<?xml")); i >= 0 {
				return int(d.InputOffset()) + i
			}
			return len(r.data) - off
		case xml.StartElement:
			elements++
			if len(stack) >= MaxDepth {
				return bad(fmt.Sprintf("nested deeper than %d elements", MaxDepth))
			}
			if elements > MaxElements {
				return bad(fmt.Sprintf("more than %d elements", MaxElements))
			}
			f := frame{name: t.Name, start: before, decls: map[string]string{}}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					f.decls[""] = a.Value
				case a.Name.Space == "xmlns":
					f.decls[a.Name.Local] = a.Value
				}
			}
			inSAML := false
			for _, s := range stack {
				inSAML = inSAML || s.saml
			}
			if !inSAML {
				ns := resolve(append(stack, f), t.Name.Space)
				if ns == nsProtocol && t.Name.Local == "Response" || (ns == nsAssertion || ns == nsAssertion1) && t.Name.Local == "Assertion" {
					f.saml = true
				}
			}
			stack = append(stack, f)
		case xml.EndElement:
			if len(stack) == 0 {
				return bad("not XML: an end tag without its start")
			}
			f := stack[len(stack)-1]
			if f.name != t.Name {
				return bad(fmt.Sprintf("not XML: </%s> closes <%s>", qname(t.Name), qname(f.name)))
			}
			stack = stack[:len(stack)-1]
			end := int64(off) + d.InputOffset()
			if f.saml {
				r.emit(stack, f, end, t.Name.Local)
				emitted = true
			}
			if len(stack) == 0 {
				if !emitted {
					r.in.CountRecord()
					r.sink.Ignore(r.pos(docStart), IgnoreNotSAML)
				}
				return int(end) - off
			}
		}
	}
}

// emit gives the SAML element f, which ends at end, as a sighting.
func (r *reader) emit(ancestors []frame, f frame, end int64, local string) {
	r.in.CountRecord()
	pos := r.pos(f.start)
	raw := r.data[f.start:end]
	if len(raw) > record.MaxSAMLBytes {
		r.sink.Reject(&record.Reject{Pos: pos, Reason: fmt.Sprintf("SAML message of %d bytes is larger than %d", len(raw), record.MaxSAMLBytes)})
		return
	}
	kv := map[string]string{"captured": "file", "element": local}
	if len(ancestors) > 0 {
		// the namespaces the ancestors declare that f does not
		inherited := map[string]string{}
		for _, a := range ancestors {
			for p, ns := range a.decls {
				inherited[p] = ns
			}
		}
		for p := range f.decls {
			delete(inherited, p)
		}
		if len(inherited) > 0 {
			raw = withDecls(raw, inherited)
			kv["ns_inherited"] = "true"
		}
	}
	r.sink.Sighting(&record.Sighting{Kind: record.KindSAML, Raw: string(raw), Source: record.SourceFile, Observer: r.observer,
		Outcome: record.OutcomeUnknown, Attrs: record.AttrsJSON(kv), Pos: pos})
}

// withDecls inserts namespace declarations after the element name of the
// start tag raw begins with.
func withDecls(raw []byte, decls map[string]string) []byte {
	i := bytes.IndexAny(raw, " \t\r\n/>")
	if i < 0 {
		return raw
	}
	prefixes := make([]string, 0, len(decls))
	for p := range decls {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	var b bytes.Buffer
	b.Write(raw[:i])
	for _, p := range prefixes {
		var v bytes.Buffer
		xml.EscapeText(&v, []byte(decls[p]))
		if p == "" {
			fmt.Fprintf(&b, ` xmlns="%s"`, v.String())
		} else {
			fmt.Fprintf(&b, ` xmlns:%s="%s"`, p, v.String())
		}
	}
	b.Write(raw[i:])
	return b.Bytes()
}

// resolve is the namespace of prefix in the scope of stack.
func resolve(stack []frame, prefix string) string {
	for i := len(stack) - 1; i >= 0; i-- {
		if ns, ok := stack[i].decls[prefix]; ok {
			return ns
		}
	}
	return ""
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return record.Escape(n.Local)
	}
	return record.Escape(n.Space + ":" + n.Local)
}

// resync skips a bad document that starts at off and went wrong at
// failed: to the next XML declaration or SAML start tag after that,
// else to the end. It returns the bytes skipped from off.
func (r *reader) resync(off, failed int) int {
	failed = max(failed, off+1)
	if failed >= len(r.data) {
		return len(r.data) - off
	}
	rest := r.data[failed:]
	next := -1
	for _, m := range [][]byte{[]byte("<?xml"), []byte("\n<samlp:Response"), []byte("\n<saml2p:Response"), []byte("\n<Response"),
		[]byte("\n<saml:Assertion"), []byte("\n<saml2:Assertion"), []byte("\n<Assertion")} {
		if i := bytes.Index(rest, m); i >= 0 && (next < 0 || i < next) {
			next = i
		}
	}
	if next < 0 {
		return len(r.data) - off
	}
	return failed - off + next
}
