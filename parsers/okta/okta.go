// Package okta reads the Okta System Log: the issuer's record of the OAuth
// 2.0 tokens its authorization servers grant and of the Okta sessions it
// starts, and the platform's record of those sessions' use.
//
// # Forms
//
// Each record is one LogEvent (uuid, published, eventType, version,
// severity, displayMessage, actor, client, device, outcome, target,
// transaction, debugContext.debugData, authenticationContext,
// securityContext, request), in any of the forms Okta and its exporters
// write:
//
//	{"actor":{…},"client":{…},"eventType":"user.session.start","published":"2026-03-04T10:00:00.123Z",…}
//	[{"actor":{…},"eventType":"user.authentication.sso",…},{…}]
//	{"version":"0","id":"…","detail-type":"SystemLog","source":"aws.partner/okta.com/acme/okta-logs","time":"…","detail":{"eventType":…}}
//	{"preview":false,"result":{"_raw":"{\"eventType\":…}",…}}
//
// The first is one event per line (Splunk and SIEM exports, jq -c '.[]');
// the second the System Log API's page (GET /api/v1/logs: a JSON array,
// compact or pretty-printed, several pages one after the other); the third
// log streaming to Amazon EventBridge, one EventBridge event per line as a
// rule's target stores them, whose detail is the LogEvent and whose source
// names the org (aws.partner/okta.com/<org>/<source name>); the
// fourth a Splunk search export (output_mode=json), whose result._raw is the
// event as Okta sent it. Lines and array elements may mix events and
// envelopes. A line is a record at its line number; an array element is a
// record at its ordinal in the file (1-based, across pages:
// record.EntryPositions). A malformed array cannot be resynchronised, so the
// first syntax error rejects the element it is in and stops the file with a
// record.RecordError.
//
// published is read with every precision Okta and its exporters write
// ("2026-03-04T10:00:00.123Z", "2026-03-04T10:00:00Z", the
// "2026-03-04 10:00:00.123" of SIEM tables), in UTC. null is Okta's missing
// value everywhere; the string "null" of client.zone and the session id
// "unknown" are too.
//
// # Token grants
//
// An event whose eventType is app.oauth2.as.token.grant[.<token>] (a custom
// authorization server) or app.oauth2.token.grant[.<token>] (the org
// authorization server) and whose outcome is SUCCESS is one Issuance of kind
// "jwt": Okta logs one event per token granted, the token as the target of
// the type the eventType names (access_token, id_token, refresh_token,
// id_jag) with its id (the token's jti: "AT.…", "ID.…") and a detailEntry
// of expires, subject and hash (the base64 SHA-256 of the raw token).
//
//	ArtifactID       = that target's id ("" when the event names none: the issuance can then only match weakly)
//	Issuer           = debugData.issuer when it is an http(s) URL, else "" (the System Log does not log the
//	                   issuer, and an org's issuer may be a custom domain, so it is never built)
//	Subject          = detailEntry.subject, else actor.alternateId
//	Audience         = detailEntry.audience when logged; else the client id, with AudienceIsClient
//	IssuedAt         = published; ExpiresAt = detailEntry.expires
//	client id        = debugData.clientId, else the actor's id when the actor is the client app
//	                   (PublicClientApp), else the id of an app target (AppInstance)
//
// Attrs: uuid, eventType, tokenType, clientId, app (the client's name),
// grantType, grantedScopes, requestedScopes, clientAuthType, authServerId
// (the AuthorizationServer target's id, else the {id} of debugData.requestUri
// /oauth2/{id}/v1/token; absent for the org server), authorizationServerName,
// userId and user (the User target), transactionId, externalSessionId,
// ipAddress, userAgent, hash, and otherTokens ("type:id" of the other
// token targets of the event, if any). A grant that failed (FAILURE or
// DENY; the failure events are the bare …token.grant types) is ignored as
// IgnoreGrantFailed, one with another or no outcome as IgnoreGrantUnknown.
//
// # Sessions
//
// A user.session.start of a User actor with outcome SUCCESS is an Issuance
// of kind "okta-session" (KindSession): ArtifactID =
// authenticationContext.externalSessionId, Issuer "", Subject =
// actor.alternateId, IssuedAt = published; Attrs: uuid, eventType, actorId,
// transactionId, ipAddress, userAgent, country, city, deviceId,
// rootSessionId (when it differs), authenticationProvider,
// credentialProvider, credentialType, interface.
//
// The events in which a User signs in to or uses a session
// (user.authentication.*, user.session.* other than a successful start and
// an admin's clear, policy.evaluate_sign_on, app.oauth2.authorize* and
// app.oauth2.as.authorize*) and that carry a session id are id-only
// Sightings of that session: Kind "okta-session", ArtifactID =
// externalSessionId, Issuer "", ObservedAt = published, Source "auth",
// Observer "okta:<org>" (the org of the EventBridge source, else "okta";
// Options.Observer overrides), Principal = actor.alternateId, ClientIP =
// client.ipAddress, UserAgent = client.userAgent.rawUserAgent, Action =
// eventType, Outcome accepted for SUCCESS and ALLOW, rejected for FAILURE
// and DENY, unknown otherwise. Attrs: uuid, eventType, displayMessage,
// result, reason (outcome.reason), appId and app (the app targets' ids and
// names, comma-separated), actorId, transactionId, country, city, zone,
// device, deviceId, rootSessionId, authenticationProvider,
// credentialProvider, credentialType, interface.
//
// Every other event (admin changes, system events, token revocations, and
// events without a session id or of another actor) is ignored as
// IgnoreNoCredential. An event that cannot be read (bad JSON, no eventType
// or published, a field of the wrong JSON type, a time that does not parse)
// is rejected with the reason. Each record ends in exactly one issuance,
// sighting, reject or ignore. debugData.url (it may hold a state token) and
// debugData.clientSecret are never kept.
package okta

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads the Okta System Log. See the package documentation.
var Format record.Format = format{}

// KindSession is the kind of an Okta session known by its
// externalSessionId (the analyzer's idkind.OktaSession).
const KindSession = "okta-session"

// Ignore reasons.
const (
	IgnoreGrantFailed  = "token grant failed"
	IgnoreGrantUnknown = "token grant without an outcome" // none, or not SUCCESS, FAILURE or DENY
	IgnoreNoCredential = "no credential"
)

type format struct{}

func (format) Name() string { return "okta" }

func (format) Description() string {
	return "Okta System Log (API pages, NDJSON, EventBridge, Splunk export): granted token ids, session starts and session use"
}

// IssuerLog is false: the System Log holds the sessions' use too, so a file
// of it without an issuance is not the issuer's silence.
func (format) IssuerLog() bool { return false }

// EntryPositions: array elements are numbered by ordinal (see the package
// documentation); lines by line.
func (format) EntryPositions() bool { return true }

var bom = []byte("\xef\xbb\xbf")

// Sniff accepts a sample with a LogEvent line (a JSON object with eventType
// and published and an actor or legacyEventType, not an event hook's
// delivery), an API page's line, an EventBridge envelope from Okta's
// partner source, or a Splunk export of a LogEvent.
func (format) Sniff(sample [][]byte) bool {
	var p fastjson.Parser
	for _, line := range sample {
		line = bytes.TrimSpace(bytes.TrimPrefix(line, bom))
		if len(line) < 2 || line[0] != '{' && line[0] != '[' {
			continue
		}
		if line[0] == '{' {
			if v, err := p.ParseBytes(line); err == nil {
				if sniffObject(v) {
					return true
				}
				continue
			}
		}
		// an array page, or a line cut off by the sample's bound
		if sniffText(line) {
			return true
		}
	}
	return false
}

// sniffObject reports whether v is a LogEvent, an Okta EventBridge envelope
// or a Splunk export of a LogEvent.
func sniffObject(v *fastjson.Value) bool {
	if isLogEvent(v) {
		return true
	}
	if okta, _ := eventBridgeOrg(v); okta {
		return true
	}
	raw := v.Get("result", "_raw")
	if raw == nil || raw.Type() != fastjson.TypeString {
		return false
	}
	var p fastjson.Parser
	inner, err := p.ParseBytes(raw.GetStringBytes())
	return err == nil && isLogEvent(inner)
}

// isLogEvent reports whether v has a LogEvent's string eventType and
// published and an actor or legacyEventType.
func isLogEvent(v *fastjson.Value) bool {
	et, pub := v.Get("eventType"), v.Get("published")
	return et != nil && et.Type() == fastjson.TypeString && pub != nil && pub.Type() == fastjson.TypeString &&
		(v.Get("actor") != nil || v.Get("legacyEventType") != nil) && v.Get("cloudEventsVersion") == nil
}

// sniffText is isLogEvent for text that does not parse whole.
func sniffText(text []byte) bool {
	if bytes.Contains(text, []byte(`"cloudEventsVersion"`)) {
		return false
	}
	if hasKey(text, "eventType") && hasKey(text, "published") && (hasKey(text, "actor") || hasKey(text, "legacyEventType")) {
		return true
	}
	return hasKey(text, "source") && hasKey(text, "detail") && bytes.Contains(text, []byte(`"`+partnerSource))
}

// SniffFile accepts an API page: a JSON array whose first object has a
// LogEvent's keys. A pretty-printed page's first lines do not yet show
// eventType and published, which Sniff needs; and detection tries file
// sniffers first, before line sniffers whose test for a JSON array of
// objects is looser (Keycloak's events export: any two of type, ipAddress,
// ..., which a LogEvent has too).
func (format) SniffFile(_ string, head []byte) bool {
	rest := bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' {
		return false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '{' {
		return false
	}
	return hasKey(head, "uuid") && sniffText(head)
}

// hasKey reports whether text holds "key" followed by a colon.
func hasKey(text []byte, key string) bool {
	quoted := []byte(`"` + key + `"`)
	for {
		i := bytes.Index(text, quoted)
		if i < 0 {
			return false
		}
		text = bytes.TrimLeft(text[i+len(quoted):], " \t\r\n")
		if len(text) > 0 && text[0] == ':' {
			return true
		}
	}
}

// Parse streams the issuances and sightings of a System Log file into sink.
func (f format) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	p := &parser{in: in, sink: sink, name: f.Name(), observer: in.Options.Observer}
	br := bufio.NewReaderSize(in.R, 64<<10)
	if in.Options.Envelope == nil && startsArray(br) {
		return p.array(ctx, br)
	}
	lin := *in
	lin.R = br
	return record.EachLine(ctx, &lin, p.name, sink, func(lineNo int64, line []byte) {
		p.line(record.Position{File: in.Name, Line: lineNo, Format: p.name}, line)
	})
}

type parser struct {
	in       *record.Input
	sink     record.Sink
	name     string
	observer string // Options.Observer, or ""
	org      string // the org of the current record's envelope, or ""
	json     fastjson.Parser
	inner    fastjson.Parser // a Splunk export's _raw
}

// line reads one line's record: a LogEvent or an envelope of one.
func (p *parser) line(pos record.Position, line []byte) {
	line = bytes.TrimPrefix(line, bom)
	if !record.ValidUTF8(line, pos, p.sink) {
		return
	}
	if bytes.IndexByte(line, 0) >= 0 {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: record.ReasonNUL, Excerpt: string(line)})
		return
	}
	v, err := p.json.ParseBytes(line)
	if err != nil {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: record.JSONErrorReason(err), Excerpt: string(line)})
		return
	}
	p.record(pos, v, line)
}

// startsArray reports whether the stream (past a UTF-8 byte order mark,
// which it then discards) starts as a JSON array of objects: "[" and "{" or
// "]". It peeks at most the reader's buffer.
func startsArray(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	rest := bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' {
		return false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) > 0 && rest[0] != '{' && rest[0] != ']' {
		return false
	}
	if bytes.HasPrefix(head, bom) {
		br.Discard(len(bom))
	}
	return true
}

// errElementTooLong stops the reading of an array element past the bound.
var errElementTooLong = errors.New("element too long")

// errArraySyntax is an array's structure gone wrong outside its elements.
var errArraySyntax = errors.New("malformed JSON array")

// boundedReader feeds the JSON decoder, refusing to read past limit, so that
// one element is never buffered whole past the bound.
type boundedReader struct {
	r     io.Reader
	read  int64
	limit int64
}

func (b *boundedReader) Read(buf []byte) (int, error) {
	if b.read >= b.limit {
		return 0, errElementTooLong
	}
	if room := b.limit - b.read; int64(len(buf)) > room {
		buf = buf[:room]
	}
	n, err := b.r.Read(buf)
	b.read += int64(n)
	return n, err
}

// array reads one or more API pages: JSON arrays of events, each element a
// record at its ordinal.
func (p *parser) array(ctx context.Context, r io.Reader) error {
	max := int64(p.in.Options.MaxLineBytes)
	if max <= 0 {
		max = record.DefaultMaxLineBytes
	}
	br := &boundedReader{r: r, limit: max}
	dec := json.NewDecoder(br)
	var raw json.RawMessage
	var ordinal int64
	for {
		br.limit = dec.InputOffset() + max
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err == nil && tok != json.Delim('[') {
			err = fmt.Errorf("%w: expected [ or the end of the file", errArraySyntax)
		}
		if err != nil {
			return p.arrayStop(ordinal+1, max, err)
		}
		for dec.More() {
			if ordinal&0x3ff == 0x3ff {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			ordinal++
			br.limit = dec.InputOffset() + max + 1
			raw = raw[:0]
			if err := dec.Decode(&raw); err != nil {
				return p.arrayStop(ordinal, max, err)
			}
			p.in.CountRecord()
			p.element(record.Position{File: p.in.Name, Line: ordinal, Format: p.name}, raw)
		}
		br.limit = dec.InputOffset() + max
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			if err == nil {
				err = fmt.Errorf("%w: expected , or ] after an element", errArraySyntax)
			}
			return p.arrayStop(ordinal+1, max, err)
		}
	}
}

// element reads one array element's record.
func (p *parser) element(pos record.Position, raw []byte) {
	if !record.ValidUTF8(raw, pos, p.sink) {
		return
	}
	v, err := p.json.ParseBytes(raw)
	if err != nil {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: record.JSONErrorReason(err), Excerpt: string(raw)})
		return
	}
	p.record(pos, v, raw)
}

// arrayStop rejects the element (or the array syntax) at ordinal as one
// record and returns the error that stops the file; a read error of the
// underlying reader is returned as it is.
func (p *parser) arrayStop(ordinal, max int64, err error) error {
	var syntax *json.SyntaxError
	var reason string
	switch {
	case errors.As(err, &syntax):
		reason = "malformed JSON array: " + syntax.Error()
	case errors.Is(err, errElementTooLong):
		reason = fmt.Sprintf("%s (array element over %d bytes)", record.ReasonLineTooLong, max)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		reason = "JSON array cut off (truncated file?)"
	case errors.Is(err, errArraySyntax):
		reason = err.Error()
	default:
		return err
	}
	p.in.CountRecord()
	p.sink.Reject(&record.Reject{Pos: record.Position{File: p.in.Name, Line: ordinal, Format: p.name}, Reason: reason})
	return &record.RecordError{File: p.in.Name, Line: ordinal,
		Err: fmt.Errorf("%s; the rest of the file is not read: a JSON array cannot be resynchronised reliably", reason)}
}
