// Package samlxml reads files of captured SAML messages: XML responses or
// assertions as identity providers, service providers and debugging tools
// dump them (one a file, or several one after the other, each perhaps with
// its own XML declaration, pretty-printed or on one line, or inside a
// wrapper such as a SOAP envelope or an ArtifactResponse), and text files
// of base64 SAMLResponse values one a line (as analysts cut them out of
// logs: bare, "SAMLResponse=" prefixed, URL-encoded, or DEFLATEd as the
// HTTP-Redirect binding sends them).
//
// # Records
//
// In an XML file a record is a top-level element. A SAML 2.0 Response or
// Assertion, or a SAML 1.1 Assertion (as a WS-Federation token response
// carries it), whatever its prefix, is a sighting whose Raw is its bytes
// exactly as they are in the file, from its start tag to its end tag: the
// signature covers them, so nothing is re-serialized. A top-level element
// that is not SAML is a wrapper (a SOAP envelope, a <Responses> list, a
// WS-Trust response): every Response or Assertion under it, not inside
// another one, is a record of its own. A nested element loses the
// namespace declarations of its ancestors when it is cut out, so the ones
// in scope that it does not make itself are inserted into its start tag,
// after its name, in prefix order (the one textual change ever made; Attrs
// ns_inherited "true"): every in-scope declaration, not just the prefixes
// the element's names use, since QName values such as xsi:type use them
// too, and exclusive canonicalisation (what SAML signs with) ignores the
// ones not used. A wrapper with no SAML message in it is ignored ("not a
// SAML message"); so is text outside any element. A SAML element whose
// prefix is not declared (cut out of an enclosing document) is rejected.
//
// In a file of base64 values every non-empty line is a record, decoded with
// record.DecodeSAMLMessage; the decoded message must be one Response or
// Assertion, and is checked as an XML document is. Its Raw is the message
// as decoded, as the other formats that meet SAMLResponse values give it,
// so that the same response is one artifact wherever it is found. A
// message of another kind (an AuthnRequest behind a SAMLRequest=) is
// ignored; a line that does not decode is rejected.
//
// Position.Line is the line the record starts on: the element's start tag
// (a wrapper's, for an ignored wrapper), the text's first byte, or for a
// rejected document its first byte (its XML declaration), or where it went
// wrong when messages before that were read from it. Several records may
// start on one line; the second is then given the next line number no
// earlier record has (as adfs-evtx-xml does), since a position names one
// record. In a file of values, the line's number.
//
// Every sighting has source "file", outcome unknown (a file of messages
// says nothing about whether any was accepted) and no time (a message's
// own IssueInstant is the attacker's to write: the analyzer reads it).
//
// # Hostile input
//
// A document with a DTD (any <!DOCTYPE or other declaration) is rejected
// and never expanded. So are documents larger than record.MaxSAMLBytes,
// nested deeper than MaxDepth, or with more than MaxElements elements, and
// malformed ones, at the document's start with the reason. Reading then
// resumes at the next XML declaration, or at the next line that begins
// with a Response or Assertion start tag; when there is none the rest of
// the file is part of that rejected record. A nested message with more
// than MaxScopeDecls declarations in scope is rejected, and the
// declarations copied onto the messages of one document add no more than
// record.MaxSAMLBytes to them: a wrapper cannot make its messages many
// times larger than itself. A file is read whole, up to MaxFileBytes: a
// larger one is a read error. The declared encoding is not trusted:
// documents are read as UTF-8, and one that is not is malformed.
package samlxml

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads files of captured SAML messages. See the package
// documentation.
var Format record.Format = Parser{}

// Parser is the saml-xml format. The zero value is ready.
type Parser struct{}

func (Parser) Name() string { return "saml-xml" }

func (Parser) Description() string {
	return "captured SAML 2.0 responses and assertions: XML documents, or base64 SAMLResponse values one a line"
}

// EntryPositions reports that several documents may start on one line.
func (Parser) EntryPositions() bool { return true }

// Bounds of what is read.
const (
	MaxDepth     = 64       // element nesting of one document
	MaxElements  = 10000    // elements of one document
	MaxFileBytes = 64 << 20 // one file, read whole
	// MaxScopeDecls bounds the namespace declarations in scope at a nested
	// message, which are copied onto it; real wrappers have a handful.
	MaxScopeDecls = 256
)

// Namespaces of the messages hunted.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	// SAML 1.1's, whose assertions WS-Federation carries
	nsAssertion1 = "urn:oasis:names:tc:SAML:1.0:assertion"
)

var samlNamespaces = []string{nsProtocol, nsAssertion, nsAssertion1}

// Ignore and reject reasons.
const (
	IgnoreNotSAML = "not a SAML message"
	IgnoreText    = "text outside XML elements"
	ReasonDTD     = "DTD refused: a SAML message never has a document type declaration (entity expansion)"
)

// isMessage reports whether an element of namespace ns named local is a
// message hunted.
func isMessage(ns, local string) bool {
	switch local {
	case "Response":
		return ns == nsProtocol
	case "Assertion":
		return ns == nsAssertion || ns == nsAssertion1
	}
	return false
}

var bom = []byte("\xef\xbb\xbf")

// Sniff claims XML whose sample declares a SAML namespace in a tag or
// begins with a Response or Assertion start tag, or lines that are all
// base64 SAML messages.
func (Parser) Sniff(sample [][]byte) bool {
	var lines [][]byte
	for _, l := range sample {
		if len(lines) == 0 {
			l = bytes.TrimPrefix(bytes.TrimSpace(l), bom)
		}
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return false
	}
	if lines[0][0] == '<' {
		joined := bytes.Join(lines, []byte("\n"))
		return declaresSAML(joined) || startsWithMessageTag(joined)
	}
	for i, l := range lines {
		v := lineValue(string(l))
		if x, _, err := record.DecodeSAMLMessage(v); err == nil {
			if !declaresSAML(x) {
				return false
			}
			continue
		}
		// the sample's last line may be cut off: its start must decode
		if i < len(lines)-1 || !declaresSAML(decodePrefix(v)) {
			return false
		}
	}
	return true
}

// SniffFile claims .xml and .saml files that Sniff claims, or whose first
// line starts with "<" and whose head (not only its first lines: a DTD
// may come first) declares a SAML namespace.
func (p Parser) SniffFile(name string, head []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".xml", ".saml":
	default:
		return false
	}
	var sample [][]byte
	for rest := head; len(rest) > 0 && len(sample) < record.SniffLines; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if len(bytes.TrimSpace(line)) > 0 {
			sample = append(sample, line)
		}
	}
	if p.Sniff(sample) {
		return true
	}
	h := bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(head, " \t\r\n"), bom), " \t\r\n")
	return len(h) > 0 && h[0] == '<' && declaresSAML(h)
}

// declaresSAML reports whether b declares a SAML namespace in a start tag
// (xmlns="..." or xmlns:p="..."): a namespace named in text (an event log's
// escaped copy of a message, a token type) does not count.
func declaresSAML(b []byte) bool {
	for _, ns := range samlNamespaces {
		for from := 0; from < len(b); {
			i := bytes.Index(b[from:], []byte(ns))
			if i < 0 {
				break
			}
			i += from
			from = i + 1
			if end := i + len(ns); end < len(b) && b[end] != '"' && b[end] != '\'' {
				continue // a longer value
			}
			if isDeclaration(b[:i]) {
				return true
			}
		}
	}
	return false
}

// isDeclaration reports whether before ends with the start of a namespace
// declaration's value inside a tag.
func isDeclaration(before []byte) bool {
	// a start tag's name is not far before its declarations: looking no
	// further keeps a sample of many false hits linear
	before = before[max(0, len(before)-4096):]
	n := len(before)
	if n == 0 || before[n-1] != '"' && before[n-1] != '\'' {
		return false
	}
	k := bytes.TrimRight(before[:n-1], " \t\r\n")
	if len(k) == 0 || k[len(k)-1] != '=' {
		return false
	}
	k = bytes.TrimRight(k[:len(k)-1], " \t\r\n")
	j := bytes.LastIndexAny(k, " \t\r\n")
	if j < 0 {
		return false
	}
	if name := k[j+1:]; string(name) != "xmlns" && !bytes.HasPrefix(name, []byte("xmlns:")) {
		return false
	}
	t := bytes.LastIndexAny(k[:j], "<>")
	return t >= 0 && k[t] == '<'
}

// messageTags are the start tags a sample may begin with although its
// namespace declaration is not in it.
var messageTags = []string{"samlp:Response", "saml2p:Response", "Response", "Assertion", "saml:Assertion", "saml2:Assertion"}

// startsWithMessageTag reports whether b's first element, after an XML
// declaration and comments, is a Response or Assertion.
func startsWithMessageTag(b []byte) bool {
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			i := bytes.Index(b, []byte("?>"))
			if i < 0 {
				return false
			}
			b = b[i+2:]
		case bytes.HasPrefix(b, []byte("<!--")):
			i := bytes.Index(b, []byte("-->"))
			if i < 0 {
				return false
			}
			b = b[i+3:]
		case len(b) > 1 && b[0] == '<':
			name := b[1:]
			if i := bytes.IndexAny(name, " \t\r\n/>"); i >= 0 {
				name = name[:i]
			}
			for _, t := range messageTags {
				if string(name) == t {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
}

// lineValue is a line's SAML value, without a SAMLResponse= (or
// SAMLRequest=) prefix.
func lineValue(l string) string {
	l = strings.TrimSpace(l)
	if _, v, ok := record.SAMLParam(l); ok {
		return v
	}
	return l
}

// decodePrefix decodes as much of the start of a base64 SAML value cut
// off at the end of a sniff sample as it can: the XML, or the inflated
// start of a DEFLATEd message; nil when it is not base64.
func decodePrefix(v string) []byte {
	if i := strings.LastIndexByte(v, '%'); i >= 0 && i > len(v)-3 {
		v = v[:i] // a cut escape
	}
	if strings.Contains(v, "%") {
		u, err := url.QueryUnescape(v)
		if err != nil {
			return nil
		}
		v = u
	}
	v = strings.ReplaceAll(strings.TrimRight(v, "="), " ", "+")
	v = v[:len(v)/4*4]
	enc := base64.RawStdEncoding
	if strings.ContainsAny(v, "-_") {
		enc = base64.RawURLEncoding
	}
	raw, err := enc.DecodeString(v)
	if err != nil {
		return nil
	}
	if t := bytes.TrimLeft(bytes.TrimPrefix(raw, bom), " \t\r\n"); len(t) > 0 && t[0] == '<' {
		return raw
	}
	// a cut stream: what inflated before the cut is enough
	out, _ := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), record.MaxSAMLBytes))
	return out
}

// Parse implements record.Format.
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	data, err := io.ReadAll(io.LimitReader(in.R, MaxFileBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	if len(data) > MaxFileBytes {
		return fmt.Errorf("%s: file larger than %d bytes: split it, saml-xml reads a file whole", in.Name, MaxFileBytes)
	}
	observer := in.Options.Observer
	if observer == "" {
		observer = filepath.Base(in.Name)
	}
	if !isXMLFile(data) {
		return p.parseLines(ctx, in, data, observer, sink)
	}
	r := &fileReader{in: in, data: data, sink: sink, observer: observer}
	r.lines = newLines(data)
	return r.run(ctx)
}

// isXMLFile reports whether data is read as XML: its first non-empty line
// starts with "<", or an XML declaration or a line that begins with a
// Response or Assertion start tag follows text (a debug log's); none of
// them can occur in a file of base64 values.
func isXMLFile(data []byte) bool {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(data, " \t\r\n"), bom), " \t\r\n")
	return len(trimmed) == 0 || trimmed[0] == '<' || resync(data, 0) < len(data)
}

// parseLines reads a file of base64 values, one a line.
func (p Parser) parseLines(ctx context.Context, in *record.Input, data []byte, observer string, sink record.Sink) error {
	lin := *in
	lin.R, lin.Data = bytes.NewReader(data), data
	if lin.Options.MaxLineBytes <= 0 {
		// a message of MaxSAMLBytes, base64 and URL-encoded
		lin.Options.MaxLineBytes = 3 * record.MaxSAMLBytes
	}
	return record.EachLine(ctx, &lin, p.Name(), sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: p.Name()}
		excerpt := string(line[:min(len(line), 128)])
		msg, binding, err := record.DecodeSAMLMessage(lineValue(string(line)))
		if err != nil {
			sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: excerpt})
			return
		}
		element, reason := checkMessage(msg)
		switch {
		case reason != "":
			sink.Reject(&record.Reject{Pos: pos, Reason: "decoded message: " + reason, Excerpt: excerpt})
		case element == "":
			sink.Ignore(pos, IgnoreNotSAML)
		default:
			sink.Sighting(&record.Sighting{Kind: record.KindSAML, Raw: string(msg), Source: record.SourceFile, Observer: observer,
				Outcome: record.OutcomeUnknown, Pos: pos,
				Attrs: record.AttrsJSON(map[string]string{"captured": "file", "element": element, "binding": binding})})
		}
	})
}

// checkMessage checks a decoded message as a document of a file is
// checked: it returns the local name of its root when that is a message
// hunted, "" when it is another element, or why it is refused.
func checkMessage(msg []byte) (element, reason string) {
	w := &walker{data: msg, lines: newLines(msg)}
	var root *msgElement
	texts := 0
	w.text = func(int) { texts++ }
	w.found = func(e *msgElement) {
		if root == nil && e.depth == 0 {
			root = e
		}
	}
	start := len(msg) - len(bytes.TrimLeft(bytes.TrimPrefix(msg, bom), " \t\r\n"))
	res := w.walk(start)
	switch {
	case res.reason != "":
		return "", res.reason
	case texts > 0:
		return "", "text outside the message's root element"
	case res.rootStart < 0:
		return "", "no element"
	case len(bytes.TrimSpace(msg[res.end:])) > 0:
		return "", fmt.Sprintf("content after the message's root element, at line %d", w.lines.at(res.end))
	case root == nil:
		return "", ""
	case root.undeclared != "":
		return "", undeclaredReason(root)
	}
	return root.local, ""
}

// lines maps offsets of a document to line numbers.
type lines struct {
	data []byte
	nl   []int // offsets of the newlines, computed when first needed
}

func newLines(data []byte) *lines { return &lines{data: data} }

// at is the 1-based line of offset off.
func (l *lines) at(off int) int64 {
	if l.nl == nil {
		l.nl = make([]int, 0, bytes.Count(l.data, []byte{'\n'})+1)
		for i, b := range l.data {
			if b == '\n' {
				l.nl = append(l.nl, i)
			}
		}
		l.nl = append(l.nl, len(l.data)+1)
	}
	return int64(sort.SearchInts(l.nl, off)) + 1
}

// msgElement is a message element a walk found (or an element named as one
// whose prefix is not declared).
type msgElement struct {
	start, end int    // offsets of its start tag's "<" and past its end tag
	local      string // Response or Assertion
	depth      int    // 0 for a document's root
	// inherited are the namespace declarations in scope at a nested
	// element that it does not make itself (prefix, "" for the default,
	// to namespace); nil for a root.
	inherited map[string]string
	// undeclared is the element's prefix when no declaration binds it.
	undeclared string
	// refused says why the nested element cannot be given with the
	// declarations it inherits.
	refused string
	root    string // the local name of the document's root
}

// frame is an open element.
type frame struct {
	name  xml.Name          // as written: Space is the prefix
	start int               // offset of its "<"
	decls map[string]string // the namespaces it declares, by prefix ("" default)
	found bool              // a message element (or one with an undeclared prefix)
}

// walkResult is what a walk over one document found.
type walkResult struct {
	end       int    // offset past the document's root element
	rootStart int    // offset of the root's "<", -1 when there is none
	reason    string // why the document is refused; "" when it was read whole
	failAt    int    // offset where reading it stopped, when refused
}

// walker reads documents of data one at a time, calling found for the
// message elements in them (at their end tags, in document order) and
// text for text outside any element.
type walker struct {
	data  []byte
	lines *lines
	found func(*msgElement)
	text  func(off int)
}

// walk reads the document that starts at off.
func (w *walker) walk(off int) walkResult {
	limit := min(len(w.data), off+record.MaxSAMLBytes+1)
	truncated := limit < len(w.data)
	d := xml.NewDecoder(bytes.NewReader(w.data[off:limit]))
	d.Strict = true
	// the declared encoding is not trusted: read as UTF-8, which the
	// decoder checks
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	res := walkResult{rootStart: -1}
	fail := func(at int64, reason string) walkResult {
		res.reason, res.failAt = reason, off+int(at)
		return res
	}
	tooLarge := fmt.Sprintf("document larger than %d bytes", record.MaxSAMLBytes)
	var stack []frame
	elements, inMessage := 0, -1 // inMessage: depth of the open message element, -1 outside
	scopeDecls := 0              // declarations made by the open elements
	// what copying declarations onto nested messages may add to the
	// document: without a budget, one long declaration on a wrapper of
	// many small messages would be copied into every one of them
	budget := record.MaxSAMLBytes
	for {
		before := d.InputOffset()
		tok, err := d.RawToken()
		if err != nil {
			at := d.InputOffset()
			if truncated && off+int(at) >= limit {
				return fail(at, tooLarge)
			}
			if err == io.EOF {
				if len(stack) > 0 {
					return fail(at, fmt.Sprintf("document cut off: <%s> is not closed", qname(stack[len(stack)-1].name)))
				}
				res.end = off + int(at)
				return res
			}
			var syn *xml.SyntaxError
			if errors.As(err, &syn) {
				return fail(at, fmt.Sprintf("malformed XML at line %d: %s", w.lines.at(off)+int64(syn.Line)-1, record.Escape(syn.Msg)))
			}
			return fail(at, "malformed XML: "+record.Escape(err.Error()))
		}
		if d.InputOffset() > record.MaxSAMLBytes {
			return fail(d.InputOffset(), tooLarge)
		}
		switch t := tok.(type) {
		case xml.Directive:
			kind, _, _ := bytes.Cut(t, []byte(" "))
			r := fail(d.InputOffset(), fmt.Sprintf("%s (<!%s at line %d)", ReasonDTD, record.Escape(string(kind[:min(len(kind), 16)])), w.lines.at(off+int(before))))
			if len(stack) == 0 {
				r.failAt = skipRootStart(w.data, r.failAt)
			}
			return r
		case xml.CharData:
			if len(stack) == 0 && len(bytes.Trim(t, " \t\r\n\ufeff")) > 0 && w.text != nil {
				w.text(off + int(before))
			}
		case xml.StartElement:
			elements++
			if len(stack) >= MaxDepth {
				return fail(d.InputOffset(), fmt.Sprintf("nested deeper than %d elements", MaxDepth))
			}
			if elements > MaxElements {
				return fail(d.InputOffset(), fmt.Sprintf("more than %d elements", MaxElements))
			}
			f := frame{name: t.Name, start: off + int(before)}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					f.decls = addDecl(f.decls, "", a.Value)
				case a.Name.Space == "xmlns":
					f.decls = addDecl(f.decls, a.Name.Local, a.Value)
				}
			}
			if len(stack) == 0 {
				res.rootStart = f.start
			}
			if inMessage < 0 {
				ns, declared := resolve(stack, f, t.Name.Space)
				switch {
				case isMessage(ns, t.Name.Local):
					f.found = true
				case !declared && t.Name.Space != "" && (t.Name.Local == "Response" || t.Name.Local == "Assertion"):
					f.found = true // a message cut out of its document
				}
				if f.found {
					inMessage = len(stack)
				}
			}
			stack = append(stack, f)
			scopeDecls += len(f.decls)
		case xml.EndElement:
			if len(stack) == 0 {
				return fail(d.InputOffset(), fmt.Sprintf("malformed XML: </%s> without its start tag", qname(t.Name)))
			}
			f := stack[len(stack)-1]
			if f.name != t.Name {
				return fail(d.InputOffset(), fmt.Sprintf("malformed XML: </%s> closes <%s>", qname(t.Name), qname(f.name)))
			}
			stack = stack[:len(stack)-1]
			scopeDecls -= len(f.decls)
			end := off + int(d.InputOffset())
			if f.found {
				inMessage = -1
				e := &msgElement{start: f.start, end: end, local: f.name.Local, depth: len(stack)}
				if len(stack) > 0 {
					e.root = stack[0].name.Local
					if scopeDecls > MaxScopeDecls {
						e.refused = fmt.Sprintf("more than %d namespace declarations in scope to copy onto it", MaxScopeDecls)
					} else if e.inherited = inherited(stack, f); e.inherited != nil {
						n := declsLen(e.inherited)
						if n > budget || end-f.start+n > record.MaxSAMLBytes {
							e.inherited, e.refused = nil, fmt.Sprintf("the namespace declarations to copy onto it (%d bytes) are past the document's bound", n)
						} else {
							budget -= n
						}
					}
				}
				if _, declared := resolve(stack, f, f.name.Space); !declared && f.name.Space != "" {
					e.undeclared = f.name.Space
				}
				if w.found != nil {
					w.found(e)
				}
			}
			if len(stack) == 0 {
				res.end = end
				return res
			}
		}
	}
}

func addDecl(m map[string]string, prefix, ns string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[prefix] = ns
	return m
}

// resolve is the namespace prefix is bound to at f, a child of stack, and
// whether a declaration binds it (the default namespace is always bound,
// to "" when none is declared; "xml" is bound by XML itself).
func resolve(stack []frame, f frame, prefix string) (string, bool) {
	if ns, ok := f.decls[prefix]; ok {
		return ns, ns != "" || prefix == ""
	}
	for i := len(stack) - 1; i >= 0; i-- {
		if ns, ok := stack[i].decls[prefix]; ok {
			return ns, ns != "" || prefix == ""
		}
	}
	return "", prefix == "" || prefix == "xml"
}

// inherited are the declarations in scope at f, a child of stack, that f
// does not make itself; nil when there are none.
func inherited(stack []frame, f frame) map[string]string {
	var m map[string]string
	for _, a := range stack {
		for p, ns := range a.decls {
			if m == nil {
				m = map[string]string{}
			}
			m[p] = ns
		}
	}
	for p, ns := range m {
		if _, own := f.decls[p]; own || ns == "" {
			delete(m, p) // its own, or no namespace: nothing to copy
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// declsLen is how many bytes withDecls adds for decls.
func declsLen(decls map[string]string) int {
	var c counter
	for p, ns := range decls {
		c += counter(len(` xmlns:=""`) + len(p))
		xml.EscapeText(&c, []byte(ns))
	}
	return int(c)
}

// counter is an io.Writer that counts what is written to it.
type counter int

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// withDecls inserts namespace declarations, in prefix order, after the
// element name of the start tag raw begins with.
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
	b.Grow(len(raw) + 64*len(prefixes))
	b.Write(raw[:i])
	for _, p := range prefixes {
		if p == "" {
			b.WriteString(` xmlns="`)
		} else {
			b.WriteString(` xmlns:` + p + `="`)
		}
		xml.EscapeText(&b, []byte(decls[p]))
		b.WriteByte('"')
	}
	b.Write(raw[i:])
	return b.Bytes()
}

func qname(n xml.Name) string {
	s := n.Local
	if n.Space != "" {
		s = n.Space + ":" + n.Local
	}
	return record.Escape(s[:min(len(s), 64)])
}

func undeclaredReason(e *msgElement) string {
	return fmt.Sprintf("namespace prefix %q of <%s:%s> is not declared (cut out of an enclosing document?)", record.Escape(e.undeclared), record.Escape(e.undeclared), e.local)
}

// skipRootStart returns the offset just inside the start tag of the first
// element at or after off, so that resynchronising does not take the root
// of a refused document for the next document; len(data) when there is
// none.
func skipRootStart(data []byte, off int) int {
	for off < len(data) {
		i := bytes.IndexByte(data[off:], '<')
		if i < 0 {
			break
		}
		off += i + 1
		if off < len(data) && data[off] != '!' && data[off] != '?' && data[off] != '/' {
			return off
		}
	}
	return len(data)
}

// resync returns the offset of the next place a document may start at or
// after from: an XML declaration, or a line that begins with a Response or
// Assertion start tag; len(data) when there is none.
func resync(data []byte, from int) int {
	for off := from; off < len(data); {
		i := bytes.IndexByte(data[off:], '<')
		if i < 0 {
			break
		}
		off += i
		rest := data[off:]
		if bytes.HasPrefix(rest, []byte("<?xml")) && len(rest) > 5 && isSpace(rest[5]) {
			return off
		}
		if (off == 0 || data[off-1] == '\n') && startsMessageTag(rest) {
			return off
		}
		off++
	}
	return len(data)
}

// startsMessageTag reports whether b begins with a start tag named
// [prefix:]Response or [prefix:]Assertion.
func startsMessageTag(b []byte) bool {
	name := b[1:]
	if i := bytes.IndexAny(name, " \t\r\n/>"); i >= 0 {
		name = name[:i]
	} else {
		return false
	}
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	return string(name) == "Response" || string(name) == "Assertion"
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// fileReader reads the documents of one XML file.
type fileReader struct {
	in       *record.Input
	data     []byte
	sink     record.Sink
	observer string
	lines    *lines
	lastLine int64
	emitted  int // records of the current document given to the sink
}

// pos is the position of the record that starts at off: its line, or the
// next one no earlier record has.
func (r *fileReader) pos(off int) record.Position {
	l := r.lines.at(off)
	if l <= r.lastLine {
		l = r.lastLine + 1
	}
	r.lastLine = l
	return record.Position{File: r.in.Name, Line: l, Format: Format.Name()}
}

// run reads the file document by document.
func (r *fileReader) run(ctx context.Context) error {
	w := &walker{data: r.data, lines: r.lines, found: r.found, text: r.text}
	for off := 0; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		rest := bytes.TrimLeft(r.data[off:], " \t\r\n\ufeff")
		if len(rest) == 0 {
			return nil
		}
		off = len(r.data) - len(rest)
		r.emitted = 0
		res := w.walk(off)
		if res.reason == "" {
			if r.emitted == 0 && res.rootStart >= 0 {
				r.in.CountRecord()
				r.sink.Ignore(r.pos(res.rootStart), IgnoreNotSAML)
			}
			off = max(res.end, off+1)
			continue
		}
		// the document is refused at its start, or where it went wrong
		// when records of it were already given
		at := off
		if r.emitted > 0 {
			at = res.failAt
		}
		r.in.CountRecord()
		r.sink.Reject(&record.Reject{Pos: r.pos(at), Reason: res.reason, Excerpt: string(r.data[at:min(at+128, len(r.data))])})
		off = resync(r.data, max(res.failAt, off+1))
	}
}

// text ignores text outside any element.
func (r *fileReader) text(off int) {
	r.in.CountRecord()
	r.emitted++
	r.sink.Ignore(r.pos(off), IgnoreText)
}

// found gives a message element as a sighting.
func (r *fileReader) found(e *msgElement) {
	r.in.CountRecord()
	r.emitted++
	pos := r.pos(e.start)
	if e.undeclared != "" {
		r.sink.Reject(&record.Reject{Pos: pos, Reason: undeclaredReason(e), Excerpt: string(r.data[e.start:min(e.start+128, e.end)])})
		return
	}
	if e.refused != "" {
		r.sink.Reject(&record.Reject{Pos: pos, Reason: e.refused, Excerpt: string(r.data[e.start:min(e.start+128, e.end)])})
		return
	}
	raw := r.data[e.start:e.end]
	attrs := map[string]string{"captured": "file", "element": e.local, "wrapper": e.root}
	if e.inherited != nil {
		raw = withDecls(raw, e.inherited)
		attrs["ns_inherited"] = "true"
	}
	if len(raw) > record.MaxSAMLBytes {
		r.sink.Reject(&record.Reject{Pos: pos, Reason: fmt.Sprintf("SAML message of %d bytes is larger than %d", len(raw), record.MaxSAMLBytes),
			Excerpt: string(raw[:128])})
		return
	}
	r.sink.Sighting(&record.Sighting{Kind: record.KindSAML, Raw: string(raw), Source: record.SourceFile, Observer: r.observer,
		Outcome: record.OutcomeUnknown, Attrs: record.AttrsJSON(attrs), Pos: pos})
}
