// Package keycloak reads Keycloak's event log (the jboss-logging event
// listener, logger org.keycloak.events) as the issuer's own record of the
// access tokens it issued.
//
// Three line styles are read, mixed freely in one file:
//
//	2026-03-04 10:00:00,123 DEBUG [org.keycloak.events] (executor-thread-1) type=CODE_TO_TOKEN, realmId=acme, clientId=web, userId=6f1c, ipAddress=10.1.2.3, token_id=2b1e, scope=openid profile
//	2026-03-04 10:00:00,123 INFO  [org.keycloak.events] (executor-thread-1) type="CODE_TO_TOKEN", realmId="1b2c", realmName="acme", clientId="web", ...
//	{"timestamp":"2026-03-04T10:00:00.123Z","sequence":8841,"loggerName":"org.keycloak.events","level":"DEBUG","message":"type=\"CODE_TO_TOKEN\", ...","hostName":"kc-0"}
//
// and, from Keycloak 16 and before (WildFly), a time of day without a date:
//
//	19:19:47,081 DEBUG [org.keycloak.events] (default task-110) type=CODE_TO_TOKEN, realmId=demo, ...
//
// The first two are Quarkus' default text pattern (the logger may be
// padded or abbreviated to o.k.events) with the unquoted values of
// older Keycloak (single-quoted when they hold a space in some versions)
// or the quoted values of newer ones; the third is Quarkus JSON logging
// (ECS field names @timestamp, log.logger, log.level, host.hostname are read
// too). Timestamps without a zone are read in Options.Location. A WildFly
// line takes its date from its envelope's time (kubectl --timestamps, the
// container runtime: the date that puts the line within 12 h of it), else
// from the file's name (server.log.2026-03-04, WildFly's daily rotation),
// else it is rejected saying so.
//
// Keycloak's Admin REST API event export (GET /admin/realms/{realm}/events:
// a JSON array of EventRepresentation, pretty-printed or not, several pages
// one after the other, or one event per line) is read too; see api.go. Each
// array element is a record at the line where it starts; a malformed array
// rejects the element and stops the file with an error, since an array
// cannot be resynchronised reliably.
//
// Every successful event that carries a token_id detail is an issuance,
// except the events that name an existing token rather than mint one
// (INTROSPECT_TOKEN, USER_INFO_REQUEST, LOGOUT, REVOKE_GRANT,
// IDENTITY_PROVIDER_RETRIEVE_TOKEN): counting those would let a forged token
// that was merely introspected pass as issued. The token-granting events
// (CODE_TO_TOKEN, REFRESH_TOKEN, CLIENT_LOGIN, TOKEN_EXCHANGE,
// OAUTH2_DEVICE_CODE_TO_TOKEN, AUTHREQID_TO_TOKEN, PERMISSION_TOKEN,
// OAUTH2_EXTENSION_GRANT) are issuances even without token_id, with an empty
// ArtifactID, so they can still match weakly by subject, audience and time.
// Error events (type *_ERROR or an error field), other events and admin
// events issue nothing and are ignored with a reason (IgnoreErrorEvent,
// IgnoreAdminEvent, IgnoreNoIssuance). Lines of other loggers (startup
// messages, stack traces) are not events and are ignored as
// record.IgnoreNotEvent; a line of the events logger that cannot be read is
// rejected. Each line ends in exactly one issuance, reject or ignore.
//
// Mapping: ArtifactID = token_id, Subject = userId, Audience = clientId
// (Keycloak's azp), IssuedAt = the line's (or event's) time. Issuer is empty unless
// Options.FieldMap["issuer_base"] is set (e.g. "https://sso.example.com"),
// then it is base + "/realms/" + realmName (realmId when the name is not
// logged). Every other event field goes to Attrs, with realm, and with
// sequence and hostName from JSON logging.
//
// JSON logging numbers every record of a JVM ("sequence", "event.sequence"
// in ECS), whatever its logger, so a hole in the numbering proves that lines
// were lost. Every JSON line that carries a number, events or not, is fed to
// a record.SeqTracker keyed by its process, hostName/processId (host.hostname
// and process.pid in ECS; lines naming neither are not tracked); the holes
// and each process's first and last numbers go to in.Stats (kind jwt). A
// lower number starts a new run (a restart, or interleaved lines of another
// file of the same process) and is not a hole. A number skipped by a line
// whose JSON cannot be read counts as lost: that line's content is. A handler
// level stricter than the logger's (log-console-level above log-level) or a
// log filter skips numbers too: such a log shows holes everywhere.
package keycloak

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format reads Keycloak event logs. See the package documentation.
var Format record.Format = format{}

type format struct{}

func (format) Name() string { return "keycloak" }

// IssuerLog reports that Keycloak's events are the issuer's own records.
func (format) IssuerLog() bool { return true }

func (format) Description() string {
	return "Keycloak event log (org.keycloak.events; Quarkus text or JSON logging): issued access tokens"
}

// Ignore reasons of events that issue nothing.
const (
	IgnoreErrorEvent = "error event"
	IgnoreAdminEvent = "admin event"
	IgnoreNoIssuance = "event issues no token"
)

// eventsLogger is the category of Keycloak's jboss-logging event listener.
const eventsLogger = "org.keycloak.events"

// Sniff accepts a sample in which any line is a Keycloak event line or a
// Quarkus log line of a Keycloak logger: a real log often starts with dozens
// of startup messages, so requiring an event in the first lines would miss
// it, while "[org.keycloak." after a Quarkus timestamp is specific enough not
// to catch another format. A Keycloak log without events then parses to
// nothing, which is the truth about it.
func (format) Sniff(sample [][]byte) bool {
	if sniffAPI(sample) {
		return true
	}
	for _, line := range sample {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] == '{' {
			if (bytes.Contains(line, []byte(`"loggerName"`)) || bytes.Contains(line, []byte(`"log.logger"`))) &&
				bytes.Contains(line, []byte(`"org.keycloak`)) {
				return true
			}
			continue
		}
		if bytes.Contains(line, []byte("["+eventsLogger+"]")) && bytes.Contains(line, []byte("type=")) {
			return true
		}
		if (quarkusTime(line) || wildflyTime(line)) && bytes.Contains(line, []byte(" [org.keycloak.")) {
			return true
		}
	}
	return false
}

// quarkusTime reports whether line starts with "2006-01-02 15:04:05".
func quarkusTime(line []byte) bool {
	const pattern = "dddd-dd-dd dd:dd:dd"
	if len(line) < len(pattern) {
		return false
	}
	for i := 0; i < len(pattern); i++ {
		c := line[i]
		if pattern[i] == 'd' {
			if c < '0' || c > '9' {
				return false
			}
		} else if c != pattern[i] && !(i == 10 && c == 'T') {
			return false
		}
	}
	return true
}

// wildflyTime reports whether line starts with WildFly's "15:04:05,000 ".
func wildflyTime(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return false
	}
	_, _, _, _, ok := timeOfDay(string(line[:sp]))
	return ok
}

// Parse streams the issuances of a Keycloak event log into sink.
func (f format) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	// A copy, so that the caller's reader is not replaced.
	lin := *in
	p := parser{in: &lin, sink: sink, name: f.Name(), loc: in.Options.Loc(), tzGiven: in.Options.Location != nil,
		seq: record.NewSeqTracker(in.Stats, record.KindJWT), fileDate: fileDate(in.Name)}
	if base := in.Options.FieldMap["issuer_base"]; base != "" {
		p.issuerBase = strings.TrimRight(base, "/") + "/realms/"
	}
	br := bufio.NewReaderSize(in.R, 64<<10)
	lin.R = br
	var err error
	if in.Options.Envelope == nil && startsArray(br) {
		err = p.array(ctx, br)
	} else {
		err = record.EachLine(ctx, &lin, p.name, sink, p.line)
	}
	p.seq.Finish()
	return err
}

type parser struct {
	in         *record.Input
	sink       record.Sink
	name       string
	loc        *time.Location
	tzGiven    bool // --tz was given: never second-guess the zone
	issuerBase string
	json       fastjson.Parser
	fields     []field
	attrs      []field
	seq        *record.SeqTracker
	// fileDate is the date in the file's name (server.log.2026-03-04),
	// zero when it has none: the date of WildFly's time-only lines.
	fileDate time.Time
}

// event is one events-logger line taken apart.
type event struct {
	time     time.Time
	message  string
	sequence string
	hostName string
	// structured is set for an Admin API event, whose fields are already
	// in parser.fields; message is then empty.
	structured bool
	// timeErr says why the line's time could not be placed. The event is
	// still read: one that issues nothing is ignored whatever its time, one
	// that issues is rejected with this reason.
	timeErr error
}

func (p *parser) line(lineNo int64, line []byte) {
	pos := record.Position{File: p.in.Name, Line: lineNo, Format: p.name}
	if !record.ValidUTF8(line, pos, p.sink) {
		return
	}
	s := strings.TrimSpace(string(line))
	if s == "" {
		p.sink.Ignore(pos, record.IgnoreNotEvent)
		return
	}
	var (
		ev     event
		claims bool
		err    error
	)
	if s[0] == '{' {
		ev, claims, err = p.jsonLine(s, lineNo)
	} else {
		ev, claims, err = p.textLine(s)
	}
	if !claims {
		p.sink.Ignore(pos, record.IgnoreNotEvent)
		return
	}
	var ignore string
	if err == nil {
		ignore, err = p.event(pos, &ev)
	}
	switch {
	case err != nil:
		p.sink.Reject(&record.Reject{Pos: pos, Reason: err.Error(), Excerpt: s})
	case ignore != "":
		p.sink.Ignore(pos, ignore)
	}
}

// textLine reads "<time> <LEVEL> [org.keycloak.events] (<thread>) <message>".
// claims is false for lines of other loggers, which are not events.
func (p *parser) textLine(s string) (ev event, claims bool, err error) {
	open := strings.IndexByte(s, '[')
	if open < 0 {
		return ev, false, nil
	}
	closing := strings.IndexByte(s[open:], ']')
	if closing < 0 {
		return ev, false, nil
	}
	logger := strings.TrimSpace(s[open+1 : open+closing])
	if logger != eventsLogger && logger != "o.k.events" {
		return ev, false, nil
	}
	prefix := strings.TrimSpace(s[:open])
	sp := strings.LastIndexByte(prefix, ' ')
	if sp < 0 || !isLevel(prefix[sp+1:]) {
		return ev, true, fmt.Errorf("no time and level before [%s]", logger)
	}
	ev.time, ev.timeErr = p.lineTimeOf(strings.TrimSpace(prefix[:sp]))
	rest := strings.TrimLeft(s[open+closing+1:], " ")
	if strings.HasPrefix(rest, "(") {
		// Thread names may hold spaces and parentheses ("default task-1").
		end := strings.Index(rest, ") type=")
		if end < 0 {
			end = strings.Index(rest, ") operationType=")
		}
		if end < 0 {
			end = strings.IndexByte(rest, ')')
		}
		if end < 0 {
			return ev, true, fmt.Errorf("unterminated thread name")
		}
		rest = strings.TrimLeft(rest[end+1:], " ")
	}
	ev.message = rest
	return ev, true, nil
}

// jsonLine reads one Quarkus JSON (or ECS) log object and notes its number.
// claims is false for other loggers, and for broken JSON that does not
// mention the events logger.
func (p *parser) jsonLine(s string, lineNo int64) (ev event, claims bool, err error) {
	v, err := p.json.Parse(s)
	if err != nil {
		if strings.Contains(s, eventsLogger) {
			return ev, true, errors.New(record.JSONErrorReason(err))
		}
		return ev, false, nil
	}
	ev.time, err = p.jsonTime(v)
	p.number(v, ev.time, lineNo)
	logger := jsonString(v, "loggerName", "log.logger")
	if logger == "" && isAPIEvent(v) {
		ev, err = p.apiEvent(v)
		return ev, true, err
	}
	if logger != eventsLogger {
		return ev, false, nil
	}
	ev.timeErr = err
	msg := v.Get("message")
	if msg == nil || msg.Type() != fastjson.TypeString {
		return ev, true, fmt.Errorf("missing message")
	}
	ev.message = string(msg.GetStringBytes())
	if seq := jsonSequence(v); seq != nil && seq.Type() == fastjson.TypeNumber {
		ev.sequence = seq.String()
	}
	ev.hostName = jsonString(v, "hostName", "host.hostname")
	return ev, true, nil
}

// jsonTime reads the line's timestamp (an ISO string or epoch number).
func (p *parser) jsonTime(v *fastjson.Value) (time.Time, error) {
	ts := v.Get("timestamp")
	if ts == nil {
		ts = v.Get("@timestamp")
	}
	switch {
	case ts == nil:
		return time.Time{}, fmt.Errorf("missing timestamp")
	case ts.Type() == fastjson.TypeString:
		return p.parseTime(string(ts.GetStringBytes()))
	case ts.Type() == fastjson.TypeNumber:
		t, err := record.ParseTime(ts.String(), p.loc)
		if err != nil {
			return t, fmt.Errorf("bad time: %w", err)
		}
		return t, nil
	default:
		return time.Time{}, fmt.Errorf("timestamp is a JSON %s", ts.Type())
	}
}

func jsonSequence(v *fastjson.Value) *fastjson.Value {
	if seq := v.Get("sequence"); seq != nil {
		return seq
	}
	return v.Get("event.sequence")
}

// number feeds the line's sequence number, if any, to the tracker, keyed by
// hostName/processId. t is zero when the line's time could not be read.
func (p *parser) number(v *fastjson.Value, t time.Time, lineNo int64) {
	if p.seq == nil {
		return
	}
	seqv := jsonSequence(v)
	if seqv == nil || seqv.Type() != fastjson.TypeNumber {
		return
	}
	seq, err := seqv.Int64()
	if err != nil {
		return
	}
	host := jsonString(v, "hostName", "host.hostname")
	pid := v.Get("processId")
	if pid == nil {
		pid = v.Get("process.pid")
	}
	var pidText string
	switch {
	case pid == nil:
	case pid.Type() == fastjson.TypeNumber:
		pidText = pid.String()
	case pid.Type() == fastjson.TypeString:
		pidText = string(pid.GetStringBytes())
	}
	process := host
	if pidText != "" {
		process = host + "/" + pidText
	}
	if process == "" {
		return
	}
	p.seq.Observe(record.Excerpt(process, maxProcessName), seq, t, lineNo)
}

// maxProcessName bounds a process name taken from a log line.
const maxProcessName = 200

func jsonString(v *fastjson.Value, keys ...string) string {
	for _, k := range keys {
		if s := v.GetStringBytes(k); s != nil {
			return string(s)
		}
	}
	return ""
}

func (p *parser) parseTime(s string) (time.Time, error) {
	if t, ok := quarkusDefaultTime(s, p.loc); ok {
		return p.zoneFromEnvelope(t), nil
	}
	t, err := record.ParseTime(s, p.loc)
	if err != nil {
		// "2006-01-02 15:04:05,000+0100" (a %d pattern with Z) is not among
		// the shared layouts; ISO form it is.
		iso := strings.Replace(strings.Replace(s, " ", "T", 1), ",", ".", 1)
		if t2, err2 := time.Parse("2006-01-02T15:04:05.999999999Z0700", iso); err2 == nil {
			return t2.UTC(), nil
		}
		return t, fmt.Errorf("bad time: %w", err)
	}
	return t, nil
}

func isLevel(s string) bool {
	switch s {
	case "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "SEVERE", "FINE", "FINER", "FINEST", "CONFIG":
		return true
	}
	return false
}

// grantingTypes mint an access token; they are issuances even when the
// token_id detail is missing.
var grantingTypes = map[string]bool{
	"CODE_TO_TOKEN":               true,
	"REFRESH_TOKEN":               true,
	"CLIENT_LOGIN":                true,
	"TOKEN_EXCHANGE":              true,
	"OAUTH2_DEVICE_CODE_TO_TOKEN": true,
	"AUTHREQID_TO_TOKEN":          true,
	"PERMISSION_TOKEN":            true,
	"OAUTH2_EXTENSION_GRANT":      true,
}

// referencingTypes name a token that exists already; their token_id is not
// an issuance.
var referencingTypes = map[string]bool{
	"INTROSPECT_TOKEN":                 true,
	"USER_INFO_REQUEST":                true,
	"LOGOUT":                           true,
	"REVOKE_GRANT":                     true,
	"IDENTITY_PROVIDER_RETRIEVE_TOKEN": true,
}

// event turns an events-logger message into an issuance, or returns why it
// issues nothing (ignore), or why it cannot be read (err).
func (p *parser) event(pos record.Position, ev *event) (ignore string, err error) {
	if !ev.structured {
		if strings.HasPrefix(ev.message, "operationType=") {
			return IgnoreAdminEvent, nil
		}
		if !strings.HasPrefix(ev.message, "type=") {
			return "", fmt.Errorf("events line without type=")
		}
		p.fields, err = parseFields(p.fields[:0], ev.message)
		if err != nil {
			return "", fmt.Errorf("bad event fields: %w", err)
		}
	}
	get := func(key string) string {
		for _, f := range p.fields {
			if f.key == key {
				return f.value
			}
		}
		return ""
	}
	typ := get("type")
	if typ == "" {
		return "", fmt.Errorf("empty event type")
	}
	tokenID := get("token_id")
	if strings.HasSuffix(typ, "_ERROR") || get("error") != "" {
		return IgnoreErrorEvent, nil
	}
	if referencingTypes[typ] || (tokenID == "" && !grantingTypes[typ]) {
		return IgnoreNoIssuance, nil
	}
	if ev.timeErr != nil {
		return "", ev.timeErr
	}
	realm := get("realmName")
	if realm == "" {
		realm = get("realmId")
	}
	// The derived fields go first: the first of duplicate keys is kept.
	attrs := append(p.attrs[:0], field{"realm", realm}, field{"sequence", ev.sequence}, field{"hostName", ev.hostName})
	for _, f := range p.fields {
		switch f.key {
		case "token_id", "userId", "clientId":
			continue
		}
		attrs = append(attrs, f)
	}
	p.attrs = attrs
	iss := record.Issuance{
		Kind:       record.KindJWT,
		ArtifactID: tokenID,
		Subject:    get("userId"),
		Audience:   get("clientId"),
		// the client the token was issued to, its azp
		AudienceIsClient: true,
		IssuedAt:         ev.time,
		Attrs:            attrsJSON(attrs),
		Pos:              pos,
	}
	if p.issuerBase != "" && realm != "" {
		iss.Issuer = p.issuerBase + realm
	}
	p.sink.Issuance(&iss)
	return "", nil
}

// quarkusDefaultTime reads Keycloak's default "2006-01-02 15:04:05,000"
// without trying every layout; ok is false for anything else, including an
// impossible date, which the general parser then rejects.
func quarkusDefaultTime(s string, loc *time.Location) (time.Time, bool) {
	const layout = "dddd-dd-dd dd:dd:dd,ddd"
	if len(s) != len(layout) {
		return time.Time{}, false
	}
	var n [7]int
	field := 0
	for i := 0; i < len(layout); i++ {
		c := s[i]
		if layout[i] != 'd' {
			if c != layout[i] {
				return time.Time{}, false
			}
			field++
			continue
		}
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n[field] = n[field]*10 + int(c-'0')
	}
	year, month, day, hour, minute, sec, milli := n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], n[6]
	if month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, month, day, hour, minute, sec, milli*1e6, loc)
	if t.Day() != day { // 31 April rolled over into May
		return time.Time{}, false
	}
	return t.UTC(), true
}

// zoneFromEnvelope corrects a time written without a zone when the line's
// envelope (journald, container runtime) gives the true instant: a node
// logging local time inside a UTC-stamped envelope is off by whole quarter
// hours, which are taken back. It does nothing when --tz was given, when
// there is no envelope, or when the two agree within two minutes.
func (p *parser) zoneFromEnvelope(t time.Time) time.Time {
	env := p.in.LineTime()
	if env.IsZero() || p.tzGiven {
		return t
	}
	d := t.Sub(env)
	if d.Abs() <= 2*time.Minute || d.Abs() > 14*time.Hour {
		return t
	}
	return t.Add(-d.Round(15 * time.Minute))
}
