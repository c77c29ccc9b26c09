package keycloak

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Old Keycloak (16 and before) ran on WildFly, whose server.log pattern
// writes the time of day without a date ("19:19:47,081 DEBUG
// [org.keycloak.events] ..."). The date is found, in this order, in the
// line's envelope (kubectl --timestamps, the container runtime), in the
// file's name (WildFly's daily rotation names a day's file
// server.log.2026-03-04), or nowhere: then the line is rejected with
// errNoDate.

// errNoDate rejects a time-only line whose date cannot be known.
var errNoDate = errors.New("time without date: a WildFly server.log line; give --tz, and name the file server.log.YYYY-MM-DD or keep the container timestamps")

// maxEnvelopeSkew bounds how far a time-only line's time may be from its
// envelope's time: the date chosen is the one that puts the line nearest.
const maxEnvelopeSkew = 12 * time.Hour

// lineTimeOf reads the time before a text line's level: a full timestamp,
// or WildFly's time of day completed with a date.
func (p *parser) lineTimeOf(s string) (time.Time, error) {
	h, m, sec, nsec, ok := timeOfDay(s)
	if !ok {
		return p.parseTime(s)
	}
	if env := p.in.LineTime(); !env.IsZero() {
		return nearestDate(env, p.loc, h, m, sec, nsec)
	}
	if !p.fileDate.IsZero() {
		y, mo, d := p.fileDate.Date()
		return time.Date(y, mo, d, h, m, sec, nsec, p.loc).UTC(), nil
	}
	return time.Time{}, errNoDate
}

// nearestDate returns the time of day h:m:sec.nsec in loc on the day that
// puts it nearest to env (the day before, of, or after env in loc), or an
// error when even that is more than maxEnvelopeSkew away.
func nearestDate(env time.Time, loc *time.Location, h, m, sec, nsec int) (time.Time, error) {
	y, mo, d := env.In(loc).Date()
	var best time.Time
	var bestSkew time.Duration
	for _, day := range [3]int{d - 1, d, d + 1} {
		t := time.Date(y, mo, day, h, m, sec, nsec, loc)
		skew := t.Sub(env).Abs()
		if best.IsZero() || skew < bestSkew {
			best, bestSkew = t, skew
		}
	}
	if bestSkew > maxEnvelopeSkew {
		return time.Time{}, fmt.Errorf("time of day %02d:%02d:%02d is %v from the envelope's time %s (wrong --tz?)",
			h, m, sec, bestSkew.Round(time.Second), env.UTC().Format(time.RFC3339))
	}
	return best.UTC(), nil
}

// timeOfDay reads WildFly's "15:04:05,000" (also with a dot, or without
// the fraction); ok is false for anything else.
func timeOfDay(s string) (h, m, sec, nsec int, ok bool) {
	if len(s) != len("15:04:05") && len(s) != len("15:04:05,000") {
		return 0, 0, 0, 0, false
	}
	digits := func(i int) (int, bool) {
		a, b := s[i], s[i+1]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return 0, false
		}
		return int(a-'0')*10 + int(b-'0'), true
	}
	var ok1, ok2, ok3 bool
	h, ok1 = digits(0)
	m, ok2 = digits(3)
	sec, ok3 = digits(6)
	if !ok1 || !ok2 || !ok3 || s[2] != ':' || s[5] != ':' || h > 23 || m > 59 || sec > 59 {
		return 0, 0, 0, 0, false
	}
	if len(s) > 8 {
		if s[8] != ',' && s[8] != '.' {
			return 0, 0, 0, 0, false
		}
		milli := 0
		for _, c := range []byte(s[9:]) {
			if c < '0' || c > '9' {
				return 0, 0, 0, 0, false
			}
			milli = milli*10 + int(c-'0')
		}
		nsec = milli * 1e6
	}
	return h, m, sec, nsec, true
}

// fileDate returns the date in a rotated file's name, at midnight UTC:
// ".2026-03-04" (also "-" or "_" before it) at the end of the name or
// before a further extension (server.log.2026-03-04, server.log.2026-03-04.gz).
// It is zero when the name holds no valid date.
func fileDate(name string) time.Time {
	base := filepath.Base(name)
	const n = len("2006-01-02")
	for i := len(base) - n; i > 0; i-- {
		if c := base[i-1]; c != '.' && c != '-' && c != '_' {
			continue
		}
		if end := i + n; end < len(base) && base[end] != '.' {
			continue
		}
		if t, err := time.Parse("2006-01-02", base[i:i+n]); err == nil {
			return t
		}
	}
	return time.Time{}
}
