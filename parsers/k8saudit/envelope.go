package k8saudit

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// envelope is what a wrapper says of the events it carries.
type envelope struct {
	cluster   string // the cluster the wrapper names
	category  string // AKS diagnostic category
	logStream string // CloudWatch log stream
	audit     bool   // the wrapper says its payload is an audit event
}

// value reads one JSON value: a record or a list of records. At the top
// of a line or document an array is read as its elements.
func (p *parser) value(v *fastjson.Value, env envelope, top bool) {
	switch v.Type() {
	case fastjson.TypeArray:
		if !top {
			p.reject("nested JSON array", v.MarshalTo(nil))
			return
		}
		for _, e := range v.GetArray() {
			p.value(e, env, false)
		}
	case fastjson.TypeObject:
		o, _ := v.Object()
		p.object(o, v, env)
	default:
		p.reject(record.ReasonNotObject, v.MarshalTo(nil))
	}
}

// object reads an Event, or one of the lists and wrappers around them.
func (p *parser) object(o *fastjson.Object, v *fastjson.Value, env envelope) {
	kind := plainString(o.Get("kind"))
	switch {
	case isEvent(o, kind):
		p.event(o, v, env)
	case kind == "EventList":
		p.list(o, v, "items", func(e *fastjson.Value) {
			if eo, err := e.Object(); err == nil {
				p.event(eo, e, env)
				return
			}
			p.reject("EventList item is not a JSON object", e.MarshalTo(nil))
		})
	case o.Get("records") != nil:
		p.list(o, v, "records", func(e *fastjson.Value) { p.value(e, env, false) })
	case o.Get("messageType") != nil || o.Get("logEvents") != nil:
		p.cloudWatch(o, v)
	case o.Get("events") != nil:
		p.list(o, v, "events", func(e *fastjson.Value) { p.logEvent(e, envelope{}, "logStreamName") })
	case o.Get("category") != nil && o.Get("properties") != nil:
		p.aks(o, v)
	case o.Get("protoPayload") != nil:
		p.gke(o, v)
	default:
		p.ignore(IgnoreNotAudit)
	}
}

// isEvent reports whether o is an audit Event (well formed or not); a
// core/v1 Event (kubectl get events) is not one.
func isEvent(o *fastjson.Object, kind string) bool {
	if o.Get("auditID") != nil || o.Get("stageTimestamp") != nil {
		return true
	}
	return kind == "Event" && strings.HasPrefix(plainString(o.Get("apiVersion")), "audit.k8s.io/")
}

// list reads the elements of o's array under key with fn.
func (p *parser) list(o *fastjson.Object, v *fastjson.Value, key string, fn func(*fastjson.Value)) {
	a := o.Get(key)
	if a == nil {
		p.reject("no "+key+" array", v.MarshalTo(nil))
		return
	}
	if a.Type() != fastjson.TypeArray {
		p.reject(key+" is a JSON "+a.Type().String()+", want an array", v.MarshalTo(nil))
		return
	}
	for _, e := range a.GetArray() {
		fn(e)
	}
}

// cloudWatch reads a CloudWatch Logs subscription message.
func (p *parser) cloudWatch(o *fastjson.Object, v *fastjson.Value) {
	switch plainString(o.Get("messageType")) {
	case "CONTROL_MESSAGE":
		p.ignore(IgnoreControlMessage)
		return
	case "DATA_MESSAGE", "":
	default:
		p.ignore(IgnoreNotAudit)
		return
	}
	if o.Get("logEvents") == nil {
		p.reject("CloudWatch message without logEvents", v.MarshalTo(nil))
		return
	}
	var env envelope
	logGroup, ok1 := optString(o.Get("logGroup"))
	stream, ok2 := optString(o.Get("logStream"))
	if !ok1 || !ok2 {
		p.reject("CloudWatch logGroup or logStream is not a string", v.MarshalTo(nil))
		return
	}
	env.cluster, env.logStream = eksCluster(logGroup), stream
	p.list(o, v, "logEvents", func(e *fastjson.Value) { p.logEvent(e, env, "") })
}

// logEvent reads one CloudWatch log event; streamKey names its own log
// stream field, if it has one.
func (p *parser) logEvent(e *fastjson.Value, env envelope, streamKey string) {
	o, err := e.Object()
	if err != nil {
		p.reject("CloudWatch log event is not a JSON object", e.MarshalTo(nil))
		return
	}
	if streamKey != "" {
		s, ok := optString(o.Get(streamKey))
		if !ok {
			p.reject(streamKey+" is not a string", e.MarshalTo(nil))
			return
		}
		env.logStream = s
	}
	msg := o.Get("message")
	if msg == nil || msg.Type() != fastjson.TypeString {
		p.reject("CloudWatch log event without a message string", e.MarshalTo(nil))
		return
	}
	if env.logStream != "" {
		if !strings.HasPrefix(env.logStream, "kube-apiserver-audit") {
			p.ignore(IgnoreNotAudit) // the authenticator's, the scheduler's… stream
			return
		}
		env.audit = true
	}
	p.wrapped(msg.GetStringBytes(), env)
}

// aks reads an AKS diagnostic record.
func (p *parser) aks(o *fastjson.Object, v *fastjson.Value) {
	category, ok := optString(o.Get("category"))
	if !ok {
		p.reject("category is not a string", v.MarshalTo(nil))
		return
	}
	if !strings.HasPrefix(category, "kube-audit") {
		p.ignore(IgnoreNotAudit)
		return
	}
	resourceID, ok := optString(o.Get("resourceId"))
	if !ok {
		p.reject("resourceId is not a string", v.MarshalTo(nil))
		return
	}
	env := envelope{cluster: aksCluster(resourceID), category: category, audit: true}
	props := o.Get("properties")
	if props.Type() == fastjson.TypeString {
		// some exporters write properties as a JSON string
		pv, err := p.props.ParseBytes(props.GetStringBytes())
		if err != nil {
			p.reject("properties string is not JSON: "+jsonReason(props.GetStringBytes()), v.MarshalTo(nil))
			return
		}
		props = pv
	}
	if props.Type() != fastjson.TypeObject {
		p.reject("properties is a JSON "+props.Type().String()+", want an object", v.MarshalTo(nil))
		return
	}
	log := props.Get("log")
	if log == nil || log.Type() != fastjson.TypeString {
		p.reject("AKS record without a properties.log string", v.MarshalTo(nil))
		return
	}
	p.wrapped(log.GetStringBytes(), env)
}

// wrapped reads an Event carried as a JSON string.
func (p *parser) wrapped(msg []byte, env envelope) {
	msg = bytes.TrimSpace(msg)
	if !utf8.Valid(msg) {
		p.reject("invalid UTF-8 in wrapped log", msg)
		return
	}
	v, err := p.inner.ParseBytes(msg)
	if err != nil {
		if !env.audit && len(msg) > 0 && msg[0] != '{' {
			p.ignore(IgnoreNotAudit) // another component's text line
			return
		}
		p.reject("wrapped log: "+jsonReason(msg), msg)
		return
	}
	o, err := v.Object()
	if err != nil {
		p.reject("wrapped log is not a JSON object", msg)
		return
	}
	switch {
	case isEvent(o, plainString(o.Get("kind"))):
		p.event(o, v, env)
	case env.audit:
		p.reject("wrapped log is not an audit event", msg)
	default:
		p.ignore(IgnoreNotAudit)
	}
}

// eksCluster is the cluster of an EKS log group ("/aws/eks/<cluster>/cluster"),
// else the log group.
func eksCluster(logGroup string) string {
	if s, ok := strings.CutPrefix(logGroup, "/aws/eks/"); ok {
		if c, ok := strings.CutSuffix(s, "/cluster"); ok && c != "" && !strings.Contains(c, "/") {
			return c
		}
	}
	return logGroup
}

// aksCluster is the managed cluster's name in an Azure resource id
// (".../PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/<name>",
// upper-cased by Azure), else the id.
func aksCluster(id string) string {
	const marker = "/managedclusters/"
	for i := len(id) - len(marker); i >= 0; i-- {
		if strings.EqualFold(id[i:i+len(marker)], marker) {
			name, _, _ := strings.Cut(id[i+len(marker):], "/")
			if name != "" {
				return name
			}
			break
		}
	}
	return id
}

// plainString is v's string, "" when v is missing or not a string.
func plainString(v *fastjson.Value) string {
	if v == nil || v.Type() != fastjson.TypeString {
		return ""
	}
	return string(v.GetStringBytes())
}

// optString is v's string, "" for a missing or null v; ok is false for
// another type.
func optString(v *fastjson.Value) (string, bool) {
	if v == nil || v.Type() == fastjson.TypeNull {
		return "", true
	}
	if v.Type() != fastjson.TypeString {
		return "", false
	}
	return string(v.GetStringBytes()), true
}
