package envoytext

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgehunt/forgehunt/parsers/envoy"
	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

const testJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln"

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

// customFormats are the format strings of the directories under
// testdata/custom, each read with its own options.
var customFormats = []struct {
	dir  string
	opts record.Options
}{
	{"epoch", record.Options{EnvoyFormat: `%START_TIME(%s.%3f)% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% ` +
		`%RESPONSE_CODE_DETAILS% "%REQ(USER-AGENT)%" %DOWNSTREAM_REMOTE_ADDRESS% %UPSTREAM_CLUSTER% "%REQ(AUTHORIZATION)%"` + "\n"}},
	{"strftime", record.Options{EnvoyFormat: `[%START_TIME(%Y/%m/%dT%H:%M:%S%z)%] %REQ(:AUTHORITY)% ` +
		`"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ` +
		`"%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" %DOWNSTREAM_PEER_URI_SAN% %ROUTE_NAME% "%REQ(Authorization)%"\n`}},
	{"rfc1123", record.Options{EnvoyFormat: `%START_TIME(%a, %d %b %Y %H:%M:%S GMT)% "%REQ(:METHOD)% %REQ(:PATH)%" ` +
		`%RESPONSE_CODE% %REQ(:AUTHORITY)% %REQ(AUTHORIZATION)%`}},
	{"header-jwt", record.Options{Observer: "edge-gw", EnvoyFormat: `[%START_TIME%] "%REQ(:METHOD)% %REQ(:PATH)%" ` +
		`%RESPONSE_CODE% "%REQ(X-AMZN-OIDC-DATA)%" "%REQ(X-JWT-ASSERTION)%" "%REQ(X-TENANT)%" "%REQ(COOKIE)%" ` +
		`%GRPC_STATUS% %DYNAMIC_METADATA(envoy.filters.http.jwt_authn:payload)%`}},
	{"truncated", record.Options{EnvoyFormat: `[%START_TIME%] %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %REQ(AUTHORIZATION):120%`}},
}

func TestGoldenCustom(t *testing.T) {
	for _, c := range customFormats {
		t.Run(c.dir, func(t *testing.T) {
			recordtest.Golden(t, Format, filepath.Join("testdata", "custom", c.dir), c.opts)
		})
	}
}

// An Istio text line and its JSON twin (parsers/envoy's testdata) give the
// same sighting.
func TestJSONTwin(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLmNvbSIsInN1YiI6ImFsaWNlIiwiYXVkIjoicGF5bWVudHMiLCJpYXQiOjE3NzI2MTg0MDAsImV4cCI6MTc3MjYyMjAwMCwianRpIjoiYTEifQ.c2lnLWJ5dGVzLTAxMjM0NTY3ODlhYmNkZWY"
	pairs := []struct{ json, text string }{
		{
			`{"start_time":"2026-03-04T10:00:00.123Z","method":"GET","path":"/api/payments?limit=10","protocol":"HTTP/1.1","response_code":200,"response_flags":"-","response_code_details":"via_upstream","connection_termination_details":null,"upstream_transport_failure_reason":null,"bytes_received":0,"bytes_sent":512,"duration":12,"upstream_service_time":"10","x_forwarded_for":"203.0.113.7","user_agent":"curl/8.5.0","request_id":"7f1c9a2e-0b1d-4d7e-9a55-1f0c2b3d4e5f","authority":"payments.example.com","upstream_host":"10.0.3.14:8080","upstream_cluster":"outbound|8080||payments.prod.svc.cluster.local","upstream_local_address":"10.0.1.5:45678","downstream_local_address":"10.0.1.5:8080","downstream_remote_address":"10.0.9.9:51234","requested_server_name":null,"route_name":"default","authorization":"Bearer ` + jwt + `"}`,
			`[2026-03-04T10:00:00.123Z] "GET /api/payments?limit=10 HTTP/1.1" 200 - via_upstream - "-" 0 512 12 10 "203.0.113.7" "curl/8.5.0" "7f1c9a2e-0b1d-4d7e-9a55-1f0c2b3d4e5f" "payments.example.com" "10.0.3.14:8080" outbound|8080||payments.prod.svc.cluster.local 10.0.1.5:45678 10.0.1.5:8080 10.0.9.9:51234 - default "Bearer ` + jwt + `"`,
		},
		{
			`{"start_time":"2026-03-04T10:00:02.000Z","method":"GET","path":"/api/payments","protocol":"HTTP/2","response_code":401,"response_flags":"-","response_code_details":"jwt_authn_access_denied{Jwt_verification_fails}","x_forwarded_for":null,"user_agent":null,"request_id":"r2","authority":null,"upstream_host":null,"upstream_cluster":"inbound|8080||","downstream_remote_address":"[2001:db8::9]:51234","requested_server_name":"payments.example.com","route_name":"default","authorization":"Bearer ` + jwt + `"}`,
			`[2026-03-04T10:00:02.000Z] "GET /api/payments HTTP/2" 401 - jwt_authn_access_denied{Jwt_verification_fails} - "-" 0 14 1 - "-" "-" "r2" "-" "-" inbound|8080|| - 10.0.1.5:8080 [2001:db8::9]:51234 payments.example.com default "Bearer ` + jwt + `"`,
		},
	}
	for i, p := range pairs {
		fromJSON, err := recordtest.Parse(envoy.Format, "a.log", []byte(p.json), record.Options{})
		if err != nil || len(fromJSON.Sightings) != 1 {
			t.Fatalf("%d: json: %+v, %v", i, fromJSON, err)
		}
		fromText, err := recordtest.Parse(Format, "a.log", []byte(p.text), record.Options{})
		if err != nil || len(fromText.Sightings) != 1 {
			t.Fatalf("%d: text: %+v, %v", i, fromText, err)
		}
		j, x := fromJSON.Sightings[0], fromText.Sightings[0]
		j.Pos.Format, x.Pos.Format = "", ""
		if j != x {
			t.Errorf("%d: json and text disagree\njson %+v\ntext %+v", i, j, x)
		}
	}
}

func TestCompile(t *testing.T) {
	tests := []struct {
		format string
		prefix string
		ops    []string // command(arg):maxLen role class
		lits   []string
	}{
		{`[%START_TIME%] "%REQ(AUTHORIZATION)%"`, "[", []string{"START_TIME time token", "REQ(AUTHORIZATION) authorization text"}, []string{`] "`, `"`}},
		{`%REQ(authorization):40% 100%% %DURATION%` + "\n", "", []string{"REQ(authorization):40 authorization text", "DURATION attr number"}, []string{" 100% ", ""}},
		{`%START_TIME(%s.%3f)% %REQ(X-JWT-ASSERTION)%\n`, "", []string{"START_TIME(%s.%3f) time token", "REQ(X-JWT-ASSERTION) tokenheader text"}, []string{" ", ""}},
		{`%START_TIME(%Y-%m-%d %H:%M:%S)%|%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%|%REQ(:METHOD)%|%REQ(X-Api-Key)%|%REQ(AUTHORIZATION)%`, "",
			[]string{"START_TIME(%Y-%m-%d %H:%M:%S) time noquote", "REQ(X-ENVOY-ORIGINAL-PATH?:PATH) path text",
				"REQ(:METHOD) method token", "REQ(X-Api-Key) tokenheader text", "REQ(AUTHORIZATION) authorization text"},
			[]string{"|", "|", "|", "|", ""}},
		{`%START_TIME(a)b)% %REQ(AUTHORIZATION)% %RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES)% %REQ(X-B3-TRACEID)% %GRPC_STATUS%`, "",
			[]string{"START_TIME(a)b) time token", "REQ(AUTHORIZATION) authorization text", "RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES) details text",
				"REQ(X-B3-TRACEID) attr:x_b3_traceid text", "GRPC_STATUS attr:grpc_status text"},
			[]string{" ", " ", " ", " ", ""}},
	}
	for _, tt := range tests {
		l, err := compile(tt.format, "test", true)
		if err != nil {
			t.Errorf("compile(%q): %v", tt.format, err)
			continue
		}
		var ops []string
		for _, op := range l.ops {
			ops = append(ops, describe(&op))
		}
		if l.prefix != tt.prefix || strings.Join(ops, "; ") != strings.Join(tt.ops, "; ") ||
			strings.Join(l.lits, "\x00") != strings.Join(tt.lits, "\x00") {
			t.Errorf("compile(%q):\n prefix %q ops %q lits %q\nwant prefix %q ops %q lits %q", tt.format, l.prefix, ops, l.lits, tt.prefix, tt.ops, tt.lits)
		}
	}
}

func describe(op *operator) string {
	s := op.command
	if op.arg != "" {
		s += "(" + op.arg + ")"
	}
	if op.maxLen > 0 {
		s += fmt.Sprintf(":%d", op.maxLen)
	}
	r := map[role]string{roleAttr: "attr", roleTime: "time", rolePath: "path", roleMethod: "method",
		roleAuthorization: "authorization", roleTokenHeader: "tokenheader", roleDetails: "details"}[op.role]
	if op.role == roleAttr && op.attr != "" {
		r += ":" + op.attr
	}
	c := [...]string{"text", "token", "noquote", "number"}[op.class]
	return s + " " + r + " " + c
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ format, want string }{
		{``, "empty format string"},
		{"\n", "empty format string"},
		{`[%START_TIME%] %RESPONSE_CODE%`, ErrNoCredential.Error()},
		{`just text`, "no operator"},
		{`%REQ(AUTHORIZATION)`, "at byte 0: unterminated operator %REQ"},
		{`x %REQ(AUTHORIZATION`, "at byte 2: unterminated operator %REQ"},
		{`%REQ(AUTHORIZATION):x%`, "unterminated operator %REQ"},
		{`%REQ(AUTHORIZATION):%`, "unterminated operator %REQ"},
		{`%REQ(AUTHORIZATION)% 50% off`, `at byte 23: "%" starts no operator`},
		{`%req(authorization)%`, `"%" starts no operator`},
		{`%REQ% %REQ(AUTHORIZATION)%`, "%REQ needs a header name"},
		{`%REQ(:METHOD)%%REQ(AUTHORIZATION)%`, "%REQ(:METHOD)% and %REQ(AUTHORIZATION)% have no text between them"},
		{`%START_TIME(%Q)% %REQ(AUTHORIZATION)%`, "%START_TIME(%Q)%: unsupported START_TIME specifier %Q"},
		{`%START_TIME(%Ex)% %REQ(AUTHORIZATION)%`, "unsupported START_TIME specifier %Ex"},
		{`%START_TIME(%)% %REQ(AUTHORIZATION)%`, "lone %"},
		{`%START_TIME(%4)% %REQ(AUTHORIZATION)%`, "unsupported START_TIME specifier %4"},
		{`%REQ(AUTHORIZATION):99999999999%`, "unterminated operator"},
	}
	for _, tt := range tests {
		_, err := compile(tt.format, "test", true)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compile(%q) = %v, want an error with %q", tt.format, err, tt.want)
		}
	}
}

// A format string that does not compile is Parse's error, before any line.
func TestParseFormatError(t *testing.T) {
	line := `[2016-04-15T20:17:00.310Z] "GET / HTTP/1.1" 200 "Bearer ` + testJWT + `"`
	c, err := recordtest.Parse(Format, "x.log", []byte(line), record.Options{EnvoyFormat: `[%START_TIME%] %RESPONSE_CODE%`})
	if err == nil || !strings.Contains(err.Error(), "--envoy-format") || !errors.Is(err, ErrNoCredential) {
		t.Errorf("err = %v, want the --envoy-format error wrapping ErrNoCredential", err)
	}
	if c.Stats.Records != 0 || c.Accounted() != 0 {
		t.Errorf("read %d records, accounted %d, want none", c.Stats.Records, c.Accounted())
	}
}

func TestDefaultLayoutsCompile(t *testing.T) {
	for _, l := range defaultLayouts {
		if len(l.roles[roleTime]) != 1 || len(l.roles[roleStatus]) != 1 || len(l.creds) != 0 || !l.trailing {
			t.Errorf("%s: compiled as %+v", l.name, l)
		}
	}
}

func TestTimeLayout(t *testing.T) {
	tests := []struct {
		layout, in string
		want       string // RFC 3339, or "error"
	}{
		{"%s", "1460751420", "2016-04-15T20:17:00Z"},
		{"%s.%3f", "1460751420.310", "2016-04-15T20:17:00.31Z"},
		{"%s.%6f", "1460751420.310042", "2016-04-15T20:17:00.310042Z"},
		{"%s.%9f", "1460751420.310042001", "2016-04-15T20:17:00.310042001Z"},
		{"%s.%f", "1460751420.000000001", "2016-04-15T20:17:00.000000001Z"},
		{"%s.%3f", "1460751420.31", "error"},
		{"%Y-%m-%dT%H:%M:%S.%3fZ", "2016-04-15T20:17:00.310Z", "2016-04-15T20:17:00.31Z"},
		{"%Y-%m-%dT%H:%M:%E3SZ", "2016-04-15T20:17:00.310Z", "2016-04-15T20:17:00.31Z"},
		{"%Y/%m/%dT%H:%M:%S%z", "2016/04/15T22:17:00+0200", "2016-04-15T20:17:00Z"},
		{"%Y/%m/%dT%H:%M:%S%z", "2016/04/15T15:47:00-0430", "2016-04-15T20:17:00Z"},
		{"%FT%T%Ez", "2016-04-15T22:17:00+02:00", "2016-04-15T20:17:00Z"},
		{"%FT%T%Ez", "2016-04-15T22:17:00+0200", "error"},
		{"%FT%H:%M:%E*S", "2016-04-15T20:17:00.5", "2016-04-15T20:17:00.5Z"},
		{"%FT%H:%M:%E*S", "2016-04-15T20:17:00", "2016-04-15T20:17:00Z"},
		{"%FT%H:%M:%E*S", "2016-04-15T20:17:00.", "error"},
		{"%a, %d %b %Y %T %Z", "Fri, 15 Apr 2016 20:17:00 GMT", "2016-04-15T20:17:00Z"},
		{"%A %B %e %Y %R", "Friday April  5 2016 20:17", "2016-04-05T20:17:00Z"},
		{"%D %T", "04/15/16 20:17:00", "2016-04-15T20:17:00Z"},
		{"%Y %j", "2016 106", "2016-04-15T00:00:00Z"},
		{"%Y-%m-%d", "2016-02-30", "error"},
		{"%Y-%m-%d", "2016-13-01", "error"},
		{"%Y-%m-%d %H", "2016-01-01 24", "error"},
		{"%Y-%m-%d", "2016-01-01x", "error"},
		{"%Y-%m-%d", "2016-01", "error"},
		{"%Y %b", "2016 Foo", "error"},
		{"%z", "+2500", "error"},
		{"%s", "", "error"},
		{"%T %%", "20:17:00 %", "1970-01-01T20:17:00Z"},
	}
	for _, tt := range tests {
		tl, err := compileTime(tt.layout)
		if err != nil {
			t.Errorf("compileTime(%q): %v", tt.layout, err)
			continue
		}
		got, err := tl.parse(tt.in, time.UTC)
		switch {
		case tt.want == "error" && err == nil:
			t.Errorf("%q.parse(%q) = %v, want an error", tt.layout, tt.in, got)
		case tt.want != "error" && (err != nil || !got.Equal(recordtest.MustTime(tt.want))):
			t.Errorf("%q.parse(%q) = %v, %v, want %s", tt.layout, tt.in, got, err, tt.want)
		}
	}
}

// START_TIME_LOCAL without a zone is read in Options.Location.
func TestStartTimeLocal(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	line := `2016-04-15 21:17:00 GET "Bearer ` + testJWT + `"`
	c, err := recordtest.Parse(Format, "x.log", []byte(line), record.Options{Location: berlin,
		EnvoyFormat: `%START_TIME_LOCAL(%Y-%m-%d %H:%M:%S)% %REQ(:METHOD)% "%REQ(AUTHORIZATION)%"`})
	if err != nil || len(c.Sightings) != 1 {
		t.Fatalf("got %+v, %v", c, err)
	}
	if got, want := c.Sightings[0].ObservedAt, recordtest.MustTime("2016-04-15T20:17:00Z"); !got.Equal(want) {
		t.Errorf("ObservedAt = %v, want %v", got, want)
	}
}

func TestSniff(t *testing.T) {
	envoyLine := `[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"`
	istioTCP := `[2026-03-04T10:00:03.000Z] "- - -" 0 - - - "-" 1234 567 89 - "-" "-" "-" "-" "10.0.3.14:5432" outbound|5432||db 10.0.1.5:45678 10.96.0.10:5432 10.0.1.5:45670 - -`
	tests := []struct {
		name   string
		sample []string
		want   bool
	}{
		{"envoy default", []string{envoyLine}, true},
		{"istio tcp", []string{istioTCP, envoyLine}, true},
		{"truncated last line", []string{envoyLine, envoyLine, envoyLine[:20]}, true},
		{"epoch time", []string{`[1460751420.310] "GET / HTTP/1.1" 200`}, true},
		{"bad time", []string{`[yesterday] "GET / HTTP/1.1" 200`}, false},
		{"no method", []string{`[2016-04-15T20:17:00.310Z] "hello world"`}, false},
		{"nginx", []string{`203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "-"`}, false},
		{"json", []string{`{"start_time":"2026-03-04T10:00:00Z","response_code":200,"authority":"a"}`}, false},
		{"mostly other", []string{envoyLine, "x", "y", "z"}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		var sample [][]byte
		for _, s := range tt.sample {
			sample = append(sample, []byte(s))
		}
		if got := Format.Sniff(sample); got != tt.want {
			t.Errorf("%s: Sniff = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSalvageFields(t *testing.T) {
	const doc = `[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq` + "\uFFFD" + `2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"`
	tests := []struct {
		name string
		line string
		opts record.Options
		want record.Sighting
	}{
		{"control character replaced", doc + ` "Bearer ` + testJWT + `"`, record.Options{}, record.Sighting{
			ObservedAt: recordtest.MustTime("2016-04-15T20:17:00.31Z"), ClientIP: "10.0.35.28", Observer: "locations",
			UserAgent: "nsq\uFFFD2http", Action: "POST /api/v1/locations", Outcome: record.OutcomeAccepted,
			Attrs: `{"authority":"locations","protocol":"HTTP/2","request_id":"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2","status":"204","upstream_host":"tcp://10.0.2.1:80","x_forwarded_for":"10.0.35.28"}`}},
		{"stops matching after the details", `[2016-04-15T20:17:00.310Z] "GET /a?q=1 HTTP/1.1" 401 UAEX x y`, record.Options{Observer: "edge"}, record.Sighting{
			ObservedAt: recordtest.MustTime("2016-04-15T20:17:00.31Z"), Observer: "edge", Action: "GET /a", Outcome: record.OutcomeRejected,
			Attrs: `{"protocol":"HTTP/1.1","response_code_details":"x","response_flags":"UAEX","status":"401"}`}},
		{"no status: outcome kept", `[2016-04-15T20:17:00.310Z] "GET /a HTTP/1.1" x`, record.Options{}, record.Sighting{
			ObservedAt: recordtest.MustTime("2016-04-15T20:17:00.31Z"), Action: "GET /a", Outcome: "kept",
			Attrs: `{"protocol":"HTTP/1.1"}`}},
		{"custom format", `1460751420.310 GET /x 403 rbac_access_denied_matched_policy[none] "ua" 10.0.0.2:6 c "Bearer x"`, record.Options{EnvoyFormat: customFormats[0].opts.EnvoyFormat}, record.Sighting{
			ObservedAt: recordtest.MustTime("2016-04-15T20:17:00.31Z"), ClientIP: "10.0.0.2", Observer: "c", UserAgent: "ua",
			Action: "GET /x", Outcome: record.OutcomeRejected,
			Attrs: `{"downstream_remote_address":"10.0.0.2:6","response_code_details":"rbac_access_denied_matched_policy[none]","status":"403","upstream_cluster":"c"}`}},
		{"bad custom format: nothing", doc, record.Options{EnvoyFormat: "%REQ("}, record.Sighting{Outcome: "kept"}},
		{"not envoy at all", "hello", record.Options{}, record.Sighting{Outcome: "kept"}},
		{"empty", "", record.Options{}, record.Sighting{Outcome: "kept"}},
	}
	for _, tt := range tests {
		s := record.Sighting{Outcome: "kept", Pos: record.Position{File: "x.log", Line: 1}}
		Format.SalvageFields([]byte(tt.line), &tt.opts, &s)
		tt.want.Pos = s.Pos
		if s != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, s, tt.want)
		}
	}
	var s record.Sighting
	Format.SalvageFields([]byte(doc), nil, &s) // nil options are the defaults
	if s.Observer != "locations" {
		t.Errorf("nil options: got %+v", s)
	}
}

// The line splits that the matcher's preferences choose, and the ambiguous
// lines it rejects.
func TestSplit(t *testing.T) {
	const head = `[2016-04-15T20:17:00.310Z] "GET /a HTTP/1.1" 200 - 0 0 1 - `
	tests := []struct {
		name, line string
		ua, xff    string
		cred       string // the credential, or the reject reason
	}{
		{"plain", head + `"1.2.3.4" "curl" "r" "h" "10.0.0.1:80" "Bearer ` + testJWT + `"`, "curl", "1.2.3.4", testJWT},
		{"quote in agent", head + `"1.2.3.4" "say "hi"" "r" "h" "10.0.0.1:80" "Bearer ` + testJWT + `"`, `say "hi"`, "1.2.3.4", testJWT},
		{"separator in agent", head + `"1.2.3.4" "a" "b" "r" "h" "10.0.0.1:80" "Bearer ` + testJWT + `"`, `a" "b`, "1.2.3.4", testJWT},
		{"separator in forwarded-for", head + `"1.2.3.4" "5.6.7.8" "curl" "r" "h" "10.0.0.1:80" "Bearer ` + testJWT + `"`, `5.6.7.8" "curl`, "1.2.3.4", testJWT},
		{"separator in credential", head + `"1.2.3.4" "curl" "r" "h" "10.0.0.1:80" "Bearer x" "` + testJWT + `"`, "curl", "1.2.3.4", record.ReasonBearerNotJWT},
		{"bare token after junk", head + `"1.2.3.4" "curl" "r" "h" "10.0.0.1:80" "x" "` + testJWT + `"`, "curl", "1.2.3.4", testJWT},
		{"fake fields in agent", `[2016-04-15T20:17:00.310Z] "GET /x HTTP/1.1" 401 - 0 14 1 - "1.2.3.4" "x HTTP/1.1" 200 - 0 14 1 - "5.6.7.8" "evil" "r" "h" "10.0.0.1:80" "Bearer ` + testJWT + `"`, "", "", ReasonAmbiguous},
		{"separators in agent, bare token", head + `"1.2.3.4" "a" "b" "c" "r" "h" "10.0.0.1:80" "` + testJWT + `"`, `a" "b" "c`, "1.2.3.4", testJWT},
		{"fake upstream host in credential", head + `"1.2.3.4" "curl" "r" "h" "10.0.0.1:80" "Bearer ` + testJWT + `" "10.9.9.9:80"`, "", "", ReasonAmbiguous},
		{"some separators in agent", head + `"1.2.3.4" "` + strings.Repeat(`a" "`, 20) + `" "r" "h" "10.0.0.1:80" "Bearer ` + testJWT + `"`, strings.Repeat(`a" "`, 20), "1.2.3.4", testJWT},
		{"many separators in agent", head + `"1.2.3.4" "` + strings.Repeat(`" "`, 3000) + `" "r" "h" "10.0.0.1:80" "Bearer ` + testJWT + `"`, "", "", ReasonTooAmbiguous},
	}
	for _, tt := range tests {
		c, err := recordtest.Parse(Format, "x.log", []byte(tt.line), record.Options{})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(c.Sightings) == 1:
			s := c.Sightings[0]
			if s.Raw != tt.cred || s.UserAgent != tt.ua || s.ClientIP != tt.xff {
				t.Errorf("%s: got raw %q ua %q client %q, want %q %q %q", tt.name, s.Raw, s.UserAgent, s.ClientIP, tt.cred, tt.ua, tt.xff)
			}
		case len(c.Rejects) == 1:
			if c.Rejects[0].Reason != tt.cred {
				t.Errorf("%s: rejected %q, want %q", tt.name, c.Rejects[0].Reason, tt.cred)
			}
		default:
			t.Errorf("%s: got %+v", tt.name, c)
		}
	}
}

// A long line of separators is rejected quickly, not searched.
func TestSplitBudget(t *testing.T) {
	line := `[2016-04-15T20:17:00.310Z] "GET /a HTTP/1.1" 200 - 0 0 1 - "` + strings.Repeat(`" "`, 100000) + `"`
	start := time.Now()
	c, err := recordtest.Parse(Format, "x.log", []byte(line), record.Options{})
	if err != nil || len(c.Rejects) != 1 || c.Rejects[0].Reason != ReasonTooAmbiguous {
		t.Fatalf("got %+v, %v", c.Rejects, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestObserverOption(t *testing.T) {
	line := `[2016-04-15T20:17:00.310Z] "GET / HTTP/1.1" 200 - 0 0 1 - "-" "curl" "r" "a.example.com:443" "-" "Bearer ` + testJWT + `"`
	for _, tt := range []struct{ observer, want string }{{"", "a.example.com"}, {"edge-gw", "edge-gw"}} {
		c, err := recordtest.Parse(Format, "x.log", []byte(line), record.Options{Observer: tt.observer})
		if err != nil || len(c.Sightings) != 1 {
			t.Fatalf("got %+v, %v", c, err)
		}
		if got := c.Sightings[0].Observer; got != tt.want {
			t.Errorf("observer = %q, want %q", got, tt.want)
		}
	}
}

func TestLineTooLong(t *testing.T) {
	line := `[2016-04-15T20:17:00.310Z] "GET / HTTP/1.1" 200 - 0 0 1 - "-" "` + strings.Repeat("x", 200) + `" "r" "a" "-" "Bearer ` + testJWT + `"`
	c, err := recordtest.Parse(Format, "x.log", []byte(line+"\n"+line[:60]+"\n"), record.Options{MaxLineBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rejects) != 2 || !strings.HasPrefix(c.Rejects[0].Reason, record.ReasonLineTooLong) || c.Rejects[0].Pos.Line != 1 {
		t.Fatalf("rejects = %+v", c.Rejects)
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	f.Fuzz(func(t *testing.T, data []byte) {
		recordtest.CheckInvariants(t, Format, data)
		for _, line := range bytes.Split(data, []byte("\n")) {
			s := record.Sighting{}
			Format.SalvageFields([]byte(strings.ToValidUTF8(string(line), "\uFFFD")), &record.Options{}, &s)
			if s.Raw != "" || s.Kind != "" || s.Source != "" {
				t.Fatalf("SalvageFields set the artifact: %+v", s)
			}
		}
	})
}

// FuzzCustomFormats reads the custom-format seeds with each custom format.
func FuzzCustomFormats(f *testing.F) {
	for _, c := range customFormats {
		recordtest.Seeds(f, filepath.Join("testdata", "custom", c.dir))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range customFormats {
			col, err := recordtest.Parse(Format, "fuzz.log", data, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			recordtest.CheckRecords(t, col, "fuzz.log", Format.Name(), int64(bytes.Count(data, []byte("\n"))+1))
			if col.Accounted() != col.Stats.Records {
				t.Fatalf("%s: read %d records, accounted %d", c.dir, col.Stats.Records, col.Accounted())
			}
			var s record.Sighting
			Format.SalvageFields(data, &c.opts, &s)
		}
	})
}

// discard is a sink that keeps nothing.
type discard struct{ n int }

func (d *discard) Sighting(*record.Sighting)      { d.n++ }
func (d *discard) Issuance(*record.Issuance)      {}
func (d *discard) Reject(*record.Reject)          { d.n++ }
func (d *discard) Ignore(record.Position, string) {}

func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 4<<20; i++ {
		fmt.Fprintf(&buf, `[2026-03-04T10:%02d:%02d.%03dZ] "GET /api/payments/%d?limit=10 HTTP/1.1" %d - via_upstream - "-" 0 512 12 10 "203.0.113.%d" "payments-client/2.3" "7f1c9a2e-0b1d-4d7e-9a55-%012d" "payments.example.com" "10.0.3.14:8080" outbound|8080||payments.prod.svc.cluster.local 10.0.1.5:45678 10.0.1.5:8080 10.0.9.9:51234 - default "Bearer %s%d"`+"\n",
			i/60%60, i%60, i%1000, i, []int{200, 200, 200, 401}[i%4], i%250, i, testJWT, i%100)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var sink discard
		if err := Format.Parse(context.Background(), &record.Input{Name: "bench.log", R: bytes.NewReader(data)}, &sink); err != nil {
			b.Fatal(err)
		}
	}
}
