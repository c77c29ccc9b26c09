package record

import (
	"testing"
	"time"
)

func TestEnvelopeAndLogTimes(t *testing.T) {
	want := time.Date(2026, 8, 3, 8, 7, 46, 0, time.UTC)
	for _, s := range []string{"2026-08-03T10:07:46+0200", "2026-08-03T10:07:46+02:00", "2026-08-03T08:07:46Z", "2026-08-03T08:07:46.000000+0000"} {
		got, ok := parseRFC3339([]byte(s))
		if !ok || !got.Equal(want) {
			t.Errorf("parseRFC3339(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"2026-08-03 08:07:46+00", "2026-08-03 10:07:46.000+02", "2026-08-03 10:07:46+0200", "2026-08-03T08:07:46+00"} {
		got, err := ParseTime(s, nil)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	// journald short-iso with the old offset form, as an envelope.
	inner, ts, _, ok := unwrapSyslog([]byte("2026-08-03T10:07:46+0200 kc-1 kc.sh[77]: hello"))
	if !ok || string(inner) != "hello" || !ts.Equal(want) {
		t.Errorf("short-iso journald: %q %v %v", inner, ts, ok)
	}
}
