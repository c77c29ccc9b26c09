package okta

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// partnerSource starts the source of the events that Okta's log streaming
// puts on an EventBridge bus: aws.partner/okta.com/<org>/<source name>.
const partnerSource = "aws.partner/okta.com/"

// Token grant event types: the custom authorization servers' and the org
// authorization server's, each followed by ".<token type>" on success.
var grantPrefixes = []string{"app.oauth2.as.token.grant", "app.oauth2.token.grant"}

// maxAttr bounds one attribute value taken from an event.
const maxAttr = 1024

// record turns one JSON value (a LogEvent, or an envelope of one) into a
// row, a reject or an ignore.
func (p *parser) record(pos record.Position, v *fastjson.Value, raw []byte) {
	reject := func(reason string) {
		p.sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(raw)})
	}
	if v.Type() != fastjson.TypeObject {
		reject(record.ReasonNotObject)
		return
	}
	ev, err := p.unwrap(v)
	if err != nil {
		reject(err.Error())
		return
	}
	var e event
	if err := e.read(ev); err != nil {
		reject(err.Error())
		return
	}
	if ignore, err := p.emit(pos, &e); err != nil {
		reject(err.Error())
	} else if ignore != "" {
		p.sink.Ignore(pos, ignore)
	}
}

// unwrap returns the LogEvent of v: the detail of an Okta EventBridge
// envelope, the result._raw of a Splunk export, or v itself. It sets p.org
// from an envelope's source.
func (p *parser) unwrap(v *fastjson.Value) (*fastjson.Value, error) {
	p.org = ""
	if okta, org := eventBridgeOrg(v); okta {
		detail := v.Get("detail")
		if detail == nil || detail.Type() != fastjson.TypeObject {
			return nil, errors.New("EventBridge event without a detail object")
		}
		p.org = org
		return detail, nil
	}
	if v.Get("eventType") != nil {
		return v, nil
	}
	if src, dt := v.Get("source"), v.Get("detail-type"); src != nil && dt != nil && v.Get("detail") != nil {
		return nil, errors.New("EventBridge event of another source than Okta")
	}
	if raw := v.Get("result", "_raw"); raw != nil && raw.Type() == fastjson.TypeString {
		inner, err := p.inner.ParseBytes(raw.GetStringBytes())
		if err != nil {
			return nil, errors.New("Splunk export: _raw: " + record.JSONErrorReason(err))
		}
		if inner.Type() != fastjson.TypeObject {
			return nil, errors.New("Splunk export: _raw is not a JSON object")
		}
		return inner, nil
	}
	return v, nil
}

// eventBridgeOrg reports whether v is an EventBridge envelope from Okta's
// partner event source, and the org its source names.
func eventBridgeOrg(v *fastjson.Value) (okta bool, org string) {
	src := v.Get("source")
	if src == nil || src.Type() != fastjson.TypeString || v.Get("detail") == nil {
		return false, ""
	}
	s := string(src.GetStringBytes())
	if !strings.HasPrefix(s, partnerSource) {
		return false, ""
	}
	org, _, _ = strings.Cut(s[len(partnerSource):], "/")
	return true, org
}

// event is what the mapping reads of a LogEvent.
type event struct {
	uuid, eventType, message   string
	published                  time.Time
	result, reason             string
	actorID, actorType         string
	actorLogin, actorName      string
	clientIP, userAgent        string
	zone, device, deviceID     string
	country, city              string
	sessionID, rootSessionID   string
	authProvider, credProvider string
	credType, iface            string
	transactionID              string
	debug                      *fastjson.Value // debugContext.debugData, or nil
	targets                    []*fastjson.Value
}

// read takes the LogEvent v apart; a required field missing or a field of
// the wrong JSON type is an error.
func (e *event) read(v *fastjson.Value) error {
	var f fields
	e.eventType = f.str(v, "eventType", "eventType")
	published := f.str(v, "published", "published")
	if f.err != nil {
		return f.err
	}
	if e.eventType == "" {
		return errors.New("missing eventType")
	}
	if published == "" {
		return errors.New("missing published")
	}
	t, err := record.ParseTime(published, time.UTC)
	if err != nil {
		return fmt.Errorf("published: %w", err)
	}
	e.published = t
	e.uuid = f.str(v, "uuid", "uuid")
	e.message = f.str(v, "displayMessage", "displayMessage")

	outcome := f.obj(v, "outcome", "outcome")
	e.result = strings.ToUpper(f.str(outcome, "outcome.result", "result"))
	e.reason = f.str(outcome, "outcome.reason", "reason")

	actor := f.obj(v, "actor", "actor")
	e.actorID = f.str(actor, "actor.id", "id")
	e.actorType = f.str(actor, "actor.type", "type")
	e.actorLogin = f.str(actor, "actor.alternateId", "alternateId")
	e.actorName = f.str(actor, "actor.displayName", "displayName")

	client := f.obj(v, "client", "client")
	e.clientIP = f.str(client, "client.ipAddress", "ipAddress")
	e.userAgent = f.str(f.obj(client, "client.userAgent", "userAgent"), "client.userAgent.rawUserAgent", "rawUserAgent")
	e.zone = nullString(f.str(client, "client.zone", "zone"))
	e.device = f.str(client, "client.device", "device")
	geo := f.obj(client, "client.geographicalContext", "geographicalContext")
	e.country = f.str(geo, "client.geographicalContext.country", "country")
	e.city = f.str(geo, "client.geographicalContext.city", "city")
	e.deviceID = f.str(f.obj(v, "device", "device"), "device.id", "id")

	auth := f.obj(v, "authenticationContext", "authenticationContext")
	e.sessionID = sessionID(f.str(auth, "authenticationContext.externalSessionId", "externalSessionId"))
	e.rootSessionID = sessionID(f.str(auth, "authenticationContext.rootSessionId", "rootSessionId"))
	e.authProvider = f.str(auth, "authenticationContext.authenticationProvider", "authenticationProvider")
	e.credProvider = scalarText(auth.Get("credentialProvider")) // a string, or a list in old events
	e.credType = f.str(auth, "authenticationContext.credentialType", "credentialType")
	e.iface = f.str(auth, "authenticationContext.interface", "interface")

	e.transactionID = f.str(f.obj(v, "transaction", "transaction"), "transaction.id", "id")
	e.debug = f.obj(f.obj(v, "debugContext", "debugContext"), "debugContext.debugData", "debugData")

	if tv := v.Get("target"); tv != nil && tv.Type() != fastjson.TypeNull {
		arr, err := tv.Array()
		if err != nil {
			return fmt.Errorf("target is a JSON %s", tv.Type())
		}
		for i, t := range arr {
			if t.Type() == fastjson.TypeNull {
				continue
			}
			if t.Type() != fastjson.TypeObject {
				return fmt.Errorf("target %d is a JSON %s", i, t.Type())
			}
			for _, k := range []string{"id", "type", "alternateId", "displayName"} {
				f.str(t, "target."+k, k)
			}
			f.obj(t, "target.detailEntry", "detailEntry")
			e.targets = append(e.targets, t)
		}
	}
	return f.err
}

// nullString is s, or "" for Okta's "null".
func nullString(s string) string {
	if s == "null" {
		return ""
	}
	return s
}

// sessionID is an externalSessionId, or "" for Okta's "unknown".
func sessionID(s string) string {
	if strings.EqualFold(s, "unknown") || s == "null" {
		return ""
	}
	return s
}

// emit sends e's row to the sink, or returns the reason it is ignored.
func (p *parser) emit(pos record.Position, e *event) (ignore string, err error) {
	if tokenType, ok := grantEvent(e.eventType); ok {
		switch e.result {
		case "SUCCESS":
			return "", p.grant(pos, e, tokenType)
		case "FAILURE", "DENY":
			return IgnoreGrantFailed, nil
		}
		return IgnoreGrantUnknown, nil
	}
	if !strings.EqualFold(e.actorType, "User") || e.sessionID == "" {
		return IgnoreNoCredential, nil
	}
	if e.eventType == "user.session.start" && e.result == "SUCCESS" {
		p.sessionStart(pos, e)
		return "", nil
	}
	if !sessionUse(e.eventType) {
		return IgnoreNoCredential, nil
	}
	p.sessionSighting(pos, e)
	return "", nil
}

// grantEvent reports whether eventType is a token grant's, and the token
// type it names ("" for the bare failure types).
func grantEvent(eventType string) (tokenType string, ok bool) {
	for _, prefix := range grantPrefixes {
		if eventType == prefix {
			return "", true
		}
		if rest, found := strings.CutPrefix(eventType, prefix+"."); found {
			return rest, true
		}
	}
	return "", false
}

// sessionUse reports whether eventType is a sign-in to or a use of the
// actor's own Okta session. An admin's user.session.clear ends another
// user's sessions, and is an admin change.
func sessionUse(eventType string) bool {
	switch {
	case eventType == "policy.evaluate_sign_on":
		return true
	case eventType == "user.session.clear":
		return false
	}
	for _, prefix := range []string{"user.authentication.", "user.session.", "app.oauth2.authorize", "app.oauth2.as.authorize"} {
		if strings.HasPrefix(eventType, prefix) {
			return true
		}
	}
	return false
}

// sessionStart emits the issuance of a session.
func (p *parser) sessionStart(pos record.Position, e *event) {
	attrs := e.commonAttrs()
	attrs["ipAddress"] = e.clientIP
	attrs["userAgent"] = e.userAgent
	attrs["country"], attrs["city"] = e.country, e.city
	attrs["deviceId"] = e.deviceID
	p.sink.Issuance(&record.Issuance{
		Kind: KindSession, ArtifactID: e.sessionID, Subject: e.actorLogin,
		IssuedAt: e.published, Attrs: record.AttrsJSON(bounded(attrs)), Pos: pos,
	})
}

// sessionSighting emits a sighting of the actor's session.
func (p *parser) sessionSighting(pos record.Position, e *event) {
	attrs := e.commonAttrs()
	attrs["displayMessage"] = e.message
	attrs["result"] = e.result
	attrs["reason"] = e.reason
	attrs["appId"], attrs["app"] = e.apps()
	attrs["country"], attrs["city"] = e.country, e.city
	attrs["zone"], attrs["device"], attrs["deviceId"] = e.zone, e.device, e.deviceID
	observer := p.observer
	if observer == "" {
		observer = "okta"
		if p.org != "" {
			observer += ":" + p.org
		}
	}
	p.sink.Sighting(&record.Sighting{
		Kind: KindSession, ArtifactID: e.sessionID, ObservedAt: e.published,
		Source: record.SourceAuth, Observer: observer, Principal: e.actorLogin,
		ClientIP: record.ClientIP(e.clientIP), UserAgent: e.userAgent, Action: e.eventType,
		Outcome: outcome(e.result), Attrs: record.AttrsJSON(bounded(attrs)), Pos: pos,
	})
}

// commonAttrs are the attributes of both session rows.
func (e *event) commonAttrs() map[string]string {
	m := map[string]string{
		"uuid": e.uuid, "eventType": e.eventType, "actorId": e.actorID, "transactionId": e.transactionID,
		"authenticationProvider": e.authProvider, "credentialProvider": e.credProvider,
		"credentialType": e.credType, "interface": e.iface,
	}
	if e.rootSessionID != e.sessionID {
		m["rootSessionId"] = e.rootSessionID
	}
	return m
}

// outcome maps outcome.result to a verifier outcome.
func outcome(result string) string {
	switch result {
	case "SUCCESS", "ALLOW":
		return record.OutcomeAccepted
	case "FAILURE", "DENY":
		return record.OutcomeRejected
	}
	return record.OutcomeUnknown
}

// isApp reports whether an actor or target type is an app (an OIDC app's
// instance id is its client id).
func isApp(typ string) bool {
	return strings.Contains(typ, "ClientApp") || typ == "AppInstance"
}

// apps are the ids and names of e's app targets, comma-separated.
func (e *event) apps() (ids, names string) {
	var idList, nameList []string
	for _, t := range e.targets {
		if isApp(str(t, "type")) {
			idList = append(idList, str(t, "id"))
			nameList = append(nameList, str(t, "displayName"))
		}
	}
	return joinNonEmpty(idList), joinNonEmpty(nameList)
}

func joinNonEmpty(list []string) string {
	out := list[:0]
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ",")
}

// grant emits the issuance of the token a grant event names.
func (p *parser) grant(pos record.Position, e *event, tokenType string) error {
	var token *fastjson.Value
	var others []string
	var userID, user string
	for _, t := range e.targets {
		typ := str(t, "type")
		switch {
		case token == nil && (typ == tokenType || tokenType == "" && isTokenType(typ)):
			token = t
		case isTokenType(typ):
			others = append(others, typ+":"+str(t, "id"))
		case typ == "User" && userID == "":
			userID, user = str(t, "id"), str(t, "alternateId")
		}
	}
	if tokenType == "" && token != nil {
		tokenType = str(token, "type")
	}
	iss := &record.Issuance{Kind: record.KindJWT, Subject: e.actorLogin, IssuedAt: e.published, Pos: pos}
	var hash string
	if token != nil {
		iss.ArtifactID = str(token, "id")
		var f fields
		detail := token.Get("detailEntry")
		subject := f.str(detail, "detailEntry.subject", "subject")
		exp := f.str(detail, "detailEntry.expires", "expires")
		hash = f.str(detail, "detailEntry.hash", "hash")
		if f.err != nil {
			return f.err
		}
		if subject != "" {
			iss.Subject = subject
		}
		if exp != "" {
			t, err := record.ParseTime(exp, time.UTC)
			if err != nil {
				return fmt.Errorf("detailEntry.expires: %w", err)
			}
			iss.ExpiresAt = t
		}
		aud, err := audience(detail.Get("audience"))
		if err != nil {
			return err
		}
		iss.Audience = aud
	}
	clientID, app := e.client()
	if iss.Audience == "" && clientID != "" {
		iss.Audience, iss.AudienceIsClient = clientID, true
	}
	iss.Issuer = issuerURL(str(e.debug, "issuer"))
	attrs := map[string]string{
		"uuid": e.uuid, "eventType": e.eventType, "tokenType": tokenType, "clientId": clientID, "app": app,
		"grantType": str(e.debug, "grantType"), "grantedScopes": str(e.debug, "grantedScopes"),
		"requestedScopes": str(e.debug, "requestedScopes"), "clientAuthType": str(e.debug, "clientAuthType"),
		"authServerId": e.authServerID(), "authorizationServerName": str(e.debug, "authorizationServerName"),
		"userId": userID, "user": user, "transactionId": e.transactionID, "externalSessionId": e.sessionID,
		"ipAddress": e.clientIP, "userAgent": e.userAgent, "hash": hash, "otherTokens": strings.Join(others, ","),
	}
	iss.Attrs = record.AttrsJSON(bounded(attrs))
	p.sink.Issuance(iss)
	return nil
}

// isTokenType reports whether a target type is a granted token's.
func isTokenType(typ string) bool {
	return strings.HasSuffix(typ, "_token") || typ == "id_jag"
}

// client is the id and name of the client a grant was made to.
func (e *event) client() (id, name string) {
	if id = str(e.debug, "clientId"); id != "" {
		return id, ""
	}
	if isApp(e.actorType) {
		return e.actorID, e.actorName
	}
	for _, t := range e.targets {
		if isApp(str(t, "type")) {
			return str(t, "id"), str(t, "displayName")
		}
	}
	return "", ""
}

// authServerID is the custom authorization server of a grant: its target's
// id, else the {id} of debugData.requestUri /oauth2/{id}/v1/…; "" for the
// org authorization server (/oauth2/v1/…).
func (e *event) authServerID() string {
	for _, t := range e.targets {
		if str(t, "type") == "AuthorizationServer" {
			return str(t, "id")
		}
	}
	rest, ok := strings.CutPrefix(str(e.debug, "requestUri"), "/oauth2/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	if id == "v1" {
		return ""
	}
	return id
}

// issuerURL is s when it is an http(s) URL, else "".
func issuerURL(s string) string {
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return s
	}
	return ""
}

// audience reads a logged audience: a string, or an array of strings
// joined with commas.
func audience(v *fastjson.Value) (string, error) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return "", nil
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes()), nil
	case fastjson.TypeArray:
		var list []string
		for _, x := range v.GetArray() {
			if x.Type() != fastjson.TypeString {
				return "", fmt.Errorf("detailEntry.audience holds a JSON %s", x.Type())
			}
			list = append(list, string(x.GetStringBytes()))
		}
		return joinNonEmpty(list), nil
	}
	return "", fmt.Errorf("detailEntry.audience is a JSON %s", v.Type())
}

// bounded cuts every value of m to maxAttr bytes.
func bounded(m map[string]string) map[string]string {
	for k, v := range m {
		if len(v) > maxAttr {
			m[k] = v[:maxAttr]
		}
	}
	return m
}

// fields reads typed fields of a LogEvent, keeping the first type error.
type fields struct{ err error }

// str is the string at key of v: "" when v or the key is absent or null;
// another JSON type is an error, named name.
func (f *fields) str(v *fastjson.Value, name, key string) string {
	x := v.Get(key)
	if x == nil || x.Type() == fastjson.TypeNull {
		return ""
	}
	if x.Type() != fastjson.TypeString {
		f.fail(name, x)
		return ""
	}
	return string(x.GetStringBytes())
}

// obj is the object at key of v, or nil when absent or null; another JSON
// type is an error.
func (f *fields) obj(v *fastjson.Value, name, key string) *fastjson.Value {
	x := v.Get(key)
	if x == nil || x.Type() == fastjson.TypeNull {
		return nil
	}
	if x.Type() != fastjson.TypeObject {
		f.fail(name, x)
		return nil
	}
	return x
}

func (f *fields) fail(name string, x *fastjson.Value) {
	if f.err == nil {
		f.err = fmt.Errorf("%s is a JSON %s", name, x.Type())
	}
}

// str is the string at key of v, "" for anything else; for fields read
// after the event's types were checked, and for debugData, whose values
// the mapping reads only when they are strings.
func str(v *fastjson.Value, key string) string {
	x := v.Get(key)
	if x == nil || x.Type() != fastjson.TypeString {
		return ""
	}
	return string(x.GetStringBytes())
}

// scalarText is a string, or the strings of an array joined with commas;
// "" for anything else.
func scalarText(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeArray:
		var list []string
		for _, x := range v.GetArray() {
			if x.Type() == fastjson.TypeString {
				list = append(list, string(x.GetStringBytes()))
			}
		}
		return joinNonEmpty(list)
	}
	return ""
}
