package idincident

// AD FS security audits (Security log, provider "AD FS Auditing"), written
// as Winlogbeat ships them (ECS JSON lines) and as wevtutil qe prints them
// (event XML): the farm's own record of the SAML tokens it issued.

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// ADFSEvent is one AD FS audit event: 1200 (token issued), 1201 (token
// issuance failed), 1202 (credential validated), 1203 (credential
// validation failed), or 299 (older AD FS's token issued). Empty strings
// are written as AD FS writes a missing value, "N/A".
type ADFSEvent struct {
	EventID    int
	ActivityID string // the request's GUID: the event data's Activity ID and the System correlation
	InstanceID string // event 299 only; "" derives one from ActivityID
	Computer   string // the farm server that wrote the event
	UserID     string // e.g. CONTOSO\alice or alice@contoso.com
	// RelyingParty is the relying party's identifier, e.g.
	// urn:federation:MicrosoftOnline.
	RelyingParty    string
	IP              string // the client's address
	UserAgent       string
	AuthProtocol    string // WSFederation, SAMLP, OAuth, WSTrust
	NetworkLocation string // Intranet, Extranet
	MFA             bool   // MfaPerformed (with MfaMethod "Microsoft Authenticator")
	RecordID        int64
	At              time.Time
}

// WriteADFSWinlogbeat writes e as one Winlogbeat ECS JSON line: the event
// data as winlog.event_data.param1 (the Activity ID) and param2 (the
// AuditBase XML), the correlation as winlog.activity_id in braces.
func WriteADFSWinlogbeat(w io.Writer, e ADFSEvent) error {
	data, msg, err := adfsEventData(e)
	if err != nil {
		return err
	}
	params := make(map[string]string, len(data))
	for i, d := range data {
		params[fmt.Sprintf("param%d", i+1)] = d
	}
	doc := adfsECS{Timestamp: e.At.UTC().Format("2006-01-02T15:04:05.000Z"), Message: msg}
	doc.Event.Code = fmt.Sprint(e.EventID)
	doc.Event.Provider = adfsProvider
	doc.Event.Kind = "event"
	doc.Event.Outcome = "success"
	if adfsFailure(e.EventID) {
		doc.Event.Outcome = "failure"
	}
	doc.Host.Name = e.Computer
	doc.Winlog = adfsWinlog{Channel: "Security", ProviderName: adfsProvider, EventID: e.EventID,
		ActivityID: "{" + strings.ToUpper(e.ActivityID) + "}", ComputerName: e.Computer, RecordID: e.RecordID,
		Keywords: []string{adfsKeyword(e.EventID), "Classic"}, Opcode: "Info", Task: "", EventData: params}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // Winlogbeat writes < and > as they are
	return enc.Encode(doc)
}

// WriteADFSEventXML writes e as one <Event> element on a line of its own,
// as wevtutil qe Security /f:xml prints it.
func WriteADFSEventXML(w io.Writer, e ADFSEvent) error {
	data, _, err := adfsEventData(e)
	if err != nil {
		return err
	}
	keywords := "0x80a0000000000000" // Audit Success, Classic
	if adfsFailure(e.EventID) {
		keywords = "0x8090000000000000"
	}
	var b strings.Builder
	b.WriteString("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>")
	b.WriteString("<Provider Name='" + adfsProvider + "'/>")
	fmt.Fprintf(&b, "<EventID Qualifiers='0'>%d</EventID><Version>0</Version><Level>0</Level><Task>3</Task><Opcode>0</Opcode>", e.EventID)
	fmt.Fprintf(&b, "<Keywords>%s</Keywords><TimeCreated SystemTime='%s'/>", keywords, e.At.UTC().Format("2006-01-02T15:04:05.0000000Z"))
	fmt.Fprintf(&b, "<EventRecordID>%d</EventRecordID><Correlation ActivityID='{%s}'/>", e.RecordID, adfsEscape(strings.ToUpper(e.ActivityID)))
	b.WriteString("<Execution ProcessID='920' ThreadID='4412'/><Channel>Security</Channel>")
	b.WriteString("<Computer>" + adfsEscape(e.Computer) + "</Computer><Security UserID='S-1-5-80-2037785738-3566101936-1234567890-1111111111-2222222222'/>")
	b.WriteString("</System><EventData>")
	for _, d := range data {
		b.WriteString("<Data>" + adfsEscape(d) + "</Data>")
	}
	b.WriteString("</EventData></Event>\n")
	_, err = io.WriteString(w, b.String())
	return err
}

const adfsProvider = "AD FS Auditing"

type adfsECS struct {
	Timestamp string `json:"@timestamp"`
	Event     struct {
		Code     string `json:"code"`
		Kind     string `json:"kind"`
		Outcome  string `json:"outcome"`
		Provider string `json:"provider"`
	} `json:"event"`
	Host struct {
		Name string `json:"name"`
	} `json:"host"`
	Message string     `json:"message"`
	Winlog  adfsWinlog `json:"winlog"`
}

type adfsWinlog struct {
	ActivityID   string            `json:"activity_id"`
	Channel      string            `json:"channel"`
	ComputerName string            `json:"computer_name"`
	EventData    map[string]string `json:"event_data"`
	EventID      int               `json:"event_id"`
	Keywords     []string          `json:"keywords"`
	Opcode       string            `json:"opcode"`
	ProviderName string            `json:"provider_name"`
	RecordID     int64             `json:"record_id"`
	Task         string            `json:"task,omitempty"`
}

func adfsFailure(id int) bool { return id == 1201 || id == 1203 }

func adfsKeyword(id int) string {
	if adfsFailure(id) {
		return "Audit Failure"
	}
	return "Audit Success"
}

// adfsEventData returns the Data elements of e and its rendered message.
func adfsEventData(e ADFSEvent) ([]string, string, error) {
	activity := strings.ToLower(e.ActivityID)
	switch e.EventID {
	case 1200, 1201, 1202, 1203:
		doc := adfsAuditXML(e)
		msg := map[int]string{
			1200: "The Federation Service issued a valid token. See XML for details.",
			1201: "The Federation Service failed to issue a valid token. See XML for failure details.",
			1202: "The Federation Service validated a new credential. See XML for details.",
			1203: "The Federation Service failed to validate a new credential. See XML for failure details.",
		}[e.EventID]
		return []string{activity, doc}, msg + " \r\n\r\nActivity ID: " + activity + " \r\n\r\nAdditional Data \r\nXML: " + doc, nil
	case 299:
		instance := strings.ToLower(e.InstanceID)
		if instance == "" {
			instance = adfsDerivedGUID(activity)
		}
		rp := adfsNA(e.RelyingParty)
		msg := "A token was successfully issued for the relying party '" + rp + "'. See audit 500 with the same Instance ID for issued claims." +
			" \r\n\r\nInstance ID: " + instance + " \r\n\r\nActivity ID: " + activity + " \r\n\r\nRelying party: " + rp
		return []string{instance, activity, rp}, msg, nil
	}
	return nil, "", fmt.Errorf("adfs: event %d is not one the writer knows", e.EventID)
}

// adfsAuditXML is the AuditBase document of events 1200-1203, with AD FS's
// CRLF line breaks.
func adfsAuditXML(e ADFSEvent) string {
	typ, auditType, result, failure := "AppTokenAudit", "AppToken", "Success", "None"
	switch e.EventID {
	case 1201:
		result, failure = "Failure", "ProtocolError"
	case 1202:
		typ, auditType = "FreshCredentialAudit", "FreshCredentials"
	case 1203:
		typ, auditType, result, failure = "FreshCredentialAudit", "FreshCredentials", "Failure", "CredentialValidationError"
	}
	primary := "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	if e.EventID == 1203 {
		primary = "N/A"
	}
	mfa, mfaMethod := "false", "N/A"
	if e.MFA {
		mfa, mfaMethod = "true", "Microsoft Authenticator"
	}
	forwarded := "<ForwardedIpAddress />"
	if e.NetworkLocation == "Extranet" && e.IP != "" {
		forwarded = "<ForwardedIpAddress>" + adfsEscape(e.IP) + "</ForwardedIpAddress>"
	}
	lines := []string{
		`<?xml version="1.0" encoding="utf-16"?>`,
		`<AuditBase xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="` + typ + `">`,
		`  <AuditType>` + auditType + `</AuditType>`,
		`  <AuditResult>` + result + `</AuditResult>`,
		`  <FailureType>` + failure + `</FailureType>`,
		`  <ErrorCode>N/A</ErrorCode>`,
		`  <ContextComponents>`,
		`    <Component xsi:type="ResourceAuditComponent">`,
		`      <RelyingParty>` + adfsText(e.RelyingParty) + `</RelyingParty>`,
		`      <ClaimsProvider>AD AUTHORITY</ClaimsProvider>`,
		`      <UserId>` + adfsText(e.UserID) + `</UserId>`,
		`    </Component>`,
		`    <Component xsi:type="AuthNAuditComponent">`,
		`      <PrimaryAuth>` + primary + `</PrimaryAuth>`,
		`      <DeviceAuth>false</DeviceAuth>`,
		`      <DeviceId>N/A</DeviceId>`,
		`      <MfaPerformed>` + mfa + `</MfaPerformed>`,
		`      <MfaMethod>` + mfaMethod + `</MfaMethod>`,
		`      <TokenBindingProvidedId>false</TokenBindingProvidedId>`,
		`      <TokenBindingReferredId>false</TokenBindingReferredId>`,
		`      <SsoBindingValidationLevel>NotSet</SsoBindingValidationLevel>`,
		`    </Component>`,
		`    <Component xsi:type="ProtocolAuditComponent">`,
		`      <OAuthClientId>N/A</OAuthClientId>`,
		`      <OAuthGrant>N/A</OAuthGrant>`,
		`    </Component>`,
		`    <Component xsi:type="RequestAuditComponent">`,
		`      <Server>` + adfsEscape(FederationID) + `</Server>`,
		`      <AuthProtocol>` + adfsText(e.AuthProtocol) + `</AuthProtocol>`,
		`      <NetworkLocation>` + adfsText(e.NetworkLocation) + `</NetworkLocation>`,
		`      <IpAddress>` + adfsText(e.IP) + `</IpAddress>`,
		`      ` + forwarded,
		`      <ProxyIpAddress>N/A</ProxyIpAddress>`,
		`      <NetworkIpAddress>N/A</NetworkIpAddress>`,
		`      <ProxyServer>N/A</ProxyServer>`,
		`      <UserAgentString>` + adfsText(e.UserAgent) + `</UserAgentString>`,
		`      <Endpoint>/adfs/ls/</Endpoint>`,
		`    </Component>`,
		`  </ContextComponents>`,
		`</AuditBase>`,
	}
	return strings.Join(lines, "\r\n")
}

func adfsNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

func adfsText(s string) string { return adfsEscape(adfsNA(s)) }

// adfsEscape escapes s as XML text or an attribute value.
func adfsEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// adfsDerivedGUID derives a stable GUID-shaped id from s.
func adfsDerivedGUID(s string) string {
	var h uint64 = 14695981039346656037
	var out [16]byte
	for i := range out {
		for _, c := range []byte(s) {
			h = (h ^ uint64(c)) * 1099511628211
		}
		h = (h ^ uint64(i)) * 1099511628211
		out[i] = byte(h >> 56)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", out[0:4], out[4:6], out[6:8], out[8:10], out[10:16])
}
