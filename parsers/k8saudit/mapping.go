package k8saudit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// extendedExpirationSeconds is the lifetime kubelet asks for projected
// tokens (token.WarnOnlyBoundTokenExpirationSeconds); the API server
// extends such a pod-bound token's exp to a year by default
// (--service-account-extend-token-expiration), so the logged expiration
// is not the token's.
const extendedExpirationSeconds = 3607

// outcome is what one event yields, delivered now or when its request's
// later stages are known.
type outcome struct {
	pos    record.Position
	s      *record.Sighting
	i      *record.Issuance
	ignore string
}

// event reads an audit Event.
func (p *parser) event(o *fastjson.Object, v *fastjson.Value, env envelope) {
	p.ev.reset()
	if err := readEvent(o, &p.ev); err != nil {
		p.reject(err.Error(), v.MarshalTo(nil))
		return
	}
	p.process(&p.ev, env, v)
}

// gke reads a Cloud Logging LogEntry.
func (p *parser) gke(o *fastjson.Object, v *fastjson.Value) {
	p.ev.reset()
	var env envelope
	ignore, err := readGKE(o, &p.ev, &env)
	switch {
	case err != nil:
		p.reject(err.Error(), v.MarshalTo(nil))
	case ignore != "":
		p.ignore(ignore)
	default:
		p.process(&p.ev, env, v)
	}
}

// process maps ev and delivers it through the stage tracker.
func (p *parser) process(ev *event, env envelope, v *fastjson.Value) {
	pos := p.pos()
	var out outcome
	var reject string
	tokenRequest := ev.isTokenRequest()
	if tokenRequest {
		out, reject = p.issuance(ev, env, pos)
	} else {
		out, reject = p.sighting(ev, env, pos)
	}
	switch {
	case reject != "":
		p.sink.Reject(&record.Reject{Pos: pos, Reason: reject, Excerpt: excerpt(v.MarshalTo(nil))})
	case out.s == nil && out.i == nil && !tokenRequest:
		p.sink.Ignore(pos, out.ignore) // every stage of it says the same
	default:
		// a TokenRequest's first stage, without its annotation, waits too
		p.stages.add(p.requestKey(ev, env), ev.final(), out, p.deliver)
	}
}

func (p *parser) deliver(out outcome) {
	switch {
	case out.s != nil:
		p.sink.Sighting(out.s)
	case out.i != nil:
		p.sink.Issuance(out.i)
	default:
		p.sink.Ignore(out.pos, out.ignore)
	}
}

// requestKey identifies ev's request: what every stage of it logs alike.
func (p *parser) requestKey(ev *event, env envelope) stageKey {
	h := sha256.New()
	for _, s := range []string{env.cluster, ev.auditID, ev.received, ev.username, ev.verb, ev.requestURI} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, s := range ev.credIDs {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var k stageKey
	h.Sum(k[:0])
	return k
}

// observer is the cluster the envelope names, else Options.Observer, else
// the file's name.
func (p *parser) observer(env envelope) string {
	switch {
	case env.cluster != "":
		return env.cluster
	case p.in.Options.Observer != "":
		return p.in.Options.Observer
	}
	return p.fileName
}

// credentialJTI returns the jti of the first JTI= credential id; ok is
// false, with the reason to ignore the event, when there is none.
func credentialJTI(ids []string) (jti, ignore string, ok bool) {
	cert := false
	for _, id := range ids {
		if j, found := strings.CutPrefix(id, "JTI="); found {
			return j, "", true
		}
		cert = cert || strings.HasPrefix(id, "X509SHA256=")
	}
	switch {
	case len(ids) == 0:
		return "", IgnoreNoCredential, false
	case cert:
		return "", IgnoreClientCert, false
	}
	return "", IgnoreOtherCredential, false
}

// sighting maps a request authenticated with a token.
func (p *parser) sighting(ev *event, env envelope, pos record.Position) (outcome, string) {
	jti, ignore, ok := credentialJTI(ev.credIDs)
	if !ok {
		return outcome{pos: pos, ignore: ignore}, ""
	}
	if jti == "" {
		return outcome{}, "credential id JTI= without an id"
	}
	s := &record.Sighting{
		Kind: record.KindJWT, ArtifactID: jti, ObservedAt: ev.at, Source: record.SourceAuth,
		Observer: p.observer(env), Principal: ev.username, UserAgent: ev.userAgent,
		Action: record.Action(ev.verb, ev.requestURI), Outcome: record.OutcomeUnknown, Pos: pos,
	}
	if len(ev.sourceIPs) > 0 {
		s.ClientIP = record.ClientIP(ev.sourceIPs[0])
	}
	switch {
	case !ev.hasCode:
	case ev.code == 401:
		s.Outcome = record.OutcomeRejected
	default:
		s.Outcome = record.OutcomeAccepted // a 403 was authenticated
	}
	a := &p.attrs
	a.Reset()
	a.Add("auditID", ev.auditID)
	a.Add(keyNodeName, ev.nodeName)
	a.Add(keyNodeUID, ev.nodeUID)
	a.Add(keyPodName, ev.podName)
	a.Add(keyPodUID, ev.podUID)
	a.Add(keyDecision, ev.decision)
	a.Add(keyReason, ev.reason)
	a.Add("category", env.category)
	a.Add("groups", strings.Join(ev.groups, ","))
	a.Add("impersonatedUser.username", ev.impersonated)
	a.Add("logStream", env.logStream)
	a.Add("objectRef.apiGroup", ev.apiGroup)
	a.Add("objectRef.name", ev.name)
	a.Add("objectRef.namespace", ev.namespace)
	a.Add("objectRef.resource", ev.resource)
	a.Add("objectRef.subresource", ev.subresource)
	a.Add("requestURI", ev.requestURI)
	if ev.hasCode {
		a.Add("responseStatus.code", itoa(ev.code))
	}
	a.Add("sourceIPs", strings.Join(ev.sourceIPs, ","))
	a.Add("stage", ev.stage)
	a.Add("user.uid", ev.uid)
	a.Add("verb", ev.verb)
	s.Attrs = a.String()
	return outcome{pos: pos, s: s}, ""
}

// issuance maps a TokenRequest.
func (p *parser) issuance(ev *event, env envelope, pos record.Position) (outcome, string) {
	if ev.failed || ev.hasCode && ev.code != 200 && ev.code != 201 {
		return outcome{pos: pos, ignore: IgnoreFailedTokenRequest}, ""
	}
	if ev.issuedID == "" {
		return outcome{pos: pos, ignore: IgnoreNoIssuedID}, ""
	}
	jti, ok := strings.CutPrefix(ev.issuedID, "JTI=")
	switch {
	case !ok:
		return outcome{pos: pos, ignore: IgnoreOtherCredential}, ""
	case jti == "":
		return outcome{}, "issued credential id JTI= without an id"
	case ev.namespace == "" || ev.name == "":
		return outcome{}, "token request without the service account's namespace and name"
	}
	iss := &record.Issuance{
		Kind: record.KindJWT, ArtifactID: jti,
		Subject:  "system:serviceaccount:" + ev.namespace + ":" + ev.name,
		Audience: strings.Join(ev.audiences, ","), IssuedAt: ev.at, Pos: pos,
	}
	if ev.expirationTimestamp != "" {
		t, err := record.ParseTime(ev.expirationTimestamp, time.UTC)
		if err != nil {
			return outcome{}, "status.expirationTimestamp: " + err.Error()
		}
		if !(ev.boundKind == "Pod" && ev.expirationSeconds == extendedExpirationSeconds) {
			iss.ExpiresAt = t
		}
	}
	if record.JWTShaped(ev.token) {
		sum := sha256.Sum256([]byte(ev.token))
		iss.RawSHA256 = hex.EncodeToString(sum[:])
	}
	cluster := env.cluster
	if cluster == "" {
		cluster = p.in.Options.Observer
	}
	a := &p.attrs
	a.Reset()
	a.Add("auditID", ev.auditID)
	a.Add("boundObjectRef.kind", ev.boundKind)
	a.Add("boundObjectRef.name", ev.boundName)
	a.Add("boundObjectRef.uid", ev.boundUID)
	a.Add("category", env.category)
	a.Add("cluster", cluster)
	if ev.hasExpirationSeconds {
		a.Add("expirationSeconds", itoa(ev.expirationSeconds))
	}
	a.Add("expirationTimestamp", ev.expirationTimestamp)
	a.Add("logStream", env.logStream)
	a.Add("requester", ev.username)
	a.Add("requester.credential-id", strings.Join(ev.credIDs, ","))
	if ev.hasCode {
		a.Add("responseStatus.code", itoa(ev.code))
	}
	a.Add("sourceIPs", strings.Join(ev.sourceIPs, ","))
	a.Add("userAgent", ev.userAgent)
	iss.Attrs = a.String()
	return outcome{pos: pos, i: iss}, ""
}
