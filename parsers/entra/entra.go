// Package entra reads Microsoft Entra ID (Azure AD) sign-in logs: the
// records Entra keeps of every sign-in, as customers export them.
//
// # Forms
//
// Format ("entra-signin") reads JSON:
//
//   - Azure Monitor diagnostic settings: one record per line, as written to
//     a storage account (insights-logs-signinlogs/…/PT1H.json and the
//     -noninteractiveusersigninlogs, -serviceprincipalsigninlogs,
//     -managedidentitysigninlogs and -adfssigninlogs containers), the
//     signIn in "properties":
//     {"time","resourceId","operationName":"Sign-in activity","category":"SignInLogs",
//     "tenantId","resultType","callerIpAddress","correlationId","identity","Level",
//     "location","properties":{…}}; and the same records in
//     {"records":[…]} batches (Event Hub, and storage before November 2018).
//   - Log Analytics / Sentinel rows of the tables SigninLogs,
//     AADNonInteractiveUserSignInLogs, AADServicePrincipalSignInLogs,
//     AADManagedIdentitySignInLogs and ADFSSignInLogs (PascalCase columns:
//     TimeGenerated, CreatedDateTime, CorrelationId, UniqueTokenIdentifier,
//     TokenIssuerType, UserPrincipalName, ResourceIdentity, Status, ResultType,
//     Type, …), as a JSON array (az monitor log-analytics query) or one a
//     line; columns of type dynamic (Status, MfaDetail) as objects or as
//     JSON text, the way the az CLI writes them.
//   - Microsoft Graph signIn objects (GET /auditLogs/signIns, v1.0 and
//     beta; camelCase: id, createdDateTime, userPrincipalName, userId, appId,
//     appDisplayName, ipAddress, correlationId, uniqueTokenIdentifier,
//     tokenIssuerType, tokenIssuerName, incomingTokenType, resourceId,
//     status{errorCode,failureReason}, mfaDetail, signInEventTypes, …): a
//     page {"@odata.context":…,"value":[…],"@odata.nextLink":…} per file or
//     several, a bare array, or one signIn a line; also the Graph
//     PowerShell SDK's ConvertTo-Json output (the same names in PascalCase).
//
// Key names are matched without regard to case; a UTF-8 byte-order mark is
// skipped. A file is read line by line when, of its first lines, the first
// that starts at column 0 with "{" and parses is a record, not a batch
// (EachLine; Position.Line is the line number; a line that is not a record
// is rejected and reading goes on). Any other file (an array, a
// page, a batch, pretty-printed JSON) is read as a sequence of JSON values,
// an array's or a page's elements one by one; Position.Line is then the
// record's ordinal in the file (record.EntryPositions), and a syntax error
// ends the file with a reject, since the rest cannot be resynchronised.
//
// CSV ("entra-signin-csv") reads the Log Analytics portal's Export to CSV
// of the same tables: a header line of column names (datetime columns as
// "TimeGenerated [UTC]"), quoted fields that may hold commas, newlines and
// the JSON of dynamic columns such as Status. Position.Line is the line a
// row starts on; the header is ignored (record.IgnoreHeader).
//
// Times: createdDateTime, else TimeGenerated, else the envelope's time, in
// every form Entra and its exporters write: RFC 3339 with 0 to 9 fractional
// digits and Z or an offset ("2025-02-01T16:26:24.6955459+00:00"), the
// US form of diagnostic records and portal exports ("11/14/2025 1:48:53 AM",
// "2/25/2025, 9:19:25.391 AM", optionally with an offset) and Windows
// PowerShell's "/Date(1700000000000)/". Times without a zone are UTC, as
// Entra documents, except in a CSV column whose header names another zone
// ("[Local Time]"), which is read in record.Options.Location.
//
// # Mapping
//
// A federated sign-in is one whose presented token came from AD FS:
// incomingTokenType names saml11 or saml20, or tokenIssuerType is
// ADFederationServices (or, with no tokenIssuerType, tokenIssuerName
// names an issuer that is not Entra's own) and incomingTokenType does not
// say that an Entra token (refreshToken, primaryRefreshToken,
// remoteDesktopToken) was presented instead. It is an id-only sighting of
// the SAML token AD FS issued:
//
//	Kind saml, ArtifactID = correlationId (lower case, no braces: what AD FS's
//	own record of the issuance is keyed by), Issuer "", ObservedAt =
//	createdDateTime, Source auth, Observer "entra:<tenantId>" ("entra" when
//	the record names no tenant; Options.Observer overrides), Principal =
//	userPrincipalName, ClientIP = ipAddress (else callerIpAddress),
//	UserAgent = userAgent, Action = "sign-in " + appDisplayName (else appId).
//
// Its Outcome is accepted when the error code (status.errorCode, else
// ResultType) is 0 or one of the interrupts that come after Entra has
// accepted the federated token and before it issues its own: 50074 and
// 50076 (MFA required), 50125 (password reset or registration
// interrupt), 50140 ("keep me signed in" interrupt), 50158 (external
// security challenge); any other code is rejected; unknown when the
// record has no result. A federated sign-in without correlationId is
// rejected.
//
// A sign-in that is not federated is Entra's own record of the token it
// issued when it succeeded (error code 0): an issuance of Kind jwt,
// ArtifactID = uniqueTokenIdentifier (the token's uti claim), Issuer "",
// Subject = userId (the token's oid), or servicePrincipalId for service
// principal and managed identity sign-ins, Audience = resourceId (the
// resource's app id; ResourceIdentity in Log Analytics rows, whose
// ResourceId is the Azure resource path), IssuedAt = createdDateTime. Such
// sign-ins are never sightings. A failed one issued nothing
// (IgnoreFailed), nor did an interrupted one (IgnoreInterrupted); a
// successful one without uniqueTokenIdentifier (records before 2021) is
// IgnoreNoTokenID.
//
// ADFSSignInLogs records (category or table ADFSSignInLogs: the AD FS
// farm's own sign-in records, forwarded by Entra Connect Health) are
// AD FS's record of the SAML token it issued: an issuance of Kind saml,
// ArtifactID = correlationId (lower case, no braces), Issuer "", Subject =
// userPrincipalName, Audience = the relying party (resourceId /
// ResourceIdentity, else appId), IssuedAt = createdDateTime; failed ones
// are IgnoreFailed, one without correlationId is rejected.
//
// Attrs hold, when logged: uti, id, correlationId (as logged), appId,
// appDisplayName, resourceId, resourceDisplayName, tokenIssuerType,
// tokenIssuerName, incomingTokenType, errorCode, failureReason,
// authenticationRequirement, mfa (mfaDetail.authMethod),
// conditionalAccessStatus, category (the diagnostic category or the
// Category column), table (the Type column), signInEventTypes, userId,
// userPrincipalName, userType, servicePrincipalId, servicePrincipalName,
// isInteractive, tenantId (the Entra tenant: the envelope's or
// properties' tenantId, AADTenantId), workspaceId (a Log Analytics row's
// TenantId, which is its workspace) and federated "true".
//
// Records of other categories or tables (AuditLogs, ProvisioningLogs, …,
// which an Event Hub carries with the sign-ins) are IgnoreNotSignIn. A
// record that is not a JSON object, has a mapped field of the wrong JSON
// type or twice, a Status that is not JSON, an error code or ResultType
// that is not a number, no time or a time that does not parse, is
// rejected with its position.
package entra

import (
	"bufio"
	"bytes"
	"context"
	"regexp"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads Entra sign-in logs in JSON. See the package documentation.
var Format record.Format = jsonFormat{}

// CSV reads Log Analytics CSV exports of Entra sign-in logs. See the
// package documentation.
var CSV record.Format = csvFormat{}

// Ignore reasons.
const (
	IgnoreFailed      = "sign-in failed"
	IgnoreInterrupted = "sign-in interrupted (no token issued)"
	IgnoreNoTokenID   = "no token identifier"
	IgnoreNotSignIn   = "not a sign-in log record"
)

// MaxFileBytes bounds a file read as a sequence of JSON values (an array, a
// page, a batch); past it the rest is rejected.
const MaxFileBytes = 1 << 30

type jsonFormat struct{}

func (jsonFormat) Name() string { return "entra-signin" }

func (jsonFormat) Description() string {
	return "Microsoft Entra ID sign-in logs (diagnostic settings, Log Analytics rows, Graph signIns): AD FS tokens accepted, Entra tokens issued"
}

// IssuerLog is false: a sign-in log holds sightings (federated sign-ins)
// as well as issuances.
func (jsonFormat) IssuerLog() bool { return false }

// EntryPositions: records of arrays and pages are numbered by their
// ordinal; see the package documentation.
func (jsonFormat) EntryPositions() bool { return true }

func (jsonFormat) Sniff(sample [][]byte) bool {
	starts := false
	for _, l := range sample {
		l = bytes.TrimSpace(bytes.TrimPrefix(l, bom))
		if len(l) > 0 && (l[0] == '{' || l[0] == '[') {
			starts = true
			break
		}
	}
	return starts && sniffJSON(bytes.Join(sample, []byte("\n")))
}

// SniffFile claims a pretty-printed file, whose first lines may hold no
// sign-in field yet.
func (jsonFormat) SniffFile(name string, head []byte) bool {
	t := bytes.TrimSpace(bytes.TrimPrefix(head, bom))
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && sniffJSON(head)
}

var bom = []byte("\xef\xbb\xbf")

var diagnosticCategory = regexp.MustCompile(`"category"\s*:\s*"(signinlogs|noninteractiveusersigninlogs|serviceprincipalsigninlogs|managedidentitysigninlogs|adfssigninlogs)"`)

// sniffJSON looks for the field sets only Entra sign-in records have.
func sniffJSON(b []byte) bool {
	l := bytes.ToLower(b)
	switch {
	case bytes.Contains(l, []byte(`"@odata.context"`)) && bytes.Contains(l, []byte(`auditlogs/signins`)):
		return true
	case diagnosticCategory.Match(l) && hasKey(l, "properties"):
		return true
	case hasKey(l, "correlationid") && (hasKey(l, "uniquetokenidentifier") || hasKey(l, "tokenissuertype")) &&
		(hasKey(l, "createddatetime") || hasKey(l, "timegenerated")):
		return true
	case hasKey(l, "correlationid") && hasKey(l, "createddatetime") && hasKey(l, "appdisplayname") &&
		hasKey(l, "userprincipalname") && (hasKey(l, "clientappused") || hasKey(l, "conditionalaccessstatus")):
		return true // a signIn from before uniqueTokenIdentifier and tokenIssuerType
	}
	return false
}

// hasKey reports whether l holds "key" followed by a colon.
func hasKey(l []byte, key string) bool {
	q := `"` + key + `"`
	for rest := l; ; {
		i := bytes.Index(rest, []byte(q))
		if i < 0 {
			return false
		}
		rest = rest[i+len(q):]
		t := bytes.TrimLeft(rest, " \t\r\n")
		if len(t) > 0 && t[0] == ':' {
			return true
		}
	}
}

// Parse reads one file in the form its start shows: see the package
// documentation.
func (f jsonFormat) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	br := bufio.NewReaderSize(in.R, 256<<10)
	head, _ := br.Peek(256 << 10)
	p := newParser(in, sink, f.Name())
	if lineMode(head) {
		lin := *in
		lin.R, lin.Data = br, nil
		return record.EachLine(ctx, &lin, p.format, sink, p.line)
	}
	return p.values(ctx, br)
}

// lineMode reports whether head starts a file of one record a line: the
// first line that starts at column 0 with "{" and parses is a record, not
// a batch. A pretty-printed file has no such line.
func lineMode(head []byte) bool {
	head = bytes.TrimPrefix(head, bom)
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return false
	}
	for n := 0; len(head) > 0 && n < record.SniffLines; {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			return false // the line may be cut off by the peek
		}
		line := bytes.TrimRight(head[:i], "\r")
		head = head[i+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		n++
		if line[0] != '{' {
			continue
		}
		if kind, ok := topLevel(line); ok {
			return kind == topRecord
		}
	}
	return false
}

// normalizeID is an id as AD FS keys its records: lower case, no braces.
func normalizeID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	return strings.ToLower(strings.TrimSpace(s))
}
