package parsers

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

// Lines as shippers deliver them: the envelope is detected, unwrapped, and
// the format inside reads the lines with their original numbers.
func TestEnvelopes(t *testing.T) {
	kcQuoted := `2024-10-24 15:23:42,192 INFO  [org.keycloak.events] (executor-thread-14) type="CODE_TO_TOKEN", realmId="r1", realmName="sso", clientId="rancher", userId="u1", ipAddress="10.45.194.242", token_id="t1", grant_type="authorization_code"`
	kcJSON := `{"timestamp":"2024-10-30T17:27:03.414798073+05:30","sequence":9510,"loggerClassName":"org.jboss.logging.Logger","loggerName":"org.keycloak.events","level":"DEBUG","message":"type=\"CODE_TO_TOKEN\", realmId=\"r1\", realmName=\"master\", clientId=\"security-admin-console\", userId=\"u1\", ipAddress=\"10.10.10.10\", token_id=\"t1\", grant_type=\"authorization_code\"","threadName":"executor-thread-7","threadId":69,"mdc":{},"ndc":"","hostName":"keycloak","processName":"/opt/jdk-17/bin/java","processId":81812}`
	nginxLine := `10.1.2.3 - - [04/Mar/2026:10:00:00 +0000] "GET /api HTTP/1.1" 200 5 "-" "curl/8" "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"`
	cases := []struct {
		name, envelope, format string
		data                   string
		want                   int // records (issuances or sightings)
	}{
		{"journald", "syslog", "keycloak",
			"Oct 24 15:23:42 X000VV30 kc.sh[1734733]: " + kcQuoted + "\n", 1},
		{"journalctl-with-header", "syslog", "keycloak",
			"-- Logs begin at Thu 2024-10-24 00:00:00 UTC, end at Thu 2024-10-24 23:59:59 UTC. --\n" +
				"Oct 24 15:23:42 X000VV30 kc.sh[1734733]: " + kcQuoted + "\n-- Reboot --\n", 1},
		{"rfc5424", "syslog-rfc5424", "keycloak",
			"<15>1 2024-10-30T17:27:03.414+05:30 keycloak keycloak 81812 org.keycloak.events -  " + kcJSON + "\n", 1},
		{"cri", "cri", "nginx",
			"2026-03-04T10:00:00.1Z stdout F " + nginxLine + "\n2026-03-04T10:00:01.1Z stdout P " + nginxLine[:40] + "\n2026-03-04T10:00:01.1Z stdout F " + nginxLine[40:] + "\n", 2},
		{"docker", "docker-json", "nginx",
			`{"log":"` + strings.ReplaceAll(nginxLine, `"`, `\"`) + `\n","stream":"stdout","time":"2026-03-04T10:00:00.123Z"}` + "\n", 1},
		{"kubectl", "timestamp", "keycloak",
			"2024-10-24T15:23:42.192345678Z " + kcQuoted + "\n", 1},
		{"plain", "", "nginx", nginxLine + "\n", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, env, r, err := DetectEnvelope(bytes.NewReader([]byte(c.data)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if f == nil || f.Name() != c.format {
				t.Fatalf("format %v, want %s", f, c.format)
			}
			got := ""
			if env != nil {
				got = env.Name
			}
			if got != c.envelope {
				t.Fatalf("envelope %q, want %q", got, c.envelope)
			}
			col := &recordtest.Collector{}
			stats := &record.Stats{}
			in := &record.Input{Name: "x.log", R: r, Options: record.Options{Envelope: env}, Stats: stats}
			if err := f.Parse(context.Background(), in, col); err != nil {
				t.Fatal(err)
			}
			if n := len(col.Sightings) + len(col.Issuances); n != c.want || len(col.Rejects) > 0 {
				t.Fatalf("%d records, %d rejects (%+v), want %d", n, len(col.Rejects), col.Rejects, c.want)
			}
			if c.name == "cri" && col.Sightings[1].Pos.Line != 2 {
				t.Errorf("joined partial line numbered %d, want 2 (its first line)", col.Sightings[1].Pos.Line)
			}
		})
	}
}
