package keycloak

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func TestGolden(t *testing.T) {
	recordtest.Golden(t, Format, "testdata", record.Options{})
}

func TestGoldenIssuerBase(t *testing.T) {
	opts := record.Options{FieldMap: map[string]string{"issuer_base": "https://sso.acme.test/"}}
	recordtest.Golden(t, Format, "testdata/issuer", opts)
}

// Keycloak inside the envelopes that shippers and runtimes put around its
// lines: the envelope is unwrapped by record.EachLine, and a WildFly line's
// missing date comes from the envelope's time.
func TestGoldenEnvelopes(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	for _, tt := range []struct {
		dir, envelope string
		loc           *time.Location
	}{
		{"journald", "syslog", nil},
		{"cri", "cri", nil},
		{"kubectl", "timestamp", cet},
		{"docker", "docker-json", nil},
		{"rfc5424", "syslog-rfc5424", nil},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			var env *record.Envelope
			for _, e := range record.Envelopes {
				if e.Name == tt.envelope {
					env = e
				}
			}
			if env == nil {
				t.Fatalf("no envelope %q", tt.envelope)
			}
			recordtest.Golden(t, Format, "testdata/envelope/"+tt.dir, record.Options{Envelope: env, Location: tt.loc})
		})
	}
}

func TestTimeOfDay(t *testing.T) {
	tests := []struct {
		in                string
		h, m, sec, millis int
		ok                bool
	}{
		{"19:19:47,081", 19, 19, 47, 81, true},
		{"00:00:00.999", 0, 0, 0, 999, true},
		{"23:59:59", 23, 59, 59, 0, true},
		{"24:00:00,000", 0, 0, 0, 0, false},
		{"23:60:00,000", 0, 0, 0, 0, false},
		{"23:59:60,000", 0, 0, 0, 0, false},
		{"9:19:47,081", 0, 0, 0, 0, false},
		{"19:19:47;081", 0, 0, 0, 0, false},
		{"19:19:47,08a", 0, 0, 0, 0, false},
		{"19-19-47,081", 0, 0, 0, 0, false},
		{"2026-03-04 19:19:47,081", 0, 0, 0, 0, false},
		{"", 0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		h, m, sec, nsec, ok := timeOfDay(tt.in)
		if ok != tt.ok || ok && (h != tt.h || m != tt.m || sec != tt.sec || nsec != tt.millis*1e6) {
			t.Errorf("timeOfDay(%q) = %d, %d, %d, %d, %v", tt.in, h, m, sec, nsec, ok)
		}
	}
}

func TestFileDate(t *testing.T) {
	tests := []struct{ name, want string }{
		{"/var/log/keycloak/server.log.2026-03-04", "2026-03-04"},
		{"logs/server.log.2026-03-04.gz", "2026-03-04"},
		{"server-2026-03-04.log", "2026-03-04"},
		{"server.log", ""},
		{"server.log.1", ""},
		{"server.log.2026-02-30", ""},
		{"2026-03-04", ""}, // a bare date is not a rotated file's suffix
		{"server.log.2026-03-04x", ""},
		{"/2026-03-04/server.log", ""},
	}
	for _, tt := range tests {
		got := fileDate(tt.name)
		if tt.want == "" && !got.IsZero() || tt.want != "" && got.Format("2006-01-02") != tt.want {
			t.Errorf("fileDate(%q) = %v, want %q", tt.name, got, tt.want)
		}
	}
}

// A time-only line takes the date that puts it nearest to its envelope's
// time, in the configured zone.
func TestNearestDate(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		env, clock string
		loc        *time.Location
		want       string
	}{
		{"2026-03-04T19:19:47.082Z", "19:19:47,081", time.UTC, "2026-03-04T19:19:47.081Z"},
		{"2026-03-05T00:00:00.010Z", "23:59:59,990", time.UTC, "2026-03-04T23:59:59.99Z"},
		{"2026-03-04T23:59:59.990Z", "00:00:00,010", time.UTC, "2026-03-05T00:00:00.01Z"},
		{"2026-03-04T23:00:00.456Z", "00:00:00,400", cet, "2026-03-04T23:00:00.4Z"},
		{"2026-03-04T22:59:59.912Z", "23:59:59,850", cet, "2026-03-04T22:59:59.85Z"},
		{"2026-03-01T00:10:00Z", "23:50:00,000", time.UTC, "2026-02-28T23:50:00Z"},
	}
	for _, tt := range tests {
		h, m, sec, nsec, ok := timeOfDay(tt.clock)
		if !ok {
			t.Fatalf("timeOfDay(%q) failed", tt.clock)
		}
		got, err := nearestDate(recordtest.MustTime(tt.env), tt.loc, h, m, sec, nsec)
		if err != nil || !got.Equal(recordtest.MustTime(tt.want)) {
			t.Errorf("nearestDate(%s, %s, %v) = %v, %v; want %s", tt.env, tt.clock, tt.loc, got, err, tt.want)
		}
	}
}

// Each element of an events export starts on its own line there: the
// position is that line, counted incrementally over a stream read in
// small pieces.
func TestArrayPositions(t *testing.T) {
	var b strings.Builder
	b.WriteString("\xef\xbb\xbf[\n")
	want := map[string]int64{}
	line := int64(2)
	for i := range 3000 {
		if i > 0 {
			b.WriteString(",\n")
			line++
		}
		id := fmt.Sprintf("tok-%d", i)
		want[id] = line
		fmt.Fprintf(&b, "  {\n    \"time\": %d,\n    \"type\": \"CLIENT_LOGIN\",\n    \"realmId\": \"acme\",\n    \"details\": {\n      \"token_id\": %q\n    }\n  }", 1772618400000+i, id)
		line += 7
	}
	b.WriteString("\n]\n")
	c := &recordtest.Collector{}
	in := &record.Input{Name: "events.json", R: iotest.OneByteReader(strings.NewReader(b.String())), Stats: &c.Stats}
	if err := Format.Parse(context.Background(), in, c); err != nil {
		t.Fatal(err)
	}
	if len(c.Issuances) != 3000 || c.Stats.Records != 3000 || c.Accounted() != 3000 {
		t.Fatalf("%d issuances, %d records read, %d accounted", len(c.Issuances), c.Stats.Records, c.Accounted())
	}
	for _, iss := range c.Issuances {
		if iss.Pos.Line != want[iss.ArtifactID] {
			t.Fatalf("%s at line %d, want %d", iss.ArtifactID, iss.Pos.Line, want[iss.ArtifactID])
		}
	}
}

// An element past the bound is rejected without being buffered whole, and
// stops the file.
func TestArrayElementTooLong(t *testing.T) {
	big := `[{"time":1772618400000,"type":"CLIENT_LOGIN","realmId":"acme","details":{"token_id":"t1"}},` + "\n" +
		`{"time":1772618400000,"type":"CLIENT_LOGIN","realmId":"acme","details":{"pad":"` + strings.Repeat("x", 5000) + `"}},` + "\n" +
		`{"time":1772618400000,"type":"CLIENT_LOGIN","realmId":"acme","details":{"token_id":"t3"}}]`
	c, err := recordtest.Parse(Format, "big.json", []byte(big), record.Options{MaxLineBytes: 1000})
	if err == nil || !strings.Contains(err.Error(), "big.json:2: line too long") {
		t.Errorf("err = %v", err)
	}
	var re *record.RecordError
	if !errors.As(err, &re) || re.File != "big.json" || re.Line != 2 {
		t.Errorf("err %v is not a RecordError at big.json:2", err)
	}
	if len(c.Issuances) != 1 || len(c.Rejects) != 1 || c.Rejects[0].Pos.Line != 2 || c.Accounted() != c.Stats.Records {
		t.Errorf("got %+v", c)
	}
}

func TestLocation(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	line := "2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (t) type=CLIENT_LOGIN, clientId=c, userId=u, token_id=t1\n"
	c, err := recordtest.Parse(Format, "kc.log", []byte(line), record.Options{Location: loc})
	if err != nil || len(c.Issuances) != 1 {
		t.Fatalf("err %v, got %+v", err, c)
	}
	if want := recordtest.MustTime("2026-03-04T09:00:00.123Z"); !c.Issuances[0].IssuedAt.Equal(want) {
		t.Errorf("IssuedAt = %v, want %v", c.Issuances[0].IssuedAt, want)
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		msg  string
		want []field
		err  bool
	}{
		{"type=LOGIN", []field{{"type", "LOGIN"}}, false},
		{"type=A, scope=openid profile email, x=1", []field{{"type", "A"}, {"scope", "openid profile email"}, {"x", "1"}}, false},
		{"type=A, redirect_uri=https://x/?a=1, b, c=2", []field{{"type", "A"}, {"redirect_uri", "https://x/?a=1, b"}, {"c", "2"}}, false},
		{"type=A, scope='openid profile', x=1", []field{{"type", "A"}, {"scope", "openid profile"}, {"x", "1"}}, false},
		{`type="A", note="a \"b\", c=\"d\"", x="1"`, []field{{"type", "A"}, {"note", `a "b", c="d"`}, {"x", "1"}}, false},
		{`type="A", path="C:\", x="1"`, []field{{"type", "A"}, {"path", `C:\`}, {"x", "1"}}, false},
		{`type="A", userId="null", e=""`, []field{{"type", "A"}, {"userId", ""}, {"e", ""}}, false},
		{`type="A", v="unterminated, x=1`, nil, true},
		{`type=A, v='unterminated, x=1`, []field{{"type", "A"}, {"v", `'unterminated`}, {"x", "1"}}, false},
		{"type=A, userId=null, x=", []field{{"type", "A"}, {"userId", ""}, {"x", ""}}, false},
		{"type=A, =b", []field{{"type", "A, =b"}}, false},
		{"=A", nil, true},
		{"no equals", nil, true},
	}
	for _, tt := range tests {
		got, err := parseFields(nil, tt.msg)
		if (err != nil) != tt.err {
			t.Errorf("parseFields(%q) error = %v, want error %v", tt.msg, err, tt.err)
			continue
		}
		if !tt.err && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseFields(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		sample string
		want   bool
	}{
		{"2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (executor-thread-1) type=LOGIN, realmId=acme", true},
		{"2026-03-04 09:59:58,001 INFO  [org.keycloak.quarkus.runtime.KeycloakMain] (main) Starting", true},
		{"2026-03-04T09:59:58.001 INFO  [org.keycloak.services] (main) KC-SERVICES0050: Initializing master realm", true},
		{`{"timestamp":"2026-03-04T12:00:00.001Z","loggerName":"org.keycloak.events","message":"type=\"LOGIN\""}`, true},
		{`{"@timestamp":"2026-03-04T12:00:00.001Z","log.logger":"org.keycloak.services","message":"x"}`, true},
		{"2026-03-04 09:59:58,001 INFO  [io.quarkus] (main) started\nnoise\n2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (t) type=LOGIN", true},
		{`10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] "GET /realms/acme/protocol/openid-connect/token HTTP/1.1" 200 1234`, false},
		{`{"time":"2026-03-04T12:00:00Z","msg":"org.keycloak.events mentioned"}`, false},
		{"2026-03-04 09:59:58,001 INFO  [io.quarkus] (main) started", false},
		{"", false},
		// WildFly (Keycloak 16 and before): time of day only.
		{"19:19:40,318 INFO  [org.keycloak.services] (ServerService Thread Pool -- 58) KC-SERVICES0001: Loading config from standalone.xml", true},
		{"19:19:40,318 INFO  [org.jboss.as] (Controller Boot Thread) WFLYSRV0025: started", false},
		// Admin REST API event exports.
		{"[\n  {\n    \"time\": 1672831989826,\n    \"type\": \"CLIENT_LOGIN\",\n    \"realmId\": \"acme\",", true},
		{"\xef\xbb\xbf[\n  {\n    \"id\": \"x\",\n    \"time\": 1672831989826,\n    \"type\": \"LOGIN\",", true},
		{`[{"time":1672831989826,"type":"CLIENT_LOGIN","realmId":"acme","clientId":"batch"}]`, true},
		{`{"time":1672831989826,"type":"CLIENT_LOGIN","realmId":"acme","details":{"token_id":"t"}}`, true},
		{`{"time":"2026-03-04T10:00:00Z","type":"request","authorization":"Bearer x"}`, false},
		{"[\n  {\n    \"clientId\": \"batch\",\n    \"details\": {\n      \"a\": \"1\",\n      \"b\": \"2\",\n      \"c\": \"3\",\n      \"d\": \"4\",", true}, // jq -S
		{`[{"time":1672831989826,"realmId":"acme","operationType":"CREATE","resourceType":"USER"}]`, true},                                                     // admin events: ignored
		{`[{"name":"x","type":"y"}]`, false},
		{"[\n  1,\n  2\n]", false},
	}
	for _, tt := range tests {
		if got := Format.Sniff(bytes.Split([]byte(tt.sample), []byte("\n"))); got != tt.want {
			t.Errorf("Sniff(%q) = %v, want %v", tt.sample, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	recordtest.Seeds(f, "testdata/issuer")
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(data, bom), " \t\r\n"), []byte("[")) {
			checkArrayInvariants(t, data)
			return
		}
		recordtest.CheckInvariants(t, Format, data)
	})
}

// checkArrayInvariants is recordtest.CheckInvariants for an events export,
// where elements may share a line (a compact array is one line): no panic,
// positions inside the input, reasons given, and every element read ends
// in exactly one Sink call.
func checkArrayInvariants(t *testing.T, data []byte) {
	t.Helper()
	Format.Sniff(bytes.Split(data, []byte("\n")))
	c, _ := recordtest.Parse(Format, "fuzz.json", data, record.Options{})
	recordtest.CheckRecords(t, c, "fuzz.json", Format.Name(), int64(bytes.Count(data, []byte("\n"))+1))
	if len(c.Sightings) > 0 || c.Accounted() != c.Stats.Records {
		t.Fatalf("accounting: read %d records, accounted %d (%d sightings)", c.Stats.Records, c.Accounted(), len(c.Sightings))
	}
}

type discard struct{ n int }

func (d *discard) Sighting(*record.Sighting)      {}
func (d *discard) Issuance(*record.Issuance)      { d.n++ }
func (d *discard) Reject(*record.Reject)          {}
func (d *discard) Ignore(record.Position, string) {}

// syntheticLog is about size bytes of mixed Keycloak event lines.
func syntheticLog(size int) []byte {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		ts := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond).Format("2006-01-02 15:04:05,000")
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "%s DEBUG [org.keycloak.events] (executor-thread-%d) type=CODE_TO_TOKEN, realmId=acme, clientId=payments-web, userId=6f1c0a52-7e0b-4c38-9d51-%012d, ipAddress=10.1.2.3, token_id=2b1e5a8c-0c1d-4b9a-8e7f-%012d, grant_type=authorization_code, refresh_token_type=Refresh, scope=openid profile email, refresh_token_id=9d8c7b6a-5f4e-4d3c-2b1a-%012d, client_auth_method=client-secret\n", ts, i%16, i, i, i)
		case 1:
			fmt.Fprintf(&b, "%s DEBUG [org.keycloak.events] (executor-thread-%d) type=\"REFRESH_TOKEN\", realmId=\"1b2c\", realmName=\"acme\", clientId=\"payments-web\", userId=\"6f1c0a52-7e0b-4c38-9d51-%012d\", sessionId=\"ab12\", ipAddress=\"10.1.2.3\", token_id=\"c3d4e5f6-0000-4aaa-9bbb-%012d\", grant_type=\"refresh_token\", scope=\"openid profile email\"\n", ts, i%16, i, i)
		case 2:
			fmt.Fprintf(&b, `{"timestamp":"2026-03-04T10:00:00.123Z","sequence":%d,"loggerClassName":"org.jboss.logging.Logger","loggerName":"org.keycloak.events","level":"DEBUG","message":"type=\"CLIENT_LOGIN\", realmId=\"1b2c\", realmName=\"acme\", clientId=\"batch\", userId=\"u%d\", ipAddress=\"10.1.5.5\", token_id=\"t%d\", grant_type=\"client_credentials\"","threadName":"executor-thread-1","threadId":42,"mdc":{},"ndc":"","hostName":"kc-0","processName":"QuarkusEntryPoint","processId":1}`+"\n", i, i, i)
		case 3:
			fmt.Fprintf(&b, "%s INFO  [org.keycloak.services] (executor-thread-2) KC-SERVICES0013: Failed authentication\n", ts)
		}
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	data := syntheticLog(4 << 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var d discard
		if err := Format.Parse(context.Background(), &record.Input{Name: "bench.log", R: bytes.NewReader(data)}, &d); err != nil {
			b.Fatal(err)
		}
		if d.n == 0 {
			b.Fatal("no issuances")
		}
	}
}

// A line of many ", " and quotes must parse in linear time.
func TestPathologicalLine(t *testing.T) {
	for _, filler := range []string{", ", `", `, `\", a`, ", a=", `", a="`} {
		msg := `type="CODE_TO_TOKEN", v="` + strings.Repeat(filler, 200_000)
		line := "2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (t) " + msg + "\n"
		start := time.Now()
		if _, err := recordtest.Parse(Format, "big.log", []byte(line), record.Options{}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("filler %q: took %v", filler, d)
		}
	}
}

func TestQuarkusDefaultTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when the fast path must decline
	}{
		{"2026-03-04 10:00:00,123", "2026-03-04T10:00:00.123Z"},
		{"2024-02-29 23:59:59,999", "2024-02-29T23:59:59.999Z"},
		{"2026-02-29 10:00:00,000", ""},
		{"2026-04-31 10:00:00,000", ""},
		{"2026-13-01 10:00:00,000", ""},
		{"2026-03-04 24:00:00,000", ""},
		{"2026-03-04T10:00:00,123", ""},
		{"2026-03-04 10:00:00.123", ""},
		{"2026-03-04 10:00:0a,123", ""},
		{"2026-03-04 10:00:00,12", ""},
	}
	for _, tt := range tests {
		got, ok := quarkusDefaultTime(tt.in, time.UTC)
		if ok != (tt.want != "") || ok && !got.Equal(recordtest.MustTime(tt.want)) {
			t.Errorf("quarkusDefaultTime(%q) = %v, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func TestStartsArray(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"[\n  {\n", true},
		{"\xef\xbb\xbf [{\"time\":1}]", true},
		{"[]\n", true},
		{"  \n[ \n ]", true},
		{"[2026-03-04 10:00:00] INFO [org.keycloak.events] type=LOGIN", false},
		{"[42, {}]", false},
		{"{\"time\":1}", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := startsArray(bufio.NewReader(strings.NewReader(tt.in))); got != tt.want {
			t.Errorf("startsArray(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// An event that issues nothing is ignored with its reason even when its time
// cannot be placed (a WildFly time-only line in a file whose date is not
// known); an event that issues is rejected for it.
func TestUnplacedTimeIgnoresNonIssuingEvents(t *testing.T) {
	log := `10:00:00,123 WARN  [org.keycloak.events] (default task-1) type=LOGIN_ERROR, realmId=acme, clientId=web, userId=null, ipAddress=203.0.113.9, error=invalid_user_credentials
10:00:01,000 INFO  [org.keycloak.events] (default task-2) type=LOGOUT, realmId=acme, clientId=web, userId=u1, ipAddress=203.0.113.9
10:00:02,000 INFO  [org.keycloak.events] (default task-3) type=LOGIN, realmId=acme, clientId=web, userId=u1, ipAddress=203.0.113.9, token_id=t1
{"timestamp":"not a time","loggerName":"org.keycloak.events","level":"WARN","message":"type=CODE_TO_TOKEN_ERROR, realmId=acme, clientId=web, error=invalid_code"}
{"timestamp":"not a time","loggerName":"org.keycloak.events","level":"INFO","message":"type=CODE_TO_TOKEN, realmId=acme, clientId=web, userId=u1, token_id=t2"}
`
	c, err := recordtest.Parse(Format, "server.log", []byte(log), record.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ignored []string
	for _, ig := range c.Ignores {
		ignored = append(ignored, fmt.Sprintf("%d %s", ig.Pos.Line, ig.Reason))
	}
	if want := []string{"1 " + IgnoreErrorEvent, "2 " + IgnoreNoIssuance, "4 " + IgnoreErrorEvent}; !slices.Equal(ignored, want) {
		t.Errorf("ignored %q, want %q", ignored, want)
	}
	if len(c.Rejects) != 2 || c.Rejects[0].Pos.Line != 3 || c.Rejects[1].Pos.Line != 5 || len(c.Issuances) != 0 {
		t.Errorf("rejects %+v, issuances %+v: the issuing events with no time are rejected", c.Rejects, c.Issuances)
	}
	if c.Accounted() != c.Stats.Records {
		t.Errorf("accounted %d of %d records", c.Accounted(), c.Stats.Records)
	}
}
