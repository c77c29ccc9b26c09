// Package ledger reads forgehunt's generic issuance ledger: a table of the
// artifacts an issuer legitimately issued, exported from the issuer's own
// logs or database when forgehunt has no parser for them. A file is named as
// a ledger with --input-format ledger, or with forgehunt hunt --ledger FILE,
// which reads FILE as a ledger whatever its column names; a file that names
// its columns as below is also detected.
//
// # Files
//
// A ledger file is JSON Lines or CSV, decided per file: if its first
// non-blank character (after a UTF-8 byte order mark) is "{", every line is
// one JSON object; otherwise it is CSV (RFC 4180, comma-separated, UTF-8)
// whose first record is a header row naming the columns (a record read, and
// ignored as record.IgnoreHeader). Blank lines are skipped. CSV fields may be
// quoted and may then hold commas, quotes ("") and line breaks; a stray quote
// inside an unquoted field is taken literally. A record's position is the
// line it starts on.
//
// # Fields
//
// Columns (CSV) and keys (JSON) may come in any order; names are matched
// without regard to case. The fields are:
//
//	name         aliases         meaning
//	kind                         jwt (default when absent or empty), saml, x509 or signature; for x509 also certificate, cert, precertificate, precert, tls, x.509; for signature also cosign, attestation, provenance, code-signature, sig
//	issuer       iss, issuer_dn, issuer_name                the issuer as the artifact names it (a JWT's iss; a certificate's issuer DN)
//	artifact_id  jti, token_id, serial, serial_number, serialnumber, digest, subject_digest, artifact_digest, image_digest   the artifact's id: JWT jti, SAML assertion ID, certificate serial (hex), a build's digest (sha256:<hex>)
//	raw_sha256   fingerprint_sha256, sha256_fingerprint   hex SHA-256 of the raw artifact (64 hex digits; a "sha256:" prefix, upper case and openssl's colons are accepted); of a certificate, its DER
//	subject      sub, subject_dn   the subject (a JWT's sub; a certificate's subject DN or common name)
//	audience     aud             the audience; in JSON a string or an array of strings (joined with ",")
//	issued_at    iat, not_before, notbefore, finished_at, built_at   issue time; a certificate's not_before; a build's end
//	expires_at   exp, not_after, notafter     expiry time; a certificate's not_after
//	key_ref      kid             the key id or fingerprint the issuer says it signed with
//	names        sans, san, dns_names         a certificate's names (SANs), separated by ";", ",", spaces or new lines; in JSON also an array
//
// For kind x509 the serial is read as hex (colons, spaces and a 0x prefix
// allowed) and stored canonical (lower case, no leading zeros); the issuer
// and subject DNs may be written in RFC 4514 order ("CN=CA,O=Example,C=US")
// or OpenSSL's one-line form ("/C=US/O=Example/CN=CA"): the issuer is
// stored in the canonical form certificates are read in
// (record.CanonicalDN), the subject as its common name.
//
// Every other column or key is kept in the record's attrs. When a row gives
// one field non-empty values under several names (artifact_id and jti, say),
// the canonical name wins, then the aliases in the order listed, then the
// first column or key; the other values are kept in attrs under their own
// names.
//
// Times are RFC 3339 ("2026-03-04T10:00:00Z"; fractions, a space for the
// T, and a missing offset are accepted, a time without offset being UTC or
// the run's time zone) or a Unix epoch number in seconds, milliseconds,
// microseconds or nanoseconds. In JSON a number is taken as its text, so a
// time may be a string or a number. An empty value or JSON null is absent.
//
// # Rows that are rejected
//
// A row is rejected, with its line and the reason, and reading goes on,
// when: it is not valid UTF-8; a JSON line is not one JSON object; kind is
// not one of the four kinds; raw_sha256 is not 64 hex digits; a time cannot
// be read; a field is a JSON object, boolean, or array (audience excepted,
// which may be an array of strings); or it identifies nothing — it has no artifact_id, no
// raw_sha256, and not both subject and issued_at. A CSV file whose header
// names none of artifact_id, raw_sha256 or subject (nor their aliases) is
// rejected once at line 1 and not read further. One record may be at most
// Options.MaxLineBytes long (1 MiB by default): a longer one is rejected and
// reading goes on at the next line. (A quote that is never closed makes the
// lines after it one field, up to that bound.)
//
// # Example
//
//	kind,issuer,artifact_id,subject,audience,issued_at,expires_at,key_ref,raw_sha256
//	jwt,https://sso.example.com/realms/acme,2b1e5a8c-0c1d-4b9a-8e7f-6d5c4b3a2910,alice,payments-api,2026-03-04T10:00:00Z,2026-03-04T10:05:00Z,rsa-2025,
//
//	{"jti":"2b1e5a8c-0c1d-4b9a-8e7f-6d5c4b3a2910","iss":"https://sso.example.com/realms/acme","sub":"alice","aud":["payments-api","ledger"],"iat":1772618400,"exp":1772618700,"channel":"mobile"}
//
// # Detection
//
// Automatic detection takes a file for a ledger only when its header row
// (CSV) or one of its first objects (JSON) names an artifact (artifact_id,
// raw_sha256 or an alias) and its issue time (issued_at or iat), at least one
// of them by the canonical name.
//
// A ledger that uses JWT claim names only (iat, jti, sub, aud, exp, iss,
// without any of artifact_id, raw_sha256 or issued_at) is not detected, on
// purpose: a log of decoded claims looks the same, and a log of decoded
// claims is not proof of issuance; read as a ledger it would make forged
// tokens look legitimately issued. Name such a file explicitly, with
// forgehunt hunt --ledger FILE or --input-format ledger.
package ledger

import (
	"bufio"
	"bytes"
	"context"
	"io"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads issuance ledgers. See the package documentation.
var Format record.Format = format{}

type format struct{}

func (format) Name() string { return "ledger" }

// IssuerLog reports that a ledger is the issuer's own record.
func (format) IssuerLog() bool { return true }

func (format) Description() string {
	return "issuance ledger (CSV or JSON lines: kind, issuer, artifact_id, raw_sha256, subject, audience, issued_at, expires_at)"
}

// Sniff accepts JSON lines of which one uses the canonical names (artifact_id
// or raw_sha256, and issued_at), or a CSV header row that does.
func (format) Sniff(sample [][]byte) bool {
	for i, line := range sample {
		if i == 0 {
			line = bytes.TrimPrefix(line, bom)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] == '{' {
			return sniffJSON(sample)
		}
		return sniffHeader(line)
	}
	return false
}

var bom = []byte("\ufeff")

// Parse streams the issuances of a ledger file into sink.
func (f format) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	br := bufio.NewReaderSize(in.R, 64<<10)
	jsonl, err := startsWithBrace(br)
	if err != nil {
		return err
	}
	in2 := *in
	in2.R = br
	if jsonl {
		return parseJSONL(ctx, &in2, f.Name(), sink)
	}
	return parseCSV(ctx, &in2, f.Name(), sink)
}

// startsWithBrace peeks past a byte order mark and white space at the
// start of br, without consuming anything, for the first other character.
// A file that is blank for a whole buffer is read as CSV.
func startsWithBrace(br *bufio.Reader) (bool, error) {
	for n := min(512, br.Size()); ; n = min(2*n, br.Size()) {
		buf, err := br.Peek(n)
		rest := bytes.TrimLeft(bytes.TrimPrefix(buf, bom), " \t\r\n")
		switch {
		case len(rest) > 0:
			return rest[0] == '{', nil
		case err == io.EOF:
			return false, nil
		case err != nil:
			return false, err
		case n == br.Size():
			return false, nil
		}
	}
}
