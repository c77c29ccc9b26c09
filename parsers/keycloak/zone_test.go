package keycloak

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on machines without a zoneinfo database

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

func envelope(t *testing.T, name string) *record.Envelope {
	for _, e := range record.Envelopes {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no envelope %s", name)
	return nil
}

// A node that logs local time (CEST) inside journald's UTC-stamped envelope:
// the envelope gives the instant, the zone-less Keycloak time is corrected
// by whole quarter hours; with --tz the analyst's zone is used as given.
func TestZoneFromEnvelope(t *testing.T) {
	line := "2026-08-03T10:07:46+0000 kc-1 kc.sh[7]: 2026-08-03 12:07:46,123 INFO  [org.keycloak.events] (executor-thread-1) " +
		`type="CODE_TO_TOKEN", realmId="r", realmName="acme", clientId="web", userId="u1", ipAddress="10.0.0.1", token_id="t1", grant_type="authorization_code"` + "\n"
	opts := record.Options{Envelope: envelope(t, "syslog")}
	c, err := recordtest.Parse(Format, "kc.log", []byte(line), opts)
	if err != nil || len(c.Issuances) != 1 {
		t.Fatalf("err %v, issuances %+v, rejects %+v", err, c.Issuances, c.Rejects)
	}
	want := time.Date(2026, 8, 3, 10, 7, 46, 123e6, time.UTC)
	if got := c.Issuances[0].IssuedAt; !got.Equal(want) {
		t.Errorf("issued at %v, want %v (zone taken from the envelope)", got, want)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	opts.Location = berlin
	c, _ = recordtest.Parse(Format, "kc.log", []byte(line), opts)
	if got := c.Issuances[0].IssuedAt; !got.Equal(want) {
		t.Errorf("with --tz Europe/Berlin: issued at %v, want %v", got, want)
	}
}
