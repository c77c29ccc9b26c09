// Package cloudtrail reads AWS CloudTrail: the record of the AWS STS
// sessions that were issued (the calls that returned temporary
// credentials) and of the calls signed with them, each session known by its
// access key id.
//
// # Forms
//
// Each record is one CloudTrail event (eventVersion 1.0x: eventTime,
// eventSource, eventName, awsRegion, sourceIPAddress, userAgent,
// userIdentity, errorCode, errorMessage, requestParameters,
// responseElements, requestID, eventID, readOnly, recipientAccountId, …),
// in any of the forms AWS and its exporters write:
//
//	{"Records":[{"eventVersion":"1.08",…},…]}
//	{"eventVersion":"1.08","userIdentity":{…},"eventTime":"2026-03-04T10:00:00Z",…}
//	{"Events":[{"EventId":"…","EventName":"…","CloudTrailEvent":"{\"eventVersion\":…}",…}],"NextToken":"…"}
//	{"messageType":"DATA_MESSAGE","owner":"…","logGroup":"…","logEvents":[{"id":"…","timestamp":…,"message":"{\"eventVersion\":…}"}]}
//	{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{"eventVersion":…}}
//
// The first is the log file a trail delivers to S3
// (AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz,
// decompressed by the caller), one line or pretty-printed, several one
// after the other (files concatenated); the second one event per line
// (CloudTrail Lake and SIEM exports, jq -c '.Records[]'), or one
// pretty-printed event; the third `aws cloudtrail lookup-events` output,
// the event as a JSON string in CloudTrailEvent; the fourth a CloudWatch
// Logs subscription's message as Firehose delivers it (objects
// concatenated, CONTROL_MESSAGE ones ignored as IgnoreControl), and
// `aws logs filter-log-events` output ({"events":[{"message":…}]}), the
// event as a JSON string in message; the fifth an EventBridge event of a
// CloudTrail detail-type ("AWS API Call via CloudTrail", …), whose detail
// is the event (other detail-types: IgnoreNotCloudTrail). A top-level JSON
// array may hold events in any of these single forms. Athena's result
// rows (lower-case column names) are not read.
//
// A file whose first or second non-blank line is one JSON object that is
// not a container of events, or whose lines carry an envelope, is read as
// JSON lines: a record is a line, at its line number, and a bad line
// rejects that line only. Any other file is read as a stream of JSON
// values: each element of a Records, Events or logEvents array (or of a
// top-level array) is a record at its ordinal in the file (1-based, across
// the file's containers: record.EntryPositions), and an event that stands
// alone at the line it starts on. No two records share a position: a
// record that would is numbered one past the record before it (a line
// that holds a container of events, events concatenated on one line). A
// bad element is rejected and reading goes on; a file that ends inside an
// element, or whose array syntax breaks between elements, rejects there
// (the element, or a record of its own) and stops. An element over
// Options.MaxLineBytes is rejected and skipped.
//
// eventTime is read in every precision (whole seconds as CloudTrail
// writes it, fractions and the "2026-03-04 10:00:00.5" of SQL exports),
// in UTC. A credential's expiration is read as CloudTrail writes it, in
// UTC: "Mar 4, 2026, 11:00:00 AM" (a narrow no-break space before AM
// accepted), the older "Mar 4, 2026 11:00:00 AM", or RFC 3339 (see
// ParseExpiration); one that does not read leaves ExpiresAt zero and is
// kept in Attrs as expiration.
//
// # Sessions issued
//
// A call that succeeded (no errorCode) and returned
// responseElements.credentials.accessKeyId is one Issuance of kind
// "aws-session" (KindSession): AssumeRoleWithWebIdentity,
// AssumeRoleWithSAML, AssumeRole, GetSessionToken, GetFederationToken and
// AssumeRoot of sts.amazonaws.com, and any other service's call whose
// response holds an ASIA key id that way (Cognito's
// GetCredentialsForIdentity, EKS's AssumeRoleForPodIdentity).
//
//	ArtifactID = responseElements.credentials.accessKeyId (ASIA…)
//	Issuer     = "" (an access key id is unique in AWS)
//	Subject    = AssumeRoleWithWebIdentity: responseElements.subjectFromWebIdentityToken (the token's sub),
//	             else userIdentity.userName
//	             AssumeRoleWithSAML: responseElements.subject (the assertion's NameID), else userIdentity.userName
//	             other STS calls: userIdentity.arn (the caller), else userIdentity.principalId; other services: ""
//	Audience   = responseElements.audience of AssumeRoleWithWebIdentity (the token's aud) and
//	             AssumeRoleWithSAML (the assertion's audience), else ""
//	IssuedAt   = eventTime; ExpiresAt = responseElements.credentials.expiration; KeyRef = ""
//
// Attrs: eventName, eventSource, eventID, requestID, account
// (recipientAccountId, else userIdentity.accountId), region (awsRegion),
// sourceIPAddress, userAgent, roleArn, roleSessionName, durationSeconds,
// serialNumber, sourceIdentity (of the response, else the request or the
// caller's session), assumedRoleId and assumedRoleArn
// (responseElements.assumedRoleUser), the caller's userIdentity.type,
// userIdentity.arn, userIdentity.principalId and userIdentity.accessKeyId
// (a role chain's session) and its sessionIssuer and invokedBy; of web
// identity: provider (responseElements.provider, else
// userIdentity.identityProvider: the OIDC provider's IAM ARN, or its host),
// token_issuer (the token's iss as TokenIssuer reads the provider:
// arn:aws:iam::<account>:oidc-provider/<host>/<path> and <host>/<path> are
// https://<host>/<path>), web_identity "true" and webIdentityTokenId (a
// cross-partition exchange of a GetWebIdentityToken JWT); of SAML: issuer,
// subjectType, nameQualifier, principalArn (the SAML provider) and
// sAMLAssertionID; of GetFederationToken: name, federatedUserId and
// federatedUserArn; of AssumeRoot: targetPrincipal and taskPolicyArn; of
// Cognito: identityId. A web identity token has no id in CloudTrail (only
// its sub, aud and provider), so it is never a sighting: the session is
// the record. The call's own credentials, when a session's (a role chain),
// are not sighted: one record, one row.
//
// A credential call that failed (errorCode set: InvalidIdentityToken,
// AccessDenied, …) is ignored as IgnoreRequestFailed; one that succeeded
// without a key id in its response, as IgnoreNoCredentials.
//
// GetWebIdentityToken (outbound identity federation: STS signs a JWT for
// the caller) logs the token's jti as responseElements.webIdentityTokenId:
// it is an Issuance of kind "jwt", ArtifactID = that id, Issuer "" (the
// account's issuer URL is not logged), Subject "" (the token's sub depends
// on the request's subject mode and is not logged), Audience =
// requestParameters.audience (joined with ","), IssuedAt = eventTime,
// ExpiresAt = responseElements.expiration; Attrs: eventName, eventID,
// requestID, account, region, durationSeconds, signingAlgorithm,
// sourceIPAddress, userAgent, sourceIdentity, sessionIssuer and the
// caller's userIdentity fields. Such an event without the id is ignored
// as IgnoreTokenNoID.
//
// # Sessions used
//
// Every other event whose userIdentity.accessKeyId starts with ASIA is an
// id-only Sighting of that session:
//
//	Kind = "aws-session", ArtifactID = userIdentity.accessKeyId, Issuer = "", Source = "auth"
//	ObservedAt = eventTime
//	Observer   = "aws:<recipientAccountId>:<awsRegion>" (Options.Observer overrides)
//	Principal  = userIdentity.arn, else userIdentity.principalId
//	ClientIP   = sourceIPAddress when it is an IP address (a service's name, as when a
//	             service calls on the caller's behalf, goes to Attrs)
//	UserAgent  = userAgent; Action = eventSource + ":" + eventName
//	Outcome    = rejected when errorCode says AWS did not authenticate the credentials
//	             (InvalidClientTokenId, ExpiredToken, SignatureDoesNotMatch, InvalidAccessKeyId,
//	             IncompleteSignature, AuthFailure, …: see Outcome), else accepted (AccessDenied
//	             and UnauthorizedOperation are refusals of authenticated credentials)
//
// Attrs: eventID, eventName, eventSource, errorCode, errorMessage (its
// first 256 bytes), userIdentity.type, sessionIssuer (the role's ARN),
// mfaAuthenticated and creationDate (the session's), federatedProvider
// (webIdFederationData), sourceIdentity, invokedBy, sourceIPAddress (when
// not an IP address), account, region, readOnly, requestID.
//
// Events of long-term keys (AKIA…) are ignored as IgnoreLongTermKey,
// events without an access key (AWS services acting on their own, console
// sign-ins, Identity Center users) as IgnoreNoAccessKey, other key kinds
// as IgnoreOtherKey, and calls of the console's own session credentials
// (sessionCredentialFromConsole "true", whose issue no event logs) as
// IgnoreConsoleSession. CloudTrail Insights events (eventType
// AwsCloudTrailInsight) are ignored as IgnoreInsight.
//
// An event that cannot be read (bad JSON, not an object, no eventTime or
// eventName, a top-level or userIdentity field, responseElements,
// credentials, or a field a row's column is read from of the wrong JSON
// type, a time that does not parse) is rejected with the reason; a request
// or response field that only goes to Attrs is kept when it is a string,
// number or boolean and left out otherwise. Each record ends in exactly one issuance,
// sighting, reject or ignore.
package cloudtrail

import (
	"bufio"
	"bytes"
	"context"
	"fmt"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads AWS CloudTrail events. See the package documentation.
var Format record.Format = format{}

// KindSession is the kind of an AWS STS session known by its access key
// id (the analyzer's idkind.AWSSession).
const KindSession = "aws-session"

// Ignore reasons.
const (
	IgnoreLongTermKey    = "long-term access key"
	IgnoreNoAccessKey    = "no access key"
	IgnoreOtherKey       = "not a session access key"
	IgnoreConsoleSession = "console session credential"
	IgnoreRequestFailed  = "credential request failed"
	IgnoreNoCredentials  = "credentials not logged"
	IgnoreTokenNoID      = "web identity token issued (no id logged)"
	IgnoreNotCloudTrail  = "not a CloudTrail event"
	IgnoreControl        = "CloudWatch Logs control message"
	IgnoreNoEvents       = "no events"
	IgnoreInsight        = "CloudTrail Insights event"
)

type format struct{}

func (format) Name() string { return "cloudtrail" }

func (format) Description() string {
	return "AWS CloudTrail (Records files, JSON lines, lookup-events, CloudWatch Logs, EventBridge): STS sessions issued and used, by access key id"
}

// IssuerLog is false: a trail holds the sessions' use as well as their
// issuance.
func (format) IssuerLog() bool { return false }

// EntryPositions: an event of a container (Records, Events, logEvents, a
// JSON array) is numbered by its ordinal in the file, a bare event by the
// line it starts on (see the package documentation).
func (format) EntryPositions() bool { return true }

// container forms: the key (or the top-level array) whose elements are
// records, and what each element is.
type form int

const (
	formRecords form = iota + 1 // "Records": events
	formLookup                  // "Events": lookup-events elements, the event in CloudTrailEvent
	formLogs                    // "logEvents", "events": CloudWatch Logs events, the event in message
	formArray                   // a top-level array: events or any wrapper of one
)

func containerForm(key []byte) form {
	switch string(key) {
	case "Records":
		return formRecords
	case "Events":
		return formLookup
	case "logEvents", "events":
		return formLogs
	}
	return 0
}

func (f form) String() string {
	switch f {
	case formRecords:
		return "Records array"
	case formLookup:
		return "Events array"
	case formLogs:
		return "logEvents array"
	}
	return "array"
}

// headBytes is how much of the input the choice between line and stream
// reading looks at.
const headBytes = 1 << 20

// Parse streams the issuances and sightings of a CloudTrail file into sink.
// A file whose first or second line is one event (JSON lines), or whose
// lines carry an envelope, is read line by line; any other is read as a
// stream of JSON values.
func (f format) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	max := in.Options.MaxLineBytes
	if max <= 0 {
		max = record.DefaultMaxLineBytes
	}
	p := &parser{in: in, sink: sink, name: f.Name(), max: max}
	br := bufio.NewReaderSize(in.R, headBytes)
	if in.Options.Envelope != nil || p.linesOfEvents(br) {
		lin := *in
		lin.R, lin.Data = br, nil
		return record.EachLine(ctx, &lin, p.name, sink, func(lineNo int64, line []byte) {
			p.line(lineNo, line)
		})
	}
	return p.stream(ctx, newStream(br, max))
}

// linesOfEvents reports whether the first or the second non-blank line of
// the input is one JSON object that is not a container of events.
func (p *parser) linesOfEvents(br *bufio.Reader) bool {
	head, _ := br.Peek(headBytes)
	for n := 0; n < 2 && len(head) > 0; {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		line = trimHead(line)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n++
		v, err := p.json.ParseBytes(line)
		if err != nil || v.Type() != fastjson.TypeObject {
			continue
		}
		if _, f := containerOf(v); f == 0 {
			return true
		}
	}
	return false
}

// containerOf returns the array of events v holds and its form, if v is a
// Records, lookup-events or CloudWatch Logs object.
func containerOf(v *fastjson.Value) ([]*fastjson.Value, form) {
	o, err := v.Object()
	if err != nil {
		return nil, 0
	}
	var arr []*fastjson.Value
	var f form
	o.Visit(func(key []byte, x *fastjson.Value) {
		if g := containerForm(key); g != 0 && f == 0 && x.Type() == fastjson.TypeArray {
			arr, _ = x.Array()
			f = g
		}
	})
	return arr, f
}

type parser struct {
	in   *record.Input
	sink record.Sink
	name string
	max  int

	records int64 // records read
	last    int64 // the last position given
	json    fastjson.Parser
	inner   fastjson.Parser // an event inside a JSON string
	ev      event
	attrs   record.Attrs
}

// count counts one record read.
func (p *parser) count() {
	p.records++
	p.in.CountRecord()
}

// pos is the position of the record just counted: at line (a line number
// or an ordinal), or one past the last position given, whichever is
// greater, so that no two records share one.
func (p *parser) pos(line int64) record.Position {
	if line <= p.last {
		line = p.last + 1
	}
	p.last = line
	return record.Position{File: p.in.Name, Line: line, Format: p.name}
}

func (p *parser) reject(pos record.Position, reason string, excerpt []byte) {
	p.sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(excerpt)})
}

// checked rejects raw when it is not valid UTF-8 or holds a NUL byte.
func (p *parser) checked(pos record.Position, raw []byte) bool {
	if !record.ValidUTF8(raw, pos, p.sink) {
		return false
	}
	if bytes.IndexByte(raw, 0) >= 0 {
		p.reject(pos, record.ReasonNUL, raw)
		return false
	}
	return true
}

// line reads one line of a JSON-lines file: an event, a wrapper of one, or
// a container (a Records file on a line), whose events after the first
// are counted as records of their own.
func (p *parser) line(lineNo int64, line []byte) {
	pos := p.pos(lineNo)
	line = bytes.TrimPrefix(line, []byte(bom))
	if !p.checked(pos, line) {
		return
	}
	v, err := p.json.ParseBytes(line)
	if err != nil {
		p.reject(pos, record.JSONErrorReason(err), line)
		return
	}
	if v.Type() == fastjson.TypeArray {
		arr, _ := v.Array()
		p.elements(pos, lineNo, arr, formArray, "")
		return
	}
	arr, f := containerOf(v)
	if f == 0 {
		p.wrapped(pos, v, line)
		return
	}
	p.elements(pos, lineNo, arr, f, messageType(v))
}

// elements reads the events of a container held on one line, the first at
// pos, the others counted as records of their own after it.
func (p *parser) elements(pos record.Position, lineNo int64, arr []*fastjson.Value, f form, msgType string) {
	if len(arr) == 0 {
		p.sink.Ignore(pos, IgnoreNoEvents)
		return
	}
	for i, el := range arr {
		if i > 0 {
			p.count()
			pos = p.pos(lineNo)
		}
		p.element(pos, el, nil, f, msgType)
	}
}

func messageType(v *fastjson.Value) string {
	return string(v.GetStringBytes("messageType"))
}

// stream reads a file as a sequence of JSON values: containers of events,
// whose elements it streams, events and wrappers of one, each read whole.
// Bytes that are not a JSON object or array reject the rest of their line.
func (p *parser) stream(ctx context.Context, s *stream) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, ok := s.space()
		if !ok {
			return s.readErr()
		}
		line := s.line
		switch c {
		case '{':
			if p.object(ctx, s, line) {
				return p.stopped(ctx, s)
			}
		case '[':
			s.next()
			if p.container(ctx, s, formArray, "") {
				return p.stopped(ctx, s)
			}
		default:
			s.begin()
			s.restOfLine()
			raw, _ := s.end()
			p.count()
			p.reject(p.pos(line), "not a JSON object or array", bytes.TrimSpace(raw))
		}
	}
}

// stopped is the error of a stream whose reading stopped at a record.
func (p *parser) stopped(ctx context.Context, s *stream) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.readErr()
}

// object reads a top-level object whose "{" is next. A key of a container
// of events (Records, Events, logEvents, events) whose value is an array
// has its elements streamed; an object without one is one record, read
// whole. stop is true when the input cannot be read further.
func (p *parser) object(ctx context.Context, s *stream, startLine int64) (stop bool) {
	s.begin()
	s.next()
	depth, keyNext := 1, true
	var key []byte
	var msgType string
	streamed := false
	for depth > 0 {
		c, ok := s.next()
		if !ok {
			raw, _ := s.end()
			p.count()
			if streamed {
				p.reject(p.pos(p.records), "the file ends inside the object of events (truncated?)", nil)
			} else {
				p.reject(p.pos(startLine), errTruncated.Error(), raw)
			}
			return true
		}
		switch c {
		case '"':
			k, err := s.str(depth == 1 && keyNext)
			if err != nil {
				continue // the end of the input, met again above
			}
			if depth == 1 && keyNext {
				key, keyNext = append(key[:0], k...), false
			}
		case ':':
			if depth != 1 {
				continue
			}
			f := containerForm(key)
			if f == 0 && string(key) != "messageType" {
				continue
			}
			c, ok := s.space()
			if !ok {
				continue
			}
			if f == 0 && c == '"' {
				s.next()
				v, err := s.str(true)
				if err == nil {
					msgType = string(v)
				}
				continue
			}
			if f != 0 && c == '[' {
				s.end()
				s.next()
				streamed = true
				if p.container(ctx, s, f, msgType) {
					return true
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			keyNext = depth == 1
		}
	}
	if streamed {
		return false
	}
	raw, size := s.end()
	p.count()
	pos := p.pos(startLine)
	if size > int64(p.max) {
		p.reject(pos, fmt.Sprintf("%s (%d bytes, limit %d)", record.ReasonLineTooLong, size, p.max), raw[:min(len(raw), 256)])
		return false
	}
	p.whole(pos, raw)
	return false
}

// container streams the elements of an array whose "[" was consumed, each
// a record at its ordinal. stop is true when the input cannot be read
// further (it ends inside the array, or the array's syntax is broken).
func (p *parser) container(ctx context.Context, s *stream, f form, msgType string) (stop bool) {
	for n := 0; ; n++ {
		c, ok := s.space()
		if ok && c == ']' {
			s.next()
			return false
		}
		if ok && n > 0 {
			if c != ',' {
				p.count()
				p.reject(p.pos(p.records), fmt.Sprintf("malformed %s: expected , or ] after element %d (the rest of the file cannot be read)", f, n), nil)
				return true
			}
			s.next()
			c, ok = s.space()
		}
		if !ok {
			p.count()
			p.reject(p.pos(p.records), fmt.Sprintf("the file ends inside the %s (truncated?)", f), nil)
			return true
		}
		if n&0x3ff == 0x3ff && ctx.Err() != nil {
			return true
		}
		s.begin()
		err := s.value()
		raw, size := s.end()
		p.count()
		pos := p.pos(p.records)
		switch {
		case err != nil:
			p.reject(pos, fmt.Sprintf("element %d: %v", n+1, err), raw)
			return true
		case size > int64(p.max):
			p.reject(pos, fmt.Sprintf("%s (element of %d bytes, limit %d)", record.ReasonLineTooLong, size, p.max), raw[:min(len(raw), 256)])
			continue
		}
		if !p.checked(pos, raw) {
			continue
		}
		v, perr := p.json.ParseBytes(raw)
		if perr != nil {
			p.reject(pos, record.JSONErrorReason(perr), raw)
			continue
		}
		p.element(pos, v, raw, f, msgType)
	}
}

// whole reads a top-level object that is not a container: an event or a
// wrapper of one.
func (p *parser) whole(pos record.Position, raw []byte) {
	if !p.checked(pos, raw) {
		return
	}
	v, err := p.json.ParseBytes(raw)
	if err != nil {
		p.reject(pos, record.JSONErrorReason(err), raw)
		return
	}
	p.wrapped(pos, v, raw)
}

// element reads one element of a container of form f. raw is its text,
// or nil when it is part of a line already parsed.
func (p *parser) element(pos record.Position, v *fastjson.Value, raw []byte, f form, msgType string) {
	excerpt := func() []byte {
		if raw == nil {
			raw = v.MarshalTo(nil)
		}
		return raw
	}
	switch f {
	case formRecords:
		o, err := v.Object()
		if err != nil {
			p.reject(pos, record.ReasonNotObject, excerpt())
			return
		}
		p.event(pos, o, excerpt)
	case formLookup:
		p.embedded(pos, v, "CloudTrailEvent", excerpt)
	case formLogs:
		if msgType == "CONTROL_MESSAGE" {
			p.sink.Ignore(pos, IgnoreControl)
			return
		}
		p.embedded(pos, v, "message", excerpt)
	default:
		p.wrapped(pos, v, excerpt())
	}
}

// wrapped reads a value that is one event in any of its forms: the event,
// an EventBridge envelope (its detail), a lookup-events element (its
// CloudTrailEvent) or a CloudWatch Logs event (its message).
func (p *parser) wrapped(pos record.Position, v *fastjson.Value, raw []byte) {
	excerpt := func() []byte { return raw }
	o, err := v.Object()
	if err != nil {
		p.reject(pos, record.ReasonNotObject, raw)
		return
	}
	switch {
	case o.Get("eventName") != nil || o.Get("eventTime") != nil || o.Get("eventVersion") != nil:
		p.event(pos, o, excerpt)
	case o.Get("detail-type") != nil:
		dt, err := o.Get("detail-type").StringBytes()
		if err != nil {
			p.reject(pos, "detail-type: not a string", raw)
			return
		}
		if !bytes.Contains(dt, []byte("CloudTrail")) {
			p.sink.Ignore(pos, IgnoreNotCloudTrail)
			return
		}
		dv := o.Get("detail")
		if dv == nil {
			p.reject(pos, "detail: missing", raw)
			return
		}
		d, err := dv.Object()
		if err != nil {
			p.reject(pos, "detail: not an object", raw)
			return
		}
		p.event(pos, d, excerpt)
	case o.Get("CloudTrailEvent") != nil:
		p.embedded(pos, v, "CloudTrailEvent", excerpt)
	case o.Get("message") != nil:
		p.embedded(pos, v, "message", excerpt)
	default:
		if _, f := containerOf(v); f != 0 {
			p.reject(pos, "a container of events inside an array", raw)
			return
		}
		p.event(pos, o, excerpt)
	}
}

// embedded reads the event held as a JSON string in v's key.
func (p *parser) embedded(pos record.Position, v *fastjson.Value, key string, excerpt func() []byte) {
	s := v.Get(key)
	if s == nil || s.Type() != fastjson.TypeString {
		p.reject(pos, key+": missing or not a string", excerpt())
		return
	}
	text := s.GetStringBytes()
	if bytes.IndexByte(text, 0) >= 0 {
		p.reject(pos, key+": "+record.ReasonNUL, excerpt())
		return
	}
	inner, err := p.inner.ParseBytes(text)
	if err != nil {
		p.reject(pos, key+": "+record.JSONErrorReason(err), excerpt())
		return
	}
	o, err := inner.Object()
	if err != nil {
		p.reject(pos, key+": "+record.ReasonNotObject, excerpt())
		return
	}
	p.event(pos, o, excerpt)
}
