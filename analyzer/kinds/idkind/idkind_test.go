package idkind

import (
	"testing"

	"github.com/forgehunt/forgehunt/analyzer/kinds"
)

// Nothing of an id-only credential verifies, whatever is presented as it.
func TestNothingVerifies(t *testing.T) {
	k := New(AWSSession, "access key id")
	for _, raw := range []string{"", "ASIA0000", "\x00\xff", `{"a":1}`} {
		if v := k.Verify(raw, nil, kinds.Options{}); v.Status != kinds.StatusUnverifiable {
			t.Errorf("Verify(%q) = %s", raw, v.Status)
		}
	}
	if k.WeakMatch() || k.Name() != AWSSession || k.IDLabel() != "access key id" {
		t.Error("kind metadata")
	}
}

// Its fields name the credential in the platform's terms, escaped, each
// label once, and skip what the log did not say.
func TestFields(t *testing.T) {
	k := New("saml", "activity id")
	v := kinds.Verdict{ID: "c0ffee", Subject: "admin@contoso.com",
		Claims: `{"appDisplayName":"Microsoft Graph","app":"dup","resourceDisplayName":"","tokenIssuerType":"ADFederationServices","uti":"x\u202ey"}`}
	var labels []string
	vals := map[string]string{}
	for _, f := range k.Fields(v) {
		labels = append(labels, f.Label)
		vals[f.Label] = f.Value
	}
	want := []string{"activity id", "issuer", "subject", "app", "token issuer type", "uti"}
	if len(labels) != len(want) {
		t.Fatalf("labels = %v, want %v", labels, want)
	}
	for i := range want {
		if labels[i] != want[i] {
			t.Fatalf("labels = %v, want %v", labels, want)
		}
	}
	if vals["app"] != "Microsoft Graph" || vals["uti"] == "x\u202ey" {
		t.Errorf("values = %v", vals)
	}
	if got := kinds.PlatformFields(`not json`); got != nil {
		t.Errorf("PlatformFields(bad) = %v", got)
	}
}
