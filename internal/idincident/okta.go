package idincident

// Okta System Log events, written as Okta's System Log API and its log
// streaming write them (the LogEvent object), for incidents whose
// credentials an Okta org issued: sessions (externalSessionId) and the
// tokens of its authorization servers (their jti).

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"
)

// Okta event types the writer knows the shape of; others are written as
// a user's event with the given type.
const (
	OktaSessionStart   = "user.session.start"
	OktaSSO            = "user.authentication.sso"
	OktaMFA            = "user.authentication.auth_via_mfa"
	OktaSignOnPolicy   = "policy.evaluate_sign_on"
	OktaAdminApp       = "user.session.access_admin_app"
	OktaAccessToken    = "app.oauth2.as.token.grant.access_token" // a custom authorization server's
	OktaIDToken        = "app.oauth2.as.token.grant.id_token"
	OktaRefreshToken   = "app.oauth2.as.token.grant.refresh_token"
	OktaGrantFailed    = "app.oauth2.as.token.grant"           // the failure event of a custom server's grant
	OktaOrgAccessToken = "app.oauth2.token.grant.access_token" // the org authorization server's
	OktaOrgIDToken     = "app.oauth2.token.grant.id_token"
)

// OktaEvent is one System Log event. Zero fields are written as Okta writes
// a missing value (null, or "unknown" for the session id).
type OktaEvent struct {
	UUID      string // "" derives one from the other fields
	EventType string
	Result    string // outcome.result: SUCCESS (""), FAILURE, ALLOW, DENY, ...
	Reason    string // outcome.reason
	// ActorID and ActorLogin are the user's id (00u…) and login: the
	// actor of a user's event, the User target of a token grant (whose
	// actor is the client app).
	ActorID, ActorLogin string
	ClientIP, UserAgent string
	SessionID           string // authenticationContext.externalSessionId
	TransactionID       string // "" derives one
	// AppID and AppName are the OIDC app (its id is its client id): the
	// target of an SSO, the actor of a token grant.
	AppID, AppName string
	// A token grant's token: its id (the jti, "AT.…"), its target type (""
	// is the one EventType names), its expiry, and the raw token, whose
	// base64 SHA-256 Okta logs as detailEntry.hash ("" logs none).
	TokenID, TokenType string
	Expires            time.Time
	RawToken           string
	AuthServerID       string // a custom authorization server's id (aus…, "default"); "" is the org server
	GrantType          string // "" is authorization_code
	Scopes             string // granted (and requested) scopes, as Okta lists them: "openid, profile"
	At                 time.Time
}

// WriteOktaEvent writes e as one line of JSON, the LogEvent with its keys
// in the API's order.
func WriteOktaEvent(w io.Writer, e OktaEvent) error {
	ev, err := oktaLogEvent(e)
	if err != nil {
		return err
	}
	return oktaWriteLine(w, ev)
}

// WriteOktaEventBridge writes e as one line of JSON, the EventBridge event
// that Okta's log streaming puts on the bus of org's partner event source
// (aws.partner/okta.com/<org>/okta-system-log).
func WriteOktaEventBridge(w io.Writer, org string, e OktaEvent) error {
	ev, err := oktaLogEvent(e)
	if err != nil {
		return err
	}
	return oktaWriteLine(w, oktaEventBridgeJSON{
		Version: "0", ID: oktaUUID("eventbridge", ev.UUID), DetailType: "SystemLog",
		Source:  "aws.partner/okta.com/" + org + "/okta-system-log",
		Account: "123456789012", Time: e.At.UTC().Format(time.RFC3339), Region: "us-east-1",
		Resources: []string{}, Detail: ev,
	})
}

type oktaEventBridgeJSON struct {
	Version    string       `json:"version"`
	ID         string       `json:"id"`
	DetailType string       `json:"detail-type"`
	Source     string       `json:"source"`
	Account    string       `json:"account"`
	Time       string       `json:"time"`
	Region     string       `json:"region"`
	Resources  []string     `json:"resources"`
	Detail     *oktaLogJSON `json:"detail"`
}

func oktaWriteLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// The LogEvent's JSON, fields in the order the API writes them.
type oktaLogJSON struct {
	Actor                 oktaEntity       `json:"actor"`
	Client                oktaClient       `json:"client"`
	Device                *struct{}        `json:"device"`
	AuthenticationContext oktaAuthContext  `json:"authenticationContext"`
	DisplayMessage        string           `json:"displayMessage"`
	EventType             string           `json:"eventType"`
	Outcome               oktaOutcome      `json:"outcome"`
	Published             string           `json:"published"`
	SecurityContext       oktaSecurity     `json:"securityContext"`
	Severity              string           `json:"severity"`
	DebugContext          oktaDebugContext `json:"debugContext"`
	LegacyEventType       *string          `json:"legacyEventType"`
	Transaction           oktaTransaction  `json:"transaction"`
	UUID                  string           `json:"uuid"`
	Version               string           `json:"version"`
	Request               oktaRequest      `json:"request"`
	Target                []oktaEntity     `json:"target"`
}

type oktaEntity struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	AlternateID *string           `json:"alternateId"`
	DisplayName *string           `json:"displayName"`
	DetailEntry map[string]string `json:"detailEntry"`
}

type oktaClient struct {
	UserAgent           oktaUserAgent `json:"userAgent"`
	Zone                string        `json:"zone"`
	Device              string        `json:"device"`
	ID                  *string       `json:"id"`
	IPAddress           *string       `json:"ipAddress"`
	GeographicalContext *struct{}     `json:"geographicalContext"`
}

type oktaUserAgent struct {
	RawUserAgent *string `json:"rawUserAgent"`
	OS           string  `json:"os"`
	Browser      string  `json:"browser"`
}

type oktaAuthContext struct {
	AuthenticationProvider *string   `json:"authenticationProvider"`
	CredentialProvider     *string   `json:"credentialProvider"`
	CredentialType         *string   `json:"credentialType"`
	Issuer                 *struct{} `json:"issuer"`
	Interface              *string   `json:"interface"`
	AuthenticationStep     int       `json:"authenticationStep"`
	ExternalSessionID      string    `json:"externalSessionId"`
}

type oktaOutcome struct {
	Result string  `json:"result"`
	Reason *string `json:"reason"`
}

type oktaSecurity struct {
	AsNumber *int    `json:"asNumber"`
	AsOrg    *string `json:"asOrg"`
	ISP      *string `json:"isp"`
	Domain   *string `json:"domain"`
	IsProxy  *bool   `json:"isProxy"`
}

type oktaDebugContext struct {
	DebugData map[string]string `json:"debugData"`
}

type oktaTransaction struct {
	Type   string   `json:"type"`
	ID     string   `json:"id"`
	Detail struct{} `json:"detail"`
}

type oktaRequest struct {
	IPChain []oktaIP `json:"ipChain"`
}

type oktaIP struct {
	IP                  string    `json:"ip"`
	GeographicalContext *struct{} `json:"geographicalContext"`
	Version             string    `json:"version"`
	Source              *string   `json:"source"`
}

// oktaDisplayMessages are the displayMessage of the event types the
// writer knows.
var oktaDisplayMessages = map[string]string{
	OktaSessionStart: "User login to Okta",
	OktaSSO:          "User single sign on to app",
	OktaMFA:          "Authentication of user via MFA",
	OktaSignOnPolicy: "Evaluation of sign-on policy",
	OktaAdminApp:     "User accessing Okta admin app",
	OktaGrantFailed:  "OAuth2 token grant request failed",
}

// oktaLegacyTypes are the legacyEventType of successful events.
var oktaLegacyTypes = map[string]string{
	OktaSessionStart: "core.user_auth.login_success",
	OktaSSO:          "app.auth.sso",
}

func oktaLogEvent(e OktaEvent) (*oktaLogJSON, error) {
	if e.EventType == "" {
		return nil, errors.New("okta event without an event type")
	}
	if e.At.IsZero() {
		return nil, errors.New("okta event without a time")
	}
	result := e.Result
	if result == "" {
		result = "SUCCESS"
	}
	uuid := e.UUID
	if uuid == "" {
		uuid = oktaUUID(e.EventType, e.At.String(), e.ActorID, e.SessionID, e.TokenID, e.AppID, result)
	}
	txn := e.TransactionID
	if txn == "" {
		txn = oktaTransactionID(uuid)
	}
	ev := &oktaLogJSON{
		Client: oktaClient{
			UserAgent: oktaUserAgent{RawUserAgent: oktaNullable(e.UserAgent), OS: "Unknown", Browser: "UNKNOWN"},
			Zone:      "null", Device: "Computer", IPAddress: oktaNullable(e.ClientIP),
		},
		AuthenticationContext: oktaAuthContext{ExternalSessionID: oktaOrUnknown(e.SessionID)},
		DisplayMessage:        oktaDisplayMessages[e.EventType],
		EventType:             e.EventType,
		Outcome:               oktaOutcome{Result: result, Reason: oktaNullable(e.Reason)},
		Published:             e.At.UTC().Format("2006-01-02T15:04:05.000Z"),
		Severity:              "INFO",
		DebugContext:          oktaDebugContext{DebugData: map[string]string{"requestId": txn, "threatSuspected": "false"}},
		Transaction:           oktaTransaction{Type: "WEB", ID: txn},
		UUID:                  uuid,
		Version:               "0",
		Request:               oktaRequest{IPChain: []oktaIP{}},
	}
	if e.ClientIP != "" {
		ev.Request.IPChain = append(ev.Request.IPChain, oktaIP{IP: e.ClientIP, Version: oktaIPVersion(e.ClientIP)})
	}
	if result != "SUCCESS" && result != "ALLOW" {
		ev.Severity = "WARN"
	}
	if legacy, ok := oktaLegacyTypes[e.EventType]; ok && result == "SUCCESS" {
		ev.LegacyEventType = &legacy
	}
	user := oktaEntity{ID: e.ActorID, Type: "User", AlternateID: oktaNullable(e.ActorLogin), DisplayName: oktaNullable(oktaUserName(e.ActorLogin))}
	if tokenType, ok := oktaGrant(e.EventType); ok {
		oktaGrantEvent(ev, e, user, tokenType, result)
		return ev, nil
	}
	ev.Actor = user
	switch e.EventType {
	case OktaSSO:
		ev.Target = append(ev.Target, oktaApp(e))
		ev.DebugContext.DebugData["requestUri"] = "/app/" + e.AppID + "/sso/saml"
	case OktaSignOnPolicy:
		ev.Target = []oktaEntity{
			{ID: "00p1default0policy1", Type: "PolicyEntity", AlternateID: oktaNullable("unknown"), DisplayName: oktaNullable("Default Policy"), DetailEntry: map[string]string{"policyType": "OktaSignOn"}},
			{ID: "0pr1default0rule001", Type: "PolicyRule", AlternateID: oktaNullable("00p1default0policy1"), DisplayName: oktaNullable("Default Rule")},
		}
		ev.Outcome.Reason = oktaNullable("Sign-on policy evaluation resulted in " + result)
	case OktaSessionStart, OktaMFA:
		ev.DebugContext.DebugData["requestUri"] = "/idp/idx/identify"
		ev.AuthenticationContext.CredentialProvider = oktaNullable("OKTA_CREDENTIAL_PROVIDER")
	default:
		if e.AppID != "" {
			ev.Target = append(ev.Target, oktaApp(e))
		}
	}
	return ev, nil
}

// oktaGrantEvent fills ev as a token grant: the client app is the actor,
// the user and the token are the targets.
func oktaGrantEvent(ev *oktaLogJSON, e OktaEvent, user oktaEntity, tokenType, result string) {
	ev.Actor = oktaEntity{ID: e.AppID, Type: "PublicClientApp", AlternateID: oktaNullable(e.AppID), DisplayName: oktaNullable(e.AppName)}
	path := "/oauth2/v1/token"
	if e.AuthServerID != "" {
		path = "/oauth2/" + e.AuthServerID + "/v1/token"
	}
	grantType := e.GrantType
	if grantType == "" {
		grantType = "authorization_code"
	}
	dd := ev.DebugContext.DebugData
	dd["requestUri"], dd["url"], dd["grantType"] = path, path+"?", grantType
	dd["clientAuthType"] = "client_secret_basic"
	if e.Scopes != "" {
		dd["grantedScopes"], dd["requestedScopes"] = e.Scopes, e.Scopes
	}
	if e.TokenType != "" {
		tokenType = e.TokenType
	}
	if result != "SUCCESS" {
		ev.DisplayMessage = oktaDisplayMessages[OktaGrantFailed]
		if e.Reason == "" {
			ev.Outcome.Reason = oktaNullable("invalid_grant")
		}
	} else {
		ev.DisplayMessage = "OAuth2 " + strings.ReplaceAll(tokenType, "_", " ") + " is granted"
		legacy := e.EventType + "_success"
		ev.LegacyEventType = &legacy
	}
	if e.ActorID != "" {
		ev.Target = append(ev.Target, user)
	}
	if e.TokenID == "" || result != "SUCCESS" {
		return
	}
	detail := map[string]string{"subject": e.ActorID}
	if !e.Expires.IsZero() {
		detail["expires"] = e.Expires.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if e.RawToken != "" {
		sum := sha256.Sum256([]byte(e.RawToken))
		detail["hash"] = base64.StdEncoding.EncodeToString(sum[:])
	}
	ev.Target = append(ev.Target, oktaEntity{
		ID: e.TokenID, Type: tokenType, DisplayName: oktaNullable(oktaTokenDisplayName(tokenType)), DetailEntry: detail,
	})
}

// oktaGrant reports whether eventType is a token grant's, and the token
// type it names.
func oktaGrant(eventType string) (string, bool) {
	for _, prefix := range []string{"app.oauth2.as.token.grant", "app.oauth2.token.grant"} {
		if eventType == prefix {
			return "", true
		}
		if rest, ok := strings.CutPrefix(eventType, prefix+"."); ok {
			return rest, true
		}
	}
	return "", false
}

func oktaApp(e OktaEvent) oktaEntity {
	return oktaEntity{ID: e.AppID, Type: "AppInstance", AlternateID: oktaNullable(e.AppName), DisplayName: oktaNullable(e.AppName)}
}

// oktaTokenDisplayName is "Access Token" for access_token.
func oktaTokenDisplayName(tokenType string) string {
	words := strings.Split(tokenType, "_")
	for i, w := range words {
		if w == "id" {
			words[i] = "ID"
		} else if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// oktaUserName is the user's name as an org shows it: the login's local part.
func oktaUserName(login string) string {
	name, _, _ := strings.Cut(login, "@")
	return name
}

func oktaOrUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func oktaNullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func oktaIPVersion(ip string) string {
	if strings.Contains(ip, ":") {
		return "V6"
	}
	return "V4"
}

// oktaUUID is a deterministic, time-based-looking UUID of parts.
func oktaUUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-1" + h[13:16] + "-" + h[16:20] + "-" + h[20:32]
}

// oktaTransactionID is a deterministic request id of Okta's shape.
func oktaTransactionID(uuid string) string {
	sum := sha256.Sum256([]byte("txn\x00" + uuid))
	return base64.RawURLEncoding.EncodeToString(sum[:20])[:27]
}
