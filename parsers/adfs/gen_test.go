package adfs

import (
	"bytes"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

// The incident generator's AD FS records read back as the issuances they
// describe, in both forms.
func TestGeneratorRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 4, 10, 0, 0, 431_000_000, time.UTC)
	events := []idincident.ADFSEvent{
		{EventID: 1202, ActivityID: "5B0F3B0B-E875-4307-BA98-0A2F0D5AA2CE", Computer: "adfs01.contoso.com", UserID: `CONTOSO\alice`,
			IP: "198.51.100.10", UserAgent: "Mozilla/5.0", AuthProtocol: "WSFederation", NetworkLocation: "Intranet", RecordID: 1, At: at.Add(-300 * time.Millisecond)},
		{EventID: 1200, ActivityID: "5B0F3B0B-E875-4307-BA98-0A2F0D5AA2CE", Computer: "adfs01.contoso.com", UserID: "alice@contoso.com",
			RelyingParty: "urn:federation:MicrosoftOnline", IP: "198.51.100.10", UserAgent: `Mozilla/5.0 "quoted" <x> & y`,
			AuthProtocol: "WSFederation", NetworkLocation: "Intranet", RecordID: 2, At: at},
		{EventID: 1203, ActivityID: "0d23868f-2ad0-4ff2-a774-511ef7b36a04", Computer: "adfs02.contoso.com", UserID: "bob@contoso.com",
			IP: "203.0.113.7", NetworkLocation: "Extranet", RecordID: 3, At: at.Add(time.Minute)},
		{EventID: 1201, ActivityID: "7f3c2a10-1111-4c2e-9d8b-0a1b2c3d4e5f", Computer: "adfs02.contoso.com", RecordID: 4, At: at.Add(2 * time.Minute)},
		{EventID: 299, ActivityID: "9bfa2086-82e9-4410-a4e7-e185e2d8fa25", Computer: "adfs02.contoso.com",
			RelyingParty: "https://app.contoso.com/", RecordID: 5, At: at.Add(3 * time.Minute)},
	}
	writers := map[record.Format]func(*bytes.Buffer, idincident.ADFSEvent) error{
		Format: func(b *bytes.Buffer, e idincident.ADFSEvent) error { return idincident.WriteADFSWinlogbeat(b, e) },
		XML:    func(b *bytes.Buffer, e idincident.ADFSEvent) error { return idincident.WriteADFSEventXML(b, e) },
	}
	for f, write := range writers {
		var buf bytes.Buffer
		for _, e := range events {
			if err := write(&buf, e); err != nil {
				t.Fatal(err)
			}
		}
		if !f.Sniff(sample(buf.Bytes())) {
			t.Errorf("%s does not claim the generator's output", f.Name())
		}
		c, err := recordtest.Parse(f, "gen", buf.Bytes(), record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Rejects) != 0 || len(c.Ignores) != 3 || len(c.Issuances) != 2 {
			t.Fatalf("%s: %d issuances, %d ignores, %d rejects: %+v", f.Name(), len(c.Issuances), len(c.Ignores), len(c.Rejects), c.Rejects)
		}
		want := []record.Issuance{
			{Kind: record.KindSAML, ArtifactID: "5b0f3b0b-e875-4307-ba98-0a2f0d5aa2ce", Subject: "alice@contoso.com",
				Audience: "urn:federation:MicrosoftOnline", IssuedAt: at},
			{Kind: record.KindSAML, ArtifactID: "9bfa2086-82e9-4410-a4e7-e185e2d8fa25", Audience: "https://app.contoso.com/",
				IssuedAt: at.Add(3 * time.Minute)},
		}
		for i, w := range want {
			got := c.Issuances[i]
			if got.Kind != w.Kind || got.ArtifactID != w.ArtifactID || got.Issuer != "" || got.Subject != w.Subject ||
				got.Audience != w.Audience || !got.IssuedAt.Equal(w.IssuedAt) {
				t.Errorf("%s: issuance %d = %+v, want %+v", f.Name(), i, got, w)
			}
		}
		if a := c.Issuances[0].Attrs; !bytes.Contains([]byte(a), []byte(`"userAgent":"Mozilla/5.0 \"quoted\" \u003cx\u003e \u0026 y"`)) ||
			!bytes.Contains([]byte(a), []byte(`"federationService":"`+idincident.FederationID+`"`)) ||
			!bytes.Contains([]byte(a), []byte(`"server":"adfs01.contoso.com"`)) {
			t.Errorf("%s: attrs %s", f.Name(), a)
		}
	}
}
