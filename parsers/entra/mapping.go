package entra

import (
	"strconv"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// signInCategories are the diagnostic categories (and Log Analytics
// Category values) of sign-in logs; signInTables the Log Analytics tables.
var (
	signInCategories = []string{"SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs", "ADFSSignInLogs"}
	signInTables     = []string{"SigninLogs", "AADNonInteractiveUserSignInLogs", "AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs", "ADFSSignInLogs"}
)

const adfsCategory = "ADFSSignInLogs"

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// acceptedCodes are the error codes of a sign-in in which Entra accepted
// the presented federated token and then interrupted the flow: MFA
// required (50074, 50076), password reset or registration (50125), "keep
// me signed in" (50140), external security challenge (50158).
var acceptedCodes = map[int64]bool{0: true, 50074: true, 50076: true, 50125: true, 50140: true, 50158: true}

// entraTokens are the incomingTokenType values that name tokens Entra
// itself issued.
var entraTokens = []string{"primaryRefreshToken", "refreshToken", "remoteDesktopToken"}

// category is the record's category and table.
func (s *signIn) category() (category, table string) {
	category = s.envCategory
	if category == "" {
		category = s.get(fCategory)
	}
	if s.form == formLogAnalytics {
		table = s.get(fType)
	}
	return category, table
}

// tenant is the Entra tenant the record names, and the Log Analytics
// workspace.
func (s *signIn) tenant() (tenant, workspace string) {
	switch {
	case s.envTenant != "":
		tenant = s.envTenant
	case s.get(fAADTenantID) != "":
		tenant = s.get(fAADTenantID)
	case s.form != formLogAnalytics:
		tenant = s.get(fTenantID)
	}
	if s.form == formLogAnalytics {
		workspace = s.get(fTenantID)
	}
	return tenant, workspace
}

// result is the error code: status.errorCode, else ResultType; known is
// false when the record has neither. A ResultType of "Failure" is code -1.
func (s *signIn) result() (code int64, known bool, reason string) {
	if s.errorCode != "" {
		c, err := strconv.ParseInt(s.errorCode, 10, 64)
		if err != nil {
			return 0, false, "status: errorCode is not an integer"
		}
		return c, true, ""
	}
	rt := strings.TrimSpace(s.get(fResultType))
	if rt == "" {
		rt = strings.TrimSpace(s.envResultType)
	}
	switch {
	case rt == "":
		return 0, false, ""
	case strings.EqualFold(rt, "success"):
		return 0, true, ""
	case strings.EqualFold(rt, "failure"):
		return -1, true, ""
	}
	c, err := strconv.ParseInt(rt, 10, 64)
	if err != nil {
		return 0, false, "ResultType " + strconv.Quote(truncate(rt, 40)) + " is not a number"
	}
	return c, true, ""
}

// federated reports whether the presented token came from AD FS.
func (s *signIn) federated() bool {
	saml, entraToken := false, false
	for _, t := range strings.Split(s.get(fIncoming), ",") {
		t = strings.TrimSpace(t)
		switch {
		case strings.EqualFold(t, "saml11") || strings.EqualFold(t, "saml20"):
			saml = true
		case oneOf(t, entraTokens):
			entraToken = true
		}
	}
	switch {
	case saml:
		return true
	case entraToken:
		return false // an Entra refresh token was redeemed, not an AD FS token
	}
	switch it := s.get(fIssuerType); {
	case strings.EqualFold(it, "ADFederationServices"):
		return true
	case it == "":
		return federationIssuer(s.get(fIssuerName))
	}
	return false
}

// federationIssuer reports whether a tokenIssuerName names an issuer other
// than Entra itself (whose sign-ins log it empty or as its own STS).
func federationIssuer(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return false
	}
	for _, entra := range []string{"microsoft.com", "microsoftonline.com", "microsoftonline.us", "windows.net", "chinacloudapi.cn", "azure ad", "azuread"} {
		if strings.Contains(n, entra) {
			return false
		}
	}
	return true
}

// servicePrincipal reports whether the sign-in is an application's.
func (s *signIn) servicePrincipal(category, table string) bool {
	if oneOf(category, []string{"ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs"}) ||
		oneOf(table, []string{"AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs"}) {
		return true
	}
	for _, t := range strings.Split(s.get(fEventTypes), ",") {
		t = strings.Trim(strings.TrimSpace(t), `[]"`)
		if strings.EqualFold(t, "servicePrincipal") || strings.EqualFold(t, "managedIdentity") {
			return true
		}
	}
	return s.get(fUserID) == "" && s.get(fSPID) != ""
}

// resource is the resource signed in to: resourceId, unless it is the
// Azure resource path of a Log Analytics row, else ResourceIdentity.
func (s *signIn) resource() string {
	if r := s.get(fResourceID); r != "" && !strings.HasPrefix(r, "/") {
		return r
	}
	return s.get(fResourceIdentity)
}

// when is the sign-in's time.
func (s *signIn) when(loc *time.Location) (time.Time, string) {
	v, name := s.get(fCreated), names[fCreated]
	if strings.TrimSpace(v) == "" {
		v, name = s.get(fTimeGenerated), names[fTimeGenerated]
	}
	if strings.TrimSpace(v) == "" {
		v, name = s.envTime, "time"
	}
	if strings.TrimSpace(v) == "" {
		return time.Time{}, "no createdDateTime, TimeGenerated or time"
	}
	t, err := parseTime(v, loc)
	if err != nil {
		return time.Time{}, name + ": " + err.Error()
	}
	return t, ""
}

// emit ends one record in its sink call; times without a zone are in UTC.
func (p *parser) emit(pos record.Position, raw []byte) {
	p.emitIn(pos, raw, time.UTC)
}

// emitIn is emit with times without a zone in loc.
func (p *parser) emitIn(pos record.Position, raw []byte, loc *time.Location) {
	s := &p.s
	reject := func(reason string) { p.reject(pos, reason, raw) }
	category, table := s.category()
	if (category != "" && !oneOf(category, signInCategories)) || (table != "" && !oneOf(table, signInTables)) {
		p.sink.Ignore(pos, IgnoreNotSignIn)
		return
	}
	if s.envTime == "" && s.envCorrelation == "" && !s.has[fCreated] && !s.has[fTimeGenerated] && !s.has[fCorrelation] && !s.has[fID] {
		reject(errNotSignIn.Error())
		return
	}
	at, reason := s.when(loc)
	if reason != "" {
		reject(reason)
		return
	}
	code, known, reason := s.result()
	if reason != "" {
		reject(reason)
		return
	}
	correlation := s.get(fCorrelation)
	if correlation == "" {
		correlation = s.envCorrelation
	}
	adfs := strings.EqualFold(category, adfsCategory) || strings.EqualFold(table, adfsCategory)
	fed := !adfs && s.federated()
	if (adfs || fed) && normalizeID(correlation) == "" {
		reject("no correlationId (the id of the AD FS token)")
		return
	}
	if !fed && !known {
		reject("no status.errorCode or ResultType")
		return
	}
	p.buildAttrs(category, table, correlation, code, known, fed)
	switch {
	case fed:
		p.sighting(pos, at, correlation, code, known)
	case code != 0 && acceptedCodes[code]:
		p.sink.Ignore(pos, IgnoreInterrupted)
	case code != 0:
		p.sink.Ignore(pos, IgnoreFailed)
	case adfs:
		aud := s.resource()
		if aud == "" {
			aud = s.get(fAppID)
		}
		p.sink.Issuance(&record.Issuance{
			Kind: record.KindSAML, ArtifactID: normalizeID(correlation), Subject: s.get(fUPN),
			Audience: aud, IssuedAt: at, Attrs: p.attrs.String(), Pos: pos,
		})
	case s.get(fUTI) == "":
		p.sink.Ignore(pos, IgnoreNoTokenID)
	default:
		subject := s.get(fUserID)
		if s.servicePrincipal(category, table) && s.get(fSPID) != "" {
			subject = s.get(fSPID)
		}
		p.sink.Issuance(&record.Issuance{
			Kind: record.KindJWT, ArtifactID: s.get(fUTI), Subject: subject,
			Audience: s.resource(), IssuedAt: at, Attrs: p.attrs.String(), Pos: pos,
		})
	}
}

// sighting emits a federated sign-in.
func (p *parser) sighting(pos record.Position, at time.Time, correlation string, code int64, known bool) {
	s := &p.s
	tenant, _ := s.tenant()
	observer := "entra"
	if tenant != "" {
		observer = "entra:" + tenant
	}
	if p.in.Options.Observer != "" {
		observer = p.in.Options.Observer
	}
	outcome := record.OutcomeUnknown
	if known {
		outcome = record.OutcomeRejected
		if acceptedCodes[code] {
			outcome = record.OutcomeAccepted
		}
	}
	app := s.get(fAppName)
	if app == "" {
		app = s.get(fAppID)
	}
	action := "sign-in"
	if app != "" {
		action += " " + app
	}
	ip := s.get(fIP)
	if ip == "" {
		ip = s.envCallerIP
	}
	p.sink.Sighting(&record.Sighting{
		Kind: record.KindSAML, ArtifactID: normalizeID(correlation), ObservedAt: at,
		Source: record.SourceAuth, Observer: observer, Principal: s.get(fUPN),
		ClientIP: record.ClientIP(ip), UserAgent: s.get(fUserAgent), Action: action,
		Outcome: outcome, Attrs: p.attrs.String(), Pos: pos,
	})
}

// buildAttrs fills p.attrs, keys in sorted order (as record.AttrsJSON
// writes them).
func (p *parser) buildAttrs(category, table, correlation string, code int64, known, fed bool) {
	s := &p.s
	tenant, workspace := s.tenant()
	a := &p.attrs
	a.Reset()
	a.Add("appDisplayName", s.get(fAppName))
	a.Add("appId", s.get(fAppID))
	a.Add("authenticationRequirement", s.get(fAuthReq))
	a.Add("category", category)
	a.Add("conditionalAccessStatus", s.get(fCAStatus))
	a.Add("correlationId", correlation)
	if known {
		if code == -1 && s.errorCode == "" {
			a.Add("errorCode", strings.TrimSpace(s.get(fResultType)+s.envResultType))
		} else {
			a.Add("errorCode", strconv.FormatInt(code, 10))
		}
	}
	a.Add("failureReason", s.failureReason)
	if fed {
		a.Add("federated", "true")
	}
	a.Add("id", s.get(fID))
	a.Add("incomingTokenType", s.get(fIncoming))
	a.Add("isInteractive", s.get(fInteractive))
	a.Add("mfa", s.mfaMethod)
	a.Add("resourceDisplayName", s.get(fResourceName))
	a.Add("resourceId", s.resource())
	a.Add("servicePrincipalId", s.get(fSPID))
	a.Add("servicePrincipalName", s.get(fSPName))
	a.Add("signInEventTypes", s.get(fEventTypes))
	a.Add("table", table)
	a.Add("tenantId", tenant)
	a.Add("tokenIssuerName", s.get(fIssuerName))
	a.Add("tokenIssuerType", s.get(fIssuerType))
	a.Add("userId", s.get(fUserID))
	a.Add("userPrincipalName", s.get(fUPN))
	a.Add("userType", s.get(fUserType))
	a.Add("uti", s.get(fUTI))
	a.Add("workspaceId", workspace)
}
