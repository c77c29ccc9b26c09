package kinds

import (
	"strings"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// platformTerms are the attributes platform logs record of a credential
// known only by its id, with the names people know them by: the service
// account and pod a Kubernetes token is bound to, the user, app and
// resource of an Entra sign-in, the role of an AWS session. The keys are
// the vendors' field names, as the readers keep them in Attrs.
var platformTerms = []struct{ attr, label string }{
	{"serviceAccount", "service account"},
	{"authentication.kubernetes.io/pod-name", "pod"},
	{"authentication.kubernetes.io/pod-uid", "pod uid"},
	{"authentication.kubernetes.io/node-name", "node"},
	{"userPrincipalName", "UPN"},
	{"appDisplayName", "app"}, {"appId", "app id"},
	{"resourceDisplayName", "resource"}, {"resourceId", "resource id"},
	{"tokenIssuerType", "token issuer type"}, {"tokenIssuerName", "token issuer"},
	{"incomingTokenType", "incoming token"},
	{"uti", "uti"}, {"correlationId", "correlation id"},
	{"roleArn", "role"}, {"assumedRoleArn", "assumed role"}, {"sessionIssuer", "session issuer"},
	{"provider", "identity provider"}, {"token_issuer", "token issuer"},
	{"eventType", "event"}, {"app", "app"},
}

// PlatformFields are the platform terms found in an attributes JSON object
// (an id-only artifact's claims: what the log said of it), in platformTerms
// order; values are escaped, a key met twice is shown once.
func PlatformFields(attrs string) []Field {
	if attrs == "" || attrs[0] != '{' {
		return nil
	}
	v, err := fastjson.Parse(attrs)
	if err != nil {
		return nil
	}
	o, err := v.Object()
	if err != nil {
		return nil
	}
	var out []Field
	seen := map[string]bool{}
	for _, t := range platformTerms {
		x := o.Get(t.attr)
		if x == nil || seen[t.label] {
			continue
		}
		var s string
		if b, err := x.StringBytes(); err == nil {
			s = string(b)
		} else {
			s = x.String()
		}
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		seen[t.label] = true
		out = append(out, Field{Label: t.label, Value: record.Escape(s)})
	}
	return out
}
