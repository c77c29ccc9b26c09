package entra

import (
	"bytes"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

// What idincident writes reads back as the sightings and issuances it
// stands for, in every form it writes.
func TestGenerated(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 0, 0, 123456700, time.UTC)
	tenant := "7d1f3a2e-4c5b-4e8a-9f0d-1a2b3c4d5e6f"
	federated := idincident.EntraSignIn{
		ID: "11111111-0000-4000-8000-000000000001", CorrelationID: "c0ffee01-1234-4abc-8def-0123456789ab",
		UTI: "fedUtiAAAAAAAAAAAAAAA1", TenantID: tenant, UPN: "alice@contoso.com", UserID: "a11ce000-0000-4000-8000-000000000001",
		AppID: "00000002-0000-0ff1-ce00-000000000000", AppName: "Office 365 Exchange Online",
		ResourceID: "00000002-0000-0ff1-ce00-000000000000", ResourceName: "Office 365 Exchange Online",
		IP: "198.51.100.10", UserAgent: "Mozilla/5.0", TokenIssuerType: "ADFederationServices",
		TokenIssuerName: "http://sts.contoso.com/adfs/services/trust", IncomingTokenType: "saml11", Interactive: true, At: at,
	}
	cloud := idincident.EntraSignIn{
		ID: "11111111-0000-4000-8000-000000000002", CorrelationID: "c0ffee02-1234-4abc-8def-0123456789ab",
		UTI: "cloudUtiAAAAAAAAAAAAA2", TenantID: tenant, UPN: "admin@contoso.onmicrosoft.com", UserID: "ad000000-0000-4000-8000-000000000005",
		AppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", AppName: "Azure Portal",
		ResourceID: "797f4846-ba00-4fd7-ba43-dac1f8f63013", ResourceName: "Windows Azure Service Management API",
		IP: "192.0.2.40", Interactive: true, At: at.Add(time.Minute),
	}
	failed := cloud
	failed.ID, failed.UTI, failed.ErrorCode, failed.Interactive = "11111111-0000-4000-8000-000000000003", "failedUtiAAAAAAAAAAAA3", 50126, false
	forged := federated
	forged.CorrelationID, forged.ErrorCode = "C0FFEE04-1234-4ABC-8DEF-0123456789AB", 50074

	var diag bytes.Buffer
	for _, s := range []idincident.EntraSignIn{federated, cloud, failed, forged} {
		if err := idincident.WriteEntraDiagnostic(&diag, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := idincident.WriteADFSSignInLogs(&diag, federated); err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := idincident.WriteEntraGraphPage(&page, []idincident.EntraSignIn{federated, cloud, failed, forged}); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name     string
		data     []byte
		observer string
		adfs     bool
	}{
		{"PT1H.json", diag.Bytes(), "entra:" + tenant, true},
		{"signIns.json", page.Bytes(), "entra", false},
	} {
		sample := sampleLines(tt.data)
		if !Format.Sniff(sample) && !Format.(record.FileSniffer).SniffFile(tt.name, tt.data) {
			t.Errorf("%s: not claimed", tt.name)
		}
		c, err := recordtest.Parse(Format, tt.name, tt.data, record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Rejects) != 0 || c.Accounted() != c.Stats.Records {
			t.Fatalf("%s: rejects %+v", tt.name, c.Rejects)
		}
		if len(c.Sightings) != 2 {
			t.Fatalf("%s: %d sightings, want 2", tt.name, len(c.Sightings))
		}
		for i, want := range []string{"c0ffee01-1234-4abc-8def-0123456789ab", "c0ffee04-1234-4abc-8def-0123456789ab"} {
			s := c.Sightings[i]
			if s.Kind != record.KindSAML || s.ArtifactID != want || s.Outcome != record.OutcomeAccepted ||
				s.Principal != "alice@contoso.com" || s.Observer != tt.observer || !s.ObservedAt.Equal(at.Truncate(wantPrecision(tt.name))) {
				t.Errorf("%s: sighting %d: %+v", tt.name, i, s)
			}
		}
		wantIssuances := 1
		if tt.adfs {
			wantIssuances = 2
		}
		if len(c.Issuances) != wantIssuances {
			t.Fatalf("%s: issuances %+v", tt.name, c.Issuances)
		}
		iss := c.Issuances[0]
		if iss.Kind != record.KindJWT || iss.ArtifactID != cloud.UTI || iss.Subject != cloud.UserID || iss.Audience != cloud.ResourceID {
			t.Errorf("%s: issuance %+v", tt.name, iss)
		}
		if tt.adfs {
			if a := c.Issuances[1]; a.Kind != record.KindSAML || a.ArtifactID != federated.CorrelationID || a.Subject != federated.UPN {
				t.Errorf("%s: AD FS issuance %+v", tt.name, a)
			}
		}
		if len(c.Ignores) != 1 || c.Ignores[0].Reason != IgnoreFailed {
			t.Errorf("%s: ignores %+v", tt.name, c.Ignores)
		}
	}
}

// wantPrecision is the precision of the times a form carries.
func wantPrecision(name string) time.Duration {
	if name == "signIns.json" {
		return time.Second
	}
	return 100 * time.Nanosecond
}
