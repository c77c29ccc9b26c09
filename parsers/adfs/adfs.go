// Package adfs reads the AD FS farm's own audit events (Security log,
// provider "AD FS Auditing") as the issuer's record of the tokens it issued:
// the record a Golden SAML hunt matches relying-party sign-ins against.
//
// # Events
//
// AD FS 2016 and later write, at the default audit level Basic, one
// AppTokenAudit per token (event 1200, "The Federation Service issued a
// valid token") and one FreshCredentialAudit per credential check (1202
// validated, 1203 failed); 1201 is a failed issuance. Their event data is
// two unnamed Data elements: the request's Activity ID (%1) and an XML
// document (%2):
//
//	<AuditBase xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="AppTokenAudit">
//	  <AuditType>AppToken</AuditType><AuditResult>Success</AuditResult><FailureType>None</FailureType><ErrorCode>N/A</ErrorCode>
//	  <ContextComponents>
//	    <Component xsi:type="ResourceAuditComponent"><RelyingParty/><ClaimsProvider/><UserId/></Component>
//	    <Component xsi:type="AuthNAuditComponent"><PrimaryAuth/><DeviceAuth/><DeviceId/><MfaPerformed/><MfaMethod/>…</Component>
//	    <Component xsi:type="ProtocolAuditComponent"><OAuthClientId/><OAuthGrant/></Component>
//	    <Component xsi:type="RequestAuditComponent"><Server/><AuthProtocol/><NetworkLocation/><IpAddress/>
//	      <ForwardedIpAddress/><ProxyIpAddress/><NetworkIpAddress/><ProxyServer/><UserAgentString/><Endpoint/></Component>
//	  </ContextComponents>
//	</AuditBase>
//
// At the Verbose level, and in AD FS 2.0 to 2012 R2, a token issuance is
// event 299 ("A token was successfully issued for the relying party"),
// whose data is the Instance ID (%1, the key of its 500 and 501 claim
// events), the Activity ID (%2) and the relying party (%3).
//
// # Forms read
//
// Format ("adfs-audit") reads JSON, one object a line or as JSON arrays
// and pretty-printed documents (one after the other), in four shapes:
//
//   - Winlogbeat and Elastic Agent (ECS): winlog.provider_name,
//     winlog.event_id (number or string; event.code), @timestamp,
//     winlog.computer_name (host.name), winlog.record_id,
//     winlog.activity_id, winlog.event_data.param1…paramN, message; an
//     Elasticsearch hit's _source is unwrapped, dotted keys
//     ("winlog.event_id") are read too;
//   - Microsoft Sentinel / Log Analytics SecurityEvent rows:
//     EventSourceName, EventID, TimeGenerated, Computer, EventData (the
//     <EventData><Data>…</Data></EventData> XML as a string);
//   - PowerShell's Get-WinEvent | ConvertTo-Json: ProviderName, Id,
//     TimeCreated ("/Date(ms)/" or ISO), MachineName, RecordId,
//     ActivityId, Properties[].Value, Message;
//   - NXLog im_msvistalog JSON: SourceName, EventID, EventTime, Hostname,
//     RecordNumber, ActivityID, Message.
//
// XML ("adfs-evtx-xml") reads Windows event XML: <Event
// xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
// elements one after the other without a root (wevtutil qe,
// Get-WinEvent's ToXml()) or inside <Events> (wevtutil /e:Events, Event
// Viewer), one a line or pretty-printed: System/Provider@Name, EventID,
// TimeCreated@SystemTime, EventRecordID, Correlation@ActivityID, Computer,
// EventData/Data. CSV ("adfs-csv") reads the CSV exports of Log Analytics
// (SecurityEvent columns; "TimeGenerated [UTC]" headers and the portal's
// "3/4/2026, 10:00:00.123 AM" times) and of PowerShell's Get-WinEvent |
// Export-Csv (ProviderName, Id, TimeCreated, MachineName, RecordId,
// ActivityId, Message; its #TYPE line is a header).
//
// Where the event data is not there (NXLog, Export-Csv), the Activity ID
// and the XML are read from the rendered message ("Activity ID: …",
// "XML: …"). Files in UTF-16 (PowerShell 5's redirections) are decoded.
// Times without a zone are read in Options.Location.
//
// # Mapping
//
// An event 1200 is an issuance of kind saml: ArtifactID is the request's
// Activity ID, lower case without braces (the event data's %1, else the
// System Correlation ActivityID; AD FS logs no assertion id, and the
// Activity ID is what Entra ID's sign-in logs carry as the federated
// sign-in's correlation id); Issuer is empty (the farm's identifier,
// RequestAuditComponent/Server, goes to Attrs as federationService);
// Subject is ResourceAuditComponent/UserId; Audience is the RelyingParty;
// IssuedAt is the event's time. Attrs: server (the computer name),
// eventId, recordId, activityId, correlationActivityId (when it differs),
// relyingParty, claimsProvider, ipAddress, forwardedIpAddress,
// proxyIpAddress, networkIpAddress, proxyServer, userAgent, authProtocol,
// networkLocation, endpoint, primaryAuth, mfaPerformed, mfaMethod,
// deviceId, oauthClientId, oauthGrant, auditResult, federationService.
// AD FS's "N/A" placeholder is left out. An event 299 is an issuance
// keyed by its Activity ID (else its Instance ID), with Audience the
// relying party, an empty Subject (the user is in its 500 events), and
// Attrs server, eventId, recordId, activityId, correlationActivityId,
// instanceId, relyingParty.
//
// An event 1200 without an Activity ID, or whose AuditBase is missing or
// cannot be parsed, is rejected; one whose AuditResult is not Success is
// ignored as a failed issuance. A control character in a logged value (a
// user agent), which XML 1.0 does not allow, is read as U+FFFD rather
// than losing the event. Other AD FS audit events issue nothing
// and are ignored (IgnoreCredential, IgnoreFailed, IgnoreOAuth,
// IgnoreNoIssuance); events of other providers in the same export are
// ignored as IgnoreNotADFS.
//
// # Detection
//
// Each format claims a file whose first lines name the AD FS Auditing
// provider in its own shape (for CSV, or AD FS's message or AuditBase,
// which Export-Csv puts first). A pretty-printed JSON export whose first
// lines do not reach the provider field, or an export whose first events
// are another provider's, is not detected: name the format.
//
// # Records and positions
//
// A record is a JSON line, array element or document, an <Event>
// element, or a CSV record. Position.Line is the line the record starts
// on; when several start on one line (a JSON array or wevtutil output
// without line breaks), each takes one past the previous one's, so that
// every record has its own (record.EntryPositions). A JSON array or
// document that cannot be parsed stops the file there (it cannot be
// resynchronised); an <Event> that is not closed before the next one
// starts, or before the end of the file, is rejected and reading goes on.
package adfs

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// ProviderName is the event provider (source) of AD FS's security audits.
const ProviderName = "AD FS Auditing"

// Ignore reasons.
const (
	IgnoreNotADFS    = "not an AD FS audit event"
	IgnoreCredential = "credential validation"
	IgnoreFailed     = "token issuance failed"
	IgnoreOAuth      = "OAuth token audit (not read)"
	IgnoreNoIssuance = "not a token issuance"
)

// Event IDs of the AD FS Auditing provider.
const (
	EventAppToken      = 1200 // AppTokenSuccessAudit
	EventAppTokenFail  = 1201 // AppTokenFailureAudit
	EventFreshCred     = 1202 // FreshCredentialSuccessAudit
	EventFreshCredFail = 1203 // FreshCredentialFailureAudit
	EventTokenIssued   = 299  // TokenIssuanceSuccessAudit
)

// failedIssuance are the audits of a token AD FS refused to issue:
// WS-Trust, ActAs, SAML-P, OnBehalfOf and caller authorization failures,
// and AppTokenFailureAudit.
var failedIssuance = map[int]bool{300: true, 301: true, 304: true, 322: true, 324: true, EventAppTokenFail: true}

// event is what every form holds of one Windows event.
type event struct {
	provider    string
	eventID     string
	time        string
	computer    string
	recordID    string
	correlation string   // System/Correlation@ActivityID
	data        []string // the EventData Data elements, in order
	hasData     bool     // the form carries the event data (even empty)
	message     string   // the rendered message, when the form has it
}

// emit maps e to exactly one sink call at pos.
func emit(sink record.Sink, pos record.Position, e *event, loc *time.Location, excerpt string) {
	iss, ignore, err := e.issuance(loc)
	switch {
	case err != nil:
		sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: excerpt})
	case ignore != "":
		sink.Ignore(pos, ignore)
	default:
		iss.Pos = pos
		sink.Issuance(iss)
	}
}

// issuance returns e's issuance, or the reason it is ignored, or why it is
// rejected.
func (e *event) issuance(loc *time.Location) (*record.Issuance, string, error) {
	if !strings.EqualFold(strings.TrimSpace(e.provider), ProviderName) {
		return nil, IgnoreNotADFS, nil
	}
	id, err := strconv.Atoi(strings.TrimSpace(e.eventID))
	if err != nil {
		return nil, "", errors.New("AD FS audit event without a numeric event id")
	}
	switch {
	case id == EventAppToken:
		return e.appToken(loc)
	case id == EventTokenIssued:
		return e.tokenIssued(loc)
	case id == EventFreshCred || id == EventFreshCredFail:
		return nil, IgnoreCredential, nil
	case failedIssuance[id]:
		return nil, IgnoreFailed, nil
	case id >= 1020 && id <= 1043:
		return nil, IgnoreOAuth, nil
	}
	return nil, IgnoreNoIssuance, nil
}

// appToken maps an event 1200.
func (e *event) appToken(loc *time.Location) (*record.Issuance, string, error) {
	activity, err := e.activityID()
	if err != nil {
		return nil, "", err
	}
	doc := e.auditXML()
	if doc == "" {
		return nil, "", errors.New("event 1200 without its AuditBase XML")
	}
	ab, err := parseAuditBase(doc)
	if err != nil {
		return nil, "", errors.New("event 1200: AuditBase XML: " + err.Error())
	}
	if r := ab.AuditResult; r != "" && !strings.EqualFold(r, "Success") {
		return nil, IgnoreFailed, nil
	}
	at, err := eventTime(e.time, loc)
	if err != nil {
		return nil, "", errors.New("event 1200: " + err.Error())
	}
	c := &ab.merged
	attrs := map[string]string{
		"server": e.computer, "eventId": "1200", "recordId": e.recordID, "activityId": activity,
		"relyingParty": c.RelyingParty, "claimsProvider": c.ClaimsProvider,
		"ipAddress": c.IpAddress, "forwardedIpAddress": c.ForwardedIpAddress, "proxyIpAddress": c.ProxyIpAddress,
		"networkIpAddress": c.NetworkIpAddress, "proxyServer": c.ProxyServer, "userAgent": c.UserAgentString,
		"authProtocol": c.AuthProtocol, "networkLocation": c.NetworkLocation, "endpoint": c.Endpoint,
		"primaryAuth": c.PrimaryAuth, "mfaPerformed": c.MfaPerformed, "mfaMethod": c.MfaMethod, "deviceId": c.DeviceId,
		"oauthClientId": c.OAuthClientId, "oauthGrant": c.OAuthGrant, "auditResult": ab.AuditResult,
		"federationService": c.Server,
	}
	e.addCorrelation(attrs, activity)
	return &record.Issuance{
		Kind: record.KindSAML, ArtifactID: activity, Subject: known(c.UserId), Audience: known(c.RelyingParty),
		IssuedAt: at, Attrs: attrsJSON(attrs),
	}, "", nil
}

// tokenIssued maps an event 299: Instance ID, Activity ID, relying party.
func (e *event) tokenIssued(loc *time.Location) (*record.Issuance, string, error) {
	var instance, activity, rp string
	if e.hasData && len(e.data) > 0 {
		instance, _ = canonicalGUID(e.data[0])
		rest := e.data[1:]
		if len(rest) > 0 {
			if g, ok := canonicalGUID(rest[0]); ok {
				activity, rest = g, rest[1:]
			}
		}
		if len(rest) > 0 {
			rp = strings.TrimSpace(rest[0])
		}
	} else {
		instance, _ = canonicalGUID(messageField(e.message, "Instance ID:"))
		activity, _ = canonicalGUID(messageField(e.message, "Activity ID:"))
		rp = quotedAfter(e.message, "relying party '")
	}
	if activity == zeroGUID {
		activity = ""
	}
	if activity == "" {
		if g, ok := canonicalGUID(e.correlation); ok && g != zeroGUID {
			activity = g
		}
	}
	id := activity
	if id == "" {
		id = instance
	}
	if id == "" || id == zeroGUID {
		return nil, "", errors.New("event 299 without an activity id or instance id")
	}
	at, err := eventTime(e.time, loc)
	if err != nil {
		return nil, "", errors.New("event 299: " + err.Error())
	}
	attrs := map[string]string{"server": e.computer, "eventId": "299", "recordId": e.recordID,
		"activityId": activity, "instanceId": instance, "relyingParty": rp}
	e.addCorrelation(attrs, activity)
	return &record.Issuance{Kind: record.KindSAML, ArtifactID: id, Audience: known(rp), IssuedAt: at, Attrs: attrsJSON(attrs)}, "", nil
}

// activityID is an event 12xx's Activity ID: its first Data element (or the
// message's "Activity ID:"), else the System correlation's.
func (e *event) activityID() (string, error) {
	var first string
	switch {
	case e.hasData && len(e.data) > 0:
		first = e.data[0]
	case !e.hasData:
		first = messageField(e.message, "Activity ID:")
	}
	if strings.TrimSpace(first) != "" {
		g, ok := canonicalGUID(first)
		if !ok {
			return "", errors.New("event 1200: its first data element (the activity id) is not a GUID")
		}
		if g != zeroGUID {
			return g, nil
		}
	}
	if g, ok := canonicalGUID(e.correlation); ok && g != zeroGUID {
		return g, nil
	}
	return "", errors.New("event 1200 without an activity id")
}

// addCorrelation records the System correlation's Activity ID when it is
// not the one the event names.
func (e *event) addCorrelation(attrs map[string]string, activity string) {
	if g, ok := canonicalGUID(e.correlation); ok && g != activity && g != zeroGUID {
		attrs["correlationActivityId"] = g
	}
}

// auditXML returns the AuditBase document: the Data element that holds
// one, else the rendered message's text after "XML:".
func (e *event) auditXML() string {
	for _, d := range e.data {
		if strings.Contains(d, "<AuditBase") {
			return d
		}
	}
	if e.hasData {
		return ""
	}
	i := strings.Index(e.message, "<AuditBase")
	if i < 0 {
		return ""
	}
	return e.message[i:]
}

// messageField returns the word after label in a rendered message.
func messageField(msg, label string) string {
	i := strings.Index(msg, label)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(msg[i+len(label):], " \t\r\n")
	if j := strings.IndexAny(rest, " \t\r\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// quotedAfter returns the text between prefix and the next quote.
func quotedAfter(msg, prefix string) string {
	i := strings.Index(msg, prefix)
	if i < 0 {
		return ""
	}
	rest := msg[i+len(prefix):]
	j := strings.IndexByte(rest, '\'')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

const zeroGUID = "00000000-0000-0000-0000-000000000000"

// canonicalGUID returns s as a lower-case GUID without braces, and whether
// it is one.
func canonicalGUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) != 36 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + 'a' - 'A'
		default:
			return "", false
		}
	}
	return string(b), true
}

// known returns v unless it is empty or AD FS's "N/A".
func known(v string) string {
	v = strings.TrimSpace(v)
	if v == "N/A" {
		return ""
	}
	return v
}

// attrsJSON is record.AttrsJSON without AD FS's "N/A" placeholders.
func attrsJSON(kv map[string]string) string {
	for k, v := range kv {
		if known(v) == "" {
			delete(kv, k)
		}
	}
	return record.AttrsJSON(kv)
}

// usTimeLayouts are the times of the Log Analytics portal's CSV export
// and of PowerShell in the en-US culture.
var usTimeLayouts = []string{
	"1/2/2006, 3:04:05 PM",
	"1/2/2006 3:04:05 PM",
	"1/2/2006, 15:04:05",
	"1/2/2006 15:04:05",
}

// eventTime parses an event's time: RFC 3339 with any fraction (Windows
// writes seven digits), the other forms record.ParseTime reads,
// PowerShell 5's "/Date(ms)/", and US-style portal times; zero when
// empty.
func eventTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if ms, ok := strings.CutPrefix(s, "/Date("); ok {
		ms, _ = strings.CutSuffix(ms, ")/")
		if i := strings.IndexAny(ms, "+-"); i > 0 { // "/Date(1772618400123+0100)/": the zone is informative
			ms = ms[:i]
		}
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return time.Time{}, errors.New("unrecognised time " + strconv.Quote(record.Excerpt(s, 40)))
		}
		return time.UnixMilli(n).UTC(), nil
	}
	if t, err := record.ParseTime(s, loc); err == nil {
		return t, nil
	}
	for _, layout := range usTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("unrecognised time " + strconv.Quote(record.Excerpt(s, 40)))
}

// positions gives every record a line of its own: the line it starts on,
// or one past the previous record's.
type positions struct{ last int64 }

func (p *positions) at(line int64) int64 {
	if line <= p.last {
		line = p.last + 1
	}
	p.last = line
	return line
}
