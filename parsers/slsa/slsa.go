// Package slsa reads SLSA build provenance as the build system's own
// record of the artifacts it produced: the legitimate signatures a hunt
// for signatures made with an exposed code-signing key is matched against.
//
// Provenance is an in-toto Statement (_type https://in-toto.io/Statement/v0.1
// or https://in-toto.io/Statement/v1) whose predicateType is
// https://slsa.dev/provenance/v0.2 or https://slsa.dev/provenance/v1
// (v0.1, the v0.2 layout's predecessor, is read as well). It is read in the
// forms builders write it:
//
//   - a bare statement, one JSON document, pretty-printed or not;
//   - a DSSE envelope around it,
//     {"payloadType":"application/vnd.in-toto+json","payload":"<base64>","signatures":[{"keyid":"","sig":"…"}]},
//     one document;
//   - JSON Lines of envelopes (slsa-github-generator's .intoto.jsonl, one
//     envelope per line) or of statements.
//
// A file whose name ends in .jsonl, or whose first non-blank line is a
// JSON value of its own, is read line by line: a line that is not JSON is
// rejected and reading goes on. Any other file is read as a sequence of
// JSON documents; one that is not JSON is rejected, and since the rest
// cannot be resynchronised, reading stops there.
//
// DSSE signatures are not verified: the file is the builder's record, not
// evidence of a signing. Sigstore bundles are read by the sigstore reader;
// one met here is ignored (IgnoreBundle).
//
// # Issuances
//
// Each subject of a provenance statement is one issuance of kind
// record.KindSignature: ArtifactID is the subject's digest, canonical
// (record.CanonicalDigest: "sha256:<hex>"; sha512 when the subject has no
// sha256), since signatures are matched with the builds that produced
// their digest; Issuer and Subject are empty. IssuedAt is the build's
// finish time, else its start time (v0.2: predicate.metadata.buildFinishedOn
// and buildStartedOn; v1: predicate.runDetails.metadata.finishedOn and
// startedOn), zero when neither is given. Attrs holds builder_id,
// build_type, invocation_id (v0.2 metadata.buildInvocationId, which
// slsa-github-generator spells buildInvocationID; v1
// runDetails.metadata.invocationId), predicate_type, subject_name, the
// line the statement starts on, envelope ("dsse") and keyid for an
// enveloped statement, and for GitHub Actions builds repository, ref and
// workflow: v1 from buildDefinition.externalParameters.workflow
// (repository, ref, path), v0.2 from invocation.configSource (uri,
// "git+<repository>@<ref>", and entryPoint) and the github_* fields of
// invocation.environment (github_ref, github_event_name, github_run_id,
// github_sha1). Values are bounded to maxAttr bytes.
//
// # Records and positions
//
// A record is a subject (its issuance, or its reject when it has no usable
// digest), or a statement that yields no subject: one that cannot be read
// (not JSON, a DSSE payload that does not decode, no subjects, a time that
// does not parse) is rejected, and one that is not SLSA provenance (another
// predicate type, or JSON that is no in-toto statement) is ignored with a
// stable reason. Position.Line is the record's ordinal in the file
// (record.EntryPositions), so that the subjects of one statement have
// positions of their own; for a file of single-subject statements, one a
// line, it is the line number. The statement's own first line is in the
// issuance's attrs ("line").
package slsa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads SLSA provenance. See the package documentation.
var Format record.Format = format{}

type format struct{}

func (format) Name() string { return "slsa-provenance" }

func (format) Description() string {
	return "SLSA provenance (in-toto statements v0.1/v1, bare, DSSE-enveloped or .intoto.jsonl): the artifacts a build produced"
}

// IssuerLog reports that provenance is the build system's own record.
func (format) IssuerLog() bool { return true }

// EntryPositions reports that positions are record ordinals (see the
// package documentation).
func (format) EntryPositions() bool { return true }

// The in-toto and SLSA type URIs.
const (
	StatementV01    = "https://in-toto.io/Statement/v0.1"
	StatementV1     = "https://in-toto.io/Statement/v1"
	ProvenanceV01   = "https://slsa.dev/provenance/v0.1"
	ProvenanceV02   = "https://slsa.dev/provenance/v0.2"
	ProvenanceV1    = "https://slsa.dev/provenance/v1"
	InTotoPayload   = "application/vnd.in-toto+json"
	bundleMediaType = "application/vnd.dev.sigstore.bundle"
	maxAttr         = 1024
)

// MaxFileBytes bounds a file read whole.
const MaxFileBytes = 256 << 20

// Ignore reasons.
const (
	IgnoreNotProvenance = "not SLSA provenance"
	IgnoreNotStatement  = "not an in-toto statement"
	IgnoreBundle        = "Sigstore bundle (read by the sigstore reader)"
	IgnorePayloadType   = "DSSE envelope of another payload type"
)

// Reject reasons of statements.
const (
	ReasonNoSubject    = "provenance without subjects"
	ReasonBadPayload   = "DSSE payload is not base64"
	ReasonPayloadJSON  = "DSSE payload is not a JSON object"
	ReasonNoDigest     = "subject without a sha256 or sha512 digest"
	ReasonFileTooLarge = "file too large"
)

func isProvenance(pt string) bool {
	return pt == ProvenanceV02 || pt == ProvenanceV1 || pt == ProvenanceV01
}

func isStatement(t string) bool { return t == StatementV01 || t == StatementV1 }

// Sniff claims a sample whose lines hold a DSSE envelope of an in-toto
// payload or an in-toto statement of SLSA provenance, one a line, or the
// start of a pretty-printed one; never a Sigstore bundle, a Rekor entry
// or an attestation API response.
func (format) Sniff(sample [][]byte) bool {
	var p fastjson.Parser
	for _, line := range sample {
		if bytes.Contains(line, []byte(bundleMediaType)) || bytes.Contains(line, []byte(`"dsseEnvelope"`)) ||
			bytes.Contains(line, []byte(`"attestations"`)) || bytes.Contains(line, []byte(`"verificationMaterial"`)) {
			return false
		}
	}
	var statement, slsaType, inToto bool
	for i, line := range sample {
		t := bytes.TrimSpace(line)
		if i == 0 {
			t = bytes.TrimPrefix(t, []byte("\xef\xbb\xbf"))
		}
		if len(t) > 1 && t[0] == '{' {
			if v, err := p.ParseBytes(t); err == nil {
				return claimObject(v)
			}
		}
		// a pretty-printed document: its top-level keys, one a line
		key, val, ok := keyLine(t)
		if !ok {
			continue
		}
		switch key {
		case "_type":
			statement = isStatement(val)
		case "predicateType":
			slsaType = isProvenance(val)
		case "payloadType":
			inToto = val == InTotoPayload
		}
		if statement && slsaType || inToto {
			return true
		}
	}
	return false
}

// keyLine reads a `"key": "value",` line of a pretty-printed object.
func keyLine(t []byte) (key, val string, ok bool) {
	t = bytes.TrimSuffix(t, []byte(","))
	if i := bytes.IndexByte(t, '{'); i == 0 {
		t = bytes.TrimSpace(t[1:])
	}
	i := bytes.Index(t, []byte(`":`))
	if len(t) < 2 || t[0] != '"' || i < 0 {
		return "", "", false
	}
	k, err := strconv.Unquote(string(t[:i+1]))
	if err != nil {
		return "", "", false
	}
	v, err := strconv.Unquote(string(bytes.TrimSpace(t[i+2:])))
	if err != nil {
		return "", "", false
	}
	return k, v, true
}

// claimObject reports whether one parsed JSON value is a DSSE envelope of
// an in-toto payload or an SLSA provenance statement.
func claimObject(v *fastjson.Value) bool {
	if v.Type() != fastjson.TypeObject {
		return false
	}
	if v.Exists("mediaType") || v.Exists("dsseEnvelope") || v.Exists("verificationMaterial") {
		return false
	}
	if pt := v.Get("payloadType"); pt != nil {
		return string(pt.GetStringBytes()) == InTotoPayload && v.Exists("payload") && v.Exists("signatures")
	}
	return isStatement(string(v.GetStringBytes("_type"))) && isProvenance(string(v.GetStringBytes("predicateType")))
}

// SniffFile claims a file whose first JSON document is a DSSE envelope of
// an in-toto payload or an SLSA provenance statement, read from its
// top-level keys (so that a document longer than the head is still
// recognised).
func (format) SniffFile(name string, head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(head))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	var statement, slsaType, inToto, payload, signatures bool
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := t.(string)
		switch key {
		case "mediaType", "dsseEnvelope", "verificationMaterial", "attestations", "messageSignature":
			return false
		case "_type", "predicateType", "payloadType":
			var s string
			if dec.Decode(&s) != nil {
				return false
			}
			switch key {
			case "_type":
				statement = isStatement(s)
			case "predicateType":
				slsaType = isProvenance(s)
			default:
				inToto = s == InTotoPayload
			}
			continue
		case "payload":
			payload = true
		case "signatures":
			signatures = true
		}
		if statement && slsaType || inToto && payload && signatures {
			return true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			break
		}
	}
	return statement && slsaType || inToto && payload && signatures
}

// Parse streams the issuances of a provenance file into sink.
func (f format) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	data, err := io.ReadAll(io.LimitReader(in.R, MaxFileBytes+1))
	if err != nil {
		return err
	}
	p := &parser{in: in, sink: sink, name: f.Name()}
	if len(data) > MaxFileBytes {
		p.reject(ReasonFileTooLarge, data[:256])
		return nil
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		data = append([]byte("   "), data[3:]...) // keep offsets and lines
	}
	if lineMode(in.Name, data) {
		return p.lines(ctx, data)
	}
	return p.documents(ctx, data)
}

// lineMode reports whether data is JSON Lines: by name, or because its
// first non-blank line is a JSON value of its own.
func lineMode(name string, data []byte) bool {
	if strings.HasSuffix(strings.ToLower(name), ".jsonl") {
		return true
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return json.Valid(t) && (t[0] == '{' || t[0] == '[')
		}
	}
	return false
}

type parser struct {
	in      *record.Input
	sink    record.Sink
	name    string
	ordinal int64
	fj      fastjson.Parser
}

// next counts one record and returns its position.
func (p *parser) next() record.Position {
	p.ordinal++
	p.in.CountRecord()
	return record.Position{File: p.in.Name, Line: p.ordinal, Format: p.name}
}

func (p *parser) reject(reason string, excerpt []byte) {
	p.sink.Reject(&record.Reject{Pos: p.next(), Reason: reason, Excerpt: string(excerpt)})
}

func (p *parser) ignore(reason string) { p.sink.Ignore(p.next(), reason) }

func (p *parser) lines(ctx context.Context, data []byte) error {
	max := p.in.Options.MaxLineBytes
	if max <= 0 {
		max = record.DefaultMaxLineBytes
	}
	var lineNo int64
	for len(data) > 0 {
		lineNo++
		if lineNo&0x3ff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(line) > max {
			p.reject(fmt.Sprintf("%s (%d bytes, limit %d)", record.ReasonLineTooLong, len(line), max), line[:min(len(line), 256)])
			continue
		}
		// validated (with the shared reasons) before it is decoded
		if !utf8.Valid(line) {
			p.reject("invalid UTF-8", line)
			continue
		}
		if bytes.IndexByte(line, 0) >= 0 {
			p.reject(record.ReasonNUL, line)
			continue
		}
		v, err := p.fj.ParseBytes(line)
		if err != nil {
			p.reject(record.JSONErrorReason(err), line)
			continue
		}
		if v.Type() != fastjson.TypeObject {
			p.reject(record.ReasonNotObject, line)
			continue
		}
		p.value(lineNo, line)
	}
	return nil
}

func (p *parser) documents(ctx context.Context, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := skipSpace(data, int(dec.InputOffset()))
		if off >= len(data) {
			return nil
		}
		lineNo := int64(bytes.Count(data[:off], []byte("\n")) + 1)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.reject(syntaxReason(err)+" (the rest of the file cannot be read)", data[off:min(len(data), off+256)])
			return nil
		}
		if !utf8.Valid(raw) {
			p.reject("invalid UTF-8", raw)
			continue
		}
		if raw[0] != '{' {
			p.reject(record.ReasonNotObject, raw)
			continue
		}
		p.value(lineNo, raw)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func syntaxReason(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: truncated document"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	}
	return "invalid JSON"
}

// envelope is a DSSE envelope.
type envelope struct {
	PayloadType *string `json:"payloadType"`
	Payload     *string `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid"`
	} `json:"signatures"`
}

// value reads one JSON object: an envelope or a statement.
func (p *parser) value(lineNo int64, raw []byte) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		p.reject(syntaxReason(err), raw)
		return
	}
	if _, ok := top["mediaType"]; ok {
		if s := jsonString(top["mediaType"]); strings.HasPrefix(s, bundleMediaType) {
			p.ignore(IgnoreBundle)
			return
		}
	}
	st := statementSource{line: lineNo}
	if _, ok := top["payloadType"]; ok {
		var env envelope
		if err := json.Unmarshal(raw, &env); err != nil || env.PayloadType == nil {
			p.reject("bad DSSE envelope: "+typeReason(err), raw)
			return
		}
		if *env.PayloadType != InTotoPayload {
			p.ignore(IgnorePayloadType)
			return
		}
		if env.Payload == nil {
			p.reject("DSSE envelope without a payload", raw)
			return
		}
		payload, err := decodeBase64(*env.Payload)
		if err != nil {
			p.reject(ReasonBadPayload, raw)
			return
		}
		top = nil
		if err := json.Unmarshal(payload, &top); err != nil || top == nil {
			p.reject(ReasonPayloadJSON, raw)
			return
		}
		st.dsse = true
		if len(env.Signatures) > 0 {
			st.keyID = env.Signatures[0].KeyID
		}
		raw = payload
	}
	p.statement(st, top, raw)
}

type statementSource struct {
	line  int64
	dsse  bool
	keyID string
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

func (p *parser) statement(src statementSource, top map[string]json.RawMessage, raw []byte) {
	typ := jsonString(top["_type"])
	if !isStatement(typ) {
		p.ignore(IgnoreNotStatement)
		return
	}
	pt := jsonString(top["predicateType"])
	if !isProvenance(pt) {
		p.ignore(IgnoreNotProvenance)
		return
	}
	var subjects []json.RawMessage
	if s, ok := top["subject"]; ok && string(s) != "null" {
		if err := json.Unmarshal(s, &subjects); err != nil {
			p.reject("subject is not an array", raw)
			return
		}
	}
	if len(subjects) == 0 {
		p.reject(ReasonNoSubject, raw)
		return
	}
	var pred any
	if b, ok := top["predicate"]; ok {
		if err := json.Unmarshal(b, &pred); err != nil {
			p.reject("bad predicate: "+typeReason(err), raw)
			return
		}
	}
	facts, err := readPredicate(pt, pred)
	if err != nil {
		p.reject(err.Error(), raw)
		return
	}
	// The statement's hash: what a DSSE signature over it is keyed by
	// (its payload hash), so that an attestation of it logged without its
	// payload (Rekor's dsse and intoto entries) is accounted for by this
	// record.
	sum := sha256.Sum256(raw)
	statementHash := hex.EncodeToString(sum[:])
	for _, sraw := range subjects {
		var s subject
		if err := json.Unmarshal(sraw, &s); err != nil {
			p.reject("bad subject: "+typeReason(err), sraw)
			continue
		}
		id, err := subjectDigest(s.Digest)
		if err != nil {
			p.reject(err.Error(), sraw)
			continue
		}
		attrs := map[string]string{
			"builder_id":     bound(facts.builderID),
			"build_type":     bound(facts.buildType),
			"invocation_id":  bound(facts.invocationID),
			"predicate_type": pt,
			"subject_name":   bound(s.Name),
			"line":           strconv.FormatInt(src.line, 10),
			"repository":     bound(facts.repository),
			"ref":            bound(facts.ref),
			"workflow":       bound(facts.workflow),
			"event_name":     bound(facts.eventName),
			"run_id":         bound(facts.runID),
			"source_digest":  bound(facts.sourceDigest),
		}
		if src.dsse {
			attrs["envelope"] = "dsse"
			attrs["keyid"] = bound(src.keyID)
		}
		p.sink.Issuance(&record.Issuance{
			Kind:       record.KindSignature,
			ArtifactID: id,
			RawSHA256:  statementHash,
			IssuedAt:   facts.issuedAt,
			Attrs:      record.AttrsJSON(attrs),
			Pos:        p.next(),
		})
	}
}

// subjectDigest is a subject's canonical digest: its sha256, else its
// sha512.
func subjectDigest(set map[string]string) (string, error) {
	var sha256, sha512 string
	var have256, have512 bool
	for k, v := range set {
		switch strings.ToLower(k) {
		case "sha256":
			sha256, have256 = v, true
		case "sha512":
			sha512, have512 = v, true
		}
	}
	switch {
	case have256:
		d, err := record.CanonicalDigest("sha256", sha256)
		if err != nil {
			return "", fmt.Errorf("bad subject sha256: %v", err)
		}
		return d, nil
	case have512:
		d, err := record.CanonicalDigest("sha512", sha512)
		if err != nil {
			return "", fmt.Errorf("bad subject sha512: %v", err)
		}
		return d, nil
	}
	return "", errors.New(ReasonNoDigest)
}

// facts are what a predicate says of its build.
type facts struct {
	builderID, buildType, invocationID string
	repository, ref, workflow          string
	eventName, runID, sourceDigest     string
	issuedAt                           time.Time
}

func readPredicate(pt string, pred any) (facts, error) {
	var f facts
	var started, finished string
	var startedKey, finishedKey string
	if pt == ProvenanceV1 {
		f.builderID = str(pred, "runDetails", "builder", "id")
		f.buildType = str(pred, "buildDefinition", "buildType")
		f.invocationID = str(pred, "runDetails", "metadata", "invocationId")
		started, startedKey = str(pred, "runDetails", "metadata", "startedOn"), "startedOn"
		finished, finishedKey = str(pred, "runDetails", "metadata", "finishedOn"), "finishedOn"
		f.repository = str(pred, "buildDefinition", "externalParameters", "workflow", "repository")
		f.ref = str(pred, "buildDefinition", "externalParameters", "workflow", "ref")
		f.workflow = str(pred, "buildDefinition", "externalParameters", "workflow", "path")
		f.eventName = str(pred, "buildDefinition", "internalParameters", "github", "event_name")
	} else {
		f.builderID = str(pred, "builder", "id")
		f.buildType = str(pred, "buildType")
		if pt == ProvenanceV01 {
			f.buildType = str(pred, "recipe", "type")
			f.workflow = str(pred, "recipe", "entryPoint")
		}
		f.invocationID = str(pred, "metadata", "buildInvocationId")
		started, startedKey = str(pred, "metadata", "buildStartedOn"), "buildStartedOn"
		finished, finishedKey = str(pred, "metadata", "buildFinishedOn"), "buildFinishedOn"
		if uri := str(pred, "invocation", "configSource", "uri"); uri != "" {
			f.repository, f.ref = splitSourceURI(uri)
		}
		if ep := str(pred, "invocation", "configSource", "entryPoint"); ep != "" {
			f.workflow = ep
		}
		for alg, v := range object(pred, "invocation", "configSource", "digest") {
			if s, ok := v.(string); ok && (alg == "sha1" || alg == "gitCommit") {
				f.sourceDigest = alg + ":" + s
			}
		}
		if r := str(pred, "invocation", "environment", "github_ref"); r != "" && f.ref == "" {
			f.ref = r
		}
		f.eventName = str(pred, "invocation", "environment", "github_event_name")
		f.runID = str(pred, "invocation", "environment", "github_run_id")
		if f.sourceDigest == "" {
			if s := str(pred, "invocation", "environment", "github_sha1"); s != "" {
				f.sourceDigest = "sha1:" + s
			}
		}
	}
	for _, t := range []struct{ key, v string }{{finishedKey, finished}, {startedKey, started}} {
		if t.v == "" {
			continue
		}
		at, err := record.ParseTime(t.v, time.UTC)
		if err != nil {
			return f, fmt.Errorf("bad %s: %v", t.key, err)
		}
		if f.issuedAt.IsZero() {
			f.issuedAt = at
		}
	}
	return f, nil
}

// splitSourceURI splits a configSource uri, "git+https://github.com/o/r@refs/tags/v1",
// into the repository and the ref.
func splitSourceURI(uri string) (repo, ref string) {
	uri = strings.TrimPrefix(uri, "git+")
	if i := strings.LastIndexByte(uri, '@'); i > strings.Index(uri, "://")+2 && strings.Contains(uri, "://") {
		return uri[:i], uri[i+1:]
	}
	return uri, ""
}

// lookup walks a decoded JSON value by object keys; keys match without
// regard to case when no exact key is there (buildInvocationID).
func lookup(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		next, ok := m[k]
		if !ok {
			for mk, mv := range m {
				if strings.EqualFold(mk, k) {
					next, ok = mv, true
					break
				}
			}
		}
		if !ok {
			return nil
		}
		v = next
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := lookup(v, path...).(string)
	return s
}

func object(v any, path ...string) map[string]any {
	m, _ := lookup(v, path...).(map[string]any)
	return m
}

func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func typeReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is a JSON %s", te.Field, te.Value)
	}
	if err == nil {
		return "malformed"
	}
	return "malformed"
}

// decodeBase64 reads a DSSE payload: standard base64, or URL-safe, with or
// without padding (the DSSE protocol accepts either).
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func bound(s string) string {
	if len(s) <= maxAttr {
		return s
	}
	s = s[:maxAttr]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
