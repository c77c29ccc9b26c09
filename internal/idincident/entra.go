package idincident

// Writers of Microsoft Entra ID sign-in records, in the forms customers
// export them (parsers/entra reads them back).

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// EntraSignIn is one Entra sign-in. A federated one has TokenIssuerType
// "ADFederationServices" (its CorrelationID is the id of the AD FS token);
// a cloud one has "AzureAD" (the default) and a UTI, the uti of the token
// Entra issued. ErrorCode 0 is success. At is the sign-in's time, UTC.
type EntraSignIn struct {
	ID, CorrelationID, UTI, TenantID         string
	UPN, UserID                              string
	AppID, AppName, ResourceID, ResourceName string
	IP, UserAgent                            string
	TokenIssuerType, TokenIssuerName         string
	IncomingTokenType                        string
	ErrorCode                                int
	Interactive                              bool
	At                                       time.Time
}

// entraStatus is a signIn's status.
type entraStatus struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason,omitempty"`
	AdditionalDetails string `json:"additionalDetails,omitempty"`
}

// entraProperties is a signIn as Graph (beta) and diagnostic records
// spell it, in Entra's order of keys.
type entraProperties struct {
	ID                        string      `json:"id"`
	CreatedDateTime           string      `json:"createdDateTime"`
	UserDisplayName           string      `json:"userDisplayName"`
	UserPrincipalName         string      `json:"userPrincipalName"`
	UserID                    string      `json:"userId"`
	AppID                     string      `json:"appId"`
	AppDisplayName            string      `json:"appDisplayName"`
	IPAddress                 string      `json:"ipAddress"`
	Status                    entraStatus `json:"status"`
	ClientAppUsed             string      `json:"clientAppUsed"`
	UserAgent                 string      `json:"userAgent"`
	CorrelationID             string      `json:"correlationId"`
	ConditionalAccessStatus   string      `json:"conditionalAccessStatus"`
	IsInteractive             bool        `json:"isInteractive"`
	TokenIssuerName           string      `json:"tokenIssuerName"`
	TokenIssuerType           string      `json:"tokenIssuerType"`
	ResourceDisplayName       string      `json:"resourceDisplayName"`
	ResourceID                string      `json:"resourceId"`
	ResourceTenantID          string      `json:"resourceTenantId,omitempty"`
	HomeTenantID              string      `json:"homeTenantId,omitempty"`
	TenantID                  string      `json:"tenantId,omitempty"`
	AuthenticationRequirement string      `json:"authenticationRequirement"`
	ServicePrincipalID        string      `json:"servicePrincipalId"`
	UserType                  string      `json:"userType"`
	UniqueTokenIdentifier     string      `json:"uniqueTokenIdentifier"`
	IncomingTokenType         string      `json:"incomingTokenType"`
	SignInEventTypes          []string    `json:"signInEventTypes,omitempty"`
}

// entraDiagnostic is one Azure Monitor diagnostic settings record.
type entraDiagnostic struct {
	Time              string          `json:"time"`
	ResourceID        string          `json:"resourceId"`
	OperationName     string          `json:"operationName"`
	OperationVersion  string          `json:"operationVersion"`
	Category          string          `json:"category"`
	TenantID          string          `json:"tenantId"`
	ResultType        string          `json:"resultType"`
	ResultSignature   string          `json:"resultSignature"`
	ResultDescription string          `json:"resultDescription,omitempty"`
	DurationMs        int             `json:"durationMs"`
	CallerIPAddress   string          `json:"callerIpAddress"`
	CorrelationID     string          `json:"correlationId"`
	Identity          string          `json:"identity"`
	Level             int             `json:"Level"`
	Location          string          `json:"location"`
	Properties        entraProperties `json:"properties"`
}

// entraFailures are the failure reasons of the codes generators use.
var entraFailures = map[int]string{
	50074: "Strong Authentication is required.",
	50076: "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
	50126: "Error validating credentials due to invalid username or password.",
	50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
	50008: "SAML assertion is missing or misconfigured in the token.",
}

func entraFailure(code int) string {
	if code == 0 {
		return ""
	}
	if r, ok := entraFailures[code]; ok {
		return r
	}
	return "Other."
}

// properties is s as a signIn; createdDateTime in the layout given.
func (s EntraSignIn) properties(layout string) entraProperties {
	issuerType := s.TokenIssuerType
	if issuerType == "" {
		issuerType = "AzureAD"
	}
	incoming := s.IncomingTokenType
	if incoming == "" {
		incoming = "none"
	}
	eventType := "nonInteractiveUser"
	if s.Interactive {
		eventType = "interactiveUser"
	}
	return entraProperties{
		ID: s.ID, CreatedDateTime: s.At.UTC().Format(layout), UserDisplayName: s.UPN,
		UserPrincipalName: s.UPN, UserID: s.UserID, AppID: s.AppID, AppDisplayName: s.AppName,
		IPAddress: s.IP, Status: entraStatus{ErrorCode: s.ErrorCode, FailureReason: entraFailure(s.ErrorCode)},
		ClientAppUsed: "Browser", UserAgent: s.UserAgent, CorrelationID: s.CorrelationID,
		ConditionalAccessStatus: "notApplied", IsInteractive: s.Interactive,
		TokenIssuerName: s.TokenIssuerName, TokenIssuerType: issuerType,
		ResourceDisplayName: s.ResourceName, ResourceID: s.ResourceID,
		ResourceTenantID: s.TenantID, HomeTenantID: s.TenantID,
		AuthenticationRequirement: "singleFactorAuthentication", UserType: "Member",
		UniqueTokenIdentifier: s.UTI, IncomingTokenType: incoming, SignInEventTypes: []string{eventType},
	}
}

// Entra's timestamps: diagnostic records carry seven fractional digits
// and an offset, Graph whole seconds.
const (
	entraDiagnosticTime = "2006-01-02T15:04:05.0000000Z"
	entraCreatedTime    = "2006-01-02T15:04:05.0000000-07:00"
	entraGraphTime      = "2006-01-02T15:04:05Z"
)

// diagnostic is s as a diagnostic record of category.
func (s EntraSignIn) diagnostic(category string) entraDiagnostic {
	p := s.properties(entraCreatedTime)
	p.TenantID = s.TenantID
	p.SignInEventTypes = nil
	return entraDiagnostic{
		// Entra writes the record a little after the sign-in
		Time:          s.At.UTC().Add(90 * time.Second).Format(entraDiagnosticTime),
		ResourceID:    "/tenants/" + s.TenantID + "/providers/Microsoft.aadiam",
		OperationName: "Sign-in activity", OperationVersion: "1.0", Category: category,
		TenantID: s.TenantID, ResultType: strconv.Itoa(s.ErrorCode), ResultSignature: "None",
		ResultDescription: entraFailure(s.ErrorCode), CallerIPAddress: s.IP,
		CorrelationID: s.CorrelationID, Identity: s.UPN, Level: 4, Properties: p,
	}
}

// entraWriteLine writes v as one JSON line.
func entraWriteLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("idincident: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("idincident: %w", err)
	}
	return nil
}

// WriteEntraDiagnostic writes s as one line of a diagnostic settings
// PT1H.json blob: category SignInLogs when s is interactive, else
// NonInteractiveUserSignInLogs.
func WriteEntraDiagnostic(w io.Writer, s EntraSignIn) error {
	category := "NonInteractiveUserSignInLogs"
	if s.Interactive {
		category = "SignInLogs"
	}
	return entraWriteLine(w, s.diagnostic(category))
}

// WriteADFSSignInLogs writes s as one line of the ADFSSignInLogs category:
// the AD FS farm's record of a token it issued, forwarded by Entra Connect
// Health. TokenIssuerType defaults to ADFederationServices.
func WriteADFSSignInLogs(w io.Writer, s EntraSignIn) error {
	if s.TokenIssuerType == "" {
		s.TokenIssuerType = "ADFederationServices"
	}
	return entraWriteLine(w, s.diagnostic("ADFSSignInLogs"))
}

// WriteEntraGraphPage writes sign-ins as the last page of
// GET /beta/auditLogs/signIns (no @odata.nextLink), pretty-printed as
// saved from Graph Explorer.
func WriteEntraGraphPage(w io.Writer, s []EntraSignIn) error {
	page := struct {
		Context string            `json:"@odata.context"`
		Value   []entraProperties `json:"value"`
	}{Context: "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns", Value: make([]entraProperties, 0, len(s))}
	for _, si := range s {
		page.Value = append(page.Value, si.properties(entraGraphTime))
	}
	b, err := json.MarshalIndent(page, "", "  ")
	if err != nil {
		return fmt.Errorf("idincident: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("idincident: %w", err)
	}
	return nil
}
