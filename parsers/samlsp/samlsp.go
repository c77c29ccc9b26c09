// Package samlsp reads a SAML service provider's own application log: the
// AuthnRequests it sent and the responses it consumed. That log is the
// middle of the join from a captured assertion to the IdP's issuance: AD
// FS logs its token issuance (event 1200) under the request's activity id,
// which it adopts from the client-request-id the SP passed, and not under
// the assertion's id. So an assertion's InResponseTo names the SP's
// AuthnRequest, whose record names the client-request-id, which is the
// 1200 event's activity id.
//
// # Lines
//
// JSON lines as structured loggers write them: Go's log/slog
// ({"time":…,"level":"INFO","msg":…}, groups as nested objects), zap
// ({"level":"info","ts":1772614800.123,"msg":…}, production epoch seconds
// or ISO 8601), logrus ({"level":"info","msg":…,"time":…}), Python's
// structlog ({"event":…,"level":"info","timestamp":…}). Fields are read
// at the top level, in an object one level down (a slog group, a zap
// namespace: {"saml":{"authn_request_id":…}}), or at a dotted path.
//
// The default names are the SAML protocol's own in snake_case, and the
// request id passed to the IdP under its parameter's name:
//
//	authn_request_id   authn_request_id, authnRequestId, request_id (only beside a SAML field)
//	client_request_id  client_request_id, client-request-id, clientRequestId
//	in_response_to     in_response_to, inResponseTo
//	assertion_id       assertion_id, assertionId
//	session_index      session_index, sessionIndex
//	name_id            name_id, nameId, nameID
//	issuer             issuer, idp_entity_id, idp
//	destination        destination, idp_sso_url
//	saml_response      saml_response, SAMLResponse (the message itself, base64)
//	time               time, ts, timestamp, @timestamp
//	message            msg, message, event
//	level              level, severity
//	observer           service, app, sp_entity_id
//	client_ip          client_ip, remote_addr, ip
//	user_agent         user_agent
//	outcome            outcome, result
//
// record.Options.FieldMap maps any of these logical names to the key an
// SP's log uses (--field-map in_response_to=saml.irt).
//
// # Records
//
// A line with a SAML response (saml_response) is a sighting of the
// message itself (verified by the analyzer). A line with an assertion id
// (a response consumed) is a sighting of that assertion by id: the
// principal its NameID, the outcome rejected when the line's level is
// error or its outcome says so, else accepted; Attrs keep in_response_to,
// session_index and the message. A line with an AuthnRequest id and no
// assertion is a link (record.LinkSAMLRequest) from the request to the
// request id the SP passed to the IdP (lower case, braces taken off, as
// AD FS logs activity ids), or to nothing when none was passed. Other
// lines are ignored ("not a SAML event"), malformed ones rejected.
package samlsp

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format is the saml-sp format.
var Format = Parser{}

// Parser reads SP application logs. The zero value is ready.
type Parser struct{}

func (Parser) Name() string { return "saml-sp" }
func (Parser) Description() string {
	return "a SAML service provider's JSON log (slog, zap, logrus, structlog): AuthnRequests sent, responses consumed"
}

// LineIndependent: every line stands alone.
func (Parser) LineIndependent() bool { return true }

// Ignore reasons.
const (
	IgnoreNotSAML      = "not a SAML event"
	IgnoreNoAssertion  = "SAML response logged without its assertion id"
	ReasonBadSAMLValue = "saml_response is not a SAML message"
)

// logical field names, and the names tried for each after the field map's.
var defaultNames = map[string][]string{
	"authn_request_id":  {"authn_request_id", "authnRequestId"},
	"client_request_id": {"client_request_id", "client-request-id", "clientRequestId"},
	"in_response_to":    {"in_response_to", "inResponseTo"},
	"assertion_id":      {"assertion_id", "assertionId"},
	"session_index":     {"session_index", "sessionIndex"},
	"name_id":           {"name_id", "nameId", "nameID"},
	"issuer":            {"issuer", "idp_entity_id", "idp"},
	"destination":       {"destination", "idp_sso_url"},
	"saml_response":     {"saml_response", "SAMLResponse"},
	"time":              {"time", "ts", "timestamp", "@timestamp"},
	"message":           {"msg", "message", "event"},
	"level":             {"level", "severity"},
	"observer":          {"service", "app", "sp_entity_id"},
	"client_ip":         {"client_ip", "remote_addr", "ip"},
	"user_agent":        {"user_agent"},
	"outcome":           {"outcome", "result"},
}

// sniffKeys are the keys whose presence says a line is an SP's SAML event.
var sniffKeys = [][]byte{
	[]byte(`"authn_request_id"`), []byte(`"in_response_to"`), []byte(`"assertion_id"`),
	[]byte(`"authnRequestId"`), []byte(`"inResponseTo"`), []byte(`"assertionId"`),
}

// Sniff claims JSON lines of which one at least names a SAML protocol id.
func (Parser) Sniff(sample [][]byte) bool {
	hit := false
	for _, l := range sample {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] != '{' {
			return false
		}
		for _, k := range sniffKeys {
			if bytes.Contains(l, k) {
				hit = true
			}
		}
	}
	return hit
}

type names map[string][]string

func resolve(fieldMap map[string]string) names {
	n := names{}
	for logical, def := range defaultNames {
		if m := fieldMap[logical]; m != "" {
			n[logical] = append([]string{m}, def...)
		} else {
			n[logical] = def
		}
	}
	return n
}

// Parse implements record.Format.
func (Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	nm := resolve(in.Options.FieldMap)
	var p fastjson.Parser
	var attrs record.Attrs
	return record.EachLine(ctx, in, Format.Name(), sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: Format.Name()}
		o, ok := record.JSONObject(&p, line, pos, sink)
		if !ok {
			return
		}
		get := func(logical string) string { return lookup(o, nm[logical]) }
		observer := in.Options.Observer
		if observer == "" {
			observer = get("observer")
		}
		at := readTime(o, nm["time"], in.Options.Loc())
		msg := record.Excerpt(get("message"), 200)
		attrs.Reset()

		if v := get("saml_response"); v != "" {
			xml, binding, err := record.DecodeSAMLMessage(v)
			if err != nil {
				sink.Reject(&record.Reject{Pos: pos, Reason: ReasonBadSAMLValue + ": " + err.Error(), Excerpt: record.Excerpt(v, 64)})
				return
			}
			attrs.Add("binding", binding)
			attrs.Add("captured", "sp-log")
			attrs.Add("msg", msg)
			sink.Sighting(&record.Sighting{Kind: record.KindSAML, Raw: string(xml), ObservedAt: at, Source: record.SourceAuth,
				Observer: observer, ClientIP: record.ClientIP(get("client_ip")), UserAgent: get("user_agent"),
				Outcome: outcome(get("level"), get("outcome"), msg), Attrs: attrs.String(), Pos: pos})
			return
		}
		assertion, irt, areq := get("assertion_id"), get("in_response_to"), get("authn_request_id")
		switch {
		case assertion != "":
			attrs.Add("captured", "sp-log")
			attrs.Add("in_response_to", irt)
			attrs.Add("msg", msg)
			attrs.Add("session_index", get("session_index"))
			sink.Sighting(&record.Sighting{Kind: record.KindSAML, ArtifactID: assertion, Issuer: get("issuer"),
				ObservedAt: at, Source: record.SourceAuth, Observer: observer, Principal: get("name_id"),
				ClientIP: record.ClientIP(get("client_ip")), UserAgent: get("user_agent"),
				Outcome: outcome(get("level"), get("outcome"), msg), Attrs: attrs.String(), Pos: pos})
		case irt != "":
			sink.Ignore(pos, IgnoreNoAssertion)
		case areq != "":
			to, toKind := ActivityID(get("client_request_id")), record.KindSAML
			if to == "" {
				toKind = ""
			}
			attrs.Add("destination", get("destination"))
			attrs.Add("issuer", get("issuer"))
			attrs.Add("msg", msg)
			record.EmitLink(sink, &record.Link{Relation: record.LinkSAMLRequest, FromKind: record.KindSAMLRequest, FromID: areq,
				ToKind: toKind, ToID: to, At: at, Observer: observer, Principal: get("name_id"), Attrs: attrs.String(), Pos: pos})
		default:
			sink.Ignore(pos, IgnoreNotSAML)
		}
	})
}

// ActivityID is a request id as AD FS logs activity ids: a GUID in lower
// case without braces; other ids as they are.
func ActivityID(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) == 36 && strings.Count(s, "-") == 4 {
		return strings.ToLower(s)
	}
	return s
}

// lookup returns the first non-empty scalar under any of names: a key of
// o, a dotted path, or a key of an object one level down.
func lookup(o *fastjson.Object, names []string) string {
	for _, n := range names {
		if s := scalar(o.Get(n)); s != "" {
			return s
		}
		if strings.Contains(n, ".") {
			parts := strings.Split(n, ".")
			if v := o.Get(parts[0]); v != nil {
				if s := scalar(v.Get(parts[1:]...)); s != "" {
					return s
				}
			}
		}
	}
	var found string
	o.Visit(func(_ []byte, v *fastjson.Value) {
		if found != "" || v.Type() != fastjson.TypeObject {
			return
		}
		for _, n := range names {
			if s := scalar(v.Get(n)); s != "" {
				found = s
				return
			}
		}
	})
	return found
}

func scalar(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		s := strings.TrimSpace(string(b))
		if s == "-" {
			return ""
		}
		return s
	case fastjson.TypeNumber:
		return v.String()
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	}
	return ""
}

// readTime reads a time string in any record.ParseTime form, or epoch
// seconds (zap's ts), milliseconds or microseconds as a number.
func readTime(o *fastjson.Object, names []string, loc *time.Location) time.Time {
	for _, n := range names {
		v := o.Get(n)
		if v == nil {
			continue
		}
		if v.Type() == fastjson.TypeNumber {
			f, err := v.Float64()
			if err != nil {
				continue
			}
			if t, err := record.EpochTime(f); err == nil {
				return t
			}
			continue
		}
		s := scalar(v)
		if s == "" {
			continue
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if t, err := record.EpochTime(f); err == nil {
				return t
			}
		}
		if t, err := record.ParseTime(s, loc); err == nil {
			return t
		}
	}
	return time.Time{}
}

// outcome is rejected when the line's level is an error or its outcome
// or message says the response was refused, else accepted.
func outcome(level, out, msg string) string {
	l := strings.ToLower(level)
	o := strings.ToLower(out)
	m := strings.ToLower(msg)
	switch {
	case l == "error" || l == "err" || l == "fatal" || l == "critical" || l == "50" || l == "60":
		return record.OutcomeRejected
	case o == "failure" || o == "failed" || o == "rejected" || o == "denied" || o == "deny" || o == "error":
		return record.OutcomeRejected
	case o == "success" || o == "accepted" || o == "allow" || o == "ok":
		return record.OutcomeAccepted
	case strings.Contains(m, "reject") || strings.Contains(m, "invalid") || strings.Contains(m, "fail"):
		return record.OutcomeRejected
	}
	return record.OutcomeAccepted
}
