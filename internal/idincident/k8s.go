package idincident

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Kubernetes API server audit log lines, as the log backend writes them
// (--audit-log-format=json): one audit.k8s.io/v1 Event per line, its
// fields in the order of the Go type, maps with sorted keys, times as
// metav1.MicroTime (RFC 3339, six fractional digits, UTC).

// K8sRequest is one API request and how it was authenticated. JTI is the
// service account token's jti ("" for a user without a credential id);
// Groups default to a service account's groups when Username is one.
// PodName, PodUID, NodeName and NodeUID are the token's binding (user.extra).
// Code 401 is written as the API server logs a failed authentication: no
// user at all. Completed defaults to Received plus 3 ms.
type K8sRequest struct {
	AuditID, JTI, Username, UID                      string
	Groups                                           []string
	PodName, PodUID, NodeName, NodeUID               string
	SourceIP, UserAgent, Verb, RequestURI            string
	Resource, Namespace, Name, Subresource, APIGroup string
	Code                                             int
	Received, Completed                              time.Time
}

// K8sTokenRequest is one TokenRequest (POST .../serviceaccounts/<name>/token)
// that issued a token with jti JTI, logged at RequestResponse level with
// the issued-credential-id annotation (Kubernetes 1.30+). Requester is the
// caller (a kubelet, "system:node:<node>"), RequesterCredentialID its own
// credential id ("X509SHA256=<hex>" for a kubelet's client certificate,
// "" for none). BoundKind is "Pod", "Node", "Secret" or "" (unbound).
// Expires is the logged status.expirationTimestamp (At plus
// ExpirationSeconds when zero). Token, when set, is logged as
// status.token, as the API server does at this level.
type K8sTokenRequest struct {
	AuditID, JTI, Namespace, ServiceAccount, Requester string
	RequesterCredentialID, SourceIP, UserAgent         string
	Audiences                                          []string
	ExpirationSeconds                                  int64
	BoundKind, BoundName, BoundUID                     string
	Token                                              string
	At, Expires                                        time.Time
}

// WriteK8sRequest writes r's ResponseComplete event, preceded by its
// RequestReceived event when allStages is set.
func WriteK8sRequest(w io.Writer, r K8sRequest, allStages bool) error {
	if r.Completed.IsZero() {
		r.Completed = r.Received.Add(3 * time.Millisecond)
	}
	ev := k8sEvent{
		Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: "Metadata", AuditID: r.AuditID,
		RequestURI: r.RequestURI, Verb: r.Verb, User: r.user(), SourceIPs: k8sIPs(r.SourceIP), UserAgent: r.UserAgent,
		RequestReceivedTimestamp: k8sMicro(r.Received),
	}
	if r.Resource != "" {
		ev.ObjectRef = &k8sObjectRef{Resource: r.Resource, Namespace: r.Namespace, Name: r.Name, APIGroup: r.APIGroup,
			APIVersion: "v1", Subresource: r.Subresource}
	}
	if allStages {
		ev.Stage, ev.StageTimestamp = "RequestReceived", k8sMicro(r.Received)
		if err := k8sWriteLine(w, ev); err != nil {
			return err
		}
	}
	ev.Stage, ev.StageTimestamp = "ResponseComplete", k8sMicro(r.Completed)
	ev.ResponseStatus = k8sStatus(r.Code, r)
	if r.Code != 401 {
		decision := "allow"
		if r.Code == 403 {
			decision = "forbid"
		}
		ev.Annotations = map[string]string{"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": ""}
	}
	return k8sWriteLine(w, ev)
}

// WriteK8sTokenRequest writes r's ResponseComplete event.
func WriteK8sTokenRequest(w io.Writer, r K8sTokenRequest) error {
	if r.Expires.IsZero() {
		r.Expires = r.At.Add(time.Duration(r.ExpirationSeconds) * time.Second)
	}
	spec := k8sTokenRequestSpec{Audiences: r.Audiences, ExpirationSeconds: r.ExpirationSeconds}
	if r.BoundKind != "" {
		spec.BoundObjectRef = &k8sBoundRef{Kind: r.BoundKind, APIVersion: "v1", Name: r.BoundName, UID: r.BoundUID}
	}
	reqObj := k8sTokenRequestObject{Kind: "TokenRequest", APIVersion: "authentication.k8s.io/v1",
		Metadata: k8sObjectMeta{CreationTimestamp: nil}, Spec: spec}
	respObj := reqObj
	created := r.At.UTC().Format(time.RFC3339)
	respObj.Metadata = k8sObjectMeta{Name: r.ServiceAccount, Namespace: r.Namespace, CreationTimestamp: &created}
	exp := r.Expires.UTC().Format(time.RFC3339)
	respObj.Status = k8sTokenRequestStatus{Token: r.Token, ExpirationTimestamp: &exp}
	user := k8sUser{Username: r.Requester}
	if node, ok := strings.CutPrefix(r.Requester, "system:node:"); ok && node != "" {
		user.Groups = []string{"system:nodes", "system:authenticated"}
	}
	if r.RequesterCredentialID != "" {
		user.Extra = map[string][]string{"authentication.kubernetes.io/credential-id": {r.RequesterCredentialID}}
	}
	ev := k8sEvent{
		Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: "RequestResponse", AuditID: r.AuditID, Stage: "ResponseComplete",
		RequestURI: "/api/v1/namespaces/" + r.Namespace + "/serviceaccounts/" + r.ServiceAccount + "/token",
		Verb:       "create", User: &user, SourceIPs: k8sIPs(r.SourceIP), UserAgent: r.UserAgent,
		ObjectRef: &k8sObjectRef{Resource: "serviceaccounts", Namespace: r.Namespace, Name: r.ServiceAccount,
			APIVersion: "v1", Subresource: "token"},
		ResponseStatus: &k8sResponseStatus{Metadata: struct{}{}, Code: 201},
		RequestObject:  &reqObj, ResponseObject: &respObj,
		RequestReceivedTimestamp: k8sMicro(r.At.Add(-2 * time.Millisecond)), StageTimestamp: k8sMicro(r.At.Add(time.Millisecond)),
		Annotations: map[string]string{
			"authentication.kubernetes.io/issued-credential-id": "JTI=" + r.JTI,
			"authorization.k8s.io/decision":                     "allow",
			"authorization.k8s.io/reason":                       "",
		},
	}
	return k8sWriteLine(w, ev)
}

// AKSResourceID is the resource id Azure writes in an AKS cluster's
// diagnostic records (upper case).
func AKSResourceID(subscription, resourceGroup, cluster string) string {
	return strings.ToUpper("/subscriptions/" + subscription + "/resourceGroups/" + resourceGroup +
		"/providers/Microsoft.ContainerService/managedClusters/" + cluster)
}

// WrapAKS wraps one event line as an AKS diagnostic setting writes it to
// a storage account's PT1H.json (one record a line, without its line
// ending): category "kube-audit" or "kube-audit-admin", the event as the
// properties.log string.
func WrapAKS(event []byte, resourceID, category string, at time.Time) ([]byte, error) {
	event = []byte(strings.TrimRight(string(event), "\r\n"))
	if !json.Valid(event) {
		return nil, errors.New("wrap AKS: event is not JSON")
	}
	sum := sha256.Sum256([]byte(resourceID))
	rec := struct {
		Time          string `json:"time"`
		ResourceID    string `json:"resourceId"`
		Category      string `json:"category"`
		OperationName string `json:"operationName"`
		Properties    struct {
			Log    string `json:"log"`
			Stream string `json:"stream"`
			Pod    string `json:"pod"`
		} `json:"properties"`
	}{Time: at.UTC().Format("2006-01-02T15:04:05.0000000Z"), ResourceID: resourceID, Category: category,
		OperationName: "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read"}
	rec.Properties.Log, rec.Properties.Stream = string(event), "stdout"
	rec.Properties.Pod = "kube-apiserver-" + hex.EncodeToString(sum[:5])
	return json.Marshal(rec)
}

func (r K8sRequest) user() *k8sUser {
	if r.Code == 401 {
		return &k8sUser{}
	}
	u := &k8sUser{Username: r.Username, UID: r.UID, Groups: r.Groups}
	if rest, ok := strings.CutPrefix(r.Username, "system:serviceaccount:"); ok && u.Groups == nil {
		ns, _, _ := strings.Cut(rest, ":")
		u.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	}
	extra := map[string][]string{}
	for k, v := range map[string]string{
		"authentication.kubernetes.io/pod-name": r.PodName, "authentication.kubernetes.io/pod-uid": r.PodUID,
		"authentication.kubernetes.io/node-name": r.NodeName, "authentication.kubernetes.io/node-uid": r.NodeUID,
	} {
		if v != "" {
			extra[k] = []string{v}
		}
	}
	if r.JTI != "" {
		extra["authentication.kubernetes.io/credential-id"] = []string{"JTI=" + r.JTI}
	}
	if len(extra) > 0 {
		u.Extra = extra
	}
	return u
}

// k8sStatus is the responseStatus the API server logs for code.
func k8sStatus(code int, r K8sRequest) *k8sResponseStatus {
	s := &k8sResponseStatus{Metadata: struct{}{}, Code: code}
	switch {
	case code == 401:
		s.Status, s.Message, s.Reason = "Failure", "Unauthorized", "Unauthorized"
	case code == 403:
		s.Status, s.Reason = "Failure", "Forbidden"
		s.Message = fmt.Sprintf("%s %q is forbidden: User %q cannot %s resource %q in API group %q in the namespace %q",
			r.Resource, r.Name, r.Username, r.Verb, r.Resource, r.APIGroup, r.Namespace)
		s.Details = &k8sStatusDetails{Name: r.Name, Kind: r.Resource}
	case code >= 400:
		s.Status = "Failure"
	}
	return s
}

func k8sIPs(ip string) []string {
	if ip == "" {
		return nil
	}
	return []string{ip}
}

// k8sMicro formats t as metav1.MicroTime does.
func k8sMicro(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func k8sWriteLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// The audit.k8s.io/v1 Event, in the field order of its Go type.
type k8sEvent struct {
	Kind                     string                 `json:"kind"`
	APIVersion               string                 `json:"apiVersion"`
	Level                    string                 `json:"level"`
	AuditID                  string                 `json:"auditID"`
	Stage                    string                 `json:"stage"`
	RequestURI               string                 `json:"requestURI"`
	Verb                     string                 `json:"verb"`
	User                     *k8sUser               `json:"user"`
	SourceIPs                []string               `json:"sourceIPs,omitempty"`
	UserAgent                string                 `json:"userAgent,omitempty"`
	ObjectRef                *k8sObjectRef          `json:"objectRef,omitempty"`
	ResponseStatus           *k8sResponseStatus     `json:"responseStatus,omitempty"`
	RequestObject            *k8sTokenRequestObject `json:"requestObject,omitempty"`
	ResponseObject           *k8sTokenRequestObject `json:"responseObject,omitempty"`
	RequestReceivedTimestamp string                 `json:"requestReceivedTimestamp"`
	StageTimestamp           string                 `json:"stageTimestamp"`
	Annotations              map[string]string      `json:"annotations,omitempty"`
}

type k8sUser struct {
	Username string              `json:"username,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

type k8sObjectRef struct {
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	APIVersion  string `json:"apiVersion,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

type k8sResponseStatus struct {
	Metadata struct{}          `json:"metadata"`
	Status   string            `json:"status,omitempty"`
	Message  string            `json:"message,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Details  *k8sStatusDetails `json:"details,omitempty"`
	Code     int               `json:"code,omitempty"`
}

type k8sStatusDetails struct {
	Name string `json:"name,omitempty"`
	Kind string `json:"kind,omitempty"`
}

type k8sTokenRequestObject struct {
	Kind       string                `json:"kind"`
	APIVersion string                `json:"apiVersion"`
	Metadata   k8sObjectMeta         `json:"metadata"`
	Spec       k8sTokenRequestSpec   `json:"spec"`
	Status     k8sTokenRequestStatus `json:"status"`
}

type k8sObjectMeta struct {
	Name              string  `json:"name,omitempty"`
	Namespace         string  `json:"namespace,omitempty"`
	CreationTimestamp *string `json:"creationTimestamp"`
}

type k8sTokenRequestSpec struct {
	Audiences         []string     `json:"audiences"`
	ExpirationSeconds int64        `json:"expirationSeconds"`
	BoundObjectRef    *k8sBoundRef `json:"boundObjectRef"`
}

type k8sBoundRef struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	Name       string `json:"name,omitempty"`
	UID        string `json:"uid,omitempty"`
}

type k8sTokenRequestStatus struct {
	Token               string  `json:"token"`
	ExpirationTimestamp *string `json:"expirationTimestamp"`
}
