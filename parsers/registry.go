// Package parsers turns log files into normalized records. It knows log
// formats and nothing about keys or rules: it expands paths, decompresses,
// detects each file's format and streams its records into a record.Sink, and
// it builds the Arrow record batches that the analyzer loads into DuckDB.
//
// Formats live in sub-packages; this package keeps their one ordered registry.
package parsers

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/adfs"
	"github.com/forgehunt/forgehunt/parsers/cloudtrail"
	"github.com/forgehunt/forgehunt/parsers/ct"
	"github.com/forgehunt/forgehunt/parsers/entra"
	"github.com/forgehunt/forgehunt/parsers/envoy"
	"github.com/forgehunt/forgehunt/parsers/envoytext"
	"github.com/forgehunt/forgehunt/parsers/har"
	"github.com/forgehunt/forgehunt/parsers/jsonbearer"
	"github.com/forgehunt/forgehunt/parsers/k8saudit"
	"github.com/forgehunt/forgehunt/parsers/keycloak"
	"github.com/forgehunt/forgehunt/parsers/ledger"
	"github.com/forgehunt/forgehunt/parsers/nginx"
	"github.com/forgehunt/forgehunt/parsers/okta"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/samlsp"
	"github.com/forgehunt/forgehunt/parsers/samlxml"
	"github.com/forgehunt/forgehunt/parsers/sigstore"
	"github.com/forgehunt/forgehunt/parsers/slsa"
	"github.com/forgehunt/forgehunt/parsers/stepca"
	"github.com/forgehunt/forgehunt/parsers/vaultpki"
)

// Formats is every supported format, in detection order: specific formats
// before generic ones, so that the generic JSON reader never claims an Envoy
// or Keycloak JSON log.
var Formats = []record.Format{
	keycloak.Format,
	ledger.Format,
	stepca.Format,
	vaultpki.Format,
	slsa.Format,
	ct.GetEntries,
	ct.Tile,
	ct.CrtSh,
	ct.Bundle,
	sigstore.RekorEntries,
	sigstore.Bundle,
	har.Format,
	samlxml.Format,
	k8saudit.Format,
	entra.Format,
	entra.CSV,
	okta.Format,
	cloudtrail.Format,
	adfs.Format,
	adfs.XML,
	adfs.CSV,
	samlsp.Format,
	envoy.Format,
	envoytext.Format,
	nginx.Format,
	jsonbearer.Format,
}

// Lookup returns the format with the given name, or an error listing the
// known names.
func Lookup(name string) (record.Format, error) {
	for _, f := range Formats {
		if f.Name() == name {
			return f, nil
		}
	}
	return nil, fmt.Errorf("unknown format %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the registered format names in detection order.
func Names() []string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name()
	}
	return names
}

// sniffBytes is how much of a file detection reads ahead.
const sniffBytes = 256 << 10

// Detect peeks at the start of r and returns the first registered format that
// claims it, with a reader that still yields the whole stream. It returns a
// nil format (and no error) when nothing claims the file.
func Detect(r io.Reader) (record.Format, io.Reader, error) {
	f, _, rr, err := DetectEnvelope(r, nil)
	return f, rr, err
}

// DetectEnvelope is Detect that also sees through the envelopes shippers put
// around lines (journald, syslog, CRI, Docker json-file, kubectl
// --timestamps): when no format claims the lines as they are, each envelope
// in record.Envelopes is unwrapped from the sample and the formats tried
// again. With only set (a format forced by the user) only that format is
// tried; it is returned even when it claims nothing, with the envelope its
// lines turned out to carry, if any.
func DetectEnvelope(r io.Reader, only record.Format) (record.Format, *record.Envelope, io.Reader, error) {
	return DetectFile("", r, only)
}

// DetectFile is DetectEnvelope for the file at name: formats that
// recognise a file by its name and raw head (record.FileSniffer: binary
// formats) are tried first.
func DetectFile(name string, r io.Reader, only record.Format) (record.Format, *record.Envelope, io.Reader, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull && len(head) == 0 {
		return only, nil, br, err
	}
	fileCandidates := Formats
	if only != nil {
		fileCandidates = []record.Format{only}
	}
	for _, f := range fileCandidates {
		if fs, ok := f.(record.FileSniffer); ok && sniffFile(fs, name, head) {
			return f, nil, br, nil
		}
	}
	sample := SampleLines(head)
	if len(sample) == 0 {
		return only, nil, br, nil
	}
	candidates := Formats
	if only != nil {
		candidates = []record.Format{only}
	}
	// Envelopes first: a format may recognise its lines inside an envelope
	// (Keycloak's sniff finds "org.keycloak.events" anywhere in a journald
	// line) yet could not parse them wrapped. No supported format's own lines
	// unwrap as an envelope whose inside a format then claims.
	for _, env := range record.Envelopes {
		inner, ok := record.UnwrapSample(env, sample)
		if !ok {
			continue
		}
		for _, f := range candidates {
			if sniff(f, inner) {
				return f, env, br, nil
			}
		}
	}
	for _, f := range candidates {
		if sniff(f, sample) {
			return f, nil, br, nil
		}
	}
	return only, nil, br, nil
}

// sniffFile protects detection from a SniffFile that panics.
func sniffFile(f record.FileSniffer, name string, head []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f.SniffFile(name, head)
}

// sniff protects detection from a format whose Sniff panics on odd input.
func sniff(f record.Format, sample [][]byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f.Sniff(sample)
}

// SampleLines returns up to record.SniffLines non-empty lines of head. A last
// line without its ending is kept only if it is the whole of head's remainder
// at EOF-sized inputs; a cut-off long line is still offered, since formats
// sniff prefixes.
func SampleLines(head []byte) [][]byte {
	var out [][]byte
	for len(head) > 0 && len(out) < record.SniffLines {
		i := bytes.IndexByte(head, '\n')
		var line []byte
		if i < 0 {
			line, head = head, nil
		} else {
			line, head = head[:i], head[i+1:]
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line)
		}
	}
	return out
}
