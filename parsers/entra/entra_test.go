package entra

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

// CSV exports; projected-local.csv names a local zone, read in Location.
func TestGoldenCSV(t *testing.T) {
	recordtest.Golden(t, CSV, "testdata/csv", record.Options{Location: time.FixedZone("UTC-5", -5*3600)})
}

func TestParseTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2025-02-01T16:26:24.6955459+00:00", "2025-02-01T16:26:24.6955459Z"},
		{"2022-02-08T06:22:13.161064+00:00", "2022-02-08T06:22:13.161064Z"},
		{"2024-07-23T15:37:27Z", "2024-07-23T15:37:27Z"},
		{"2007-01-09T09:41:00.535404056Z", "2007-01-09T09:41:00.535404056Z"},
		{"2007-01-09T11:41:00+02:00", "2007-01-09T09:41:00Z"},
		{"2007-01-09T09:41:00", "2007-01-09T09:41:00Z"},
		{"11/14/2025 1:48:53 AM", "2025-11-14T01:48:53Z"},
		{"12/12/2025 3:03:58 PM", "2025-12-12T15:03:58Z"},
		{"01/09/2007 09:41:00", "2007-01-09T09:41:00Z"},
		{"1/9/2007 10:41:00 AM +01:00", "2007-01-09T09:41:00Z"},
		{"2/25/2025, 9:19:25.391 AM", "2025-02-25T09:19:25.391Z"},
		{"/Date(1772640000000)/", "2026-03-04T16:00:00Z"},
		{"/Date(1772640000000+0100)/", "2026-03-04T16:00:00Z"},
		{"yesterday", ""},
		{"13/45/2025 1:00:00 PM", ""},
		{"/Date(x)/", ""},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in, time.UTC)
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseTime(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(recordtest.MustTime(tt.want)) {
			t.Errorf("parseTime(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

// The mapping's key facts, on the diagnostic records.
func TestMapping(t *testing.T) {
	c := parseFile(t, Format, "testdata/diagnostic-signinlogs.json")
	byID := map[string]record.Sighting{}
	for _, s := range c.Sightings {
		byID[s.ArtifactID] = s
	}
	for id, outcome := range map[string]string{
		"c0ffee01-1234-4abc-8def-0123456789ab": record.OutcomeAccepted, // success
		"c0ffee02-1234-4abc-8def-0123456789ab": record.OutcomeAccepted, // MFA interrupt
		"c0ffee03-1234-4abc-8def-0123456789ab": record.OutcomeRejected, // SAML token refused
		"c0ffee04-1234-4abc-8def-0123456789ab": record.OutcomeAccepted, // braces, capitals, issuer name only
	} {
		s, ok := byID[id]
		if !ok || s.Outcome != outcome || s.Kind != record.KindSAML || s.Issuer != "" || s.Raw != "" {
			t.Errorf("sighting %s: %+v, want outcome %s", id, s, outcome)
		}
	}
	if len(c.Sightings) != 4 || len(c.Issuances) != 1 || c.Issuances[0].ArtifactID != "xMFjTVvJPE2OChJx_YE-AA" {
		t.Errorf("got %d sightings, issuances %+v", len(c.Sightings), c.Issuances)
	}
	// a federated user's refresh-token sign-in is Entra's own issuance
	c = parseFile(t, Format, "testdata/diagnostic-noninteractive.json")
	if len(c.Sightings) != 0 || len(c.Issuances) != 3 || c.Issuances[0].ArtifactID != "refreshAAAAAAAAAAAAAA11" {
		t.Errorf("non-interactive: %d sightings, issuances %+v", len(c.Sightings), c.Issuances)
	}
	// AD FS's records are SAML issuances keyed like the sightings
	c = parseFile(t, Format, "testdata/diagnostic-adfs.json")
	if len(c.Issuances) != 2 || c.Issuances[0].ArtifactID != "c0ffee01-1234-4abc-8def-0123456789ab" ||
		c.Issuances[1].ArtifactID != "c0ffee02-1234-4abc-8def-0123456789ab" || c.Issuances[0].Kind != record.KindSAML {
		t.Errorf("adfs: %+v", c.Issuances)
	}
}

// Attrs are written as record.AttrsJSON writes them.
func TestAttrsCanonical(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json*")
	csvs, _ := filepath.Glob("testdata/csv/*.csv")
	n := 0
	for _, path := range append(files, csvs...) {
		if strings.HasSuffix(path, ".golden") {
			continue
		}
		f := Format
		if strings.HasSuffix(path, ".csv") {
			f = CSV
		}
		c := parseFile(t, f, path)
		var attrs []string
		for _, s := range c.Sightings {
			attrs = append(attrs, s.Attrs)
		}
		for _, i := range c.Issuances {
			attrs = append(attrs, i.Attrs)
		}
		for _, a := range attrs {
			var m map[string]string
			if err := json.Unmarshal([]byte(a), &m); err != nil {
				t.Fatalf("%s: attrs %s: %v", path, a, err)
			}
			if got := record.AttrsJSON(m); got != a {
				t.Errorf("%s: attrs\n%s\nwant\n%s", path, a, got)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no attrs checked")
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name   string
		sample string
		json   bool
		csv    bool
	}{
		{"diagnostic", `{"time":"2026-03-04T10:00:00Z","resourceId":"/tenants/x/providers/Microsoft.aadiam","operationName":"Sign-in activity","category":"NonInteractiveUserSignInLogs","tenantId":"x","properties":{"id":"y"}}`, true, false},
		{"diagnostic spaced", `{ "time": "2026-03-04T10:00:00Z", "category": "ADFSSignInLogs", "properties": {"id": "y"}}`, true, false},
		{"graph page", `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns","value":[`, true, false},
		{"graph signIn", `{"id":"x","createdDateTime":"2026-03-04T10:00:00Z","correlationId":"c","uniqueTokenIdentifier":"u"}`, true, false},
		{"log analytics", `[{"TimeGenerated":"2026-03-04T10:00:00Z","CorrelationId":"c","TokenIssuerType":"AzureAD"}]`, true, false},
		{"old signIn", `{"id":"x","createdDateTime":"2019-01-01T00:00:00Z","userPrincipalName":"a@b","appDisplayName":"A","clientAppUsed":"Browser","correlationId":"c"}`, true, false},
		{"csv header", "TenantId,TimeGenerated [UTC],CorrelationId,UniqueTokenIdentifier,ResultType\nw,\"3/4/2026, 10:00:00 AM\",c,u,0", false, true},
		{"csv header bom semicolons", "\ufeffTimeGenerated [Local Time];CorrelationId;TokenIssuerType", false, true},
		// other logs
		{"audit logs only", `{"time":"2026-03-04T10:00:00Z","category":"AuditLogs","operationName":"Add user","properties":{"id":"y","correlationId":"c"}}`, false, false},
		{"okta", `{"uuid":"x","published":"2026-03-04T10:00:00.000Z","eventType":"user.session.start","actor":{"id":"u"},"authenticationContext":{"externalSessionId":"s"},"transaction":{"id":"t"},"debugContext":{"debugData":{"requestId":"r"}}}`, false, false},
		{"cloudtrail", `{"Records":[{"eventVersion":"1.08","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","requestID":"r","eventID":"e","userIdentity":{"type":"WebIdentityUser"}}]}`, false, false},
		{"adfs event json", `{"TimeCreated":"2026-03-04T10:00:00Z","Id":1200,"ProviderName":"AD FS Auditing","Message":"The Federation Service issued a valid token.","ActivityId":"c0ffee01-1234-4abc-8def-0123456789ab","Properties":[{"Value":"x"}]}`, false, false},
		{"adfs event xml", `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='AD FS Auditing'/><EventID>1200</EventID><Correlation ActivityID='{C0FFEE01-1234-4ABC-8DEF-0123456789AB}'/></System></Event>`, false, false},
		{"access log", `10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET /correlationId HTTP/1.1" 200 1`, false, false},
		{"bearer json", `{"time":"2026-03-04T10:00:00Z","authorization":"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln","correlationId":"c"}`, false, false},
		{"values only", `{"msg":"correlationId uniqueTokenIdentifier createdDateTime"}`, false, false},
		{"csv other", "serial,issued_at,subject", false, false},
		{"empty", "", false, false},
	}
	for _, tt := range tests {
		lines := bytes.Split([]byte(tt.sample), []byte("\n"))
		if got := Format.Sniff(lines); got != tt.json {
			t.Errorf("%s: JSON Sniff = %v, want %v", tt.name, got, tt.json)
		}
		if got := CSV.Sniff(lines); got != tt.csv {
			t.Errorf("%s: CSV Sniff = %v, want %v", tt.name, got, tt.csv)
		}
	}
}

// A pretty-printed page is claimed from its head, whose first lines hold
// no sign-in field.
func TestSniffFile(t *testing.T) {
	fs := Format.(record.FileSniffer)
	for _, path := range []string{"testdata/graph-page.json", "testdata/eventhub-pretty.json", "testdata/loganalytics-rows.json", "testdata/powershell-sdk.json"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !fs.SniffFile(path, data) {
			t.Errorf("SniffFile does not claim %s", path)
		}
	}
	if fs.SniffFile("x.json", []byte(`{"Records":[{"eventSource":"sts.amazonaws.com"}]}`)) {
		t.Error("SniffFile claims CloudTrail")
	}
}

// The other formats' test inputs are never taken for Entra's.
func TestSniffOtherFormats(t *testing.T) {
	files, _ := filepath.Glob("../*/testdata/*")
	more, _ := filepath.Glob("../*/testdata/*/*")
	n := 0
	for _, path := range append(files, more...) {
		if strings.HasPrefix(path, "../entra/") || strings.HasSuffix(path, ".golden") {
			continue
		}
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n++
		sample := sampleLines(data)
		if Format.Sniff(sample) || CSV.Sniff(sample) {
			t.Errorf("Sniff claims %s", path)
		}
		if Format.(record.FileSniffer).SniffFile(path, data[:min(len(data), 256<<10)]) {
			t.Errorf("SniffFile claims %s", path)
		}
	}
	if n == 0 {
		t.Fatal("no other formats' testdata found")
	}
}

// A line over the bound is rejected and the next one read.
func TestLineTooLong(t *testing.T) {
	good := `{"time":"2026-03-04T10:00:00Z","category":"SignInLogs","tenantId":"t","properties":{"createdDateTime":"2026-03-04T10:00:00Z","correlationId":"c","uniqueTokenIdentifier":"u%d","status":{"errorCode":0},"userId":"x"%s}}`
	data := strings.ReplaceAll(good, "%d", "1")
	data = strings.ReplaceAll(data, "%s", `,"userAgent":"`+strings.Repeat("x", 5000)+`"`) + "\n" +
		strings.ReplaceAll(strings.ReplaceAll(good, "%d", "2"), "%s", "") + "\n"
	c, err := recordtest.Parse(Format, "big.json", []byte(data), record.Options{MaxLineBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || len(c.Issuances) != 1 || c.Issuances[0].ArtifactID != "u2" {
		t.Errorf("got %+v", c)
	}
}

// The run's summary shows 80 bytes of an ignore reason.
func TestIgnoreReasonsFit(t *testing.T) {
	for _, r := range []string{IgnoreFailed, IgnoreInterrupted, IgnoreNoTokenID, IgnoreNotSignIn} {
		if len(r) > 80 {
			t.Errorf("ignore reason %q is %d bytes, over 80", r, len(r))
		}
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	recordtest.Seeds(f, "testdata/csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
		recordtest.CheckInvariants(t, CSV, data)
	})
}

func parseFile(t *testing.T, f record.Format, path string) *recordtest.Collector {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordtest.Parse(f, filepath.Base(path), data, record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Accounted() != c.Stats.Records {
		t.Fatalf("%s: read %d records, accounted %d", path, c.Stats.Records, c.Accounted())
	}
	return c
}

// sampleLines is the first record.SniffLines non-empty lines, as detection
// offers them.
func sampleLines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 && len(out) < record.SniffLines {
			out = append(out, bytes.TrimRight(l, "\r"))
		}
	}
	return out
}
