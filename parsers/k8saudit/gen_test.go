package k8saudit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

// The incident generator's audit log lines read back as the sightings and
// issuances it meant: one sighting per request whatever its stages, the
// TokenRequest as an issuance, a failed authentication as nothing.
func TestGeneratorRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 123456000, time.UTC)
	const token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJqdGkiOiJqdGktMSJ9.c2ln"
	var b bytes.Buffer
	tr := idincident.K8sTokenRequest{
		AuditID: "aud-tr", JTI: "jti-1", Namespace: "shop", ServiceAccount: "orders", Requester: "system:node:node-1",
		RequesterCredentialID: "X509SHA256=00ff", SourceIP: "10.0.1.1", UserAgent: "kubelet/v1.32.2",
		Audiences: []string{"https://kubernetes.default.svc", "vault"}, ExpirationSeconds: 3600,
		BoundKind: "Pod", BoundName: "orders-1", BoundUID: "pod-uid-1", Token: token, At: t0,
	}
	if err := idincident.WriteK8sTokenRequest(&b, tr); err != nil {
		t.Fatal(err)
	}
	req := idincident.K8sRequest{
		AuditID: "aud-1", JTI: "jti-1", Username: "system:serviceaccount:shop:orders", UID: "sa-uid",
		PodName: "orders-1", PodUID: "pod-uid-1", NodeName: "node-1", SourceIP: "10.244.0.5", UserAgent: "app/1",
		Verb: "get", RequestURI: "/api/v1/namespaces/shop/configmaps/cfg?x=1", Resource: "configmaps", Namespace: "shop", Name: "cfg",
		Code: 200, Received: t0.Add(time.Minute),
	}
	if err := idincident.WriteK8sRequest(&b, req, true); err != nil {
		t.Fatal(err)
	}
	forbidden := req
	forbidden.AuditID, forbidden.JTI, forbidden.Code, forbidden.Received = "aud-2", "forged-1", 403, t0.Add(2*time.Minute)
	forbidden.Resource, forbidden.Name, forbidden.RequestURI = "secrets", "db", "/api/v1/namespaces/shop/secrets/db"
	if err := idincident.WriteK8sRequest(&b, forbidden, false); err != nil {
		t.Fatal(err)
	}
	failed := forbidden
	failed.AuditID, failed.Code = "aud-3", 401
	if err := idincident.WriteK8sRequest(&b, failed, false); err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(Format, "audit.log", b.Bytes(), record.Options{Observer: "prod-eu"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 0 || c.Accounted() != c.Stats.Records || c.Stats.Records != 5 {
		t.Fatalf("read %d, rejects %+v", c.Stats.Records, c.Rejects)
	}
	if len(c.Issuances) != 1 {
		t.Fatalf("issuances %+v", c.Issuances)
	}
	sum := sha256.Sum256([]byte(token))
	iss := c.Issuances[0]
	if iss.ArtifactID != "jti-1" || iss.Subject != "system:serviceaccount:shop:orders" || iss.Audience != "https://kubernetes.default.svc,vault" ||
		!iss.ExpiresAt.Equal(t0.Add(time.Hour).Truncate(time.Second)) || iss.RawSHA256 != hex.EncodeToString(sum[:]) ||
		attr(iss.Attrs, "requester") != "system:node:node-1" || attr(iss.Attrs, "boundObjectRef.uid") != "pod-uid-1" {
		t.Errorf("issuance %+v", iss)
	}
	if len(c.Sightings) != 2 {
		t.Fatalf("sightings %+v", c.Sightings)
	}
	s := c.Sightings[0]
	if s.ArtifactID != "jti-1" || s.Principal != req.Username || s.Observer != "prod-eu" || s.ClientIP != "10.244.0.5" ||
		s.Action != "get /api/v1/namespaces/shop/configmaps/cfg" || s.Outcome != record.OutcomeAccepted ||
		!s.ObservedAt.Equal(req.Received.Add(3*time.Millisecond)) || attr(s.Attrs, "authentication.kubernetes.io/pod-name") != "orders-1" {
		t.Errorf("sighting %+v", s)
	}
	if f := c.Sightings[1]; f.ArtifactID != "forged-1" || f.Outcome != record.OutcomeAccepted || attr(f.Attrs, "authorization.k8s.io/decision") != "forbid" {
		t.Errorf("forbidden request %+v", f)
	}
	reasons := map[string]int{}
	for _, ig := range c.Ignores {
		reasons[ig.Reason]++
	}
	if reasons[IgnoreStage] != 1 || reasons[IgnoreNoCredential] != 1 {
		t.Errorf("ignored %+v", c.Ignores)
	}

	// the same lines through AKS diagnostic settings
	var aks bytes.Buffer
	rid := idincident.AKSResourceID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "shop-prod", "shop-aks")
	for i, line := range bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n")) {
		category := "kube-audit"
		if i == 0 {
			category = "kube-audit-admin"
		}
		w, err := idincident.WrapAKS(line, rid, category, t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		aks.Write(append(w, '\n'))
	}
	if !Format.Sniff(sampleLines(aks.Bytes())) {
		t.Error("AKS lines not claimed")
	}
	c2, err := recordtest.Parse(Format, "PT1H.json", aks.Bytes(), record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.Sightings) != 2 || len(c2.Issuances) != 1 || len(c2.Rejects) != 0 ||
		c2.Sightings[0].Observer != "SHOP-AKS" || c2.Issuances[0].ArtifactID != "jti-1" {
		t.Errorf("AKS: %+v", c2)
	}
	if _, err := idincident.WrapAKS([]byte("{truncated"), rid, "kube-audit", t0); err == nil {
		t.Error("WrapAKS took a line that is not JSON")
	}
}
