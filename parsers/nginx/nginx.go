// Package nginx reads nginx access logs that log the Authorization header and
// emits one JWT sighting per bearer token.
//
// Without a log_format (record.Options.NginxFormat empty, the default) it
// reads nginx's "combined" format with the header appended,
//
//	log_format hunt '$remote_addr - $remote_user [$time_local] "$request" '
//	                '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
//	                '"$http_authorization"';
//
// and these variants of it, line by line:
//
//   - a virtual host before the address ('$host $remote_addr - ...', or
//     '$server_name:$server_port $remote_addr - ...'): the host, without
//     its port, is the observer;
//   - an X-Forwarded-For list in the address position
//     ('$proxy_add_x_forwarded_for - ...', "10.1.2.3, 10.0.0.1 - - [...]"):
//     its first entry is the client;
//   - ingress-nginx's default format, which after the user agent writes
//     '$request_length $request_time [$proxy_upstream_name]
//     [$proxy_alternative_upstream_name] $upstream_addr
//     $upstream_response_length $upstream_response_time $upstream_status
//     $req_id', with "$http_authorization" added after the request: the
//     upstream ("namespace-service-port") is the observer and the "upstream"
//     attr; also its older '$remote_addr - [$the_real_ip] - $remote_user' start.
//
// Fields after the user agent may come in any number and order: quoted ones
// ("$http_x_forwarded_for", "$http_authorization") and bare ones
// ($request_time, or a list such as $upstream_addr's "10.0.0.1:8080,
// 10.0.0.2:8080"). The first field after the request that holds a bearer
// token (or a bare JWT), quoted or not, is the credential: formats that put it
// in the referer's or user agent's place exist. The first trailing quoted field
// that is a list of IP addresses is X-Forwarded-For, whose first entry is the
// client. Values are decoded from nginx's escaping (\xHH, and the \" \\ \n
// \uXXXX ... of escape=json).
//
// With record.Options.NginxFormat (forgehunt's --nginx-format) set to the
// log_format the log was written with, the format is compiled (see
// CompileFormat) and every line is read with it instead: its literal text must
// match exactly, and each variable's value runs to the next literal text, or,
// when that text also occurs inside a value, to the occurrence that lets the
// rest of the line match given the shape of what nginx writes ($status is a
// number, $upstream_addr a list). The credential is $http_authorization's
// value, or the first other $http_ header's (or $cookie_'s) that is a bearer
// or bare JWT ($http_x_amzn_oidc_data, $http_x_jwt_assertion). $msec,
// $time_iso8601 or $time_local is the time (without one, the envelope's);
// $remote_addr the client, unless $http_x_forwarded_for or
// $proxy_add_x_forwarded_for starts with an address; $remote_user the
// principal; $request, or $request_method with $request_uri or $uri, the
// action; $status the outcome; $proxy_upstream_name, $host, $server_name or
// $http_host the observer. Request ids, sizes, durations and the upstream
// variables go to attrs, under names close to the variables'; credentials and
// query strings never do. A format that does not compile makes Parse fail
// before it reads a line.
//
// Options.Observer overrides the observer; without it, and without a host or
// upstream in the line, the observer is derived from the file name (see
// ObserverFromName).
//
// A rejected line is salvaged (see Parser.SalvageFields) with the same scan or
// compiled format, run on a sanitized copy of the line: its time, client,
// action and status, and the fields before the point where it stopped
// matching, still reach the analyzer.
package nginx

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// Format is the nginx format.
var Format = Parser{}

var (
	_ record.Salvager        = Parser{}
	_ record.LineIndependent = Parser{}
)

// Parser reads nginx access logs. The zero value is ready to use and safe for
// concurrent Parse calls.
type Parser struct{}

// Name returns "nginx".
func (Parser) Name() string { return "nginx" }

// Description says what the format reads.
func (Parser) Description() string {
	return `nginx access log with "$http_authorization": combined and its virtual host, X-Forwarded-For and ingress-nginx variants, or --nginx-format (bearer JWTs)`
}

// Reject reasons that tests and users may match on.
const (
	ReasonControl = "control character in line" // nginx escapes them, so the line was not written by nginx
	// ReasonNotCombined starts the reason of a line in no built-in layout.
	ReasonNotCombined = "not nginx combined: "
	// ReasonNotFormat starts the reason of a line that does not match
	// Options.NginxFormat; the rest names the literal text or variable.
	ReasonNotFormat = "does not match --nginx-format: "
)

// reader turns lines into fields, with the built-in scan or a compiled
// log_format; it keeps its buffers from one line to the next.
type reader struct {
	lf *LogFormat // nil: the built-in layouts
	e  entry
	m  matcher
	f  fields
}

// read reads line into r.f and returns why the line is rejected, "" when it
// is not: a control character nginx would have escaped, or a line in none of
// the layouts. For salvage it tolerates both and keeps what it found.
func (r *reader) read(line []byte, salvage bool) string {
	if r.lf == nil {
		if !salvage && hasControl(line, 0) {
			return ReasonControl
		}
		if why := scanFields(line, &r.e, &r.f); why != "" {
			return ReasonNotCombined + why
		}
		return ""
	}
	if !salvage && r.lf.escape != escapeNone && hasControl(line, r.lf.controls) {
		return ReasonControl
	}
	r.m.keepBest = salvage
	why := r.m.match(r.lf, line)
	switch {
	case why == "":
		r.lf.fields(r.m.caps, &r.f)
	case salvage:
		r.lf.fields(r.m.best, &r.f)
	}
	if why != "" {
		return ReasonNotFormat + why
	}
	return ""
}

// Sniff reports whether most sample lines are in a built-in layout with a
// readable $time_local. The Authorization field is not required. It cannot
// see Options.NginxFormat: a log in another log_format is read with
// --input-format nginx.
func (Parser) Sniff(sample [][]byte) bool {
	var e entry
	hits, lines := 0, 0
	for _, line := range sample {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		if hasControl(line, 0) || scan(line, &e) != "" {
			continue
		}
		if _, err := record.ParseTime(string(e.timeLocal), nil); err == nil {
			hits++
		}
	}
	return hits > 0 && 2*hits >= lines
}

// Parse streams one sighting per line that carries a bearer JWT. Lines
// without one ("-", another scheme, no such field) are valid and ignored ("no
// bearer token"). Lines in none of the layouts (or not matching
// Options.NginxFormat), with control characters nginx would have escaped or
// invalid UTF-8, with a bearer value that is not JWT-shaped, or with an
// unreadable time are rejected. Each line ends in exactly one sighting, reject
// or ignore: only the first bearer token of a line is read.
//
// Options: NginxFormat is the log_format to read lines with; Parse returns
// its compile error, naming --nginx-format, before reading any line. Observer
// names the service (see the package documentation).
func (p Parser) Parse(ctx context.Context, in *record.Input, sink record.Sink) error {
	name := p.Name()
	var r reader
	r.f.bearers = in.BearerCache()
	if in.Options.NginxFormat != "" {
		lf, err := CompileFormat(in.Options.NginxFormat)
		if err != nil {
			return fmt.Errorf("bad --nginx-format string: %w", err)
		}
		r.lf = lf
	}
	observer := in.Options.Observer
	if observer == "" {
		observer = ObserverFromName(in.Name)
	}
	var (
		s     record.Sighting
		attrs record.Attrs
	)
	return record.EachLine(ctx, in, name, sink, func(lineNo int64, line []byte) {
		pos := record.Position{File: in.Name, Line: lineNo, Format: name}
		reject := func(reason string) {
			sink.Reject(&record.Reject{Pos: pos, Reason: reason, Excerpt: string(line)})
		}
		if !record.ValidUTF8(line, pos, sink) {
			return
		}
		if why := r.read(line, false); why != "" {
			reject(why)
			return
		}
		f := &r.f
		if f.tokenWhy != "" {
			reject(f.tokenWhy)
			return
		}
		if f.token == "" {
			sf := f.saml()
			switch {
			case sf.why != "":
				reject(sf.why)
			case sf.request:
				sink.Ignore(pos, record.IgnoreSAMLRequest)
			case sf.xml != nil:
				s = record.Sighting{Kind: record.KindSAML, Raw: string(sf.xml), Source: record.SourceAuth, Outcome: record.OutcomeUnknown, Pos: pos}
				f.attrs = append(f.attrs, attr{key: "saml_binding", str: sf.binding, kind: attrString},
					attr{key: "saml_captured", str: sf.where, kind: attrString})
				if err := f.fill(&s, &in.Options, observer, &attrs); err != nil {
					reject(err.Error())
					return
				}
				if f.timeName == "" {
					s.ObservedAt = in.LineTime()
				}
				sink.Sighting(&s)
			case sf.notLogged:
				sink.Ignore(pos, IgnoreBodyNotLogged)
			default:
				sink.Ignore(pos, record.IgnoreNoToken)
			}
			return
		}
		s = record.Sighting{Kind: record.KindJWT, Raw: f.token, RawKey: f.tokenKey, RawKeySeen: f.tokenSeen,
			Source: record.SourceAuth, Outcome: record.OutcomeUnknown, Pos: pos}
		if err := f.fill(&s, &in.Options, observer, &attrs); err != nil {
			reject(err.Error())
			return
		}
		if f.timeName == "" {
			s.ObservedAt = in.LineTime() // a log_format without a time
		}
		sink.Sighting(&s)
	})
}

// IgnoreBodyNotLogged is the ignore reason of a POST whose body the
// log_format logs ($request_body) but nginx did not buffer, so logged "-":
// a SAML response it carried cannot be seen, and such lines are counted.
const IgnoreBodyNotLogged = "POST body not logged (request_body -)"

// SalvageFields implements record.Salvager. It reads line, a sanitized copy
// of a line Parse rejected, as Parse does (the compiled Options.NginxFormat
// when set) but without its checks, and fills in s what it finds: ObservedAt,
// ClientIP, Observer, Principal, UserAgent, Action, Outcome (when the status
// is a number) and Attrs. A line that stops matching part way gives what came
// before that point. It never sets Raw, Kind or Source.
func (Parser) SalvageFields(line []byte, o *record.Options, s *record.Sighting) {
	if o == nil {
		o = &record.Options{}
	}
	var r reader
	if o.NginxFormat != "" {
		lf, err := CompileFormat(o.NginxFormat)
		if err != nil {
			return
		}
		r.lf = lf
	}
	r.read(line, true)
	observer := o.Observer
	if observer == "" {
		observer = ObserverFromName(s.Pos.File)
	}
	var attrs record.Attrs
	_ = r.f.fill(s, o, observer, &attrs) // an unreadable time stays unset
}

// ObserverFromName derives an observer from a log file's name: its base name
// without, repeatedly, compression extensions (.gz .zst .bz2 .xz .lz4),
// numeric rotation suffixes (.1), logrotate date suffixes (-20260304,
// -2026-03-04, -1772618400) and .log. "payments-access.log.1.gz" gives
// "payments-access", "access.log-20260304.gz" gives "access". A name that
// would become empty is kept whole.
func ObserverFromName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	base := name
	for {
		before := name
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			switch ext := name[i+1:]; {
			case ext == "gz" || ext == "zst" || ext == "bz2" || ext == "xz" || ext == "lz4" || ext == "log" ||
				ext != "" && allDigits(ext):
				name = name[:i]
			}
		}
		if i := strings.LastIndexAny(name, "-_"); i > 0 {
			if suffix := name[i+1:]; len(suffix) == 8 && allDigits(suffix) || len(suffix) == 10 && allDigits(suffix) {
				name = name[:i]
			}
		}
		if n := len(name); n > 11 && name[n-11] == '-' && isDate(name[n-10:]) {
			name = name[:n-11]
		}
		if name == before {
			break
		}
	}
	if name == "" {
		return base
	}
	return name
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDate reports whether s is "YYYY-MM-DD".
func isDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:])
}

// LineIndependent reports that lines carry no state from one to the next,
// so a large input may be read in parts in parallel.
func (Parser) LineIndependent() bool { return true }
