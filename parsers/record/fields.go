package record

import (
	"encoding/json"
	"errors"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the textual timestamp layouts seen in the supported logs,
// most common first. Layouts without a zone are read in the given location.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05,999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07", // PostgreSQL's timestamptz text: "2026-06-02 06:03:55.946492+00"
	"2006-01-02T15:04:05.999999999Z07",
	"02/Jan/2006:15:04:05 -0700", // nginx $time_local
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05,999", // Keycloak / Quarkus default
	"2006-01-02 15:04:05",
}

// ParseTime reads a timestamp as the supported logs write it: RFC 3339 and its
// common variants, nginx's $time_local, Keycloak's "2006-01-02 15:04:05,000",
// or a Unix epoch in seconds, milliseconds, microseconds or nanoseconds
// (integer or fractional). Times without a zone are taken in loc.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return time.Time{}, errors.New("empty time")
	}
	if loc == nil {
		loc = time.UTC
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-/: T") {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return EpochTime(f)
		}
	}
	// Keycloak writes a comma before the fraction; Go wants a dot or comma
	// that the layout spells, so normalise "HH:MM:SS,mmm".
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	if i := strings.LastIndexByte(s, ','); i > 0 {
		if t, err := ParseTime(s[:i]+"."+s[i+1:], loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("unrecognised time " + strconv.Quote(truncate(s, 40)))
}

// EpochTime converts a Unix epoch number in s, ms, µs or ns (judged by size)
// to a time.
func EpochTime(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return time.Time{}, errors.New("bad epoch time")
	}
	switch {
	case f < 1e11: // seconds until the year 5138
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	case f < 1e14:
		return time.UnixMilli(int64(f)).UTC(), nil
	case f < 1e17:
		return time.UnixMicro(int64(f)).UTC(), nil
	case f < 9.2e18:
		return time.Unix(0, int64(f)).UTC(), nil
	}
	return time.Time{}, errors.New("epoch time out of range")
}

// BearerToken returns the credential of an Authorization header value
// ("Bearer xyz", any case, surrounding space ignored) and whether it had the
// Bearer scheme. "-" and "" (no header) give "", false.
func BearerToken(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(v[7:]), true
}

// ClientIP returns the address part of "ip", "ip:port", "[v6]:port" or the
// first entry of an X-Forwarded-For list; "" for "-" or empty.
func ClientIP(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	if v == "" || v == "-" {
		return ""
	}
	if strings.IndexByte(v, ':') < 0 {
		return strings.Trim(v, "[]") // no port: spares SplitHostPort's error
	}
	if host, _, err := net.SplitHostPort(v); err == nil {
		return host
	}
	return strings.Trim(v, "[]")
}

// Action is "METHOD /path" with the query string and fragment dropped
// (queries may hold credentials); just the method or the path when only one
// is known. A full URL keeps its scheme and host.
func Action(method, path string) string {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	switch {
	case method == "":
		return path
	case path == "":
		return method
	}
	return method + " " + path
}

// OutcomeFromStatus maps an HTTP status to a verifier outcome: 401 and 403
// are rejections, 1xx-3xx acceptances, anything else unknown (a 404 or 500
// may come before or after the token was checked).
func OutcomeFromStatus(code int) string {
	switch {
	case code == 401 || code == 403:
		return OutcomeRejected
	case code >= 100 && code < 400:
		return OutcomeAccepted
	}
	return OutcomeUnknown
}

// AttrsJSON encodes format-specific fields as a JSON object, skipping empty
// values; "" when nothing is left.
func AttrsJSON(kv map[string]string) string {
	m := make(map[string]string, len(kv))
	for k, v := range kv {
		if v != "" && v != "-" {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// RecordError is an error at a position in an input, printed
// "file:line: message": the error a format returns when it must stop reading
// a file at a record (a JSON array that cannot be resynchronised), so that
// the summary says where.
type RecordError struct {
	File string
	Line int64
	Err  error
}

func (e *RecordError) Error() string {
	return e.File + ":" + strconv.FormatInt(e.Line, 10) + ": " + e.Err.Error()
}

func (e *RecordError) Unwrap() error { return e.Err }
