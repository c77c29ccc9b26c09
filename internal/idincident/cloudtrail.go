package idincident

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// CTWebIdentity is an AssumeRoleWithWebIdentity call that succeeded: STS
// took a web identity token (an EKS service account's, a CI job's) and
// issued a session for the role.
type CTWebIdentity struct {
	EventID, RequestID string
	// Account is the role's account (the event's recipientAccountId),
	// Region the STS endpoint's.
	Account, Region string
	// Provider is the IAM OIDC provider: its issuer without https://
	// (oidc.eks.us-west-2.amazonaws.com/id/<ID>,
	// token.actions.githubusercontent.com), written as the provider's ARN
	// in Account, as CloudTrail names it; or that ARN.
	Provider string
	// Audience and Subject are the token's aud and sub.
	Audience, Subject        string
	RoleArn, RoleSessionName string
	// AccessKeyID is the session's (ASIA…). AssumedRoleID is the role's
	// unique id (AROA…): the event's assumedRoleId is it with
	// ":<RoleSessionName>", as STS writes it.
	AccessKeyID, AssumedRoleID string
	SourceIP, UserAgent        string
	// At is the call's time, Expires the session's end; durationSeconds is
	// their difference in whole seconds.
	At, Expires time.Time
}

// CTCall is an API call signed with a role session's credentials.
type CTCall struct {
	EventID, Account, Region string
	// EventSource and EventName name the call (s3.amazonaws.com,
	// GetObject).
	EventSource, EventName string
	// AccessKeyID is the session's key (ASIA…); Arn the session's
	// assumed-role ARN, PrincipalID "<role id>:<session name>" and
	// SessionIssuerArn the role's ARN.
	AccessKeyID, Arn, PrincipalID, SessionIssuerArn string
	SourceIP, UserAgent                             string
	// ErrorCode is "" for a call that succeeded (AccessDenied,
	// ExpiredToken, …).
	ErrorCode string
	// SessionCreated is the session's creationDate; At the call's time.
	SessionCreated, At time.Time
}

// WriteCloudTrailRecords writes events (CTWebIdentity and CTCall values or
// pointers to them) as a CloudTrail log file delivered to S3: one line,
// {"Records":[…]}, the events in the order given.
func WriteCloudTrailRecords(w io.Writer, events []any) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"Records":[`)
	for i, e := range events {
		var rec any
		switch e := e.(type) {
		case CTWebIdentity:
			rec = e.record()
		case *CTWebIdentity:
			rec = e.record()
		case CTCall:
			rec = e.record()
		case *CTCall:
			rec = e.record()
		default:
			return fmt.Errorf("idincident: %T is not a CloudTrail event", e)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("idincident: %w", err)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(b)
	}
	bw.WriteString(`]}`)
	return bw.Flush()
}

// ctTime is CloudTrail's eventTime: UTC, whole seconds.
func ctTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ctExpiration is a credential's expiration as CloudTrail writes it.
func ctExpiration(t time.Time) string { return t.UTC().Format("Jan 2, 2006, 3:04:05 PM") }

// ctDerived is a stable hex string made from the parts, for the ids a
// scenario does not choose.
func ctDerived(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])[:n]
}

// ctLastSegment is the part of an ARN after its last "/".
func ctLastSegment(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

type ctIdentity struct {
	Type             string            `json:"type"`
	PrincipalID      string            `json:"principalId"`
	Arn              string            `json:"arn,omitempty"`
	AccountID        string            `json:"accountId,omitempty"`
	AccessKeyID      string            `json:"accessKeyId,omitempty"`
	UserName         string            `json:"userName,omitempty"`
	SessionContext   *ctSessionContext `json:"sessionContext,omitempty"`
	IdentityProvider string            `json:"identityProvider,omitempty"`
}

type ctSessionContext struct {
	SessionIssuer       ctIssuer          `json:"sessionIssuer"`
	WebIDFederationData struct{}          `json:"webIdFederationData"`
	Attributes          map[string]string `json:"attributes"`
}

type ctIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	Arn         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type ctResource struct {
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

type ctTLS struct {
	TLSVersion string `json:"tlsVersion"`
	Cipher     string `json:"cipherSuite"`
	Host       string `json:"clientProvidedHostHeader"`
}

// ctEvent is a CloudTrail event record, its fields in CloudTrail's order.
type ctEvent struct {
	EventVersion        string            `json:"eventVersion"`
	UserIdentity        ctIdentity        `json:"userIdentity"`
	EventTime           string            `json:"eventTime"`
	EventSource         string            `json:"eventSource"`
	EventName           string            `json:"eventName"`
	AWSRegion           string            `json:"awsRegion"`
	SourceIPAddress     string            `json:"sourceIPAddress"`
	UserAgent           string            `json:"userAgent"`
	ErrorCode           string            `json:"errorCode,omitempty"`
	ErrorMessage        string            `json:"errorMessage,omitempty"`
	RequestParameters   any               `json:"requestParameters"`
	ResponseElements    any               `json:"responseElements"`
	AdditionalEventData map[string]string `json:"additionalEventData,omitempty"`
	RequestID           string            `json:"requestID"`
	EventID             string            `json:"eventID"`
	ReadOnly            bool              `json:"readOnly"`
	Resources           []ctResource      `json:"resources,omitempty"`
	EventType           string            `json:"eventType"`
	ManagementEvent     bool              `json:"managementEvent"`
	RecipientAccountID  string            `json:"recipientAccountId"`
	EventCategory       string            `json:"eventCategory"`
	TLSDetails          ctTLS             `json:"tlsDetails"`
}

func (e *CTWebIdentity) record() ctEvent {
	provider := e.Provider
	if !strings.HasPrefix(provider, "arn:") {
		provider = "arn:aws:iam::" + e.Account + ":oidc-provider/" + strings.TrimPrefix(provider, "https://")
	}
	type credentials struct {
		AccessKeyID  string `json:"accessKeyId"`
		SessionToken string `json:"sessionToken"`
		Expiration   string `json:"expiration"`
	}
	type assumedRoleUser struct {
		AssumedRoleID string `json:"assumedRoleId"`
		Arn           string `json:"arn"`
	}
	type response struct {
		Credentials     credentials     `json:"credentials"`
		Subject         string          `json:"subjectFromWebIdentityToken"`
		AssumedRoleUser assumedRoleUser `json:"assumedRoleUser"`
		Provider        string          `json:"provider"`
		Audience        string          `json:"audience"`
	}
	type request struct {
		RoleArn         string `json:"roleArn"`
		RoleSessionName string `json:"roleSessionName"`
		DurationSeconds int64  `json:"durationSeconds,omitempty"`
	}
	token := sha256.Sum256([]byte("session token\x00" + e.AccessKeyID))
	return ctEvent{
		EventVersion: "1.08",
		UserIdentity: ctIdentity{Type: "WebIdentityUser", PrincipalID: provider + ":" + e.Audience + ":" + e.Subject,
			UserName: e.Subject, IdentityProvider: provider},
		EventTime: ctTime(e.At), EventSource: "sts.amazonaws.com", EventName: "AssumeRoleWithWebIdentity",
		AWSRegion: e.Region, SourceIPAddress: e.SourceIP, UserAgent: e.UserAgent,
		RequestParameters: request{RoleArn: e.RoleArn, RoleSessionName: e.RoleSessionName,
			DurationSeconds: int64(e.Expires.Sub(e.At) / time.Second)},
		ResponseElements: response{
			Credentials: credentials{AccessKeyID: e.AccessKeyID, Expiration: ctExpiration(e.Expires),
				SessionToken: "IQoJb3JpZ2luX2VjE" + base64.StdEncoding.EncodeToString(token[:])},
			Subject: e.Subject,
			AssumedRoleUser: assumedRoleUser{AssumedRoleID: e.AssumedRoleID + ":" + e.RoleSessionName,
				Arn: "arn:aws:sts::" + e.Account + ":assumed-role/" + ctLastSegment(e.RoleArn) + "/" + e.RoleSessionName},
			Provider: provider, Audience: e.Audience,
		},
		AdditionalEventData: map[string]string{"identityProviderConnectionVerificationMethod": "IAMTrustStore"},
		RequestID:           e.RequestID, EventID: e.EventID, ReadOnly: true,
		Resources: []ctResource{{AccountID: e.Account, Type: "AWS::IAM::Role", ARN: e.RoleArn}},
		EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: e.Account, EventCategory: "Management",
		TLSDetails: ctTLS{TLSVersion: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256",
			Host: "sts." + e.Region + ".amazonaws.com"},
	}
}

// ctErrorMessages are the messages AWS gives with the errors a scenario
// uses.
var ctErrorMessages = map[string]string{
	"ExpiredToken":                 "The security token included in the request is expired",
	"InvalidClientTokenId":         "The security token included in the request is invalid.",
	"Client.UnauthorizedOperation": "You are not authorized to perform this operation.",
}

func (c *CTCall) record() ctEvent {
	roleID, _, _ := strings.Cut(c.PrincipalID, ":")
	msg := ctErrorMessages[c.ErrorCode]
	if c.ErrorCode == "AccessDenied" {
		msg = "User: " + c.Arn + " is not authorized to perform: " + strings.TrimSuffix(c.EventSource, ".amazonaws.com") + ":" + c.EventName
	}
	readOnly := false
	for _, p := range []string{"Get", "List", "Describe", "Head", "Lookup"} {
		readOnly = readOnly || strings.HasPrefix(c.EventName, p)
	}
	return ctEvent{
		EventVersion: "1.09",
		UserIdentity: ctIdentity{Type: "AssumedRole", PrincipalID: c.PrincipalID, Arn: c.Arn, AccountID: c.Account,
			AccessKeyID: c.AccessKeyID, SessionContext: &ctSessionContext{
				SessionIssuer: ctIssuer{Type: "Role", PrincipalID: roleID, Arn: c.SessionIssuerArn, AccountID: c.Account,
					UserName: ctLastSegment(c.SessionIssuerArn)},
				Attributes: map[string]string{"creationDate": ctTime(c.SessionCreated), "mfaAuthenticated": "false"},
			}},
		EventTime: ctTime(c.At), EventSource: c.EventSource, EventName: c.EventName, AWSRegion: c.Region,
		SourceIPAddress: c.SourceIP, UserAgent: c.UserAgent, ErrorCode: c.ErrorCode, ErrorMessage: msg,
		RequestID: strings.ToUpper(ctDerived(16, "request", c.EventID)), EventID: c.EventID, ReadOnly: readOnly,
		EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: c.Account, EventCategory: "Management",
		TLSDetails: ctTLS{TLSVersion: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256",
			Host: strings.TrimSuffix(c.EventSource, ".amazonaws.com") + "." + c.Region + ".amazonaws.com"},
	}
}
