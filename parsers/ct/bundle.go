package ct

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"path/filepath"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Bundle reads certificate files: PEM bundles (any number of CERTIFICATE
// blocks, with the text tools print around them, as openssl, browsers and
// chain files have them) and DER certificate files (.der, .cer, .crt: one
// certificate). Each certificate is a sighting, source "file", observer the
// file's name, without a time: a file proves the certificate exists, not
// when or where it was used. A PEM block is a record at Line = the line of
// its BEGIN; blocks of other types (keys, CSRs) are ignored without their
// content being kept; a block whose base64 does not decode is rejected.
// Whether a certificate parses is the x509 kind's business: one that does
// not is an artifact with status malformed.
var Bundle record.Format = bundle{}

type bundle struct{}

func (bundle) Name() string { return "x509-bundle" }
func (bundle) Description() string {
	return "PEM certificate bundles and DER certificate files"
}

func (bundle) Sniff(sample [][]byte) bool {
	for _, l := range sample {
		if bytes.HasPrefix(bytes.TrimSpace(l), []byte("-----BEGIN CERTIFICATE-----")) {
			return true
		}
	}
	return false
}

// SniffFile claims a file that is exactly one DER SEQUENCE (a DER
// certificate).
func (bundle) SniffFile(name string, head []byte) bool {
	return isDER(head)
}

func isDER(b []byte) bool {
	if len(b) < 64 || b[0] != 0x30 {
		return false
	}
	s := cryptobyte.String(b)
	var seq, tbs cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return false
	}
	return seq.ReadASN1(&tbs, cbasn1.SEQUENCE)
}

// ignoreNotCert is the reason a PEM block of another type is ignored.
const ignoreNotCert = "PEM block is not a certificate"

func (bundle) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	data, err := io.ReadAll(io.LimitReader(in.R, MaxFileBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	observer := in.Options.Observer
	if observer == "" {
		observer = filepath.Base(in.Name)
		// a tile log's issuer/ directory: the certificates are the log's
		if dir := filepath.Dir(in.Name); filepath.Base(dir) == "issuer" {
			root := filepath.Dir(dir)
			if origin := checkpointOrigin(root); origin != "" {
				observer = origin + " issuer/"
			} else {
				observer = filepath.Base(root) + " issuer/"
			}
		}
	}
	emit := func(der []byte, line int64) {
		sink.Sighting(&record.Sighting{
			Kind: record.KindX509, Raw: record.CertRaw(der), RawKey: record.CertKey(der),
			Source: record.SourceFile, Observer: observer, Outcome: record.OutcomeUnknown, Action: "in a certificate file",
			Pos: record.Position{File: in.Name, Line: line, Format: Bundle.Name()},
		})
	}
	if isDER(data) {
		in.CountRecord()
		emit(data, 1)
		return nil
	}
	begin := []byte("-----BEGIN ")
	rest := data
	line := int64(1)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		i := bytes.Index(rest, begin)
		if i < 0 {
			return nil
		}
		line += int64(bytes.Count(rest[:i], []byte("\n")))
		block, after := pem.Decode(rest[i:])
		in.CountRecord()
		pos := record.Position{File: in.Name, Line: line, Format: Bundle.Name()}
		if block == nil {
			// not a whole block: name it by its first line only
			first := rest[i:]
			if j := bytes.IndexByte(first, '\n'); j >= 0 {
				first = first[:j]
			}
			sink.Reject(&record.Reject{Pos: pos, Reason: "PEM block does not decode (bad base64 or no END line)", Excerpt: string(first[:min(len(first), 80)])})
			// go on at the next line: one record per line at most
			j := bytes.IndexByte(rest[i:], '\n')
			if j < 0 {
				return nil
			}
			rest = rest[i+j+1:]
			line++
			continue
		}
		consumed := rest[i : len(rest)-len(after)]
		line += int64(bytes.Count(consumed, []byte("\n")))
		rest = after
		switch block.Type {
		case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
			if len(block.Bytes) == 0 {
				sink.Reject(&record.Reject{Pos: pos, Reason: "PEM certificate block is empty"})
				continue
			}
			emit(block.Bytes, pos.Line)
		default:
			sink.Ignore(pos, ignoreNotCert)
		}
	}
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(io.LimitReader(zr, 64<<20))
}
