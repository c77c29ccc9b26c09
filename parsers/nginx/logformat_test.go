package nginx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/forgehunt/forgehunt/parsers/record"
	"github.com/forgehunt/forgehunt/parsers/record/recordtest"
)

// customFormats are the log_format strings of the directories under
// testdata/custom, as an operator would pass them to --nginx-format.
var customFormats = map[string]string{
	// $time_iso8601, and a bare variable after the credential.
	"iso8601": `$remote_addr - $remote_user [$time_iso8601] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_authorization" $request_time`,
	// ${var} form, the request logged in parts, a host next to the URI, an
	// unquoted credential at the end.
	"braces": `${remote_addr} ${http_host} [${time_local}] "${request_method} ${scheme}://${http_host}${request_uri} ${server_protocol}" ${status} "${http_user_agent}" ${http_authorization}`,
	// escape=json, as nginx.org documents it; $msec time.
	"json": `escape=json {"time":"$msec","remote_addr":"$remote_addr","xff":"$http_x_forwarded_for","method":"$request_method","uri":"$request_uri","status":$status,"ua":"$http_user_agent","authorization":"$http_authorization","request_id":"$request_id","upstream":"$upstream_addr"}`,
	// An AWS ALB with OIDC authentication passes the user claims as a
	// bare JWT in X-Amzn-Oidc-Data.
	"oidc": `$remote_addr [$time_local] "$request" $status "$http_user_agent" "$http_x_amzn_oidc_data" "$http_authorization"`,
	// ingress-nginx's default log-format-upstream with the header appended.
	"ingress": `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id "$http_authorization"`,
	// Tab-separated, with nginx.conf's \t escape.
	"tsv": `$time_iso8601\t$remote_addr\t$status\t$request\t$http_authorization`,
	// escape=none: values as the client sent them, quotes included.
	"none": `escape=none $remote_addr - - [$time_local] "$request" $status "$http_user_agent" "$http_authorization"`,
}

func TestGoldenCustom(t *testing.T) {
	dirs, err := os.ReadDir("testdata/custom")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		format, ok := customFormats[d.Name()]
		if !ok {
			t.Errorf("testdata/custom/%s has no format in customFormats", d.Name())
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			recordtest.Golden(t, Format, filepath.Join("testdata/custom", d.Name()), record.Options{NginxFormat: format})
		})
	}
	if len(dirs) != len(customFormats) {
		t.Errorf("%d directories under testdata/custom, %d formats", len(dirs), len(customFormats))
	}
}

func TestCompileFormat(t *testing.T) {
	tests := []struct {
		format  string
		vars    string // the variables, space-separated
		escape  escaping
		errWant string // a substring of the error; "" for none
	}{
		{format: `$remote_addr "$http_authorization"`, vars: "remote_addr http_authorization"},
		{format: `${remote_addr}${http_authorization}`, vars: "remote_addr http_authorization"},
		{format: `$HTTP_Authorization`, vars: "http_authorization"},
		{format: `escape=json {"a":"$http_authorization"}`, vars: "http_authorization", escape: escapeJSON},
		{format: `escape=none $http_authorization`, vars: "http_authorization", escape: escapeNone},
		{format: `escape=default $http_authorization`, vars: "http_authorization"},
		{format: `  $http_x_jwt_assertion`, vars: "http_x_jwt_assertion"},
		{format: `$cookie_id_token`, vars: "cookie_id_token"},
		{format: `\"$http_authorization\"\t$status`, vars: "http_authorization status"},
		{format: ``, errWant: "empty log_format"},
		{format: `log_format main '$http_authorization';`, errWant: "not the directive"},
		{format: `escape=json `, errWant: "empty log_format"},
		{format: `escape=yaml $http_authorization`, errWant: `unknown escape="yaml"`},
		{format: `$remote_addr ${http_authorization`, errWant: `unterminated "${" at "${http_authorization"`},
		{format: `${} $http_authorization`, errWant: "invalid variable name"},
		{format: `${a-b} $http_authorization`, errWant: "invalid variable name"},
		{format: `$http_authorization costs $`, errWant: "invalid variable name"},
		{format: `$http_authorization $ 5`, errWant: "invalid variable name"},
		{format: `$http_authorization\n$status`, errWant: "line break"},
		{format: `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`, errWant: "no variable that carries the token"},
		{format: `$remote_addr $http_x_forwarded_for $http_host $args`, errWant: "no variable that carries the token"},
		{format: strings.Repeat("$a ", maxVariables) + "$http_authorization", errWant: "more than 256 variables"},
	}
	for _, tt := range tests {
		lf, err := CompileFormat(tt.format)
		if tt.errWant != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errWant) {
				t.Errorf("CompileFormat(%q) error = %v, want %q", tt.format, err, tt.errWant)
			}
			continue
		}
		if err != nil {
			t.Errorf("CompileFormat(%q): %v", tt.format, err)
			continue
		}
		var names []string
		for _, it := range lf.items {
			names = append(names, it.name)
		}
		if got := strings.Join(names, " "); got != tt.vars || lf.escape != tt.escape {
			t.Errorf("CompileFormat(%q) = %q escape %d, want %q escape %d", tt.format, got, lf.escape, tt.vars, tt.escape)
		}
	}
	if _, err := CompileFormat(`$status`); !errors.Is(err, ErrNoCredential) {
		t.Errorf("a format without a credential: %v, want ErrNoCredential", err)
	}
}

// TestParseBadFormat checks that Parse fails before reading, naming the option.
func TestParseBadFormat(t *testing.T) {
	line := []byte(`203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl" "Bearer ` + testJWT + `"` + "\n")
	c, err := recordtest.Parse(Format, "a.log", line, record.Options{NginxFormat: `$remote_addr ${time_local`})
	if err == nil || !strings.Contains(err.Error(), "--nginx-format") || !strings.Contains(err.Error(), `unterminated "${"`) {
		t.Fatalf("Parse error = %v, want the --nginx-format compile error", err)
	}
	if c.Stats.Records != 0 || c.Accounted() != 0 {
		t.Errorf("Parse read %d records before failing", c.Stats.Records)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		format, line string
		want         string // the values joined by "|", or the reason
	}{
		{`$remote_addr - [$time_local] "$http_authorization"`, `10.0.0.1 - [04/Mar/2026:10:00:00 +0000] "Bearer x"`,
			"10.0.0.1|04/Mar/2026:10:00:00 +0000|Bearer x"},
		// A value may hold the literal after it when the shapes say where it ends.
		{`$http_user_agent $request_time "$http_authorization"`, `curl 8 with spaces 0.004 "Bearer x"`,
			"curl 8 with spaces|0.004|Bearer x"},
		{`$upstream_addr $upstream_status $http_authorization`, `10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80 502, 504 : 200 -`,
			"10.0.0.1:80, 10.0.0.2:80 : 10.0.0.3:80|502, 504 : 200|-"},
		{`$host$request_uri $http_authorization`, `shop.example.com/api/x?y=1 -`, "shop.example.com|/api/x?y=1|-"},
		{`"$http_authorization"`, `""`, ""},
		{`$status $http_authorization`, `OK x`, "$status is not a number"},
		{`$remote_addr - [$time_local] $http_authorization`, `10.0.0.1 [04/Mar/2026:10:00:00 +0000] x`,
			`missing " - [" after $remote_addr`},
		{`{"a":"$http_authorization"}`, `{"b":"x"}`, `missing "{\"a\":\"" at the start of the line`},
		{`$http_authorization "$status"`, `x "200`, `missing "\"" after $status`},
		{`$a $b $c $d $e $f $g $h $http_authorization $status`, strings.Repeat("w ", 400) + "x",
			"too many ways to split the line; give the variables separators"},
	}
	for _, tt := range tests {
		lf, err := CompileFormat(tt.format)
		if err != nil {
			t.Fatalf("CompileFormat(%q): %v", tt.format, err)
		}
		var m matcher
		got := m.match(lf, []byte(tt.line))
		if got == "" {
			var vals []string
			for _, v := range m.caps {
				vals = append(vals, string(v))
			}
			got = strings.Join(vals, "|")
		}
		if got != tt.want {
			t.Errorf("%s\n  on %q\n  = %q\n  want %q", tt.format, tt.line, got, tt.want)
		}
	}
}

// sanitize is what the caller of SalvageFields does to a rejected line.
func sanitize(line []byte) []byte {
	var out []byte
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && size <= 1 || r < 0x20 && r != '\t' || r == 0x7f {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, line[i:i+size]...)
		}
		i += size
	}
	return out
}

func TestSalvageFields(t *testing.T) {
	const tok = `"Bearer ` + testJWT + `"`
	tests := []struct {
		name, format, line string
		want               record.Sighting
	}{
		{
			name: "NUL in the user agent",
			line: "203.0.113.7 - alice [04/Mar/2026:10:00:00 +0000] \"GET /api/payments?limit=1 HTTP/1.1\" 401 0 \"-\" \"a\x00b\" " + tok,
			want: record.Sighting{ObservedAt: recordtest.MustTime("2026-03-04T10:00:00Z"), ClientIP: "203.0.113.7",
				Observer: "edge", Principal: "alice", UserAgent: "a\ufffdb", Action: "GET /api/payments", Outcome: record.OutcomeRejected,
				Attrs: `{"body_bytes_sent":"0","protocol":"HTTP/1.1","remote_addr":"203.0.113.7","status":"401"}`},
		},
		{
			name: "ESC in the user agent, virtual host",
			line: "shop.example.com:443 203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] \"GET /api HTTP/1.1\" 200 5 \"-\" \"\x1b[2J\" " + tok,
			want: record.Sighting{ObservedAt: recordtest.MustTime("2026-03-04T10:00:00Z"), ClientIP: "203.0.113.7",
				Observer: "shop.example.com", UserAgent: "\ufffd[2J", Action: "GET /api", Outcome: record.OutcomeAccepted,
				Attrs: `{"body_bytes_sent":"5","host":"shop.example.com:443","protocol":"HTTP/1.1","remote_addr":"203.0.113.7","status":"200"}`},
		},
		{
			name: "invalid UTF-8, X-Forwarded-For in the address position",
			line: "198.51.100.9, 10.0.0.1 - - [04/Mar/2026:10:00:00 +0000] \"GET /api HTTP/1.1\" 403 5 \"-\" \"caf\xe9\" " + tok,
			want: record.Sighting{ObservedAt: recordtest.MustTime("2026-03-04T10:00:00Z"), ClientIP: "198.51.100.9",
				Observer: "edge", UserAgent: "caf\ufffd", Action: "GET /api", Outcome: record.OutcomeRejected,
				Attrs: `{"body_bytes_sent":"5","protocol":"HTTP/1.1","status":"403","x_forwarded_for":"198.51.100.9, 10.0.0.1"}`},
		},
		{
			name: "stops at the status: what came before",
			line: "203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] \"GET /api HTTP/1.1\" OK 5 \"-\" \"curl\" " + tok,
			want: record.Sighting{ObservedAt: recordtest.MustTime("2026-03-04T10:00:00Z"), ClientIP: "203.0.113.7",
				Observer: "edge", Action: "GET /api", Attrs: `{"protocol":"HTTP/1.1","remote_addr":"203.0.113.7"}`},
		},
		{
			name:   "compiled format, NUL in the user agent",
			format: customFormats["ingress"],
			line: "203.0.113.7 - - [04/Mar/2026:15:00:00 +0000] \"GET /api/payments HTTP/1.1\" 200 512 \"-\" \"cu\x00rl\" 112 0.004 " +
				"[default-payments-8080] [] 10.244.1.17:8080 512 0.004 200 5f2b9e3c " + tok,
			want: record.Sighting{ObservedAt: recordtest.MustTime("2026-03-04T15:00:00Z"), ClientIP: "203.0.113.7",
				Observer: "default-payments-8080", UserAgent: "cu\ufffdrl", Action: "GET /api/payments", Outcome: record.OutcomeAccepted,
				Attrs: `{"body_bytes_sent":"512","protocol":"HTTP/1.1","remote_addr":"203.0.113.7","request_id":"5f2b9e3c","request_length":"112",` +
					`"request_time":"0.004","status":"200","upstream":"default-payments-8080","upstream_addr":"10.244.1.17:8080",` +
					`"upstream_response_length":"512","upstream_response_time":"0.004","upstream_status":"200"}`},
		},
		{
			name:   "compiled format, stops after the request",
			format: customFormats["iso8601"],
			line:   "203.0.113.7 - - [2026-03-04T16:00:00+00:00] \"DELETE /x?y HTTP/1.1\" \xff 0 \"-\" \"curl\" " + tok,
			want: record.Sighting{ObservedAt: recordtest.MustTime("2026-03-04T16:00:00Z"), ClientIP: "203.0.113.7",
				Observer: "edge", Action: "DELETE /x", Attrs: `{"protocol":"HTTP/1.1","remote_addr":"203.0.113.7"}`},
		},
		{
			name:   "format that does not compile: nothing",
			format: "${",
			line:   "203.0.113.7 - - [04/Mar/2026:10:00:00 +0000] \"GET /api HTTP/1.1\" 200 5 \"-\" \"curl\" " + tok,
			want:   record.Sighting{},
		},
		{
			name: "not nginx at all: only the observer",
			line: "\x00\x01 hello",
			want: record.Sighting{Observer: "edge"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s record.Sighting
			s.Pos = record.Position{File: "/var/log/nginx/edge.log.1", Line: 7, Format: "nginx"}
			Format.SalvageFields(sanitize([]byte(tt.line)), &record.Options{NginxFormat: tt.format}, &s)
			tt.want.Pos = s.Pos
			if tt.format == "${" {
				tt.want = record.Sighting{Pos: s.Pos}
			}
			if s != tt.want {
				t.Errorf("got  %+v\nwant %+v", s, tt.want)
			}
		})
	}
}

// TestSalvageRejects salvages every line the golden inputs reject: the
// fields found are those of the line, and never the artifact.
func TestSalvageRejects(t *testing.T) {
	salvaged := 0
	check := func(dir string, opts record.Options) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() || strings.HasSuffix(e.Name(), ".golden") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			c, _ := recordtest.Parse(Format, e.Name(), data, opts)
			for _, r := range c.Rejects {
				s := record.Sighting{Pos: r.Pos}
				Format.SalvageFields(sanitize([]byte(r.Excerpt)), &opts, &s)
				if s.Raw != "" || s.Kind != "" || s.Source != "" || s.Pos != r.Pos {
					t.Errorf("%v: salvage set %+v", r.Pos, s)
				}
				if !s.ObservedAt.IsZero() || s.ClientIP != "" {
					salvaged++
				}
			}
		}
	}
	check("testdata", record.Options{})
	for name, format := range customFormats {
		check(filepath.Join("testdata/custom", name), record.Options{NginxFormat: format})
	}
	if salvaged < 10 {
		t.Errorf("only %d rejected lines gave a time or client", salvaged)
	}
}

// fuzzFormats seeds FuzzParseFormat: every custom format with its inputs.
func fuzzFormats(f *testing.F) {
	n := 0
	for name, format := range customFormats {
		dir := filepath.Join("testdata/custom", name)
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".golden") {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(format, data)
			n++
		}
	}
	if n == 0 {
		f.Fatal("no fuzz seeds in testdata/custom")
	}
}

// FuzzParseFormat fuzzes the compiled path: any format string either fails
// to compile (and Parse reads nothing) or reads any input with the
// invariants every parser keeps.
func FuzzParseFormat(f *testing.F) {
	fuzzFormats(f)
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		c, err := recordtest.Parse(Format, "fuzz.log", data, record.Options{NginxFormat: format})
		if _, cerr := CompileFormat(format); cerr != nil || format == "" {
			if format != "" && (err == nil || c.Stats.Records != 0) {
				t.Fatalf("format %q does not compile (%v) but Parse read %d records, error %v", format, cerr, c.Stats.Records, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		maxLine := int64(strings.Count(string(data), "\n") + 1)
		recordtest.CheckRecords(t, c, "fuzz.log", Format.Name(), maxLine)
		if got := c.Accounted(); got != c.Stats.Records {
			t.Fatalf("accounting: read %d records, accounted %d", c.Stats.Records, got)
		}
		for _, s := range c.Sightings {
			if !utf8.ValidString(s.UserAgent) || !utf8.ValidString(s.Principal) || !utf8.ValidString(s.Action) || !utf8.ValidString(s.Observer) {
				t.Fatalf("invalid UTF-8 in %+v", s)
			}
		}
	})
}

// FuzzSalvage checks that salvage never panics nor sets the artifact, on
// any line, with the built-in layouts and with each custom format.
func FuzzSalvage(f *testing.F) {
	recordtest.Seeds(f, "testdata")
	formats := []string{""}
	for _, name := range []string{"iso8601", "braces", "json", "oidc", "ingress", "tsv", "none"} {
		formats = append(formats, customFormats[name])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		line := sanitize(data)
		for _, format := range formats {
			s := record.Sighting{Pos: record.Position{File: "fuzz.log", Line: 1, Format: "nginx"}}
			Format.SalvageFields(line, &record.Options{NginxFormat: format}, &s)
			if s.Raw != "" || s.Kind != "" || s.Source != "" || s.Pos.File != "fuzz.log" {
				t.Fatalf("salvage set %+v", s)
			}
		}
	})
}
