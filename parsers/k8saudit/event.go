package k8saudit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Keys of user.extra and annotations (k8s.io/apiserver authentication/
// serviceaccount and user; the k8s.io forms are the 1.29 alpha's).
const (
	keyCredentialID      = "authentication.kubernetes.io/credential-id"
	keyCredentialIDAlpha = "authentication.k8s.io/credential-id"
	keyIssuedID          = "authentication.kubernetes.io/issued-credential-id"
	keyIssuedIDAlpha     = "authentication.k8s.io/issued-credential-id"
	keyPodName           = "authentication.kubernetes.io/pod-name"
	keyPodUID            = "authentication.kubernetes.io/pod-uid"
	keyNodeName          = "authentication.kubernetes.io/node-name"
	keyNodeUID           = "authentication.kubernetes.io/node-uid"
	keyDecision          = "authorization.k8s.io/decision"
	keyReason            = "authorization.k8s.io/reason"
)

// auditLogType is the @type of a Cloud Audit Logs payload.
const auditLogType = "type.googleapis.com/google.cloud.audit.AuditLog"

// event is what the format reads of one audit event, from an Event or a
// GKE LogEntry.
type event struct {
	auditID, stage, verb, requestURI string
	received                         string // requestReceivedTimestamp as logged
	at                               time.Time

	username, uid, impersonated        string
	groups, credIDs                    []string
	podName, podUID, nodeName, nodeUID string
	sourceIPs                          []string
	userAgent                          string

	resource, namespace, name, subresource, apiGroup string

	code    int64 // responseStatus.code
	hasCode bool
	failed  bool // GKE: protoPayload.status.code is not OK

	decision, reason, issuedID string

	// the TokenRequest objects, at Request and RequestResponse level
	audiences                      []string
	expirationSeconds              int64
	hasExpirationSeconds           bool
	boundKind, boundName, boundUID string
	expirationTimestamp, token     string
}

// reset empties ev, keeping its slices' storage.
func (ev *event) reset() {
	groups, creds, ips, auds := ev.groups[:0], ev.credIDs[:0], ev.sourceIPs[:0], ev.audiences[:0]
	*ev = event{groups: groups, credIDs: creds, sourceIPs: ips, audiences: auds}
}

// isTokenRequest reports whether ev is a TokenRequest: a create of a
// service account's token subresource (core group).
func (ev *event) isTokenRequest() bool {
	return ev.verb == "create" && ev.resource == "serviceaccounts" && ev.subresource == "token" && ev.apiGroup == ""
}

// final reports whether ev is a request's last stage (ResponseComplete,
// Panic, or a form without stages).
func (ev *event) final() bool { return ev.stage != "RequestReceived" && ev.stage != "ResponseStarted" }

// fields reads typed fields, keeping the first type error.
type fields struct{ err error }

func (f *fields) fail(path string, v *fastjson.Value, want string) {
	if f.err == nil {
		f.err = fmt.Errorf("%s is a JSON %s, want %s", path, v.Type(), want)
	}
}

// get is o's key, nil when missing or null.
func get(o *fastjson.Object, key string) *fastjson.Value {
	if o == nil {
		return nil
	}
	v := o.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	return v
}

func (f *fields) str(o *fastjson.Object, key, path string) string {
	v := get(o, key)
	if v == nil {
		return ""
	}
	if v.Type() != fastjson.TypeString {
		f.fail(path, v, "a string")
		return ""
	}
	return string(v.GetStringBytes())
}

func (f *fields) obj(o *fastjson.Object, key, path string) *fastjson.Object {
	v := get(o, key)
	if v == nil {
		return nil
	}
	x, err := v.Object()
	if err != nil {
		f.fail(path, v, "an object")
		return nil
	}
	return x
}

// strs appends the strings of o's array under key to dst.
func (f *fields) strs(dst []string, o *fastjson.Object, key, path string) []string {
	v := get(o, key)
	if v == nil {
		return dst
	}
	if v.Type() != fastjson.TypeArray {
		f.fail(path, v, "an array of strings")
		return dst
	}
	for _, e := range v.GetArray() {
		if e.Type() != fastjson.TypeString {
			f.fail(path, e, "a string element")
			return dst
		}
		dst = append(dst, string(e.GetStringBytes()))
	}
	return dst
}

// first is the first string of o's array under key.
func (f *fields) first(o *fastjson.Object, key, path string) string {
	var one [1]string
	if s := f.strs(one[:0], o, key, path); len(s) > 0 {
		return s[0]
	}
	return ""
}

// int reads an integer (a float without fraction too: protobuf Struct
// numbers).
func (f *fields) int(o *fastjson.Object, key, path string) (int64, bool) {
	v := get(o, key)
	if v == nil {
		return 0, false
	}
	if v.Type() != fastjson.TypeNumber {
		f.fail(path, v, "a number")
		return 0, false
	}
	if n, err := v.Int64(); err == nil {
		return n, true
	}
	x, _ := v.Float64()
	if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
		f.fail(path, v, "an integer")
		return 0, false
	}
	return int64(x), true
}

// readEvent reads an audit.k8s.io Event into ev.
func readEvent(o *fastjson.Object, ev *event) error {
	var f fields
	ev.auditID = f.str(o, "auditID", "auditID")
	ev.stage = f.str(o, "stage", "stage")
	ev.verb = f.str(o, "verb", "verb")
	ev.requestURI = f.str(o, "requestURI", "requestURI")
	if u := f.obj(o, "user", "user"); u != nil {
		ev.username = f.str(u, "username", "user.username")
		ev.uid = f.str(u, "uid", "user.uid")
		ev.groups = f.strs(ev.groups, u, "groups", "user.groups")
		if x := f.obj(u, "extra", "user.extra"); x != nil {
			ev.credIDs = f.strs(ev.credIDs, x, keyCredentialID, "user.extra."+keyCredentialID)
			if len(ev.credIDs) == 0 {
				ev.credIDs = f.strs(ev.credIDs, x, keyCredentialIDAlpha, "user.extra."+keyCredentialIDAlpha)
			}
			ev.podName = f.first(x, keyPodName, "user.extra."+keyPodName)
			ev.podUID = f.first(x, keyPodUID, "user.extra."+keyPodUID)
			ev.nodeName = f.first(x, keyNodeName, "user.extra."+keyNodeName)
			ev.nodeUID = f.first(x, keyNodeUID, "user.extra."+keyNodeUID)
		}
	}
	if iu := f.obj(o, "impersonatedUser", "impersonatedUser"); iu != nil {
		ev.impersonated = f.str(iu, "username", "impersonatedUser.username")
	}
	ev.sourceIPs = f.strs(ev.sourceIPs, o, "sourceIPs", "sourceIPs")
	ev.userAgent = f.str(o, "userAgent", "userAgent")
	if r := f.obj(o, "objectRef", "objectRef"); r != nil {
		ev.resource = f.str(r, "resource", "objectRef.resource")
		ev.namespace = f.str(r, "namespace", "objectRef.namespace")
		ev.name = f.str(r, "name", "objectRef.name")
		ev.subresource = f.str(r, "subresource", "objectRef.subresource")
		ev.apiGroup = f.str(r, "apiGroup", "objectRef.apiGroup")
	}
	if rs := f.obj(o, "responseStatus", "responseStatus"); rs != nil {
		ev.code, ev.hasCode = f.int(rs, "code", "responseStatus.code")
	}
	ev.received = f.str(o, "requestReceivedTimestamp", "requestReceivedTimestamp")
	stageTime := f.str(o, "stageTimestamp", "stageTimestamp")
	f.annotations(ev, f.obj(o, "annotations", "annotations"), "annotations")
	if f.err != nil {
		return f.err
	}
	if ev.auditID == "" {
		return errors.New("event without auditID")
	}
	if err := ev.setTime(stageTime, "stageTimestamp", ev.received, "requestReceivedTimestamp"); err != nil {
		return err
	}
	if ev.isTokenRequest() {
		f.tokenRequest(ev, f.obj(o, "requestObject", "requestObject"), f.obj(o, "responseObject", "responseObject"), "requestObject", "responseObject")
	}
	return f.err
}

// setTime sets ev.at from the first time given, naming it in errors.
func (ev *event) setTime(primary, primaryName, fallback, fallbackName string) error {
	s, name := primary, primaryName
	if s == "" {
		s, name = fallback, fallbackName
	}
	if s == "" {
		return errors.New("event without " + primaryName)
	}
	t, err := record.ParseTime(s, time.UTC)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	ev.at = t
	return nil
}

// annotations reads the audit annotations the format uses.
func (f *fields) annotations(ev *event, a *fastjson.Object, path string) {
	if a == nil {
		return
	}
	ev.decision = f.str(a, keyDecision, path+"."+keyDecision)
	ev.reason = f.str(a, keyReason, path+"."+keyReason)
	ev.issuedID = f.str(a, keyIssuedID, path+"."+keyIssuedID)
	if ev.issuedID == "" {
		ev.issuedID = f.str(a, keyIssuedIDAlpha, path+"."+keyIssuedIDAlpha)
	}
}

// tokenRequest reads the logged TokenRequest objects: the response's
// spec first (defaulted and capped by the API server), then the request's.
func (f *fields) tokenRequest(ev *event, req, resp *fastjson.Object, reqPath, respPath string) {
	for i, o := range []*fastjson.Object{resp, req} {
		path := respPath
		if i == 1 {
			path = reqPath
		}
		spec := f.obj(o, "spec", path+".spec")
		if spec == nil {
			continue
		}
		if len(ev.audiences) == 0 {
			ev.audiences = f.strs(ev.audiences, spec, "audiences", path+".spec.audiences")
		}
		if !ev.hasExpirationSeconds {
			ev.expirationSeconds, ev.hasExpirationSeconds = f.int(spec, "expirationSeconds", path+".spec.expirationSeconds")
		}
		if b := f.obj(spec, "boundObjectRef", path+".spec.boundObjectRef"); b != nil && ev.boundKind == "" && ev.boundName == "" {
			ev.boundKind = f.str(b, "kind", path+".spec.boundObjectRef.kind")
			ev.boundName = f.str(b, "name", path+".spec.boundObjectRef.name")
			ev.boundUID = f.str(b, "uid", path+".spec.boundObjectRef.uid")
		}
	}
	if st := f.obj(resp, "status", respPath+".status"); st != nil {
		ev.expirationTimestamp = f.str(st, "expirationTimestamp", respPath+".status.expirationTimestamp")
		ev.token = f.str(st, "token", respPath+".status.token")
	}
}

// readGKE reads a Cloud Logging LogEntry into ev and env; ignore is set
// when it is not a Kubernetes audit entry.
func readGKE(o *fastjson.Object, ev *event, env *envelope) (ignore string, err error) {
	var f fields
	pp := f.obj(o, "protoPayload", "protoPayload")
	if f.err != nil {
		return "", f.err
	}
	if pp == nil || f.str(pp, "@type", "protoPayload.@type") != auditLogType {
		return IgnoreNotAudit, f.err
	}
	method := f.str(pp, "methodName", "protoPayload.methodName")
	if f.str(pp, "serviceName", "protoPayload.serviceName") != "k8s.io" && !strings.HasPrefix(method, "io.k8s.") {
		return IgnoreNotAudit, f.err
	}
	ev.verb = method[strings.LastIndexByte(method, '.')+1:]
	ev.auditID = f.str(f.obj(o, "operation", "operation"), "id", "operation.id")
	if ev.auditID == "" {
		ev.auditID = f.str(o, "insertId", "insertId")
	}
	ev.username = f.str(f.obj(pp, "authenticationInfo", "protoPayload.authenticationInfo"), "principalEmail", "protoPayload.authenticationInfo.principalEmail")
	if rm := f.obj(pp, "requestMetadata", "protoPayload.requestMetadata"); rm != nil {
		if ip := f.str(rm, "callerIp", "protoPayload.requestMetadata.callerIp"); ip != "" {
			ev.sourceIPs = append(ev.sourceIPs, ip)
		}
		ev.userAgent = f.str(rm, "callerSuppliedUserAgent", "protoPayload.requestMetadata.callerSuppliedUserAgent")
	}
	ev.resourceName(f.str(pp, "resourceName", "protoPayload.resourceName"))
	if st := f.obj(pp, "status", "protoPayload.status"); st != nil {
		code, ok := f.int(st, "code", "protoPayload.status.code")
		ev.failed = ok && code != 0
	}
	f.annotations(ev, f.obj(o, "labels", "labels"), "labels")
	env.cluster = f.str(f.obj(f.obj(o, "resource", "resource"), "labels", "resource.labels"), "cluster_name", "resource.labels.cluster_name")
	ts := f.str(o, "timestamp", "timestamp")
	rts := f.str(o, "receiveTimestamp", "receiveTimestamp")
	if f.err != nil {
		return "", f.err
	}
	if ev.auditID == "" {
		return "", errors.New("GKE audit entry without operation.id or insertId")
	}
	if err := ev.setTime(ts, "timestamp", rts, "receiveTimestamp"); err != nil {
		return "", err
	}
	if ev.isTokenRequest() {
		f.tokenRequest(ev, f.obj(pp, "request", "protoPayload.request"), f.obj(pp, "response", "protoPayload.response"), "protoPayload.request", "protoPayload.response")
	}
	return "", f.err
}

// resourceName sets the object reference from a GKE resourceName:
// "<group>/<version>[/namespaces/<ns>]/<resource>[/<name>[/<subresource>]]",
// group "core" for the core group.
func (ev *event) resourceName(rn string) {
	parts := strings.Split(rn, "/")
	if len(parts) < 3 {
		return
	}
	if ev.apiGroup = parts[0]; ev.apiGroup == "core" {
		ev.apiGroup = ""
	}
	rest := parts[2:]
	if len(rest) >= 3 && rest[0] == "namespaces" {
		ev.namespace, rest = rest[1], rest[2:]
	}
	ev.resource = rest[0]
	if len(rest) > 1 {
		ev.name = rest[1]
	}
	if len(rest) > 2 {
		ev.subresource = rest[2]
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
