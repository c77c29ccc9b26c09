package idincident

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"time"

	"github.com/forgehunt/forgehunt/internal/genfiles"
)

// writeCloudTrail writes the trail as CloudTrail delivers it to S3: one
// gzipped {"Records":[...]} file per account, region and hour, under
// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/.
func (sc *scenario) writeCloudTrail(w *genfiles.Files) error {
	type ev struct {
		at time.Time
		v  any
	}
	var evs []ev
	for _, s := range sc.sessions {
		evs = append(evs, ev{s.at, CTWebIdentity{EventID: s.eventID, RequestID: sc.uuid(), Account: AWSAccount, Region: AWSRegion,
			Provider: "oidc.eks." + AWSRegion + ".amazonaws.com/id/" + eksOIDCID, Audience: "sts.amazonaws.com", Subject: s.subject,
			RoleArn: s.roleArn, RoleSessionName: s.session, AccessKeyID: s.keyID, AssumedRoleID: s.roleID,
			SourceIP: s.ip, UserAgent: "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/sts#1.30.3",
			At: s.at, Expires: s.exp}})
	}
	roleIDs := map[string]string{}
	for _, s := range sc.sessions {
		roleIDs[s.keyID] = s.roleID + ":" + s.session
	}
	for _, c := range sc.calls {
		evs = append(evs, ev{c.at, CTCall{EventID: c.eventID, Account: AWSAccount, Region: AWSRegion, EventSource: c.source,
			EventName: c.name, AccessKeyID: c.keyID, Arn: c.arn, PrincipalID: roleIDs[c.keyID],
			SessionIssuerArn: roleArnOf(c.arn), SourceIP: c.ip, UserAgent: "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.1",
			ErrorCode: c.errorCode, SessionCreated: c.created, At: c.at}})
	}
	hours := map[time.Time][]any{}
	var order []time.Time
	for _, e := range evs {
		h := e.at.Truncate(time.Hour)
		if _, ok := hours[h]; !ok {
			order = append(order, h)
		}
		hours[h] = append(hours[h], e.v)
	}
	for _, h := range order {
		var raw bytes.Buffer
		if err := WriteCloudTrailRecords(&raw, hours[h]); err != nil {
			return err
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		if _, err := zw.Write(raw.Bytes()); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		name := fmt.Sprintf("%s/AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%sZ_%s.json.gz", CloudTrail, AWSAccount, AWSRegion,
			h.Format("2006/01/02"), AWSAccount, AWSRegion, h.Add(5*time.Minute).Format("20060102T1504"), sc.upperAlnum(16))
		if _, err := w.Out(name).Write(gz.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// eksOIDCID is the cluster's EKS OIDC provider id.
const eksOIDCID = "5C0DE5EA1D6F0E2B4A8C9D7E3F1A2B3C"

// roleArnOf is the role of an assumed-role ARN.
func roleArnOf(assumed string) string {
	const pre = "arn:aws:sts::" + AWSAccount + ":assumed-role/"
	rest := assumed[len(pre):]
	for i := range len(rest) {
		if rest[i] == '/' {
			rest = rest[:i]
			break
		}
	}
	return "arn:aws:iam::" + AWSAccount + ":role/" + rest
}

// writeEntra writes the tenant's sign-ins as diagnostic settings deliver
// them to a storage account (one PT1H.json blob per category and hour),
// and the cloud-only admins' as a Graph signIns page saved by hand.
func (sc *scenario) writeEntra(w *genfiles.Files) error {
	var cloud []EntraSignIn
	for _, s := range sc.signIns {
		e := EntraSignIn{ID: s.id, CorrelationID: s.correlation, UTI: s.uti, TenantID: TenantID, UPN: s.upn, UserID: s.userID,
			AppID: s.appID, AppName: s.app, ResourceID: s.resourceID, ResourceName: s.resource, IP: s.ip, UserAgent: s.ua,
			TokenIssuerType: s.issuerType, TokenIssuerName: s.issuerName, IncomingTokenType: s.incoming,
			ErrorCode: s.errorCode, Interactive: s.interactive, At: s.at}
		if s.issuerType == "AzureAD" {
			cloud = append(cloud, e)
			continue
		}
		// the blob of the hour the record was written in
		h := s.at.Add(90 * time.Second).UTC()
		name := fmt.Sprintf("%s/insights-logs-signinlogs/resourceId=/tenants/%s/providers/Microsoft.aadiam/y=%04d/m=%02d/d=%02d/h=%02d/m=00/PT1H.json",
			EntraDir, TenantID, h.Year(), h.Month(), h.Day(), h.Hour())
		if err := WriteEntraDiagnostic(w.Out(name), e); err != nil {
			return err
		}
	}
	if len(cloud) == 0 {
		return nil
	}
	return WriteEntraGraphPage(w.Out(EntraDir+"/graph-signins-admins.json"), cloud)
}

// writeADFS writes the farm's Security logs as they are collected: the
// first server's by Winlogbeat (ECS JSON lines), the second's exported
// with wevtutil (event XML).
func (sc *scenario) writeADFS(w *genfiles.Files) error {
	ecs := w.Out(ADFSDir + "/" + adfsFarm[0] + "/winlogbeat-security.ndjson")
	xml := w.Out(ADFSDir + "/" + adfsFarm[1] + "/security-adfs.xml")
	for _, e := range sc.adfs {
		ev := ADFSEvent{EventID: e.id, ActivityID: e.activity, Computer: e.server, UserID: e.user, RelyingParty: e.rp,
			IP: e.ip, UserAgent: e.ua, AuthProtocol: e.proto, NetworkLocation: "Extranet", RecordID: e.record, At: e.at}
		var err error
		if e.server == adfsFarm[0] {
			err = WriteADFSWinlogbeat(ecs, ev)
		} else {
			err = WriteADFSEventXML(xml, ev)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
