package cloudtrail

import (
	"bytes"
	"path"
	"regexp"
	"strings"

	"github.com/valyala/fastjson"
)

const bom = "\xef\xbb\xbf"

var (
	// the start of a container of events
	recordsHead = regexp.MustCompile(`^\[?\s*\{\s*"Records"\s*:\s*\[`)
	lookupHead  = regexp.MustCompile(`^\{\s*"Events"\s*:\s*\[`)
	logsHead    = regexp.MustCompile(`"messageType"\s*:\s*"(?:DATA|CONTROL)_MESSAGE"|^\{\s*"events"\s*:\s*\[`)
	// an AWS service's name as CloudTrail's eventSource gives it, as a
	// key's value, in JSON text and inside a JSON string
	source        = regexp.MustCompile(`"eventSource"\s*:\s*"[A-Za-z0-9.-]*(?:amazonaws\.com|\.api\.aws)"`)
	escapedSource = regexp.MustCompile(`\\"eventSource\\"\s*:\s*\\"[A-Za-z0-9.-]*(?:amazonaws\.com|\.api\.aws)\\"`)
	lookupSource  = regexp.MustCompile(`"EventSource"\s*:\s*"[A-Za-z0-9.-]*(?:amazonaws\.com|\.api\.aws)"`)
	version       = regexp.MustCompile(`"eventVersion"\s*:\s*"1\.[0-9]+"`)
	bridgeType    = regexp.MustCompile(`"detail-type"\s*:\s*"[^"]*via CloudTrail"`)
)

// Sniff accepts a sample that starts as a Records file, a lookup-events
// output or a CloudWatch Logs message of CloudTrail events, or that has a
// line that is a CloudTrail event (eventVersion "1.x", eventName, and an
// eventSource of amazonaws.com: never another vendor's trail) or an
// EventBridge envelope of one.
func (format) Sniff(sample [][]byte) bool {
	if looksContainer(bytes.Join(sample, []byte("\n"))) {
		return true
	}
	var p fastjson.Parser
	for _, line := range sample {
		if looksEventLine(&p, line) {
			return true
		}
	}
	return false
}

// SniffFile accepts a file delivered by a trail (AWSLogs/<account>/
// CloudTrail/<region>/.../<account>_CloudTrail_<region>_…json[.gz]) that
// starts as a Records object, and a head whose first lines alone do not
// show the keys: a pretty-printed Records file, lookup-events output or
// event.
func (format) SniffFile(name string, head []byte) bool {
	t := trimHead(head)
	slashed := "/" + strings.ReplaceAll(name, `\`, "/")
	if strings.Contains(slashed, "/CloudTrail/") && strings.Contains(path.Base(slashed), "_CloudTrail_") &&
		bytes.HasPrefix(t, []byte("{")) && recordsHead.Match(t) {
		return true
	}
	if len(t) > 64<<10 {
		t = t[:64<<10]
	}
	if looksContainer(t) {
		return true
	}
	first, _, _ := bytes.Cut(t, []byte("\n"))
	first = bytes.TrimSpace(first)
	if bytes.IndexByte(first, ':') >= 0 {
		return false // keys on the first line: a line of its own, Sniff's
	}
	// pretty-printed: the first value's keys come on later lines
	return len(first) > 0 && (version.Match(t) && hasKey(t, "eventName") && source.Match(t) ||
		bridgeType.Match(t) && hasKey(t, "detail") && hasKey(t, "eventName"))
}

// trimHead drops white space and a byte order mark before the first value.
func trimHead(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	b = bytes.TrimPrefix(b, []byte(bom))
	return bytes.TrimLeft(b, " \t\r\n")
}

// looksContainer reports whether text starts as a Records file, a
// lookup-events output or a CloudWatch Logs message (or filter-log-events
// output) that holds CloudTrail events.
func looksContainer(text []byte) bool {
	t := trimHead(text)
	if len(t) == 0 || t[0] != '{' && t[0] != '[' {
		return false
	}
	switch {
	case recordsHead.Match(t):
		return source.Match(t)
	case lookupHead.Match(t):
		return bytes.Contains(t, []byte(`"CloudTrailEvent"`)) && escapedSource.Match(t) || lookupSource.Match(t)
	case logsHead.Match(t):
		return escapedSource.Match(t) && bytes.Contains(t, []byte(`\"eventName\"`))
	}
	return false
}

// looksEventLine reports whether line is a CloudTrail event or an
// EventBridge envelope of one: parsed when it is whole, else (a line cut by
// the sample's bound) by its text.
func looksEventLine(p *fastjson.Parser, line []byte) bool {
	line = trimHead(line)
	if len(line) < 2 || line[0] != '{' {
		return false
	}
	if v, err := p.ParseBytes(line); err == nil {
		if d := v.Get("detail"); d != nil && bridgeType.Match(line) {
			v = d
		}
		return isEvent(v)
	}
	return version.Match(line) && hasKey(line, "eventName") && source.Match(line) ||
		bridgeType.Match(line) && hasKey(line, "detail") && hasKey(line, "eventName")
}

// isEvent reports whether v is an object with CloudTrail's eventVersion
// "1.x", a string eventName and an AWS eventSource.
func isEvent(v *fastjson.Value) bool {
	ver, name, src := v.Get("eventVersion"), v.Get("eventName"), v.Get("eventSource")
	if ver == nil || name == nil || src == nil || ver.Type() != fastjson.TypeString ||
		name.Type() != fastjson.TypeString || src.Type() != fastjson.TypeString {
		return false
	}
	s := string(src.GetStringBytes())
	return strings.HasPrefix(string(ver.GetStringBytes()), "1.") &&
		(strings.HasSuffix(s, "amazonaws.com") || strings.HasSuffix(s, ".api.aws"))
}

// hasKey reports whether text holds "key" followed by a colon.
func hasKey(text []byte, key string) bool {
	quoted := []byte(`"` + key + `"`)
	for {
		i := bytes.Index(text, quoted)
		if i < 0 {
			return false
		}
		text = bytes.TrimLeft(text[i+len(quoted):], " \t\r\n")
		if len(text) > 0 && text[0] == ':' {
			return true
		}
	}
}
