// Package k8saudit reads Kubernetes API server audit logs as id-only
// sightings of service account tokens, and as the cluster's own record of
// the tokens it issued.
//
// # Forms read
//
//   - The log backend's file (--audit-log-path): one audit.k8s.io/v1 Event
//     (v1beta1 too) per line, possibly inside a shipper's envelope
//     (record.Options.Envelope: CRI, Docker json-file, kubectl --timestamps,
//     CloudWatch's export-to-S3 "<time> <message>" lines).
//   - EventList documents ({"kind":"EventList","items":[...]}), as the
//     webhook backend sends them.
//   - AKS diagnostic settings: {"category":"kube-audit" or
//     "kube-audit-admin","properties":{"log":"<Event JSON>","pod":..},
//     "resourceId":..,"time":..}, one a line (PT1H.json blobs) or in a
//     {"records":[...]} array (older blobs, Event Hubs); other categories
//     are ignored.
//   - EKS control-plane logs from CloudWatch Logs: subscription messages
//     ({"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/<cluster>/cluster",
//     "logStream":"kube-apiserver-audit-…","logEvents":[{"id","timestamp",
//     "message"}]}, also concatenated without separator as Firehose writes
//     them) and `aws logs filter-log-events`/`get-log-events` output
//     ({"events":[{"logStreamName","timestamp","message"}]}); messages of
//     other streams (authenticator, kube-apiserver, scheduler…) are ignored.
//   - GKE Cloud Logging exports (Log Router sinks to Cloud Storage, one
//     LogEntry a line; `gcloud logging read --format=json` arrays): a
//     LogEntry whose protoPayload is an AuditLog of serviceName "k8s.io".
//     GKE keeps the audit annotations as the entry's labels, so a
//     TokenRequest's issued-credential-id is there, but it drops
//     user.extra: its requests carry no credential id and are ignored.
//
// Any of these may also come as a top-level JSON array of records. A file
// whose first line is a JSON value of its own is read line by line (a bad
// line is rejected and reading goes on); any other file starting with "{"
// or "[" (pretty-printed CLI output) is read as a sequence of JSON
// documents of at most MaxDocumentBytes (a broken document is rejected and
// the rest of the file cannot be read).
//
// # Records and positions
//
// A record is one audit event (an Event, an AKS record, a CloudWatch log
// event, a GKE LogEntry). Position.Line is the line number for a file of
// one record a line; the records that share a line (an EventList's items,
// a CloudWatch message's log events) are numbered on from that line, and
// later records continue after them (record.EntryPositions), so no two
// records share a position. The records of pretty-printed documents are
// numbered in order from 1. A line that holds no record (an empty list) is
// ignored as IgnoreEmpty.
//
// # Sightings
//
// Since Kubernetes 1.30 (KEP-4193) a service account token's jti is in the
// authenticated user's extra: user.extra["authentication.kubernetes.io/
// credential-id"] = ["JTI=<jti>"]. Such an event is a sighting: Kind "jwt",
// ArtifactID = the jti, Issuer "" (the log does not name the token's
// issuer), ObservedAt = stageTimestamp (requestReceivedTimestamp when it
// is missing), Observer = the cluster (below), Principal = user.username,
// ClientIP = sourceIPs[0], UserAgent = userAgent, Action = verb and
// requestURI (record.Action: without its query), Outcome rejected for
// responseStatus.code 401, accepted for any other code (a 403 was
// authenticated), unknown without one. Attrs: auditID, the pod and node
// binding from user.extra (authentication.kubernetes.io/pod-name,
// pod-uid, node-name, node-uid), authorization.k8s.io/decision and
// authorization.k8s.io/reason (annotations), category (AKS), groups
// (joined with ","), impersonatedUser.username, logStream (EKS),
// objectRef.apiGroup, .name, .namespace, .resource, .subresource,
// requestURI, responseStatus.code, sourceIPs (joined), stage, user.uid and
// verb. Client certificates (X509SHA256=…) are IgnoreClientCert, events
// without a credential id (anonymous, failed authentications, legacy
// secret-based tokens, clusters before 1.30, GKE) IgnoreNoCredential, ids
// of another kind IgnoreOtherCredential.
//
// One request is logged once per stage (RequestReceived, ResponseStarted,
// ResponseComplete, Panic) and is one sighting: the ResponseComplete or
// Panic event's. An earlier stage is held (at most MaxPending events) and
// ignored as IgnoreStage when a later stage of its request comes; one whose
// request never completes in the file is emitted as it is at the end (or
// when the held set is full, the oldest first). A request is known by its
// auditID together with its requestReceivedTimestamp, user, credential id,
// verb and requestURI: a client may choose its own Audit-ID, and must not
// hide its request under another's.
//
// # Issuances
//
// A TokenRequest (verb "create" on serviceaccounts/token) that succeeded
// (code 201 or 200) is logged with the annotation
// authentication.kubernetes.io/issued-credential-id = "JTI=<jti>" (1.30+;
// authentication.k8s.io/issued-credential-id in 1.29 alpha): an issuance
// with Kind "jwt", ArtifactID = the jti, Issuer "", Subject =
// "system:serviceaccount:<objectRef.namespace>:<objectRef.name>",
// IssuedAt = stageTimestamp. At Request and RequestResponse level the
// TokenRequest objects are logged too: Audience = spec.audiences joined
// with "," (the response's, which holds the API server's default when the
// request named none), ExpiresAt = status.expirationTimestamp (left zero
// for a pod-bound token of 3607 s, whose exp the API server extends to a
// year by default), RawSHA256 = the hex sha256 of status.token (the minted
// token itself, never kept). Attrs: auditID, boundObjectRef.kind, .name,
// .uid, category, cluster (when the envelope or Options names it),
// expirationSeconds, expirationTimestamp, logStream, requester
// (user.username), requester.credential-id (the requester's own
// credential id: a pod may mint tokens with its token), responseStatus.code,
// sourceIPs and userAgent. The TokenRequest event is that issuance only,
// not also a sighting of its requester's credential. A TokenRequest
// without the annotation (older clusters) is IgnoreNoIssuedID, a failed one
// IgnoreFailedTokenRequest.
//
// # Observer
//
// The cluster named by the envelope (the EKS log group's cluster, the
// last segment of the AKS resourceId, GKE's resource.labels.cluster_name),
// else Options.Observer, else the file's name.
//
// Malformed records (bad JSON, fields of the wrong type, an Event without
// auditID or without any timestamp, a time that does not parse, a wrapped
// log string of an audit stream or category that is not JSON) are
// rejected with the reason; a text line in a CloudWatch stream that the
// input does not name (get-log-events output) is another component's and
// IgnoreNotAudit.
package k8saudit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads Kubernetes audit logs. See the package documentation.
var Format record.Format = format{}

type format struct{}

func (format) Name() string { return "k8s-audit" }

func (format) Description() string {
	return "Kubernetes audit log (Event lines, EventList; AKS, EKS CloudWatch, GKE exports): service account token ids used and issued"
}

// IssuerLog reports false: the audit log is mainly a verifier's log (the
// API server authenticating tokens), though it also carries the cluster's
// issuances (TokenRequests).
func (format) IssuerLog() bool { return false }

// EntryPositions: records that share a line are numbered on from it (see
// the package documentation).
func (format) EntryPositions() bool { return true }

// Ignore reasons.
const (
	IgnoreNoCredential       = "no credential id"
	IgnoreClientCert         = "client certificate credential"
	IgnoreOtherCredential    = "credential id of another kind"
	IgnoreStage              = "audit stage of a logged request"
	IgnoreNoIssuedID         = "token request without issued credential id"
	IgnoreFailedTokenRequest = "failed token request"
	IgnoreNotAudit           = "not a Kubernetes audit event"
	IgnoreControlMessage     = "CloudWatch control message"
	IgnoreEmpty              = "empty record list"
)

// MaxDocumentBytes bounds a file read as JSON documents (pretty-printed
// output); a larger one is rejected.
const MaxDocumentBytes = 256 << 20

// peekBytes is how much of a file Parse looks at to choose between lines
// and documents.
const peekBytes = 1 << 20

var (
	reAPIVersion = regexp.MustCompile(`"apiVersion"\s*:\s*"audit\.k8s\.io/v1(?:beta1)?"`)
	reEventList  = regexp.MustCompile(`"kind"\s*:\s*"EventList"`)
	reAKS        = regexp.MustCompile(`"category"\s*:\s*"kube-audit(?:-admin)?"`)
	reEKSStream  = regexp.MustCompile(`"logStream(?:Name)?"\s*:\s*"kube-apiserver-audit-`)
	reGKE        = regexp.MustCompile(`"serviceName"\s*:\s*"k8s\.io"|"methodName"\s*:\s*"io\.k8s\.|"producer"\s*:\s*"k8s\.io"`)
)

// looksAudit reports whether b holds the markers of one of the forms read.
func looksAudit(b []byte) bool {
	switch {
	case reAPIVersion.Match(b) && (bytes.Contains(b, []byte(`"auditID"`)) || reEventList.Match(b)):
		return true
	case reAKS.Match(b):
		return true
	case bytes.Contains(b, []byte("/aws/eks/")) && bytes.Contains(b, []byte("kube-apiserver-audit")),
		reEKSStream.Match(b):
		return true
	case bytes.Contains(b, []byte("type.googleapis.com/google.cloud.audit.AuditLog")) && reGKE.Match(b):
		return true
	}
	return false
}

// Sniff accepts a sample with an audit.k8s.io Event or EventList, an AKS
// kube-audit record, an EKS audit log stream's messages or a GKE
// Kubernetes audit entry.
func (format) Sniff(sample [][]byte) bool {
	for _, line := range sample {
		if looksAudit(line) {
			return true
		}
	}
	return looksAudit(bytes.Join(sample, []byte("\n")))
}

// SniffFile claims a pretty-printed JSON document of one of the forms
// read, whose markers may lie past the sniffed lines. Files of one record
// a line are left to Sniff, which detection also tries inside envelopes.
func (format) SniffFile(name string, head []byte) bool {
	return documentMode(head) && looksAudit(head)
}

// documentMode reports whether a file starting with head is JSON
// documents rather than lines: it starts with "{" or "[" and its first
// line, ended in head, opens a value it does not close.
func documentMode(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	rest := bytes.TrimLeft(head, " \t\r\n")
	if len(rest) == 0 || rest[0] != '{' && rest[0] != '[' {
		return false
	}
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return false // one line
	}
	line := bytes.TrimSpace(rest[:i])
	if json.Valid(line) {
		return false
	}
	last := line[len(line)-1]
	return last == '{' || last == '[' || line[0] == '['
}

// Parse streams the sightings and issuances of an audit log into sink.
func (f format) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	p := newParser(in, sink, f.Name())
	defer p.flush()
	if in.Data != nil || in.Options.Envelope != nil {
		return record.EachLine(ctx, in, p.name, sink, p.line)
	}
	br := bufio.NewReaderSize(in.R, peekBytes)
	head, err := br.Peek(peekBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull && len(head) == 0 {
		return fmt.Errorf("%s: %w", in.Name, err)
	}
	if documentMode(head) {
		return p.documents(ctx, br)
	}
	lines := *in
	lines.R = br
	return record.EachLine(ctx, &lines, p.name, sink, p.line)
}

type parser struct {
	in       *record.Input
	sink     record.Sink
	name     string
	fileName string

	outer, inner, props fastjson.Parser // a line or document, a wrapped log, an AKS properties string

	next     int64 // the lowest position not yet taken
	lineNo   int64 // the line being read; 0 for documents
	taken    int   // positions taken on the line
	countAll bool  // documents: every record is counted here

	stages stages
	attrs  record.Attrs
	ev     event
}

func newParser(in *record.Input, sink record.Sink, name string) *parser {
	return &parser{in: in, sink: sink, name: name, fileName: fileObserver(in.Name), next: 1, stages: newStages()}
}

// pos takes the position of the next record: the line's number, or the
// number after the previous record's when that is higher. The first record
// of a line is the line EachLine counted; the others are counted here.
func (p *parser) pos() record.Position {
	n := max(p.next, p.lineNo)
	p.next = n + 1
	if p.taken > 0 || p.countAll {
		p.in.CountRecord()
	}
	p.taken++
	return record.Position{File: p.in.Name, Line: n, Format: p.name}
}

// reject rejects the next record.
func (p *parser) reject(reason string, b []byte) {
	p.sink.Reject(&record.Reject{Pos: p.pos(), Reason: reason, Excerpt: excerpt(b)})
}

// excerpt is the start of a rejected record (the sink truncates further).
func excerpt(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	return string(b)
}

func (p *parser) ignore(reason string) { p.sink.Ignore(p.pos(), reason) }

// line reads one line: a record, several, or none.
func (p *parser) line(lineNo int64, line []byte) {
	p.lineNo, p.taken = lineNo, 0
	if lineNo == 1 {
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	line = bytes.TrimSpace(line)
	p.lineValues(line)
	if p.taken == 0 {
		p.ignore(IgnoreEmpty)
	}
}

func (p *parser) lineValues(line []byte) {
	if !utf8.Valid(line) {
		p.reject("invalid UTF-8", line)
		return
	}
	if bytes.IndexByte(line, 0) >= 0 {
		p.reject(record.ReasonNUL, line)
		return
	}
	v, err := p.outer.ParseBytes(line)
	if err == nil {
		p.value(v, envelope{}, true)
		return
	}
	// Firehose writes CloudWatch messages one after the other on a line
	if bytes.Contains(line, []byte("}{")) && p.sequence(line) {
		return
	}
	p.reject(jsonReason(line), line)
}

// sequence reads line as concatenated JSON values; false, having read
// nothing, when it is not one.
func (p *parser) sequence(line []byte) bool {
	var values []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			return false
		}
		values = append(values, raw)
	}
	if len(values) < 2 {
		return false
	}
	for _, raw := range values {
		v, err := p.outer.ParseBytes(raw)
		if err != nil {
			p.reject(jsonReason(raw), raw)
			continue
		}
		p.value(v, envelope{}, true)
	}
	return true
}

// documents reads the rest of the input as a sequence of JSON documents.
func (p *parser) documents(ctx context.Context, r io.Reader) error {
	p.countAll = true
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", p.in.Name, err)
	}
	if len(data) > MaxDocumentBytes {
		p.reject(fmt.Sprintf("JSON document over %d bytes (the file is not read; write it one record a line)", MaxDocumentBytes), data[:256])
		return nil
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			p.reject(fmt.Sprintf("invalid JSON document at byte %d: %v (the rest of the file cannot be read)", off, err), data[off:])
			return nil
		}
		v, err := p.outer.ParseBytes(raw)
		if err != nil {
			p.reject("invalid JSON document: "+err.Error(), raw)
			continue
		}
		p.value(v, envelope{}, true)
	}
}

// flush emits the held stages of requests that never completed.
func (p *parser) flush() {
	p.stages.flush(p.deliver)
}

func jsonReason(b []byte) string {
	var raw json.RawMessage
	err := json.Unmarshal(b, &raw)
	var syn *json.SyntaxError
	switch {
	case err == nil:
		return "invalid JSON: nested too deep or malformed"
	case err.Error() == "unexpected end of JSON input":
		return "invalid JSON: truncated"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	}
	return "invalid JSON: " + err.Error()
}

// fileObserver names the API server whose log a file is when nothing in it
// does: its file name, and the directory it was collected into when the
// name is the log backend's usual one (audit.log, its rotations
// audit-2026-03-04T10-00-00.000.log, kube-apiserver-audit.log), which
// every server shares.
func fileObserver(name string) string {
	base := filepath.Base(name)
	stem := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".zst"), ".log"))
	generic := stem == "audit" || strings.HasPrefix(stem, "audit-") || strings.HasPrefix(stem, "kube-apiserver-audit")
	dir := filepath.Base(filepath.Dir(name))
	if !generic || dir == "." || dir == string(filepath.Separator) || dir == "" {
		return base
	}
	return dir + "/" + base
}
