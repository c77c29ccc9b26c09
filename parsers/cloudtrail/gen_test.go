package cloudtrail

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

// What the incident generator writes reads back as the session it issued
// and the calls made with it.
func TestIncidentWriter(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	const account, key = "111122223333", "ASIAQXYZ7EKSPAYAPI01"
	arn := "arn:aws:sts::" + account + ":assumed-role/payments-api/botocore-session-1772618400"
	role := "arn:aws:iam::" + account + ":role/payments-api"
	web := idincident.CTWebIdentity{
		EventID: "5f0c9d2e-6a1b-4c3d-8e7f-0a1b2c3d4e01", RequestID: "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a01",
		Account: account, Region: "us-west-2", Provider: "oidc.eks.us-west-2.amazonaws.com/id/5C1E0F3B",
		Audience: "sts.amazonaws.com", Subject: "system:serviceaccount:payments:api",
		RoleArn: role, RoleSessionName: "botocore-session-1772618400", AccessKeyID: key, AssumedRoleID: "AROAQXYZ7PAYMENTSAPI",
		SourceIP: "10.20.4.17", UserAgent: "Boto3/1.35.10", At: at, Expires: at.Add(time.Hour),
	}
	call := func(id, source, name, code string, minutes int) idincident.CTCall {
		return idincident.CTCall{EventID: id, Account: account, Region: "us-west-2", EventSource: source, EventName: name,
			AccessKeyID: key, Arn: arn, PrincipalID: "AROAQXYZ7PAYMENTSAPI:botocore-session-1772618400", SessionIssuerArn: role,
			SourceIP: "10.20.4.17", UserAgent: "Boto3/1.35.10", ErrorCode: code, SessionCreated: at, At: at.Add(time.Duration(minutes) * time.Minute)}
	}
	get, denied, expired := call("e1", "s3.amazonaws.com", "GetObject", "", 1), call("e2", "s3.amazonaws.com", "PutObject", "AccessDenied", 2),
		call("e3", "sqs.amazonaws.com", "SendMessage", "ExpiredToken", 70)
	var b bytes.Buffer
	if err := idincident.WriteCloudTrailRecords(&b, []any{web, &get, denied, expired}); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b.Bytes()) || !Format.Sniff([][]byte{b.Bytes()}) {
		t.Fatalf("not a CloudTrail file: %s", b.Bytes())
	}
	if !Format.(record.FileSniffer).SniffFile("AWSLogs/"+account+"/CloudTrail/us-west-2/2026/03/04/"+account+"_CloudTrail_us-west-2_20260304T1000Z_x.json.gz", b.Bytes()) {
		t.Error("not claimed by its path")
	}
	c, err := recordtest.Parse(Format, "ct.json", b.Bytes(), record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Issuances) != 1 || len(c.Sightings) != 3 || len(c.Rejects)+len(c.Ignores) != 0 {
		t.Fatalf("%d issuances, %d sightings, %d rejects, %d ignores", len(c.Issuances), len(c.Sightings), len(c.Rejects), len(c.Ignores))
	}
	is := c.Issuances[0]
	if is.Kind != KindSession || is.ArtifactID != key || is.Issuer != "" || is.Subject != web.Subject || is.Audience != web.Audience ||
		!is.IssuedAt.Equal(at) || !is.ExpiresAt.Equal(at.Add(time.Hour)) || is.Pos.Line != 1 {
		t.Errorf("issuance %+v", is)
	}
	var attrs map[string]string
	if err := json.Unmarshal([]byte(is.Attrs), &attrs); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"token_issuer":    "https://oidc.eks.us-west-2.amazonaws.com/id/5C1E0F3B",
		"provider":        "arn:aws:iam::" + account + ":oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/5C1E0F3B",
		"assumedRoleArn":  arn,
		"assumedRoleId":   "AROAQXYZ7PAYMENTSAPI:botocore-session-1772618400",
		"roleArn":         role,
		"durationSeconds": "3600",
		"web_identity":    "true",
		"account":         account,
		"region":          "us-west-2",
		"eventID":         web.EventID,
		"requestID":       web.RequestID,
	} {
		if attrs[k] != want {
			t.Errorf("issuance attr %s = %q, want %q", k, attrs[k], want)
		}
	}
	for i, want := range []struct {
		action, outcome string
		minutes         int
	}{
		{"s3.amazonaws.com:GetObject", record.OutcomeAccepted, 1},
		{"s3.amazonaws.com:PutObject", record.OutcomeAccepted, 2},
		{"sqs.amazonaws.com:SendMessage", record.OutcomeRejected, 70},
	} {
		s := c.Sightings[i]
		if s.Kind != KindSession || s.ArtifactID != key || s.Principal != arn || s.ClientIP != "10.20.4.17" || s.Action != want.action ||
			s.Outcome != want.outcome || s.Observer != "aws:"+account+":us-west-2" || !s.ObservedAt.Equal(at.Add(time.Duration(want.minutes)*time.Minute)) ||
			s.Pos.Line != int64(i+2) {
			t.Errorf("sighting %d: %+v", i, s)
		}
	}
	if err := idincident.WriteCloudTrailRecords(&b, []any{"not an event"}); err == nil {
		t.Error("a string was written as an event")
	}
}
