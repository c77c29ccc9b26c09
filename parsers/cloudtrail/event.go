package cloudtrail

import (
	"net"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

const stsSource = "sts.amazonaws.com"

// issuingCalls are the STS calls that return session credentials.
var issuingCalls = map[string]bool{
	"AssumeRole": true, "AssumeRoleWithSAML": true, "AssumeRoleWithWebIdentity": true,
	"GetSessionToken": true, "GetFederationToken": true, "AssumeRoot": true,
}

// event is what is read of every event.
type event struct {
	at                                               time.Time
	name, source, region, sourceIP, userAgent        string
	errorCode, errorMessage, requestID, eventID      string
	account, readOnly                                string
	console                                          bool // sessionCredentialFromConsole
	idType, idPrincipal, idArn, idAccount, accessKey string
	idUserName, invokedBy, identityProvider          string
	mfa, created, issuerArn, federatedProvider       string
	sourceIdentity                                   string
}

// fields reads typed fields, keeping the first error.
type fields struct{ err string }

func (f *fields) fail(path, why string) {
	if f.err == "" {
		f.err = path + ": " + why
	}
}

// str is o's string at key ("" when missing or null).
func (f *fields) str(o *fastjson.Object, prefix, key string) string {
	if o == nil {
		return ""
	}
	v := o.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		return ""
	}
	b, err := v.StringBytes()
	if err != nil {
		f.fail(prefix+key, "not a string")
		return ""
	}
	return string(b)
}

// text is o's string, number or boolean at key, as text.
func (f *fields) text(o *fastjson.Object, prefix, key string) string {
	if o == nil {
		return ""
	}
	v := o.Get(key)
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return ""
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return v.String()
	}
	f.fail(prefix+key, "not a string, number or boolean")
	return ""
}

// obj is o's object at key (nil when missing or null).
func (f *fields) obj(o *fastjson.Object, prefix, key string) *fastjson.Object {
	if o == nil {
		return nil
	}
	v := o.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	x, err := v.Object()
	if err != nil {
		f.fail(prefix+key, "not an object")
		return nil
	}
	return x
}

// event reads one CloudTrail event into exactly one sink call.
func (p *parser) event(pos record.Position, o *fastjson.Object, excerpt func() []byte) {
	e := &p.ev
	*e = event{}
	var f fields
	when := f.str(o, "", "eventTime")
	e.name = f.str(o, "", "eventName")
	e.source = f.str(o, "", "eventSource")
	e.region = f.str(o, "", "awsRegion")
	e.sourceIP = f.str(o, "", "sourceIPAddress")
	e.userAgent = f.str(o, "", "userAgent")
	e.errorCode = f.str(o, "", "errorCode")
	e.errorMessage = f.str(o, "", "errorMessage")
	e.requestID = f.str(o, "", "requestID")
	e.eventID = f.str(o, "", "eventID")
	e.account = f.str(o, "", "recipientAccountId")
	e.readOnly = f.text(o, "", "readOnly")
	e.console = f.text(o, "", "sessionCredentialFromConsole") == "true"
	id := f.obj(o, "", "userIdentity")
	const ui = "userIdentity."
	e.idType = f.str(id, ui, "type")
	e.idPrincipal = f.str(id, ui, "principalId")
	e.idArn = f.str(id, ui, "arn")
	e.idAccount = f.str(id, ui, "accountId")
	e.accessKey = f.str(id, ui, "accessKeyId")
	e.idUserName = f.str(id, ui, "userName")
	e.invokedBy = f.str(id, ui, "invokedBy")
	e.identityProvider = f.str(id, ui, "identityProvider")
	sc := f.obj(id, ui, "sessionContext")
	const scp = ui + "sessionContext."
	attrs := f.obj(sc, scp, "attributes")
	e.mfa = f.text(attrs, scp+"attributes.", "mfaAuthenticated")
	e.created = f.str(attrs, scp+"attributes.", "creationDate")
	e.issuerArn = f.str(f.obj(sc, scp, "sessionIssuer"), scp+"sessionIssuer.", "arn")
	e.federatedProvider = f.str(f.obj(sc, scp, "webIdFederationData"), scp+"webIdFederationData.", "federatedProvider")
	e.sourceIdentity = f.str(sc, scp, "sourceIdentity")
	if f.err == "" && f.str(o, "", "eventType") == "AwsCloudTrailInsight" {
		p.sink.Ignore(pos, IgnoreInsight) // its eventName is in insightDetails
		return
	}
	switch {
	case f.err != "":
	case when == "":
		f.fail("eventTime", "missing")
	case e.name == "":
		f.fail("eventName", "missing")
	default:
		t, err := record.ParseTime(when, time.UTC)
		if err != nil {
			f.fail("eventTime", err.Error())
		}
		e.at = t
	}
	if f.err != "" {
		p.reject(pos, f.err, excerpt())
		return
	}
	if e.account == "" {
		e.account = e.idAccount
	}

	issuing := e.source == stsSource && issuingCalls[e.name]
	if !issuing && e.errorCode == "" {
		// credentials returned by another service (Cognito's
		// GetCredentialsForIdentity, EKS's AssumeRoleForPodIdentity)
		if r := o.Get("responseElements"); r != nil {
			issuing = strings.HasPrefix(string(r.GetStringBytes("credentials", "accessKeyId")), "ASIA")
		}
	}
	switch {
	case issuing && e.errorCode != "":
		// A failed exchange is no credential. A web identity or SAML
		// exchange refused (InvalidIdentityToken, AccessDenied,
		// ExpiredTokenException) may be a forged token tried against
		// the role: worth a rule of its own one day.
		p.sink.Ignore(pos, IgnoreRequestFailed)
	case issuing:
		p.session(pos, o, excerpt)
	case e.source == stsSource && e.name == "GetWebIdentityToken":
		p.webIdentityToken(pos, o, excerpt)
	default:
		p.use(pos)
	}
}

// session reads a call that issued session credentials: one issuance of
// the session, known by its access key id.
func (p *parser) session(pos record.Position, o *fastjson.Object, excerpt func() []byte) {
	e := &p.ev
	var f fields
	req := f.obj(o, "", "requestParameters")
	resp := f.obj(o, "", "responseElements")
	const rq, rs = "requestParameters.", "responseElements."
	creds := f.obj(resp, rs, "credentials")
	key := f.str(creds, rs+"credentials.", "accessKeyId")
	expires, expText := f.expiration(creds, rs+"credentials.", "expiration")
	a := attrList{
		{"account", e.account},
		{"assumedRoleArn", lax(resp, "assumedRoleUser", "arn")},
		{"assumedRoleId", lax(resp, "assumedRoleUser", "assumedRoleId")},
		{"durationSeconds", lax(req, "durationSeconds")},
		{"eventID", e.eventID},
		{"eventName", e.name},
		{"eventSource", e.source},
		{"expiration", expText},
		{"federatedUserArn", lax(resp, "federatedUser", "arn")},
		{"federatedUserId", lax(resp, "federatedUser", "federatedUserId")},
		{"identityId", lax(resp, "identityId")},
		{"invokedBy", e.invokedBy},
		{"issuer", lax(resp, "issuer")},
		{"name", lax(req, "name")},
		{"nameQualifier", lax(resp, "nameQualifier")},
		{"principalArn", lax(req, "principalArn")},
		{"region", e.region},
		{"requestID", e.requestID},
		{"roleArn", lax(req, "roleArn")},
		{"roleSessionName", lax(req, "roleSessionName")},
		{"sAMLAssertionID", lax(req, "sAMLAssertionID")},
		{"serialNumber", lax(req, "serialNumber")},
		{"sessionIssuer", e.issuerArn},
		{"sourceIPAddress", e.sourceIP},
		{"sourceIdentity", firstOf(lax(resp, "sourceIdentity"), lax(req, "sourceIdentity"), e.sourceIdentity)},
		{"subjectType", lax(resp, "subjectType")},
		{"targetPrincipal", lax(req, "targetPrincipal")},
		{"taskPolicyArn", firstOf(lax(req, "taskPolicyArn", "arn"), lax(req, "taskPolicyArn"))},
		{"userAgent", e.userAgent},
		{"userIdentity.accessKeyId", e.accessKey},
		{"userIdentity.arn", e.idArn},
		{"userIdentity.principalId", e.idPrincipal},
		{"userIdentity.type", e.idType},
		{"webIdentityTokenId", lax(req, "webIdentityTokenId")},
	}
	is := record.Issuance{Kind: KindSession, ArtifactID: key, IssuedAt: e.at, ExpiresAt: expires, Pos: pos}
	switch e.name {
	case "AssumeRoleWithWebIdentity":
		is.Subject = firstOf(f.str(resp, rs, "subjectFromWebIdentityToken"), e.idUserName)
		is.Audience = f.str(resp, rs, "audience")
		provider := firstOf(lax(resp, "provider"), e.identityProvider)
		a = append(a, attr{"provider", provider}, attr{"token_issuer", TokenIssuer(provider)}, attr{"web_identity", "true"})
	case "AssumeRoleWithSAML":
		is.Subject = firstOf(f.str(resp, rs, "subject"), e.idUserName)
		is.Audience = f.str(resp, rs, "audience")
	default:
		if e.source == stsSource {
			is.Subject = firstOf(e.idArn, e.idPrincipal)
		}
	}
	if f.err != "" {
		p.reject(pos, f.err, excerpt())
		return
	}
	if key == "" {
		p.sink.Ignore(pos, IgnoreNoCredentials)
		return
	}
	is.Attrs = a.json(&p.attrs)
	p.sink.Issuance(&is)
}

// webIdentityToken reads a GetWebIdentityToken call (outbound identity
// federation: STS signs a JWT for the caller). CloudTrail logs the token's
// jti as responseElements.webIdentityTokenId, with its expiration; the
// token's audience is the request's. Its iss (the account's issuer URL)
// and sub (which the request's subject mode selects) are not logged.
func (p *parser) webIdentityToken(pos record.Position, o *fastjson.Object, excerpt func() []byte) {
	e := &p.ev
	if e.errorCode != "" {
		p.sink.Ignore(pos, IgnoreRequestFailed)
		return
	}
	var f fields
	req := f.obj(o, "", "requestParameters")
	resp := f.obj(o, "", "responseElements")
	const rq, rs = "requestParameters.", "responseElements."
	id := f.str(resp, rs, "webIdentityTokenId")
	expires, expText := f.expiration(resp, rs, "expiration")
	audience := f.audience(req, rq, "audience")
	a := attrList{
		{"account", e.account},
		{"durationSeconds", lax(req, "durationSeconds")},
		{"eventID", e.eventID},
		{"eventName", e.name},
		{"expiration", expText},
		{"region", e.region},
		{"requestID", e.requestID},
		{"sessionIssuer", e.issuerArn},
		{"signingAlgorithm", lax(req, "signingAlgorithm")},
		{"sourceIPAddress", e.sourceIP},
		{"sourceIdentity", e.sourceIdentity},
		{"userAgent", e.userAgent},
		{"userIdentity.accessKeyId", e.accessKey},
		{"userIdentity.arn", e.idArn},
		{"userIdentity.principalId", e.idPrincipal},
		{"userIdentity.type", e.idType},
	}
	if f.err != "" {
		p.reject(pos, f.err, excerpt())
		return
	}
	if id == "" {
		p.sink.Ignore(pos, IgnoreTokenNoID)
		return
	}
	p.sink.Issuance(&record.Issuance{Kind: record.KindJWT, ArtifactID: id, Audience: audience,
		IssuedAt: e.at, ExpiresAt: expires, Attrs: a.json(&p.attrs), Pos: pos})
}

// use reads any other event: a sighting of the session whose access key
// signed the call, when it is a session's.
func (p *parser) use(pos record.Position) {
	e := &p.ev
	switch {
	case e.accessKey == "":
		p.sink.Ignore(pos, IgnoreNoAccessKey)
		return
	case strings.HasPrefix(e.accessKey, "AKIA"):
		p.sink.Ignore(pos, IgnoreLongTermKey)
		return
	case !strings.HasPrefix(e.accessKey, "ASIA"):
		p.sink.Ignore(pos, IgnoreOtherKey)
		return
	case e.console:
		// the console's own session credentials: no event logs their issue
		p.sink.Ignore(pos, IgnoreConsoleSession)
		return
	}
	s := record.Sighting{
		Kind: KindSession, ArtifactID: e.accessKey, ObservedAt: e.at, Source: record.SourceAuth,
		Observer:  "aws:" + e.account + ":" + e.region,
		Principal: firstOf(e.idArn, e.idPrincipal),
		UserAgent: e.userAgent, Action: e.source + ":" + e.name, Outcome: Outcome(e.errorCode), Pos: pos,
	}
	if o := p.in.Options.Observer; o != "" {
		s.Observer = o
	}
	nonIP := ""
	if net.ParseIP(e.sourceIP) != nil {
		s.ClientIP = e.sourceIP
	} else {
		nonIP = e.sourceIP
	}
	a := attrList{
		{"account", e.account},
		{"creationDate", e.created},
		{"errorCode", e.errorCode},
		{"errorMessage", truncate(e.errorMessage, 256)},
		{"eventID", e.eventID},
		{"eventName", e.name},
		{"eventSource", e.source},
		{"federatedProvider", e.federatedProvider},
		{"invokedBy", e.invokedBy},
		{"mfaAuthenticated", e.mfa},
		{"readOnly", e.readOnly},
		{"region", e.region},
		{"requestID", e.requestID},
		{"sessionIssuer", e.issuerArn},
		{"sourceIPAddress", nonIP},
		{"sourceIdentity", e.sourceIdentity},
		{"userIdentity.type", e.idType},
	}
	s.Attrs = a.json(&p.attrs)
	p.sink.Sighting(&s)
}

// authFailures are the error codes of a request whose credentials AWS did
// not authenticate (Client. prefix and Exception suffix removed): the key
// was refused, not used.
var authFailures = map[string]bool{
	"InvalidClientTokenId": true, "ExpiredToken": true, "SignatureDoesNotMatch": true,
	"InvalidAccessKeyId": true, "IncompleteSignature": true, "AuthFailure": true,
	"UnrecognizedClient": true, "InvalidSignature": true, "InvalidToken": true,
	"TokenRefreshRequired": true, "RequestExpired": true, "RequestTimeTooSkewed": true,
}

// Outcome is the verifier's outcome of a call that failed with errorCode
// ("" for a call that succeeded): rejected when AWS did not authenticate the
// credentials, accepted otherwise (an AccessDenied is an authorization
// failure of credentials that were authenticated).
func Outcome(errorCode string) string {
	c := strings.TrimSuffix(strings.TrimPrefix(errorCode, "Client."), "Exception")
	if authFailures[c] {
		return record.OutcomeRejected
	}
	return record.OutcomeAccepted
}

// TokenIssuer is the OIDC issuer URL of a web identity provider as
// CloudTrail names it: the ARN of an IAM OIDC provider,
// arn:aws:iam::<account>:oidc-provider/<host>/<path>, stands for
// https://<host>/<path>; a host and path (accounts.google.com,
// oidc.eks.<region>.amazonaws.com/id/<id>) get https://; a URL is kept as
// it is. Anything else (a name with spaces, another ARN) is "".
func TokenIssuer(provider string) string {
	provider = strings.TrimSpace(provider)
	switch {
	case provider == "":
		return ""
	case strings.HasPrefix(provider, "https://") || strings.HasPrefix(provider, "http://"):
		return provider
	case strings.HasPrefix(provider, "arn:"):
		_, rest, ok := strings.Cut(provider, ":oidc-provider/")
		if !ok {
			return ""
		}
		provider = rest
	}
	host, _, _ := strings.Cut(provider, "/")
	if !strings.Contains(host, ".") || strings.ContainsAny(provider, " \t\"\\?#@") {
		return ""
	}
	return "https://" + provider
}

// expirationLayouts are the forms of a credential's expiration in
// CloudTrail (in UTC): Java's medium date-time format, with and without a
// comma after the year.
var expirationLayouts = []string{"Jan 2, 2006, 3:04:05 PM", "Jan 2, 2006 3:04:05 PM"}

// spaces are the no-break spaces Java puts before AM and PM.
var spaces = strings.NewReplacer("\u202f", " ", "\u00a0", " ")

// expiration reads a credential's expiration: CloudTrail's "Mar 4, 2026,
// 11:00:00 AM" (and its other forms, see ParseExpiration), RFC 3339, or an
// epoch number. Text that does not read leaves the time zero and is
// returned to be kept in Attrs.
func (f *fields) expiration(o *fastjson.Object, prefix, key string) (t time.Time, unread string) {
	s := f.text(o, prefix, key)
	if s == "" {
		return time.Time{}, ""
	}
	t, err := ParseExpiration(s)
	if err != nil {
		return time.Time{}, s
	}
	return t, ""
}

// ParseExpiration reads an expiration as CloudTrail writes it: "Mar 4,
// 2026, 11:00:00 AM" (current), "Mar 23, 2016 2:39:51 AM" (older), with
// a narrow or plain no-break space before AM/PM (newer Java), in UTC; or
// RFC 3339 and epoch numbers (record.ParseTime).
func ParseExpiration(s string) (time.Time, error) {
	s = spaces.Replace(strings.TrimSpace(s))
	for _, layout := range expirationLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return record.ParseTime(s, time.UTC)
}

// audience reads a token's audience: a string, or an array of strings
// joined with ",".
func (f *fields) audience(o *fastjson.Object, prefix, key string) string {
	if o == nil {
		return ""
	}
	v := o.Get(key)
	if v == nil || v.Type() != fastjson.TypeArray {
		return f.str(o, prefix, key)
	}
	var out []string
	for _, x := range v.GetArray() {
		b, err := x.StringBytes()
		if err != nil {
			f.fail(prefix+key, "not a string or an array of strings")
			return ""
		}
		out = append(out, string(b))
	}
	return strings.Join(out, ",")
}

// lax is the string, number or boolean at path in o, as text; "" when it
// is missing or of another type. Fields that only go to Attrs are read so:
// a service's odd request or response never costs its row.
func lax(o *fastjson.Object, path ...string) string {
	if o == nil {
		return ""
	}
	v := o.Get(path[0])
	if v != nil && len(path) > 1 {
		v = v.Get(path[1:]...)
	}
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return v.String()
	}
	return ""
}

type attr struct{ key, value string }

// attrList is the attributes of one record.
type attrList []attr

// json is the attributes as a JSON object, keys sorted (as
// record.AttrsJSON writes them), empty values left out, built in b.
func (a attrList) json(b *record.Attrs) string {
	slices.SortFunc(a, func(x, y attr) int { return strings.Compare(x.key, y.key) })
	b.Reset()
	for _, kv := range a {
		b.Add(kv.key, kv.value)
	}
	return b.String()
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
