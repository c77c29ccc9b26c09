package idincident

import (
	"io"
	"slices"
	"time"

	"github.com/forgehunt/forgehunt/internal/genfiles"
)

// writeK8s writes each API server's audit log as the log backend writes
// it: one Event per line, in time order. The first server logs every
// stage of a request (its audit policy omits none), the others only
// ResponseComplete; a TokenRequest is logged at RequestResponse level by
// the server that handled it.
func (sc *scenario) writeK8s(w *genfiles.Files) error {
	type line struct {
		at    time.Time
		write func(io.Writer) error
	}
	per := map[string][]line{}
	for _, tr := range sc.tokenReqs {
		r := K8sTokenRequest{AuditID: tr.auditID, JTI: tr.jti, Namespace: tr.ns, ServiceAccount: tr.sa,
			Requester: "system:node:" + tr.node, RequesterCredentialID: "X509SHA256=" + sc.hex(64),
			SourceIP: "10.0.1." + tr.node[len(tr.node)-1:], UserAgent: "kubelet/v1.32.1 (linux/amd64) kubernetes/e9c9be4",
			Audiences: tr.audiences, ExpirationSeconds: int64(tr.exp.Sub(tr.at) / time.Second),
			BoundKind: "Pod", BoundName: tr.pod, BoundUID: tr.podUID, At: tr.at, Expires: tr.exp}
		per[tr.server] = append(per[tr.server], line{tr.at, func(b io.Writer) error { return WriteK8sTokenRequest(b, r) }})
	}
	for _, q := range sc.reqs {
		r := K8sRequest{AuditID: q.auditID, JTI: q.jti, Username: q.user, UID: sc.uuid(), PodName: q.pod, PodUID: q.podUID,
			NodeName: q.node, SourceIP: q.ip, UserAgent: q.ua, Verb: q.verb, RequestURI: q.uri, Resource: q.resource,
			Namespace: q.ns, Code: q.code, Received: q.at}
		all := q.server == apiServers[0]
		per[q.server] = append(per[q.server], line{q.at, func(b io.Writer) error { return WriteK8sRequest(b, r, all) }})
	}
	for _, srv := range apiServers {
		lines := per[srv]
		slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
		out := w.Out(K8sDir + "/" + srv + "/audit.log")
		for _, l := range lines {
			if err := l.write(out); err != nil {
				return err
			}
		}
	}
	return nil
}
