// Package samlincident generates a deterministic Golden SAML incident with
// the captured SAML responses themselves:
//
//   - a two-server AD FS farm issues the assertions of service-provider
//     initiated logins to two SPs (payroll, wiki), logged in its 1200
//     events (Winlogbeat JSON) under the activity id the SP passed as
//     client-request-id;
//   - the SPs log their AuthnRequests and the responses they consumed
//     (payroll as Go slog JSON, wiki as zap JSON);
//   - the nginx in front of each SP logs the posted form body
//     ($request_body); one POST's body it did not buffer ("-");
//   - a HAR a browser exported holds a login the access log kept no body
//     of;
//   - after the key's exposure, the attacker signs assertions with the
//     stolen token-signing key: unsolicited, answering an AuthnRequest
//     that never reached AD FS, with long lifetimes, claiming MFA, one sent
//     by the HTTP-Redirect binding, one only in the HAR; replays a
//     legitimate response with an injected unsigned assertion (signature
//     wrapping); and signs one with a self-made key whose certificate
//     copies the AD FS certificate's subject.
//
// The ground truth (truth.json) has the artifact key of every assertion
// forged with the stolen key, and apart, the attempts that are not such
// forgeries.
package samlincident

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/internal/genfiles"
	"github.com/forgehunt/forgehunt/internal/idincident"
	"github.com/forgehunt/forgehunt/internal/samlgen"
	"github.com/forgehunt/forgehunt/internal/seeded"
	"github.com/forgehunt/forgehunt/parsers/record"
)

// Where Generate writes, relative to its directory.
const (
	KeyFile  = "keys/adfs-token-signing.pem" // the AD FS token-signing certificate (exposed)
	ADFSDir  = "adfs"                        // adfs01.jsonl, adfs02.jsonl (Winlogbeat)
	SPDir    = "sp"                          // payroll.jsonl (slog), wiki.jsonl (zap)
	ProxyDir = "proxy"                       // payroll-access.log, wiki-access.log (nginx)
	HARFile  = "browser/wiki-login.har"
	// DumpFile is the payroll SP's debug dump of the responses it received
	// in its last hour (XML documents one after the other).
	DumpFile  = "sp/debug/payroll-responses.xml"
	TruthFile = "truth.json"

	FederationID = idincident.FederationID
	// NginxFormat is the log_format of the proxies: combined, and the
	// request body.
	NginxFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$request_body"`
)

// Config sizes the incident; zero fields take their defaults.
type Config struct {
	Seed  int64
	Start time.Time // default 2026-03-04T08:00:00Z
	Hours int       // default 6
	// Logins is the number of legitimate logins (default 36).
	Logins int
}

// Attempt is an assertion the attacker sent.
type Attempt struct {
	Key     string    `json:"artifact_key"` // as forgehunt keys it
	What    string    `json:"what"`
	Subject string    `json:"subject"`
	SP      string    `json:"sp"`
	At      time.Time `json:"at"`
}

// Truth is what really happened.
type Truth struct {
	Seed        int64     `json:"seed"`
	Start       time.Time `json:"start"`
	ExposedFrom time.Time `json:"exposed_from"`
	// Forged are the assertions signed with the stolen key that AD FS
	// never issued.
	Forged []Attempt `json:"forged"`
	// Other attempts: signature wrapping, a self-made key.
	Other  []Attempt `json:"other"`
	Legit  int       `json:"legit"`
	Files  []string  `json:"files"`
	Format string    `json:"nginx_format"`
}

// ForgedKeys are the forged assertions' artifact keys, sorted.
func (t *Truth) ForgedKeys() []string {
	out := make([]string, len(t.Forged))
	for i, f := range t.Forged {
		out[i] = f.Key
	}
	slices.Sort(out)
	return out
}

// ReadTruth reads a truth.json that Generate wrote.
func ReadTruth(p string) (*Truth, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("samlincident: %w", err)
	}
	var t Truth
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("samlincident: read %s: %w", p, err)
	}
	return &t, nil
}

type sp struct {
	name, entity, acs, host, ip string
	zap                         bool
}

var sps = []sp{
	{name: "payroll", entity: "https://payroll.contoso.com/saml", acs: "https://payroll.contoso.com/saml/acs", host: "payroll.contoso.com", ip: "10.0.5.20"},
	{name: "wiki", entity: "https://wiki.contoso.com/saml", acs: "https://wiki.contoso.com/saml/acs", host: "wiki.contoso.com", ip: "10.0.5.21", zap: true},
}

var users = []string{"alice", "bob", "carol", "dave", "erin", "frank"}

const (
	browserUA  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	attackerUA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	attackerIP = "198.51.100.66"
)

// gen holds the generator's state.
type gen struct {
	cfg   Config
	rnd   *rand.Rand
	idp   samlgen.Signer
	rogue samlgen.Signer
	files genfiles.Files
	har   []harEntry
	truth Truth
	rec   map[string]int64
}

func (g *gen) out(rel string) io.Writer { return g.files.Out(rel) }

func (g *gen) hex(n int) string { return seeded.Hex(g.rnd, n) }
func (g *gen) guid() string     { return seeded.GUID(g.rnd) }

// Generate writes the incident into dir and returns its truth, also
// written to dir/truth.json.
func Generate(dir string, cfg Config) (*Truth, error) {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)
	}
	cfg.Start = cfg.Start.UTC()
	if cfg.Hours <= 0 {
		cfg.Hours = 6
	}
	if cfg.Logins <= 0 {
		cfg.Logins = 36
	}
	idp, certPEM, err := samlgen.NewSigner(seeded.Stream("samlincident", cfg.Seed, "adfs"), "ADFS Signing - sts.contoso.com", cfg.Start.AddDate(-1, 0, 0))
	if err != nil {
		return nil, err
	}
	rogue, _, err := samlgen.NewSigner(seeded.Stream("samlincident", cfg.Seed, "rogue"), "ADFS Signing - sts.contoso.com", cfg.Start.AddDate(0, 0, -1))
	if err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg, rnd: rand.New(seeded.Stream("samlincident", cfg.Seed, "scenario")), idp: idp, rogue: rogue,
		rec: map[string]int64{}}
	g.truth = Truth{Seed: cfg.Seed, Start: cfg.Start, ExposedFrom: cfg.Start.Add(2 * time.Hour), Format: NginxFormat}
	g.out(KeyFile).Write(certPEM)
	if err := g.scenario(); err != nil {
		return nil, err
	}
	if err := g.writeHAR(); err != nil {
		return nil, err
	}
	names, err := g.files.Write(dir)
	if err != nil {
		return nil, fmt.Errorf("samlincident: %w", err)
	}
	g.truth.Files = names
	data, err := json.MarshalIndent(g.truth, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFile), append(data, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("samlincident: %w", err)
	}
	t := g.truth
	return &t, nil
}

// event is one thing that happens, written in time order at the end.
type event struct {
	at    time.Time
	write func() error
}

func (g *gen) scenario() error {
	var evs []event
	add := func(at time.Time, f func() error) { evs = append(evs, event{at, f}) }
	dumpFrom := g.truth.ExposedFrom.Add(time.Hour)
	dump := func(s sp, t time.Time, xml []byte) {
		if s.name == "payroll" && !t.Before(dumpFrom) {
			add(t, func() error {
				_, err := fmt.Fprintf(g.out(DumpFile), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n%s\n", xml)
				return err
			})
		}
	}
	span := time.Duration(g.cfg.Hours) * time.Hour
	step := span / time.Duration(g.cfg.Logins+1)
	var replayable []byte // a legitimate response the attacker captures
	for i := range g.cfg.Logins {
		user := users[i%len(users)]
		s := sps[i%len(sps)]
		t := g.cfg.Start.Add(step*time.Duration(i+1) + time.Duration(g.rnd.IntN(60))*time.Second)
		mfa := i%4 == 1
		ip := fmt.Sprintf("10.1.%d.%d", 2+i%5, 10+i%200)
		l := g.login(s, user, t, mfa)
		l.clientIP = ip
		xml, err := l.response(g.idp)
		if err != nil {
			return err
		}
		if i == 3 {
			replayable = xml
		}
		g.truth.Legit++
		server := "adfs01.contoso.com"
		if i%2 == 1 {
			server = "adfs02.contoso.com"
		}
		add(t, func() error { return g.spRequest(s, t, l.requestID, l.clientRequestID) })
		add(t.Add(time.Second), func() error {
			return g.adfs(server, idincident.ADFSEvent{EventID: 1200, ActivityID: l.clientRequestID, Computer: server,
				UserID: `CONTOSO\` + user, RelyingParty: s.entity, IP: ip, UserAgent: browserUA, AuthProtocol: "SAMLP",
				NetworkLocation: "Intranet", MFA: mfa, At: t.Add(time.Second)})
		})
		inHAR := s.name == "wiki" && i == 5
		add(t.Add(2*time.Second), func() error {
			return g.post(s, t.Add(2*time.Second), ip, browserUA, xml, 302, !inHAR)
		})
		if inHAR {
			g.harPost(s, t.Add(2*time.Second), xml, 302)
		}
		add(t.Add(2*time.Second), func() error { return g.spConsumed(s, t.Add(2*time.Second), l, true, "") })
		dump(s, t.Add(2*time.Second), xml)
	}

	// The attacker, after the key's exposure.
	at := g.truth.ExposedFrom.Add(17 * time.Minute)
	payroll, wiki := sps[0], sps[1]
	forge := func(what string, s sp, user string, t time.Time, life time.Duration, mfa, unsolicited bool) (*login, []byte, error) {
		l := g.login(s, user, t, mfa)
		l.clientIP = attackerIP
		l.life = life
		if unsolicited {
			l.requestID = ""
		}
		xml, err := l.response(g.idp)
		if err != nil {
			return nil, nil, err
		}
		g.truth.Forged = append(g.truth.Forged, Attempt{Key: record.ArtifactKey(string(xml)), What: what, Subject: user + "@contoso.com", SP: s.name, At: t})
		return l, xml, nil
	}

	// F1: unsolicited, ten years
	t1 := at
	l1, x1, err := forge("unsolicited, ten-year lifetime", payroll, "admin", t1, 10*365*24*time.Hour, false, true)
	if err != nil {
		return err
	}
	add(t1, func() error { return g.post(payroll, t1, attackerIP, attackerUA, x1, 302, true) })
	add(t1, func() error { return g.spConsumed(payroll, t1, l1, true, "") })

	// F2: answers an AuthnRequest the SP sent that never reached AD FS;
	// MFA claimed, eight hours
	t2 := at.Add(23 * time.Minute)
	l2, x2, err := forge("answers an AuthnRequest that never reached AD FS, MFA claimed", payroll, "carol", t2, 8*time.Hour, true, false)
	if err != nil {
		return err
	}
	add(t2.Add(-40*time.Second), func() error { return g.spRequest(payroll, t2.Add(-40*time.Second), l2.requestID, l2.clientRequestID) })
	add(t2, func() error { return g.post(payroll, t2, attackerIP, attackerUA, x2, 302, true) })
	add(t2, func() error { return g.spConsumed(payroll, t2, l2, true, "") })

	// F3: only in the HAR: the wiki's access log kept no body
	t3 := at.Add(51 * time.Minute)
	l3, x3, err := forge("answers an AuthnRequest that never reached AD FS, only in a HAR", wiki, "dave", t3, time.Hour, false, false)
	if err != nil {
		return err
	}
	add(t3.Add(-30*time.Second), func() error { return g.spRequest(wiki, t3.Add(-30*time.Second), l3.requestID, l3.clientRequestID) })
	add(t3, func() error { return g.post(wiki, t3, attackerIP, attackerUA, x3, 302, false) })
	g.harPost(wiki, t3, x3, 302)
	add(t3, func() error { return g.spConsumed(wiki, t3, l3, true, "") })

	// F4: unsolicited by the HTTP-Redirect binding, MFA claimed
	t4 := at.Add(74 * time.Minute)
	l4, x4, err := forge("unsolicited by HTTP-Redirect, MFA claimed", wiki, "admin", t4, time.Hour, true, true)
	if err != nil {
		return err
	}
	add(t4, func() error { return g.redirect(wiki, t4, attackerIP, attackerUA, x4) })
	add(t4, func() error { return g.spConsumed(wiki, t4, l4, true, "") })

	// W1: a legitimate response replayed with an unsigned assertion for
	// admin in front of the signed one (signature wrapping); refused
	t5 := at.Add(96 * time.Minute)
	evil := g.login(payroll, "admin", t5, false)
	w1, err := samlgen.WrappedResponse(replayable, evil.assertion())
	if err != nil {
		return err
	}
	g.truth.Other = append(g.truth.Other, Attempt{Key: record.ArtifactKey(string(w1)), What: "signature wrapping replay", Subject: "admin@contoso.com", SP: payroll.name, At: t5})
	add(t5, func() error { return g.post(payroll, t5, attackerIP, attackerUA, w1, 403, true) })
	add(t5, func() error { return g.spConsumed(payroll, t5, evil, false, "signature does not cover the assertion") })
	dump(payroll, t5, w1)

	// R1: signed by a self-made key whose certificate copies the AD FS
	// subject; refused
	t6 := at.Add(118 * time.Minute)
	r := g.login(payroll, "admin", t6, true)
	r.requestID = ""
	r1, err := r.response(g.rogue)
	if err != nil {
		return err
	}
	g.truth.Other = append(g.truth.Other, Attempt{Key: record.ArtifactKey(string(r1)), What: "self-made key behind a copy of the AD FS certificate's subject", Subject: "admin@contoso.com", SP: payroll.name, At: t6})
	add(t6, func() error { return g.post(payroll, t6, attackerIP, attackerUA, r1, 403, true) })
	add(t6, func() error { return g.spConsumed(payroll, t6, r, false, "signing certificate is not trusted") })
	dump(payroll, t6, r1)

	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	for _, e := range evs {
		if err := e.write(); err != nil {
			return err
		}
	}
	return nil
}

// login is one SAML login's ids and claims.
type login struct {
	sp                                    sp
	user, requestID, clientRequestID      string
	assertionID, responseID, sessionIndex string
	at                                    time.Time
	life                                  time.Duration
	mfa                                   bool
	clientIP                              string
}

func (g *gen) login(s sp, user string, t time.Time, mfa bool) *login {
	return &login{sp: s, user: user, requestID: "_" + g.hex(40), clientRequestID: g.guid(),
		assertionID: "_" + g.guid(), responseID: "_" + g.guid(), sessionIndex: "_" + g.guid(),
		at: t.Add(time.Second), life: time.Hour, mfa: mfa}
}

func (l *login) assertion() samlgen.Assertion {
	methods := [][2]string{{samlgen.UPNClaim, l.user + "@contoso.com"},
		{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", l.user + "@contoso.com"},
		{samlgen.AuthnMethodsClaim, samlgen.ContextPassword}}
	if l.mfa {
		methods = append(methods, [2]string{samlgen.AuthnMethodsClaim, samlgen.MultipleAuthn})
	}
	return samlgen.Assertion{ID: l.assertionID, Issuer: FederationID, NameID: l.user + "@contoso.com",
		Audience: l.sp.entity, Recipient: l.sp.acs, InResponseTo: l.requestID, IssueInstant: l.at,
		NotBefore: l.at, NotOnOrAfter: l.at.Add(l.life), AuthnInstant: l.at.Add(-time.Second),
		SessionIndex: l.sessionIndex, AuthnContext: samlgen.ContextPassword, Attributes: methods}
}

func (l *login) response(s samlgen.Signer) ([]byte, error) {
	r := samlgen.Response{ID: l.responseID, Destination: l.sp.acs, InResponseTo: l.requestID, Issuer: FederationID, IssueInstant: l.at}
	return samlgen.SignedResponse(r, l.assertion(), s)
}

func (g *gen) adfs(server string, e idincident.ADFSEvent) error {
	g.rec[server]++
	e.RecordID = 4800000 + g.rec[server]
	return idincident.WriteADFSWinlogbeat(g.out(ADFSDir+"/"+strings.TrimSuffix(server, ".contoso.com")+".jsonl"), e)
}

func (g *gen) spLine(s sp, t time.Time, level, msg string, kv ...string) error {
	var b strings.Builder
	if s.zap {
		fmt.Fprintf(&b, `{"level":%q,"ts":%.6f,"caller":"saml/sp.go:%d","msg":%q`, strings.ToLower(level), float64(t.UnixMicro())/1e6, 100+len(kv), msg)
	} else {
		fmt.Fprintf(&b, `{"time":%q,"level":%q,"msg":%q,"service":%q`, t.UTC().Format(time.RFC3339Nano), level, msg, s.name+"-sp")
	}
	if !s.zap {
		b.WriteString(`,"saml":{`)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if !s.zap && i == 0 {
			fmt.Fprintf(&b, "%q:%q", kv[i], kv[i+1])
			continue
		}
		fmt.Fprintf(&b, ",%q:%q", kv[i], kv[i+1])
	}
	if !s.zap {
		b.WriteString("}")
	}
	b.WriteString("}\n")
	_, err := io.WriteString(g.out(SPDir+"/"+s.name+".jsonl"), b.String())
	return err
}

func (g *gen) spRequest(s sp, t time.Time, requestID, crid string) error {
	return g.spLine(s, t, "INFO", "AuthnRequest sent", "authn_request_id", requestID, "client_request_id", crid,
		"destination", "https://sts.contoso.com/adfs/ls/")
}

func (g *gen) spConsumed(s sp, t time.Time, l *login, ok bool, why string) error {
	kv := []string{"assertion_id", l.assertionID, "name_id", l.user + "@contoso.com", "session_index", l.sessionIndex}
	if l.requestID != "" {
		kv = append(kv, "in_response_to", l.requestID)
	}
	if !ok {
		return g.spLine(s, t, "ERROR", "SAML response rejected: "+why, kv...)
	}
	return g.spLine(s, t, "INFO", "SAML response consumed", kv...)
}

func clf(t time.Time) string { return t.UTC().Format("02/Jan/2006:15:04:05 -0700") }

// post writes the ACS POST to the SP's access log, with its body or, when
// nginx did not buffer it, "-".
func (g *gen) post(s sp, t time.Time, ip, ua string, xml []byte, status int, body bool) error {
	b := "-"
	if body {
		b = "SAMLResponse=" + url.QueryEscape(samlgen.POST(xml)) + "&RelayState=%2F"
	}
	_, err := fmt.Fprintf(g.out(ProxyDir+"/"+s.name+"-access.log"), "%s - - [%s] \"POST /saml/acs HTTP/1.1\" %d 0 \"https://sts.contoso.com/\" \"%s\" \"%s\"\n",
		ip, clf(t), status, ua, b)
	return err
}

// redirect writes an HTTP-Redirect binding delivery of a response.
func (g *gen) redirect(s sp, t time.Time, ip, ua string, xml []byte) error {
	_, err := fmt.Fprintf(g.out(ProxyDir+"/"+s.name+"-access.log"), "%s - - [%s] \"GET /saml/acs?SAMLResponse=%s&RelayState=%%2F HTTP/1.1\" 302 0 \"-\" \"%s\" \"-\"\n",
		ip, clf(t), url.QueryEscape(samlgen.Redirect(xml)), ua)
	return err
}

// HAR 1.2, as Chrome's DevTools export it.
type harEntry struct {
	Started  string      `json:"startedDateTime"`
	Time     float64     `json:"time"`
	Request  harRequest  `json:"request"`
	Response harResponse `json:"response"`
	Cache    struct{}    `json:"cache"`
	Timings  harTimings  `json:"timings"`
	ServerIP string      `json:"serverIPAddress"`
}

type harNV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type harRequest struct {
	Method      string   `json:"method"`
	URL         string   `json:"url"`
	HTTPVersion string   `json:"httpVersion"`
	Headers     []harNV  `json:"headers"`
	QueryString []harNV  `json:"queryString"`
	Cookies     []harNV  `json:"cookies"`
	HeadersSize int      `json:"headersSize"`
	BodySize    int      `json:"bodySize"`
	PostData    *harPost `json:"postData,omitempty"`
}

type harPost struct {
	MimeType string  `json:"mimeType"`
	Text     string  `json:"text"`
	Params   []harNV `json:"params"`
}

type harResponse struct {
	Status      int     `json:"status"`
	StatusText  string  `json:"statusText"`
	HTTPVersion string  `json:"httpVersion"`
	Headers     []harNV `json:"headers"`
	Cookies     []harNV `json:"cookies"`
	Content     struct {
		Size     int    `json:"size"`
		MimeType string `json:"mimeType"`
	} `json:"content"`
	RedirectURL string `json:"redirectURL"`
	HeadersSize int    `json:"headersSize"`
	BodySize    int    `json:"bodySize"`
}

type harTimings struct {
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

func (g *gen) harPost(s sp, t time.Time, xml []byte, status int) {
	v := url.QueryEscape(samlgen.POST(xml))
	body := "SAMLResponse=" + v + "&RelayState=%2F"
	e := harEntry{Started: t.UTC().Format("2006-01-02T15:04:05.000Z"), Time: 48.2, ServerIP: s.ip,
		Request: harRequest{Method: "POST", URL: s.acs, HTTPVersion: "h2",
			Headers: []harNV{{":authority", s.host}, {":method", "POST"}, {":path", "/saml/acs"},
				{"content-type", "application/x-www-form-urlencoded"}, {"origin", "https://sts.contoso.com"},
				{"user-agent", browserUA}},
			QueryString: []harNV{}, Cookies: []harNV{}, HeadersSize: -1, BodySize: len(body),
			// Chrome leaves the params' values URL-encoded
			PostData: &harPost{MimeType: "application/x-www-form-urlencoded", Text: body,
				Params: []harNV{{"SAMLResponse", v}, {"RelayState", "%2F"}}}},
		Timings: harTimings{Send: 0.2, Wait: 45.1, Receive: 2.9}}
	e.Response = harResponse{Status: status, StatusText: "Found", HTTPVersion: "h2", Headers: []harNV{{"location", "/"}},
		Cookies: []harNV{}, RedirectURL: "/", HeadersSize: -1}
	e.Response.Content.MimeType = "text/html"
	g.har = append(g.har, e)
}

func (g *gen) writeHAR() error {
	slices.SortStableFunc(g.har, func(a, b harEntry) int { return strings.Compare(a.Started, b.Started) })
	doc := map[string]any{"log": map[string]any{
		"version": "1.2",
		"creator": map[string]string{"name": "WebInspector", "version": "537.36"},
		"pages":   []any{},
		"entries": g.har,
	}}
	enc := json.NewEncoder(g.out(HARFile))
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // browsers write & < > as they are
	return enc.Encode(doc)
}
