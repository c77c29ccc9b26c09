package okta

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

// Every file of testdata is accounted for record by record, as the fuzz
// target checks.
func TestInvariants(t *testing.T) {
	files, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, ".golden") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(path), func(t *testing.T) { recordtest.CheckInvariants(t, Format, data) })
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		sample string
		want   bool
	}{
		{`{"actor":{"id":"00u1","type":"User"},"eventType":"user.session.start","published":"2026-03-04T10:00:00.000Z","uuid":"x"}`, true},
		{`{"eventType":"user.session.start","legacyEventType":"core.user_auth.login_success","published":"2026-03-04T10:00:00Z"}`, true},
		{`[{"actor":{"id":"00u1"},"eventType":"user.session.start","published":"2026-03-04T10:00:00.000Z"}]`, true},
		{`{"version":"0","id":"1","detail-type":"SystemLog","source":"aws.partner/okta.com/acme/logs","detail":{"eventType":"x"}}`, true},
		{`{"preview":false,"result":{"_raw":"{\"actor\":{},\"eventType\":\"user.session.start\",\"published\":\"2026-03-04T10:00:00Z\"}"}}`, true},
		// a line cut by the sample's bound
		{`{"actor":{"id":"00u1","type":"User"},"eventType":"user.session.start","published":"2026-03-04T10:00:00.000Z","client":{"userAgent":{"rawUser`, true},
		// an event hook delivery: events inside an envelope this format does not read
		{`{"eventType":"com.okta.event_hook","cloudEventsVersion":"0.1","source":"https://acme.okta.com/api/v1/eventHooks/who1","eventTime":"2026-03-04T10:00:00Z","data":{"events":[{"actor":{},"eventType":"user.session.start","published":"2026-03-04T10:00:00Z"}]}}`, false},
		// other vendors' JSON
		{`{"version":"0","id":"1","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{"state":"running"}}`, false},
		{`{"eventVersion":"1.08","eventTime":"2026-03-04T10:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{"type":"IAMUser"}}`, false},
		{`{"type":"PushEvent","actor":{"login":"octocat"},"created_at":"2026-03-04T10:00:00Z"}`, false},
		{`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","actor":"https://example.com/u","published":"2026-03-04T10:00:00Z"}`, false},
		{`{"time":"2026-03-04T10:00:00Z","msg":"okta event","eventType":"user.session.start"}`, false},
		{`{"time":1672831989826,"type":"CLIENT_LOGIN","realmId":"acme","clientId":"batch","details":{"token_id":"x"}}`, false},
		{`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET /api HTTP/1.1" 200 12 "-" "curl/8.5.0"`, false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Format.Sniff(bytes.Split([]byte(tt.sample), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%.80q) = %v, want %v", tt.sample, got, tt.want)
		}
	}
}

func TestSniffFile(t *testing.T) {
	pretty, err := os.ReadFile("testdata/api-pretty.json")
	if err != nil {
		t.Fatal(err)
	}
	fs := Format.(record.FileSniffer)
	if !fs.SniffFile("logs.json", pretty) {
		t.Error("SniffFile does not claim a pretty-printed API page")
	}
	if Format.Sniff(sampleLines(pretty)) {
		t.Error("the line sample of a pretty-printed page already shows the keys; the test no longer tests SniffFile")
	}
	for _, head := range []string{
		`[{"eventVersion":"1.08","eventName":"AssumeRole","published":"x","eventType":"y"}]`, // no uuid, no actor
		`{"uuid":"x","eventType":"user.session.start","published":"x","actor":{}}`,           // a line, for Sniff
		`[1, {"uuid":"x","eventType":"user.session.start","published":"x","actor":{}}]`,
		"",
	} {
		if fs.SniffFile("x.json", []byte(head)) {
			t.Errorf("SniffFile(%q) = true", head)
		}
	}
}

// The other formats' test inputs are never taken for Okta logs.
func TestSniffOtherFormats(t *testing.T) {
	files, _ := filepath.Glob("../*/testdata/*")
	more, _ := filepath.Glob("../*/testdata/*/*")
	n := 0
	for _, path := range append(files, more...) {
		if strings.HasPrefix(path, "../okta/") || strings.HasSuffix(path, ".golden") {
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
		head := data[:min(len(data), 256<<10)]
		if Format.Sniff(sampleLines(data)) || Format.(record.FileSniffer).SniffFile(path, head) {
			t.Errorf("Okta claims %s", path)
		}
	}
	if n == 0 {
		t.Fatal("no other formats' testdata found")
	}
}

// sampleLines is the first record.SniffLines non-empty lines, as detection
// offers them.
func sampleLines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 && len(out) < record.SniffLines {
			out = append(out, l)
		}
	}
	return out
}

// A line over the bound is rejected and the next one read; an array
// element over it stops the file.
func TestTooLong(t *testing.T) {
	big := `{"eventType":"user.session.start","published":"2026-03-04T10:00:00Z","actor":{"type":"User","alternateId":"` + strings.Repeat("a", 5000) + `"},"authenticationContext":{"externalSessionId":"102a"},"outcome":{"result":"SUCCESS"}}`
	small := `{"eventType":"user.session.start","published":"2026-03-04T10:00:00Z","actor":{"type":"User","alternateId":"b"},"authenticationContext":{"externalSessionId":"102b"},"outcome":{"result":"SUCCESS"}}`
	c, err := recordtest.Parse(Format, "big.ndjson", []byte(big+"\n"+small+"\n"), record.Options{MaxLineBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 1 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || len(c.Issuances) != 1 || c.Issuances[0].ArtifactID != "102b" {
		t.Errorf("lines: %+v", c)
	}
	c, err = recordtest.Parse(Format, "big.json", []byte("["+small+","+big+","+small+"]"), record.Options{MaxLineBytes: 1000})
	if err == nil || len(c.Issuances) != 1 || len(c.Rejects) != 1 || c.Rejects[0].Pos.Line != 2 ||
		!strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || c.Stats.Records != 2 {
		t.Errorf("array: err %v, %+v", err, c)
	}
}

// What the generator writes reads back as the rows the incident means.
func TestGeneratorRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 123e6, time.UTC)
	const session = "idxT3stSeSsIoNGeNeRaToR01"
	base := idincident.OktaEvent{ActorID: "00u1alice0000000001", ActorLogin: "alice@example.com", ClientIP: "198.51.100.7",
		UserAgent: "Mozilla/5.0", SessionID: session, AppID: "0oa1webapp000000001", AppName: "Acme <Portal>"}
	with := func(f func(*idincident.OktaEvent)) idincident.OktaEvent {
		e := base
		f(&e)
		return e
	}
	events := []idincident.OktaEvent{
		with(func(e *idincident.OktaEvent) { e.EventType, e.At, e.Result = idincident.OktaSignOnPolicy, t0, "ALLOW" }),
		with(func(e *idincident.OktaEvent) { e.EventType, e.At = idincident.OktaMFA, t0.Add(time.Second) }),
		with(func(e *idincident.OktaEvent) { e.EventType, e.At = idincident.OktaSessionStart, t0.Add(2*time.Second) }),
		with(func(e *idincident.OktaEvent) { e.EventType, e.At = idincident.OktaSSO, t0.Add(3*time.Second) }),
		with(func(e *idincident.OktaEvent) {
			e.EventType, e.At, e.TokenID, e.AuthServerID = idincident.OktaAccessToken, t0.Add(4*time.Second), "AT.Z2VuZXJhdGVkX29uZQ", "aus1payments0000001"
			e.Scopes, e.Expires, e.RawToken = "openid, payments:read", t0.Add(time.Hour), "eyJraWQiOiJrMSJ9.e30.c2ln"
		}),
		with(func(e *idincident.OktaEvent) {
			e.EventType, e.At, e.TokenID, e.Expires = idincident.OktaOrgIDToken, t0.Add(5*time.Second), "ID.Z2VuZXJhdGVkX2lk", t0.Add(time.Hour)
		}),
		with(func(e *idincident.OktaEvent) {
			e.EventType, e.At, e.Result, e.Reason = idincident.OktaGrantFailed, t0.Add(6*time.Second), "FAILURE", "invalid_grant"
		}),
		with(func(e *idincident.OktaEvent) {
			e.EventType, e.At, e.Result, e.ActorLogin = idincident.OktaMFA, t0.Add(7*time.Second), "FAILURE", "mallory@example.com"
		}),
		with(func(e *idincident.OktaEvent) { e.EventType, e.At = "user.lifecycle.create", t0.Add(8*time.Second) }),
	}
	var ndjson, bridge bytes.Buffer
	for _, e := range events {
		if err := idincident.WriteOktaEvent(&ndjson, e); err != nil {
			t.Fatal(err)
		}
		if err := idincident.WriteOktaEventBridge(&bridge, "acme", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := idincident.WriteOktaEvent(&ndjson, idincident.OktaEvent{At: t0}); err == nil {
		t.Error("WriteOktaEvent accepts an event without a type")
	}
	if !Format.Sniff(sampleLines(ndjson.Bytes())) || !Format.Sniff(sampleLines(bridge.Bytes())) {
		t.Fatal("Sniff does not claim the generator's lines")
	}
	for _, form := range []struct {
		name, observer string
		data           []byte
	}{{"ndjson", "okta", ndjson.Bytes()}, {"eventbridge", "okta:acme", bridge.Bytes()}} {
		c, err := recordtest.Parse(Format, form.name, form.data, record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Rejects) != 0 {
			t.Fatalf("%s: rejects %+v", form.name, c.Rejects)
		}
		var got []string
		for _, s := range c.Sightings {
			got = append(got, strings.Join([]string{"sighting", s.Kind, s.ArtifactID, s.Principal, s.Outcome, s.Action, s.Observer, s.ClientIP, s.ObservedAt.Format(time.RFC3339Nano)}, " "))
		}
		for _, i := range c.Issuances {
			got = append(got, strings.Join([]string{"issuance", i.Kind, i.ArtifactID, i.Subject, i.Audience, i.IssuedAt.Format(time.RFC3339Nano), i.ExpiresAt.Format(time.RFC3339)}, " "))
		}
		for _, ig := range c.Ignores {
			got = append(got, "ignore "+ig.Reason)
		}
		o := form.observer
		want := []string{
			"sighting okta-session " + session + " alice@example.com accepted policy.evaluate_sign_on " + o + " 198.51.100.7 2026-03-04T10:00:00.123Z",
			"sighting okta-session " + session + " alice@example.com accepted user.authentication.auth_via_mfa " + o + " 198.51.100.7 2026-03-04T10:00:01.123Z",
			"sighting okta-session " + session + " alice@example.com accepted user.authentication.sso " + o + " 198.51.100.7 2026-03-04T10:00:03.123Z",
			"sighting okta-session " + session + " mallory@example.com rejected user.authentication.auth_via_mfa " + o + " 198.51.100.7 2026-03-04T10:00:07.123Z",
			"issuance okta-session " + session + " alice@example.com  2026-03-04T10:00:02.123Z 0001-01-01T00:00:00Z",
			"issuance jwt AT.Z2VuZXJhdGVkX29uZQ 00u1alice0000000001 0oa1webapp000000001 2026-03-04T10:00:04.123Z 2026-03-04T11:00:00Z",
			"issuance jwt ID.Z2VuZXJhdGVkX2lk 00u1alice0000000001 0oa1webapp000000001 2026-03-04T10:00:05.123Z 2026-03-04T11:00:00Z",
			"ignore " + IgnoreGrantFailed,
			"ignore " + IgnoreNoCredential,
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\ngot\n%s\nwant\n%s", form.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		at := c.Issuances[1]
		if !at.AudienceIsClient || !strings.Contains(at.Attrs, `"authServerId":"aus1payments0000001"`) ||
			!strings.Contains(at.Attrs, `"hash":"`) || !strings.Contains(at.Attrs, `"app":"Acme \u003cPortal\u003e"`) {
			t.Errorf("%s: access token issuance %+v", form.name, at)
		}
	}
}

func TestGrantEvent(t *testing.T) {
	tests := []struct {
		eventType, token string
		ok               bool
	}{
		{"app.oauth2.as.token.grant.access_token", "access_token", true},
		{"app.oauth2.token.grant.id_jag", "id_jag", true},
		{"app.oauth2.as.token.grant", "", true},
		{"app.oauth2.token.grant", "", true},
		{"app.oauth2.as.token.granted", "", false},
		{"app.oauth2.as.token.revoke", "", false},
		{"app.oauth2.as.authorize.code", "", false},
	}
	for _, tt := range tests {
		if token, ok := grantEvent(tt.eventType); token != tt.token || ok != tt.ok {
			t.Errorf("grantEvent(%q) = %q, %v; want %q, %v", tt.eventType, token, ok, tt.token, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
	})
}
