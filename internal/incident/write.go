package incident

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// outFile is a buffered, optionally compressed output file.
type outFile struct {
	f *os.File
	c io.WriteCloser // the compressor, nil for a plain file
	w *bufio.Writer
}

func createOut(dir, rel string) (*outFile, error) {
	name := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("incident: %w", err)
	}
	o := &outFile{f: f}
	var dst io.Writer = f
	switch {
	case strings.HasSuffix(rel, ".gz"):
		// A zero header (no name, no mtime) keeps the bytes reproducible.
		o.c = gzip.NewWriter(f)
		dst = o.c
	case strings.HasSuffix(rel, ".zst"):
		enc, err := zstd.NewWriter(f, zstd.WithEncoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("incident: zstd: %w", err)
		}
		o.c = enc
		dst = enc
	}
	o.w = bufio.NewWriterSize(dst, 256<<10)
	return o, nil
}

func (o *outFile) close() error {
	err := o.w.Flush()
	if o.c != nil {
		err = errors.Join(err, o.c.Close())
	}
	if err = errors.Join(err, o.f.Close()); err != nil {
		return fmt.Errorf("incident: write %s: %w", o.f.Name(), err)
	}
	return nil
}

// writeLogs writes every log file and returns their relative paths.
func writeLogs(dir string, sc *scenario, compress bool) ([]string, error) {
	rotated := func(rel string) string {
		if compress {
			return rel + ".1.gz"
		}
		return rel + ".1"
	}
	auditRel := "logs/app/audit.jsonl"
	if compress {
		auditRel += ".zst"
	}

	slices.SortStableFunc(sc.keycloak, func(a, b kcLine) int { return cmp.Compare(a.ms, b.ms) })
	kcSplit, _ := slices.BinarySearchFunc(sc.keycloak, keycloakSplit, func(l kcLine, t int64) int { return cmp.Compare(l.ms, t) })

	var istio, billing, audit []event
	for _, ev := range sc.events {
		switch {
		case ev.sink.istio():
			istio = append(istio, ev)
		case ev.sink == sinkBilling:
			billing = append(billing, ev)
		default:
			audit = append(audit, ev)
		}
	}
	byTime := func(a, b event) int { return cmp.Or(cmp.Compare(a.ms, b.ms), cmp.Compare(a.seq, b.seq)) }
	slices.SortFunc(istio, byTime)
	slices.SortFunc(billing, byTime)
	slices.SortFunc(audit, byTime)
	nginxAt, _ := slices.BinarySearchFunc(billing, nginxSplit, func(e event, t int64) int { return cmp.Compare(e.ms, t) })

	type job struct {
		rel   string
		write func(w *lineWriter, out *bufio.Writer) error
	}
	keycloakLines := func(lines []kcLine, journal bool) func(*lineWriter, *bufio.Writer) error {
		return func(w *lineWriter, out *bufio.Writer) error {
			for _, l := range lines {
				text := l.text
				if journal {
					// journald stamps a line when it receives it, a moment later.
					w.buf = appendJournalPrefix(w.buf[:0], &w.clock, l.ms+2)
					text = append(w.buf, text...)
					w.buf = text
				}
				if _, err := out.Write(text); err != nil {
					return err
				}
			}
			return nil
		}
	}
	events := func(evs []event, line func(*lineWriter, event), runtime bool) func(*lineWriter, *bufio.Writer) error {
		return func(w *lineWriter, out *bufio.Writer) error {
			var cri criWriter
			if runtime {
				cri.rng = newRNG(w.sc.seed, criStream)
			}
			for _, ev := range evs {
				w.buf = w.buf[:0]
				line(w, ev)
				b := w.buf
				if runtime {
					cri.buf = cri.append(cri.buf[:0], ev.ms+int64(w.duration), w.buf)
					b = cri.buf
				}
				if _, err := out.Write(b); err != nil {
					return err
				}
			}
			return nil
		}
	}
	jobs := []job{
		{rotated("logs/keycloak/keycloak.log"), keycloakLines(sc.keycloak[:kcSplit], false)},
		// The current Keycloak runs under systemd: its log is journalctl's.
		{"logs/keycloak/keycloak.log", keycloakLines(sc.keycloak[kcSplit:], true)},
		// The gateway runs in Kubernetes: its log is the kubelet's file.
		{"logs/istio/ingressgateway.log", events(istio, (*lineWriter).istio, true)},
		{rotated("logs/nginx/billing-access.log"), events(billing[:nginxAt], (*lineWriter).nginx, false)},
		{"logs/nginx/billing-access.log", events(billing[nginxAt:], (*lineWriter).nginx, false)},
		{auditRel, events(audit, (*lineWriter).audit, false)},
	}
	var files []string
	for i, j := range jobs {
		out, err := createOut(dir, j.rel)
		if err != nil {
			return nil, err
		}
		w := &lineWriter{sc: sc, rng: newRNG(sc.seed, uint64(i+1))}
		err = j.write(w, out.w)
		if err = errors.Join(err, out.close()); err != nil {
			return nil, fmt.Errorf("incident: %s: %w", j.rel, err)
		}
		files = append(files, path.Clean(j.rel))
	}
	return files, nil
}

// route is a request a service serves; the last route of each service is
// what an attacker goes for (bulk export).
type route struct {
	method, path string
	ids          int // append a numeric id below ids when > 0
	suffix       string
}

var routes = [numSinks][]route{
	sinkPayments: {
		{"GET", "/api/v1/payments", 0, ""}, {"GET", "/api/v1/payments/", 90000, ""},
		{"POST", "/api/v1/payments", 0, ""}, {"GET", "/api/v1/cards", 0, ""},
		{"GET", "/api/v1/payments/export", 0, "?from=2025-01-01&format=csv"},
	},
	sinkReports: {
		{"GET", "/reports", 0, ""}, {"GET", "/reports/", 5000, ""}, {"GET", "/reports/", 5000, "/summary"},
		{"GET", "/reports/", 5000, "/export?format=csv"},
	},
	sinkAPI: {
		{"GET", "/v2/status", 0, ""}, {"POST", "/v2/deploy", 0, ""}, {"GET", "/v2/deployments/", 3000, ""},
		{"GET", "/v2/users", 0, "?role=admin&limit=500"},
	},
	sinkBilling: {
		{"GET", "/api/invoices", 0, ""}, {"GET", "/api/invoices/", 20000, ""}, {"POST", "/api/invoices", 0, ""},
		{"GET", "/api/customers/", 8000, ""}, {"GET", "/api/invoices", 0, "?limit=1000&offset=0"},
	},
	sinkAudit: {
		{"GET", "/r/", 900, ""}, {"GET", "/r/", 900, "/share"},
		{"GET", "/r/", 900, "/download"},
	},
}

var istioHosts = [3]struct{ authority, cluster, upstream string }{
	sinkPayments: {"payments.acme.example", "outbound|8080||payments-api.payments.svc.cluster.local", "10.244.1.17:8080"},
	sinkReports:  {"reports.acme.example", "outbound|8080||reports-api.reports.svc.cluster.local", "10.244.2.31:8080"},
	sinkAPI:      {"api.acme.example", "outbound|8080||deploy-api.platform.svc.cluster.local", "10.244.3.12:8080"},
}

// lineWriter renders access-log lines; each file has its own random stream.
type lineWriter struct {
	sc    *scenario
	rng   *rand.Rand
	buf   []byte
	clock clock
	// duration is the last Istio line's request duration in ms: Envoy
	// writes the line when the request ends.
	duration int
}

// journalHost and journalPID name the Keycloak service in the journal.
const (
	journalHost = "kc-0"
	journalPID  = 2871
)

// appendJournalPrefix appends journalctl's short output prefix
// ("Mar 04 10:00:00 kc-0 kc.sh[2871]: ") for a line logged at ms.
func appendJournalPrefix(b []byte, c *clock, ms int64) []byte {
	b = c.appendSec(b, ms, "Jan 02 15:04:05")
	b = append(b, " "+journalHost+" kc.sh["...)
	b = strconv.AppendInt(b, journalPID, 10)
	return append(b, "]: "...)
}

// criStream is the random stream of the container runtime's timestamps,
// apart from the lines' own streams so that the lines stay as they were.
const criStream = 0x100

// criMaxLine is containerd's default max_container_log_line_size: a longer
// line is split into partial (P) lines.
const criMaxLine = 16 << 10

// criWriter wraps lines as the kubelet's CRI log files hold them:
// "2026-03-04T10:00:00.123456789Z stdout F {json}". The runtime stamps a
// line when it reads it, so stamps never go back.
type criWriter struct {
	rng  *rand.Rand
	last int64 // last stamp, Unix ns
	buf  []byte
}

// append appends line (ending in a newline) written at ms, split into
// partial lines past criMaxLine.
func (c *criWriter) append(b []byte, ms int64, line []byte) []byte {
	ns := ms*1e6 + c.rng.Int64N(1e6)
	if ns <= c.last {
		ns = c.last + 1 + c.rng.Int64N(1000)
	}
	c.last = ns
	stamp := time.Unix(0, ns).UTC()
	line = bytes.TrimSuffix(line, []byte("\n"))
	for {
		tag, chunk := byte('F'), line
		if len(line) > criMaxLine {
			tag, chunk = 'P', line[:criMaxLine]
		}
		b = stamp.AppendFormat(b, time.RFC3339Nano)
		b = append(b, " stdout "...)
		b = append(b, tag, ' ')
		b = append(b, chunk...)
		b = append(b, '\n')
		if tag == 'F' {
			return b
		}
		line = line[len(chunk):]
	}
}

// request is what a line says about one presentation.
type request struct {
	method, path string
	status       int
	bytesSent    int
	p            persona
	b            *bearer // nil for a health check
}

func (w *lineWriter) request(ev event) request {
	if ev.bearer < 0 {
		return request{method: "GET", path: "/healthz", status: 200, bytesSent: 2,
			p: persona{ip: "10.244.0.1", ua: "kube-probe/1.29"}}
	}
	b := w.sc.bearers[ev.bearer]
	rs := routes[ev.sink]
	r := rs[w.rng.IntN(len(rs)-1)]
	if b.attacker && w.rng.IntN(5) < 3 {
		r = rs[len(rs)-1]
	}
	p := r.path
	if r.ids > 0 {
		p += strconv.Itoa(1 + w.rng.IntN(r.ids))
	}
	p += r.suffix
	req := request{method: r.method, path: p, p: w.sc.personas[ev.actor], b: b}
	switch n := w.rng.IntN(100); {
	case !ev.accepted:
		req.status, req.bytesSent = 401, 58
	case r.method == "POST":
		req.status, req.bytesSent = 201, 120+w.rng.IntN(400)
	case n < 2:
		req.status, req.bytesSent = 404, 64
	case n < 3:
		req.status, req.bytesSent = 403, 61
	default:
		req.status, req.bytesSent = 200, 200+w.rng.IntN(9000)
		if r.suffix != "" && b.attacker {
			req.bytesSent = 40000 + w.rng.IntN(2000000)
		}
	}
	return req
}

func (w *lineWriter) uuid() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], w.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], w.rng.Uint64())
	return formatUUID(b)
}

// istio appends one line of Istio's default JSON access log with the
// authorization header added.
func (w *lineWriter) istio(ev event) {
	req := w.request(ev)
	host := istioHosts[ev.sink]
	health := req.b == nil
	if health {
		req.path, req.bytesSent = "/healthz/ready", 0
	}
	b := append(w.buf, `{"start_time":"`...)
	b = w.clock.appendSec(b, ev.ms, "2006-01-02T15:04:05")
	b = append(b, '.')
	b = appendMillis(b, ev.ms)
	b = append(b, `Z","method":`...)
	b = appendJSONString(b, req.method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, req.path)
	proto := "HTTP/1.1"
	if req.p.browser {
		proto = "HTTP/2"
	}
	b = append(b, `,"protocol":"`...)
	b = append(b, proto...)
	b = append(b, `","response_code":`...)
	b = strconv.AppendInt(b, int64(req.status), 10)
	b = append(b, `,"response_flags":"-","response_code_details":"`...)
	switch {
	case req.status != 401:
		b = append(b, "via_upstream"...)
	case req.b.category == "":
		b = append(b, "jwt_authn_access_denied{Jwt_is_not_in_the_form_of_Header.Payload.Signature_with_two_dots_and_3_sections}"...)
	default:
		b = append(b, "jwt_authn_access_denied{Jwt_verification_fails}"...)
	}
	b = append(b, `","connection_termination_details":null,"upstream_transport_failure_reason":null,"bytes_received":`...)
	received := 0
	if req.method == "POST" {
		received = 80 + w.rng.IntN(900)
	}
	b = strconv.AppendInt(b, int64(received), 10)
	b = append(b, `,"bytes_sent":`...)
	b = strconv.AppendInt(b, int64(req.bytesSent), 10)
	upstreamTime := 2 + w.rng.IntN(180)
	duration := upstreamTime + w.rng.IntN(4)
	if req.status == 401 || health {
		duration = w.rng.IntN(2)
	}
	w.duration = duration
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(duration), 10)
	b = append(b, `,"upstream_service_time":`...)
	if req.status == 401 || health {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(upstreamTime), 10)
		b = append(b, '"')
	}
	b = append(b, `,"x_forwarded_for":`...)
	if health {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, req.p.ip)
	}
	b = append(b, `,"user_agent":`...)
	b = appendJSONString(b, req.p.ua)
	b = append(b, `,"request_id":"`...)
	b = append(b, w.uuid()...)
	b = append(b, `","authority":"`...)
	switch {
	case health:
		b = append(b, `10.244.0.9:15021","upstream_host":"127.0.0.1:15020","upstream_cluster":"agent","upstream_local_address":"127.0.0.1:`...)
		b = strconv.AppendInt(b, int64(32768+w.rng.IntN(28000)), 10)
		b = append(b, `","downstream_local_address":"10.244.0.9:15021"`...)
	default:
		b = append(b, host.authority...)
		b = append(b, `","upstream_host":`...)
		if req.status == 401 {
			b = append(b, "null"...)
		} else {
			b = append(b, '"')
			b = append(b, host.upstream...)
			b = append(b, '"')
		}
		b = append(b, `,"upstream_cluster":"`...)
		b = append(b, host.cluster...)
		b = append(b, `","upstream_local_address":`...)
		if req.status == 401 {
			b = append(b, "null"...)
		} else {
			b = append(b, `"10.244.0.9:`...)
			b = strconv.AppendInt(b, int64(32768+w.rng.IntN(28000)), 10)
			b = append(b, '"')
		}
		b = append(b, `,"downstream_local_address":"10.244.0.9:8443"`...)
	}
	b = append(b, `,"downstream_remote_address":"`...)
	b = append(b, req.p.ip...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(32768+w.rng.IntN(28000)), 10)
	b = append(b, `","requested_server_name":`...)
	if health {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, host.authority)
	}
	b = append(b, `,"route_name":null,"authorization":`...)
	if health {
		b = append(b, "null"...)
	} else {
		// Bearer values are base64url, dots and alphanumerics: nothing to escape.
		b = append(b, `"Bearer `...)
		b = append(b, req.b.raw...)
		b = append(b, '"')
	}
	w.buf = append(b, "}\n"...)
}

// nginx appends one line of the log_format
// '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_authorization"'.
func (w *lineWriter) nginx(ev event) {
	req := w.request(ev)
	b := append(w.buf, req.p.ip...)
	b = append(b, " - - ["...)
	b = w.clock.appendSec(b, ev.ms, "02/Jan/2006:15:04:05 +0000")
	b = append(b, `] "`...)
	b = append(b, req.method...)
	b = append(b, ' ')
	b = append(b, req.path...)
	b = append(b, ` HTTP/1.1" `...)
	b = strconv.AppendInt(b, int64(req.status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(req.bytesSent), 10)
	if req.p.browser {
		b = append(b, ` "https://billing.acme.example/" "`...)
	} else {
		b = append(b, ` "-" "`...)
	}
	b = append(b, req.p.ua...)
	b = append(b, `" "`...)
	if req.b == nil {
		b = append(b, '-')
	} else {
		b = append(b, "Bearer "...)
		b = append(b, req.b.raw...)
	}
	w.buf = append(b, "\"\n"...)
}

// audit appends one line of the reports-api application's JSON audit log.
func (w *lineWriter) audit(ev event) {
	req := w.request(ev)
	b := append(w.buf, `{"ts":"`...)
	b = w.clock.appendSec(b, ev.ms, "2006-01-02T15:04:05")
	b = append(b, '.')
	b = appendMillis(b, ev.ms)
	b = append(b, `Z","service":"reports-api","user":`...)
	if ev.accepted && req.b != nil {
		b = appendJSONString(b, req.b.username)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"src_ip":`...)
	b = appendJSONString(b, req.p.ip)
	b = append(b, `,"ua":`...)
	b = appendJSONString(b, req.p.ua)
	b = append(b, `,"method":`...)
	b = appendJSONString(b, req.method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, req.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(req.status), 10)
	b = append(b, `,"bearer_token":`...)
	if req.b == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, req.b.raw...)
		b = append(b, '"')
	}
	w.buf = append(b, "}\n"...)
}

// clock caches the formatted second, since many lines share one.
type clock struct {
	sec    int64
	layout string
	text   []byte
}

func (c *clock) appendSec(b []byte, at int64, layout string) []byte {
	sec := at / 1000
	if sec != c.sec || layout != c.layout || c.text == nil {
		c.sec, c.layout = sec, layout
		c.text = utc(sec*1000).AppendFormat(c.text[:0], layout)
	}
	return append(b, c.text...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
