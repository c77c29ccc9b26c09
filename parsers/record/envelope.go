package record

import (
	"bytes"
	"encoding/json"
	"time"
)

// Envelope is a wrapper that log shippers and runtimes put around each line
// of an application's log: journald and syslog prefixes, the container
// runtime's CRI format, Docker's json-file, kubectl --timestamps. The format
// inside is unchanged, so a format reads the unwrapped line; the envelope's
// own timestamp is available to formats whose lines lack a date
// (Input.LineTime).
type Envelope struct {
	Name string
	// Unwrap returns the inner line and the envelope's time (zero when it has
	// none). ok is false when line does not carry this envelope; the line is
	// then read as it is. partial reports a CRI partial line (tag P) whose
	// rest follows on the next line.
	Unwrap func(line []byte) (inner []byte, t time.Time, partial, ok bool)
}

// Envelopes are tried in this order when a file's lines match no format as
// they are.
var Envelopes = []*Envelope{
	{Name: "docker-json", Unwrap: unwrapDockerJSON},
	{Name: "cri", Unwrap: unwrapCRI},
	{Name: "syslog-rfc5424", Unwrap: unwrapRFC5424},
	{Name: "syslog", Unwrap: unwrapSyslog},
	{Name: "timestamp", Unwrap: unwrapTimestamp},
}

// cutField returns the field of line up to the next space and the rest.
func cutField(line []byte) ([]byte, []byte, bool) {
	i := bytes.IndexByte(line, ' ')
	if i <= 0 {
		return nil, nil, false
	}
	return line[:i], line[i+1:], true
}

// envelopeTimeLayouts: RFC 3339, and the "+0000" offset of journalctl's
// short-iso output before systemd 250 and of rsyslog templates.
var envelopeTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

func parseRFC3339(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[10] != 'T' {
		return time.Time{}, false
	}
	for _, layout := range envelopeTimeLayouts {
		if t, err := time.Parse(layout, string(b)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Docker's json-file driver: {"log":"line\n","stream":"stdout","time":"..."}.
func unwrapDockerJSON(line []byte) ([]byte, time.Time, bool, bool) {
	if len(line) < 10 || line[0] != '{' || !bytes.Contains(line, []byte(`"log"`)) {
		return nil, time.Time{}, false, false
	}
	var v struct {
		Log    *string `json:"log"`
		Stream string  `json:"stream"`
		Time   string  `json:"time"`
	}
	if err := json.Unmarshal(line, &v); err != nil || v.Log == nil {
		return nil, time.Time{}, false, false
	}
	t, _ := parseRFC3339([]byte(v.Time))
	inner := []byte(*v.Log)
	partial := len(inner) == 0 || inner[len(inner)-1] != '\n'
	return bytes.TrimRight(inner, "\r\n"), t, partial, true
}

// CRI (containerd, CRI-O; kubelet's files under /var/log/pods):
// "2024-10-24T15:23:42.192345678Z stdout F message", P for a partial line.
func unwrapCRI(line []byte) ([]byte, time.Time, bool, bool) {
	rest, t, _, ok := unwrapTimestamp(line)
	if !ok {
		return nil, time.Time{}, false, false
	}
	stream, rest, ok := cutField(rest)
	if !ok || !(bytes.Equal(stream, []byte("stdout")) || bytes.Equal(stream, []byte("stderr"))) {
		return nil, time.Time{}, false, false
	}
	tag, msg, ok := cutField(rest)
	if !ok {
		if bytes.Equal(rest, []byte("F")) || bytes.Equal(rest, []byte("P")) { // empty message
			return nil, t, rest[0] == 'P', true
		}
		return nil, time.Time{}, false, false
	}
	if len(tag) == 0 || (tag[0] != 'F' && tag[0] != 'P') {
		return nil, time.Time{}, false, false
	}
	return msg, t, tag[0] == 'P', true
}

// RFC 5424 syslog: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG".
func unwrapRFC5424(line []byte) ([]byte, time.Time, bool, bool) {
	if len(line) < 4 || line[0] != '<' {
		return nil, time.Time{}, false, false
	}
	end := bytes.IndexByte(line, '>')
	if end < 2 || end > 4 || len(line) < end+3 || line[end+1] != '1' || line[end+2] != ' ' {
		return nil, time.Time{}, false, false
	}
	rest := line[end+3:]
	var fields [5][]byte
	for i := range fields {
		var ok bool
		if fields[i], rest, ok = cutField(rest); !ok {
			return nil, time.Time{}, false, false
		}
	}
	t, _ := parseRFC3339(fields[0])
	// Structured data: "-" or one or more [id k="v" ...] elements.
	if len(rest) > 0 && rest[0] == '-' {
		rest = rest[1:]
	} else {
		for len(rest) > 0 && rest[0] == '[' {
			j := 1
			for j < len(rest) && rest[j] != ']' {
				if rest[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(rest) {
				return nil, time.Time{}, false, false
			}
			rest = rest[j+1:]
		}
	}
	rest = bytes.TrimLeft(rest, " ")
	rest = bytes.TrimPrefix(rest, []byte("\xef\xbb\xbf")) // BOM before a UTF-8 MSG
	return rest, t, false, true
}

var months = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// BSD syslog and journald's short output: "[<PRI>]Oct 24 15:23:42 host tag[pid]: msg",
// also with an RFC 3339 timestamp (rsyslog's high-precision template).
func unwrapSyslog(line []byte) ([]byte, time.Time, bool, bool) {
	rest := line
	if len(rest) > 0 && rest[0] == '<' {
		end := bytes.IndexByte(rest, '>')
		if end < 2 || end > 4 {
			return nil, time.Time{}, false, false
		}
		rest = rest[end+1:]
	}
	var t time.Time
	if ts, r, ok := cutField(rest); ok && len(ts) >= 20 && ts[4] == '-' {
		if t, ok = parseRFC3339(ts); !ok {
			return nil, time.Time{}, false, false
		}
		rest = r
	} else {
		if len(rest) < 16 || rest[3] != ' ' || rest[6] != ' ' || rest[9] != ':' || rest[12] != ':' || rest[15] != ' ' {
			return nil, time.Time{}, false, false
		}
		known := false
		for _, m := range months {
			if string(rest[:3]) == m {
				known = true
			}
		}
		if !known {
			return nil, time.Time{}, false, false
		}
		rest = rest[16:] // no year: the time is left to the inner line
	}
	host, rest, ok := cutField(rest)
	if !ok || len(host) == 0 {
		return nil, time.Time{}, false, false
	}
	// tag[pid]: or tag:
	colon := bytes.Index(rest, []byte(": "))
	if colon <= 0 || colon > 128 || bytes.IndexByte(rest[:colon], ' ') >= 0 {
		return nil, time.Time{}, false, false
	}
	return rest[colon+2:], t, false, true
}

// kubectl logs --timestamps and similar: "2024-10-24T15:23:42.192345678Z msg".
func unwrapTimestamp(line []byte) ([]byte, time.Time, bool, bool) {
	ts, rest, ok := cutField(line)
	if !ok {
		return nil, time.Time{}, false, false
	}
	t, ok := parseRFC3339(ts)
	if !ok {
		return nil, time.Time{}, false, false
	}
	return rest, t, false, true
}

// UnwrapSample unwraps sample lines with env; ok when every line carried it.
func UnwrapSample(env *Envelope, sample [][]byte) ([][]byte, bool) {
	out := make([][]byte, 0, len(sample))
	var pending []byte
	for _, l := range sample {
		if bytes.HasPrefix(l, []byte("-- ")) {
			continue // journalctl's "-- Logs begin at …", "-- Boot …", "-- Reboot --" markers
		}
		inner, _, partial, ok := env.Unwrap(l)
		if !ok {
			return nil, false
		}
		if partial {
			pending = append(pending, inner...)
			continue
		}
		if pending != nil {
			inner = append(pending, inner...)
			pending = nil
		}
		if len(bytes.TrimSpace(inner)) > 0 {
			out = append(out, inner)
		}
	}
	if pending != nil {
		out = append(out, pending)
	}
	return out, len(out) > 0
}
